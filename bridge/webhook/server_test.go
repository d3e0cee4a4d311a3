package webhook

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/bridge"
)

type tempErr struct{}

func (tempErr) Error() string   { return "the home node is unreachable" }
func (tempErr) Temporary() bool { return true }

// TestInbound: each endpoint puts its Inbound on in, and answers with the
// gateway's Result.
func TestInbound(t *testing.T) {
	c := start(t, deadURL, t.TempDir(), []string{"shop-42"})
	qr := []byte("\x89PNG qr")
	g := runGateway(t, c.in, func(m bridge.Inbound) (bridge.Result, bool) {
		switch {
		case m.Invite:
			return bridge.Result{Invite: &bridge.Invite{Link: "https://qun.example/join#tok", Token: "tok", QR: qr}}, true
		case m.Text == "refuse me":
			return bridge.Result{Err: errors.New("Alice is muted in this group")}, true
		case m.Text == "later":
			return bridge.Result{Err: fmt.Errorf("relaying: %w", tempErr{})}, true
		case m.Deletes != "":
			return bridge.Result{Event: "ev-del", Seq: 9}, true
		}
		return bridge.Result{Event: "ev-" + m.ID, Seq: 7}, true
	})

	a := c.send(&call{path: "/v1/messages", body: `{"channel":"shop-42","id":"m-1","user":"u-77","name":"Alice","text":"是否有绿茶？\nthanks","reply_to":"out-1"}`})
	if a.status != 200 || a.raw != `{"event":"ev-m-1","seq":7}`+"\n" {
		t.Fatalf("message: %d %s", a.status, a.raw)
	}
	edit := &call{path: "/v1/edits", body: `{"channel":"shop-42","id":"m-1","text":"fixed"}`}
	if a := c.send(edit); a.status != 200 || a.json["event"] != "ev-m-1#edit-"+edit.key {
		t.Fatalf("edit: %d %s", a.status, a.raw)
	}
	if a := c.send(&call{path: "/v1/deletes", body: `{"channel":"shop-42","id":"m-1"}`}); a.status != 200 || a.raw != `{"event":"ev-del","seq":9}`+"\n" {
		t.Fatalf("delete: %d %s", a.status, a.raw)
	}
	a = c.send(&call{path: "/v1/invites", body: `{"channel":"shop-42","user":"u-78","name":null}`})
	if a.status != 200 || a.json["link"] != "https://qun.example/join#tok" || a.json["token"] != "tok" || a.json["qr_png"] != base64.StdEncoding.EncodeToString(qr) {
		t.Fatalf("invite: %d %s", a.status, a.raw)
	}
	if a := c.send(&call{path: "/v1/messages", body: `{"channel":"shop-42","id":"m-2","user":"u-77","text":"refuse me"}`}); a.status != 400 || a.code != "refused" || a.msg != "Alice is muted in this group" {
		t.Fatalf("refused: %d %s", a.status, a.raw)
	}
	if a := c.send(&call{path: "/v1/messages", body: `{"channel":"shop-42","id":"m-3","user":"u-77","text":"later"}`}); a.status != 503 || a.code != "unavailable" {
		t.Fatalf("temporary: %d %s", a.status, a.raw)
	}
	a = c.send(&call{method: "GET", path: "/v1/status"})
	if a.status != 200 || a.json["name"] != "webhook.platform" || a.json["connected"] != true || a.json["pending"] != 0.0 {
		t.Fatalf("status: %d %s", a.status, a.raw)
	}

	got := g.inbound()
	want := []bridge.Inbound{
		{Channel: "shop-42", ID: "m-1", User: "u-77", Name: "Alice", Text: "是否有绿茶？\nthanks", ReplyTo: "out-1"},
		{Channel: "shop-42", ID: "m-1#edit-" + edit.key, Edits: "m-1", Text: "fixed"},
		{Channel: "shop-42", Deletes: "m-1"},
		{Channel: "shop-42", User: "u-78", Invite: true},
		{Channel: "shop-42", ID: "m-2", User: "u-77", Text: "refuse me"},
		{Channel: "shop-42", ID: "m-3", User: "u-77", Text: "later"},
	}
	if len(got) != len(want) {
		t.Fatalf("the gateway got %d", len(got))
	}
	for i := range want {
		if got[i].Done == nil {
			t.Errorf("%d: no Done", i)
		}
		got[i].Done = nil
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("%d: got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// TestRefused: requests that are not signed right, too large, not the
// endpoint's fields or for another channel are refused with a reason,
// and none reaches the gateway.
func TestRefused(t *testing.T) {
	c := start(t, deadURL, t.TempDir(), []string{"shop"})
	g := runGateway(t, c.in, func(m bridge.Inbound) (bridge.Result, bool) { return bridge.Result{Event: "ev", Seq: 1}, true })
	ok := `{"channel":"shop","id":"m-1","user":"u","text":"hi"}`
	now := time.Now().Unix()
	ts := func(d time.Duration) string { return strconv.FormatInt(now+int64(d/time.Second), 10) }
	// unique is a valid body of its own, for a case that passes the replay check.
	unique := func(name string) string { return `{"channel":"shop","id":"` + name + `","user":"u","text":"hi"}` }
	replayed := &call{path: "/v1/messages", body: ok}
	if a := c.send(replayed); a.status != 200 {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	if len(g.inbound()) != 1 {
		t.Fatal("the first request did not reach the gateway")
	}
	for _, tc := range []struct {
		name   string
		call   *call
		status int
		code   string
		reason string // in the message
	}{
		{"no headers", &call{path: "/v1/messages", body: ok, noHeaders: true}, 401, "missing_signature", "no Qun-Timestamp header"},
		{"no signature", &call{path: "/v1/messages", body: ok, header: http.Header{"Qun-Timestamp": {ts(0)}, "Qun-Webhook-Id": {"k"}, "Content-Type": {"application/json"}}}, 401, "missing_signature", "no Qun-Signature"},
		{"forged", &call{path: "/v1/messages", body: ok, sig: Sign([]byte("another-secret-0123456789abcdef0123"), now, []byte(ok))}, 401, "bad_signature", "does not match"},
		{"other body", &call{path: "/v1/messages", body: ok, sig: Sign(testSecret, now, []byte(ok+" "))}, 401, "bad_signature", "does not match"},
		{"other timestamp", &call{path: "/v1/messages", body: ok, ts: ts(time.Second), sig: Sign(testSecret, now, []byte(ok))}, 401, "bad_signature", "does not match"},
		{"not v1", &call{path: "/v1/messages", body: ok, sig: "v2=" + strings.Repeat("0", 64)}, 401, "bad_signature", "v1="},
		{"not hex", &call{path: "/v1/messages", body: ok, sig: "v1=" + strings.Repeat("g", 64)}, 401, "bad_signature", "64 hex digits"},
		{"stale", &call{path: "/v1/messages", body: ok, ts: ts(-6 * time.Minute)}, 401, "stale_timestamp", "at most 5m0s either way"},
		{"future", &call{path: "/v1/messages", body: ok, ts: ts(6 * time.Minute)}, 401, "stale_timestamp", "is the clock right"},
		{"timestamp in ms", &call{path: "/v1/messages", body: ok, ts: strconv.FormatInt(time.Now().UnixMilli(), 10)}, 401, "bad_timestamp", "Unix seconds"},
		{"timestamp not a number", &call{path: "/v1/messages", body: ok, ts: "-17", sig: "v1=" + strings.Repeat("0", 64)}, 401, "bad_timestamp", "digits only"},
		{"replayed", &call{path: "/v1/messages", body: ok, header: replayed.header}, 401, "replayed", "received already"},
		{"replayed with another key", &call{path: "/v1/messages", body: ok, header: http.Header{"Qun-Webhook-Id": {"other"}, "Qun-Timestamp": {replayed.ts}, "Qun-Signature": {replayed.sig}, "Content-Type": {"application/json"}}}, 401, "replayed", "received already"},
		{"oversized", &call{path: "/v1/messages", body: `{"channel":"shop","id":"m","user":"u","text":"` + strings.Repeat("x", MaxBodyBytes) + `"}`}, 413, "body_too_large", "65536"},
		{"bad key", &call{path: "/v1/messages", body: unique("bad key"), key: "a b"}, 400, "bad_webhook_id", "Qun-Webhook-Id must be"},
		{"not JSON", &call{path: "/v1/messages", body: unique("not JSON"), contentType: "text/plain"}, 415, "unsupported_media_type", "application/json"},
		{"invalid UTF-8", &call{path: "/v1/messages", body: "{\"channel\":\"shop\",\"id\":\"m\",\"user\":\"u\",\"text\":\"caf\xe9\"}"}, 400, "invalid_utf8", "at byte 49"},
		{"unknown channel", &call{path: "/v1/messages", body: `{"channel":"elsewhere","id":"m","user":"u","text":"hi"}`}, 404, "unknown_channel", `"elsewhere" is not bridged`},
		{"unknown field", &call{path: "/v1/messages", body: `{"channel":"shop","id":"m","user":"u","text":"hi","admin":"true"}`}, 400, "unknown_field", `unknown field "admin": a message has channel, id, user, name, text and reply_to`},
		{"field in capitals", &call{path: "/v1/messages", body: `{"Channel":"shop","id":"m","user":"u","text":"hi"}`}, 400, "unknown_field", `"Channel"`},
		{"duplicate field", &call{path: "/v1/messages", body: `{"channel":"shop","id":"m","user":"u","text":"hi","user":"admin"}`}, 400, "duplicate_field", `"user" is there twice`},
		{"missing text", &call{path: "/v1/messages", body: `{"channel":"shop","id":"m","user":"u"}`}, 400, "missing_field", `needs the field "text"`},
		{"blank text", &call{path: "/v1/messages", body: `{"channel":"shop","id":"m","user":"u","text":" \n "}`}, 400, "missing_field", `"text"`},
		{"missing user", &call{path: "/v1/messages", body: `{"channel":"shop","id":"m","text":"hi"}`}, 400, "missing_field", `needs the field "user" (channel, id, user and text)`},
		{"missing channel", &call{path: "/v1/deletes", body: `{"id":"m"}`}, 400, "missing_field", `a delete needs the field "channel"`},
		{"number", &call{path: "/v1/messages", body: `{"channel":"shop","id":17,"user":"u","text":"hi"}`}, 400, "wrong_type", `"id" must be a string`},
		{"array", &call{path: "/v1/messages", body: `[]`}, 400, "bad_json", "a JSON object"},
		{"truncated", &call{path: "/v1/messages", body: `{"channel":"shop"`}, 400, "bad_json", "not JSON"},
		{"trailing", &call{path: "/v1/messages", body: unique("trailing") + `{}`}, 400, "bad_json", "more after"},
		{"long text", &call{path: "/v1/messages", body: `{"channel":"shop","id":"m","user":"u","text":"` + strings.Repeat("é", MaxTextBytes/2+1) + `"}`}, 400, "too_long", `"text" has 16386 bytes; at most 16384`},
		{"long user", &call{path: "/v1/invites", body: `{"channel":"shop","user":"` + strings.Repeat("u", 257) + `"}`}, 400, "too_long", `"user" has 257 bytes`},
		{"control character", &call{path: "/v1/messages", body: `{"channel":"shop","id":"m\u0000","user":"u","text":"hi"}`}, 400, "control_character", `"id" has a control character (U+0000)`},
		{"edit without text", &call{path: "/v1/edits", body: `{"channel":"shop","id":"m"}`}, 400, "missing_field", `an edit needs the field "text"`},
		{"invite with text", &call{path: "/v1/invites", body: `{"channel":"shop","user":"u","text":"x"}`}, 400, "unknown_field", "an invite has channel, user and name"},
		{"unknown path", &call{path: "/v1/nothing", body: ok}, 404, "not_found", "POST /v1/messages"},
		{"wrong method", &call{method: "GET", path: "/v1/messages"}, 405, "method_not_allowed", "takes POST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := c.send(tc.call)
			if a.status != tc.status || a.code != tc.code || !strings.Contains(a.msg, tc.reason) {
				t.Errorf("got %d %s, want %d %s with %q", a.status, a.raw, tc.status, tc.code, tc.reason)
			}
		})
	}
	// Each refusal was logged, the 401s as warnings.
	logged := c.logs.find("webhook request refused")
	if len(logged) < 30 || logged[0]["code"] != "missing_signature" || logged[0]["reason"] == "" || logged[0]["remote"] == "" {
		t.Errorf("logged %d: %v", len(logged), logged[:min(2, len(logged))])
	}
	if a := c.send(&call{path: "/v1/messages", body: `{"channel":"shop","id":"m-2","user":"u","text":"hi"}`}); a.status != 200 {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	got := g.inbound()
	if len(got) != 2 || got[1].ID != "m-2" {
		t.Fatalf("the gateway got %+v", got)
	}
}

// TestReplayAfterRestart: a request's signature is remembered across a
// restart of the connector; GET /v1/status, which changes nothing, may
// come twice.
func TestReplayAfterRestart(t *testing.T) {
	dir := t.TempDir()
	answer := func(m bridge.Inbound) (bridge.Result, bool) { return bridge.Result{Event: "ev", Seq: 1}, true }
	c := start(t, deadURL, dir, []string{"shop"})
	runGateway(t, c.in, answer)
	first := &call{path: "/v1/messages", body: `{"channel":"shop","id":"m-1","user":"u","text":"hi"}`}
	if a := c.send(first); a.status != 200 {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	status := &call{method: "GET", path: "/v1/status"}
	for range 2 {
		if a := c.send(&call{method: "GET", path: "/v1/status", header: status.header}); a.status != 200 {
			t.Fatalf("%d %s", a.status, a.raw)
		}
	}
	c.stop()
	c = start(t, deadURL, dir, []string{"shop"})
	g := runGateway(t, c.in, answer)
	again := &call{path: first.path, body: first.body, header: first.header}
	if a := c.send(again); a.status != 401 || a.code != "replayed" {
		t.Fatalf("replayed after a restart: %d %s", a.status, a.raw)
	}
	if len(g.inbound()) != 0 {
		t.Fatal("the replay reached the gateway")
	}
	// A fresh signature goes through.
	ts := time.Now().Unix() + 1
	if a := c.send(&call{path: "/v1/messages", body: first.body, ts: strconv.FormatInt(ts, 10)}); a.status != 200 {
		t.Fatalf("%d %s", a.status, a.raw)
	}
}

// TestReplayBound: beyond maxReplay signatures in the window, requests
// are refused (429) rather than remembered without bound.
func TestReplayBound(t *testing.T) {
	c := start(t, deadURL, t.TempDir(), []string{"shop"}, func(c *Connector) { c.maxReplay = 3 })
	runGateway(t, c.in, func(m bridge.Inbound) (bridge.Result, bool) { return bridge.Result{Event: "ev", Seq: 1}, true })
	body := func(i int) string { return fmt.Sprintf(`{"channel":"shop","id":"m-%d","user":"u","text":"hi"}`, i) }
	for i := range 3 {
		if a := c.send(&call{path: "/v1/messages", body: body(i)}); a.status != 200 {
			t.Fatalf("%d: %d %s", i, a.status, a.raw)
		}
	}
	if a := c.send(&call{path: "/v1/messages", body: body(3)}); a.status != 429 || a.code != "too_many_requests" {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	if a := c.send(&call{method: "GET", path: "/v1/status"}); a.status != 200 {
		t.Fatalf("status: %d %s", a.status, a.raw)
	}
}

// TestGatewaySilent: a gateway that does not take the request, or takes
// it and does not answer, gives a 503 in time.
func TestGatewaySilent(t *testing.T) {
	c := start(t, deadURL, t.TempDir(), []string{"shop"}, func(c *Connector) { c.answerTimeout = 100 * time.Millisecond })
	body := `{"channel":"shop","id":"m-1","user":"u","text":"hi"}`
	if a := c.send(&call{path: "/v1/messages", body: body}); a.status != 503 || a.code != "unavailable" || !strings.Contains(a.msg, "did not take the request") {
		t.Fatalf("nobody reading: %d %s", a.status, a.raw)
	}
	dones := make(chan func(bridge.Result), 1)
	runGateway(t, c.in, func(m bridge.Inbound) (bridge.Result, bool) {
		dones <- m.Done
		return bridge.Result{}, false
	})
	if a := c.send(&call{path: "/v1/messages", body: strings.Replace(body, "m-1", "m-2", 1)}); a.status != 503 || a.code != "unavailable" || !strings.Contains(a.msg, "did not answer in time") {
		t.Fatalf("no answer: %d %s", a.status, a.raw)
	}
	late := <-dones
	late(bridge.Result{Event: "too late"}) // neither blocks nor panics
	late(bridge.Result{Event: "twice"})
}

// TestNew: the secret and the configuration are checked.
func TestNew(t *testing.T) {
	ok := bridge.Webhook{Listen: "127.0.0.1:0", URL: "https://platform.example/hook", SecretFile: writeSecret(t, strings.Repeat("s", 32)+"\r\n")}
	c, err := New("webhook.platform", ok, []string{"shop"}, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(c.secret) != strings.Repeat("s", 32) {
		t.Errorf("secret %q", c.secret)
	}
	if c.Name() != "webhook.platform" || c.Caps() != (bridge.Caps{Edit: true, Delete: true, Replies: true, Images: true, Private: true}) {
		t.Errorf("%s %+v", c.Name(), c.Caps())
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Run(t.Context(), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: %v", err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*bridge.Webhook)
		dir  string
		want string
	}{
		{"short secret", func(w *bridge.Webhook) { w.SecretFile = writeSecret(t, strings.Repeat("s", 31)+"\n") }, "", "has 31 bytes; it needs at least 32"},
		{"no secret file", func(w *bridge.Webhook) { w.SecretFile = "/nonexistent/secret" }, "", "reading the secret"},
		{"no secret", func(w *bridge.Webhook) { w.SecretFile = "" }, "", "needs a secret file"},
		{"bad url", func(w *bridge.Webhook) { w.URL = "ftp://x" }, "", "not an http:// or https:// URL"},
		{"bad listen", func(w *bridge.Webhook) { w.Listen = "8080" }, "", "not host:port"},
		{"no data folder", func(*bridge.Webhook) {}, "-", "needs a data folder"},
	} {
		cfg := ok
		tc.mod(&cfg)
		dir := t.TempDir()
		if tc.dir == "-" {
			dir = ""
		}
		if _, err := New("webhook.platform", cfg, nil, dir, nil); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "webhook.platform: ") {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// TestRunLifecycle: Run returns its context's error, or why it cannot
// listen; Close stops it; the outbox is closed after.
func TestRunLifecycle(t *testing.T) {
	p := newPlatform(t)
	cfg := bridge.Webhook{Listen: p.srv.Listener.Addr().String(), URL: p.url(), SecretFile: writeSecret(t, string(testSecret))}
	c, err := New("webhook.platform", cfg, []string{"shop"}, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Run(t.Context(), nil); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Run on a port in use: %v", err)
	}
	if _, err := c.Send(t.Context(), "shop", bridge.Outbound{Text: "x"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Run: %v", err)
	}

	cfg.Listen = "127.0.0.1:0"
	dir := t.TempDir()
	c, err = New("webhook.platform", cfg, []string{"shop"}, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Sent before Run, delivered by it.
	if _, err := c.Send(t.Context(), "shop", bridge.Outbound{Event: "e", Text: "early"}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(t.Context(), make(chan bridge.Inbound)) }()
	p.waitGot(1)
	waitFor(t, "connected", func() bool { return c.Status().Connected })
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run after Close: %v", err)
	}
	if s := c.Status(); s.Connected || c.Addr() != nil {
		t.Fatalf("status after Close: %+v", s)
	}
	if _, err := New("webhook.platform", cfg, []string{"shop"}, dir, nil); err != nil {
		t.Fatalf("the folder is still locked: %v", err)
	}
}
