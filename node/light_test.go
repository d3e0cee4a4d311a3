package node

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/qunchat/qun/node/light"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// api is a minimal HTTP client of a node's API for these tests.
type apiClient struct {
	t     testing.TB
	base  string
	key   *protocol.Key
	token string
}

func newAPI(t testing.TB, n *testNode, k *protocol.Key) *apiClient {
	return &apiClient{t: t, base: n.APIURL(), key: k}
}

// call sends a request and decodes a 2xx answer into out; it returns the
// status and, for errors, the decoded error.
func (a *apiClient) call(method, path string, in, out any) (int, *api.ErrorJSON) {
	a.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.base+path, body)
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		var eb api.ErrorBody
		if err := json.Unmarshal(data, &eb); err != nil || eb.Error.Message == "" {
			a.t.Fatalf("%s %s: status %d without a readable error: %s", method, path, resp.StatusCode, data)
		}
		return resp.StatusCode, &eb.Error
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			a.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return resp.StatusCode, nil
}

func (a *apiClient) mustCall(method, path string, in, out any) {
	a.t.Helper()
	if status, e := a.call(method, path, in, out); e != nil {
		a.t.Fatalf("%s %s: %d %s: %s", method, path, status, e.Code, e.Message)
	}
}

func (a *apiClient) challenge() []byte {
	a.t.Helper()
	var ch api.ChallengeResponse
	a.mustCall("POST", "/api/v1/auth/challenge", api.ChallengeRequest{User: a.key.ID().String()}, &ch)
	raw, _ := base64.StdEncoding.DecodeString(ch.Challenge)
	return raw
}

func (a *apiClient) sessionWith(ch, sig []byte) (int, *api.ErrorJSON) {
	var sr api.SessionResponse
	status, e := a.call("POST", "/api/v1/auth/session", api.SessionRequest{
		User: a.key.ID().String(), Challenge: base64.StdEncoding.EncodeToString(ch), Signature: base64.StdEncoding.EncodeToString(sig),
	}, &sr)
	if e == nil {
		a.token = sr.Token
	}
	return status, e
}

// signIn opens a session.
func (a *apiClient) signIn() *apiClient {
	a.t.Helper()
	ch := a.challenge()
	if status, e := a.sessionWith(ch, a.key.SignRaw(protocol.DomainAuth, ch)); e != nil {
		a.t.Fatalf("sign in: %d %s", status, e.Message)
	}
	return a
}

func (a *apiClient) submit(gid protocol.GroupID, body protocol.Body) (*api.SubmitResponse, *api.ErrorJSON) {
	ss := sign(a.t, a.key, gid, body)
	var resp api.SubmitResponse
	_, e := a.call("POST", "/api/v1/submit", api.SubmitRequest{Submission: base64.StdEncoding.EncodeToString(ss.Raw)}, &resp)
	return &resp, e
}

// submitVia signs body and submits it through a's node, naming where the
// group's host is (a join or request to a group the node does not know).
func (a *apiClient) submitVia(gid protocol.GroupID, body protocol.Body, hostAddrs []string) (*api.SubmitResponse, *api.ErrorJSON) {
	ss := sign(a.t, a.key, gid, body)
	var resp api.SubmitResponse
	_, e := a.call("POST", "/api/v1/submit", api.SubmitRequest{Submission: base64.StdEncoding.EncodeToString(ss.Raw), HostAddrs: hostAddrs}, &resp)
	return &resp, e
}

// hostAddrs are n's addresses as a submission's host_addrs take them.
func hostAddrs(n *testNode) []string {
	var out []string
	for _, m := range n.Addrs() {
		out = append(out, m.String())
	}
	return out
}

func wantError(t testing.TB, what string, status int, e *api.ErrorJSON, wantStatus int, wantCode protocol.Code) {
	t.Helper()
	if e == nil || status != wantStatus || e.Code != wantCode.String() {
		t.Fatalf("%s: got %d %+v, want %d %s", what, status, e, wantStatus, wantCode)
	}
}

// TestLightAPIRefusals covers sign-in and every refusal of the API.
func TestLightAPIRefusals(t *testing.T) {
	a := startNode(t, "", func(c *Config) { c.APIRatePerSecond = 0 }) // the default limit
	gid := createGroup(t, a, "shop", protocol.PolicyInvite)
	user := newKey(t)

	// No session.
	anon := newAPI(t, a, user)
	status, e := anon.call("GET", "/api/v1/groups/"+gid.String(), nil, nil)
	wantError(t, "no session", status, e, 401, protocol.CodeUnauthenticated)

	// Wrong signature, then the challenge is used up.
	ch := anon.challenge()
	status, e = anon.sessionWith(ch, newKey(t).SignRaw(protocol.DomainAuth, ch))
	wantError(t, "wrong signature", status, e, 401, protocol.CodeBadSignature)
	status, e = anon.sessionWith(ch, user.SignRaw(protocol.DomainAuth, ch))
	wantError(t, "reused challenge", status, e, 401, protocol.CodeUnauthenticated)
	// A signature for another purpose (domain) does not sign in.
	ch = anon.challenge()
	status, e = anon.sessionWith(ch, user.SignRaw(protocol.DomainSubmission, ch))
	wantError(t, "wrong domain", status, e, 401, protocol.CodeBadSignature)

	c := newAPI(t, a, user).signIn()
	// Unknown group, private group, malformed ID.
	status, e = c.call("GET", "/api/v1/groups/"+protocol.GroupID{9}.String(), nil, nil)
	wantError(t, "unknown group", status, e, 404, protocol.CodeUnknownGroup)
	status, e = c.call("GET", "/api/v1/groups/"+gid.String()+"/events?from=1", nil, nil)
	wantError(t, "not a member", status, e, 403, protocol.CodePrivate)
	status, e = c.call("GET", "/api/v1/groups/xyz", nil, nil)
	wantError(t, "bad group ID", status, e, 400, protocol.CodeInvalid)
	status, e = c.call("GET", "/api/v1/groups", nil, nil)
	wantError(t, "group list by a non-admin", status, e, 403, protocol.CodeForbidden)

	// A submission by someone else than the signed-in user.
	other := &apiClient{t: t, base: c.base, key: newKey(t), token: c.token}
	_, e = other.submit(gid, text("hi"))
	if e == nil || e.Code != protocol.CodeForbidden.String() {
		t.Fatalf("foreign submission: %+v", e)
	}

	// Oversized body.
	big := `{"submission":"` + strings.Repeat("A", 2*protocol.MaxSubmissionSize) + `"}`
	req, _ := http.NewRequest("POST", c.base+"/api/v1/submit", strings.NewReader(big))
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body: status %d", resp.StatusCode)
	}

	// An expired session: node/light's TestSessionAnswers.

	// Too many requests.
	c.signIn()
	var limited *api.ErrorJSON
	for i := 0; i < 3*light.DefaultRequestBurst && limited == nil; i++ {
		status, limited = c.call("GET", "/api/v1/node", nil, nil)
	}
	wantError(t, "request flood", status, limited, 429, protocol.CodeRateLimited)
}

// TestLightAPIReads covers my groups, forward and backward history and
// invite previews, through a member's home node that is not the host.
func TestLightAPIReads(t *testing.T) {
	a, b := startNode(t, ""), startNode(t, "")
	gid := createGroup(t, a, "tea", protocol.PolicyInvite)
	inv := invite(t, a, a.admin, gid, a, 1, time.Hour)

	// Preview through B, which does not hold the group: B asks the host
	// for a signed-in user.
	var p api.InvitePreview
	bob := newKey(t)
	cb := newAPI(t, b, bob).signIn()
	cb.mustCall("GET", "/api/v1/invites/preview?token="+inv.Token(), nil, &p)
	if !p.Valid || p.Name != "tea" || p.Members != 1 || p.Group != gid.String() {
		t.Fatalf("preview %+v", p)
	}
	tokenBody := protocol.NewJoinBody(protocol.KindJoin, inv.Raw, "")
	if _, e := cb.submit(gid, tokenBody); e != nil {
		t.Fatalf("join: %s", e.Message)
	}
	newAPI(t, b, nil).mustCall("GET", "/api/v1/invites/preview?token="+inv.Token(), nil, &p)
	if p.Valid || !strings.Contains(p.Reason, "used up") {
		t.Fatalf("preview of a used-up invite: %+v", p)
	}
	status, e := newAPI(t, b, nil).call("GET", "/api/v1/invites/preview?token=garbage", nil, nil)
	wantError(t, "garbage token", status, e, 400, protocol.CodeMalformed)

	var last uint64
	for i := range 25 {
		r, e := cb.submit(gid, text(fmt.Sprintf("m%d", i)))
		if e != nil {
			t.Fatal(e.Message)
		}
		last = r.Seq
	}
	var mine []api.MyGroup
	cb.mustCall("GET", "/api/v1/me/groups", nil, &mine)
	if len(mine) != 1 || mine[0].Role != "member" || mine[0].Head != last {
		t.Fatalf("my groups %+v", mine)
	}
	// Backward pages of 10 cover the whole log once, newest first.
	var seen []uint64
	for before := uint64(0); ; {
		var page api.BackwardPage
		cb.mustCall("GET", fmt.Sprintf("/api/v1/groups/%s/events?before=%d&limit=10", gid, before), nil, &page)
		for i := len(page.Events) - 1; i >= 0; i-- {
			seen = append(seen, page.Events[i].Seq)
		}
		if page.Prev == 0 {
			break
		}
		before = page.Prev
	}
	if uint64(len(seen)) != last || seen[0] != last || seen[len(seen)-1] != 1 {
		t.Fatalf("backward paging saw %d events (%v…)", len(seen), seen[:3])
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] != seen[i-1]-1 {
			t.Fatalf("backward paging skipped from %d to %d", seen[i-1], seen[i])
		}
	}
}

// wsDial opens the WebSocket of a signed-in client. With rcvbuf > 0 the
// client's socket gets that small a receive buffer, so that a client that
// does not read fills it quickly (Linux otherwise grows it to tens of MB).
func wsDial(t testing.TB, c *apiClient, rcvbuf ...int) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var opts *websocket.DialOptions
	if len(rcvbuf) > 0 {
		d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf[0])
			})
			return errors.Join(err, serr)
		}}
		opts = &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}}
	}
	conn, _, err := websocket.Dial(ctx, strings.Replace(c.base, "http", "ws", 1)+"/api/v1/ws?token="+c.token, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return conn
}

func wsSend(t testing.TB, conn *websocket.Conn, m api.WSClientMessage) {
	t.Helper()
	b, _ := json.Marshal(m)
	if err := conn.Write(context.Background(), websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
}

func wsRead(t testing.TB, conn *websocket.Conn) api.WSServerMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, b, err := conn.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var m api.WSServerMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestWebSocket: catch-up then live events in order, cursors, refusals and
// a slow client dropped with a reason.
func TestWebSocket(t *testing.T) {
	dropped := make(chan string, 10)
	a := startNode(t, "", func(c *Config) {
		c.WSWriteTimeout = 300 * time.Millisecond
		c.OnWSDrop = func(reason string) { dropped <- reason }
	})
	gid := createGroup(t, a, "live", protocol.PolicyOpen)
	admin := newAPI(t, a, a.admin).signIn()
	for i := range 5 {
		if _, e := admin.submit(gid, text(fmt.Sprintf("old %d", i))); e != nil {
			t.Fatal(e.Message)
		}
	}
	conn := wsDial(t, admin)
	wsSend(t, conn, api.WSClientMessage{Type: "subscribe", Group: gid.String(), From: 1})
	if m := wsRead(t, conn); m.Type != "subscribed" || m.Head != 6 {
		t.Fatalf("first message %+v", m)
	}
	go func() {
		for i := range 5 {
			admin.submit(gid, text(fmt.Sprintf("new %d", i)))
		}
	}()
	for seq := uint64(1); seq <= 11; seq++ {
		m := wsRead(t, conn)
		if m.Type != "event" || m.Event.Seq != seq {
			t.Fatalf("want event %d, got %+v", seq, m)
		}
	}
	// Cursor: ack 8, then a subscription without from starts at 9.
	wsSend(t, conn, api.WSClientMessage{Type: "ack", Group: gid.String(), Seq: 8})
	wsSend(t, conn, api.WSClientMessage{Type: "subscribe", Group: gid.String()})
	if m := wsRead(t, conn); m.Type != "subscribed" || m.From != 9 {
		t.Fatalf("resubscribe from cursor: %+v", m)
	}
	if m := wsRead(t, conn); m.Type != "event" || m.Event.Seq != 9 {
		t.Fatalf("after resubscribe: %+v", m)
	}
	// A non-member cannot subscribe to a private group; bad input gets an error message.
	priv := createGroup(t, a, "private", protocol.PolicyInvite)
	stranger := newAPI(t, a, newKey(t)).signIn()
	sc := wsDial(t, stranger)
	wsSend(t, sc, api.WSClientMessage{Type: "subscribe", Group: priv.String()})
	if m := wsRead(t, sc); m.Type != "error" || m.Code != "private" {
		t.Fatalf("stranger subscribe: %+v", m)
	}
	sc.Write(context.Background(), websocket.MessageText, []byte("not json"))
	if m := wsRead(t, sc); m.Type != "error" || m.Code != "malformed" {
		t.Fatalf("garbage: %+v", m)
	}

	// A client that never reads is dropped with a reason once the node
	// cannot write to it. (The other sockets go first: they stopped reading
	// too, and the node would rightly drop them.)
	conn.CloseNow()
	sc.CloseNow()
	big := strings.Repeat("x", protocol.MaxTextRunes-10)
	for i := range 800 {
		if _, e := admin.submit(gid, text(fmt.Sprintf("%d %s", i, big))); e != nil {
			t.Fatal(e.Message)
		}
	}
	slow := wsDial(t, admin, 8<<10) // 800 events of ~10 KB: more than the socket buffers hold
	wsSend(t, slow, api.WSClientMessage{Type: "subscribe", Group: gid.String(), From: 1})
	select {
	case reason := <-dropped:
		if !strings.Contains(reason, "too slow") {
			t.Fatalf("slow client dropped for %q", reason)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("slow client never dropped")
	}
	// The client then finds its connection closed after what was buffered
	// (megabytes: generous time for a loaded machine under -race).
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		if _, _, err := slow.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("connection of a dropped client still open")
			}
			break
		}
	}
}
