package bridge_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qunchat/qun/internal/testserver"

	"github.com/qunchat/qun/bridge"
	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

func testLogger(t testing.TB) *slog.Logger { return testserver.Logger(t) }

// runGateway runs a gateway for w's group routed to the fakes' channel
// "#tea" (or "room" for those that have IDs), until the test ends or stop
// is called.
func runGateway(t *testing.T, w *testserver.World, store *bridge.Store, dir string, fakes ...*fakeConn) (stop func()) {
	t.Helper()
	return runGatewayAs(t, w.BridgeUser, w, store, dir, fakes...)
}

// runGatewayAs is runGateway with the bridge user's client c.
func runGatewayAs(t *testing.T, c *client.Client, w *testserver.World, store *bridge.Store, dir string, fakes ...*fakeConn) (stop func()) {
	t.Helper()
	route := bridge.Route{Group: w.GID.String(), Direction: "both"}
	var conns []bridge.Connector
	for _, f := range fakes {
		route.Remote = append(route.Remote, f.name+":"+channelOf(f))
		conns = append(conns, f)
	}
	g, err := bridge.New(bridge.Options{
		Client: c, Store: store, Connectors: conns, Routes: []bridge.Route{route},
		Web: w.Platform.APIURL(), Logger: testLogger(t), StatusEvery: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = g.Run(ctx) }()
	var once bool
	stop = func() {
		if !once {
			once = true
			cancel()
			<-done
			_ = g.WriteStatus(dir)
		}
	}
	t.Cleanup(stop)
	return stop
}

func channelOf(f *fakeConn) string {
	if f.caps.Delete {
		return "room"
	}
	return "#tea"
}

// groupTexts returns the group's messages, "author: text", as the buyer
// reads them; a bridged person's author is "name (network)".
func groupTexts(t *testing.T, ctx context.Context, c *client.Client, gid protocol.GroupID) ([]string, []api.EventView) {
	t.Helper()
	var out []string
	var evs []api.EventView
	for ev, err := range c.History(ctx, gid, 1, 0) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind != "message" || ev.Recalled != nil {
			continue
		}
		who := ev.Author[:8]
		if ev.Author == c.Key().ID().String() {
			who = "me"
		}
		if ev.Bridged != nil {
			who = ev.Bridged.Name + " (" + ev.Bridged.Network + ")"
		}
		out = append(out, who+": "+ev.Text)
		evs = append(evs, ev)
	}
	return out, evs
}

// TestGatewayRelays: one Qun group, two networks. What is written on each
// side arrives on the others once, in the group's order, attributed, never
// back where it came from; replies, edits and recalls follow the copies.
func TestGatewayRelays(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := testserver.NewWorld(t, ctx)
	dir := t.TempDir()
	store, err := bridge.OpenStore(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	irc := newFake("irc.libera", bridge.Caps{Private: true})
	mx := newFake("matrix.hs", bridge.Caps{Edit: true, Delete: true, Replies: true, Images: true})
	runGateway(t, w, store, dir, irc, mx)

	// Qun → both networks, with the member's name.
	hello, err := w.Buyer.Send(ctx, w.GID, protocol.MessageBody{Text: "hello from Qun"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []*fakeConn{irc, mx} {
		testserver.WaitUntil(t, 20*time.Second, f.name+" gets the Qun message", func() bool {
			return slices.Equal(f.texts(), []string{"Bob: hello from Qun"})
		})
	}

	// IRC → Qun and Matrix, attributed; nothing back to IRC.
	res := irc.say(ctx, bridge.Inbound{Channel: "#tea", User: "alice", Name: "Alice", Text: "hi from IRC"})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	testserver.WaitUntil(t, 20*time.Second, "Matrix gets the IRC message", func() bool {
		return slices.Equal(mx.texts(), []string{"Bob: hello from Qun", "Alice (irc.libera): hi from IRC"})
	})
	testserver.EventAt(t, ctx, w.Buyer, w.GID, res.Seq)
	got, evs := groupTexts(t, ctx, w.Buyer, w.GID)
	if !slices.Equal(got, []string{"me: hello from Qun", "Alice (irc.libera): hi from IRC"}) {
		t.Fatalf("the group reads %q", got)
	}
	if evs[1].Author != w.BridgeUser.Key().ID().String() || evs[1].Bridged.ID != protocol.BridgedID(w.BridgeUser.Key().ID(), "irc.libera", "alice").String() {
		t.Fatalf("the relayed message: author %s, bridged %+v", evs[1].Author, evs[1].Bridged)
	}

	// A Matrix reply to the Qun message: a reply on Qun, a quote on IRC.
	mxHello := mx.calls()[0].ID
	res = mx.say(ctx, bridge.Inbound{Channel: "room", ID: "$reply", User: "@carol:hs", Name: "Carol", Text: "welcome!", ReplyTo: mxHello})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	testserver.WaitUntil(t, 20*time.Second, "IRC gets the Matrix reply with its quote", func() bool {
		tx := irc.calls()
		last := tx[len(tx)-1]
		return last.Out.Text == "welcome!" && last.Out.Quote != nil && last.Out.Quote.Author == "Bob" && last.Out.Quote.Text == "hello from Qun"
	})
	if ev := testserver.EventAt(t, ctx, w.Buyer, w.GID, res.Seq); ev.Target != hello.Seq {
		t.Fatalf("the reply answers seq %d, want %d", ev.Target, hello.Seq)
	}

	// A Matrix edit: an edit on Qun, a correction on IRC.
	res = mx.say(ctx, bridge.Inbound{Channel: "room", ID: "$edit", User: "@carol:hs", Text: "welcome, Bob!", Edits: "$reply"})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	testserver.WaitUntil(t, 20*time.Second, "IRC gets the correction", func() bool {
		tx := irc.calls()
		last := tx[len(tx)-1]
		return last.Out.Kind == bridge.OutCorrection && last.Out.Text == "welcome, Bob!" && last.Out.Author == "Carol (matrix.hs)"
	})

	// A recall on Qun: a redaction on Matrix, a notice on IRC.
	if _, err := w.Buyer.Recall(ctx, w.GID, hello.Seq); err != nil {
		t.Fatal(err)
	}
	testserver.WaitUntil(t, 20*time.Second, "Matrix deletes its copy", func() bool {
		return slices.ContainsFunc(mx.calls(), func(c fakeCall) bool { return c.Op == "delete" && c.ID == mxHello })
	})
	testserver.WaitUntil(t, 20*time.Second, "IRC says it was recalled", func() bool {
		return slices.ContainsFunc(irc.calls(), func(c fakeCall) bool {
			return c.Out.Kind == bridge.OutNotice && strings.Contains(c.Out.Text, "recalled")
		})
	})

	// A Matrix redaction recalls the relayed message on Qun.
	res = mx.say(ctx, bridge.Inbound{Channel: "room", ID: "$redact", User: "@carol:hs", Deletes: "$reply"})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if ev := testserver.EventAt(t, ctx, w.Buyer, w.GID, res.Seq); ev.Kind != "recall" {
		t.Fatalf("the redaction became %s", ev.Kind)
	}
	got, _ = groupTexts(t, ctx, w.Buyer, w.GID)
	if !slices.Equal(got, []string{"Alice (irc.libera): hi from IRC"}) {
		t.Fatalf("after the recalls the group reads %q", got)
	}

	// Never an echo: IRC got nothing of its own, Matrix nothing of its own.
	for _, c := range irc.calls() {
		if strings.Contains(c.Out.Text, "hi from IRC") {
			t.Fatalf("IRC got its own message back: %+v", c)
		}
	}
	for _, c := range mx.calls() {
		if c.Out.Author == "Carol (matrix.hs)" {
			t.Fatalf("Matrix got its own message back: %+v", c)
		}
	}
}

// TestGatewayModeration: banning "Alice (irc.libera)" on Qun kicks and
// bans her on IRC where the bridge can, announces it on every network,
// and stops her messages — at the gateway, and at the host when a bridge
// that misbehaves relays them anyway. A kicked Qun member is announced.
func TestGatewayModeration(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := testserver.NewWorld(t, ctx)
	dir := t.TempDir()
	store, err := bridge.OpenStore(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	irc := newFake("irc.libera", bridge.Caps{Private: true})
	mx := newFake("matrix.hs", bridge.Caps{Edit: true, Delete: true, Replies: true})
	runGateway(t, w, store, dir, irc, mx)

	if res := irc.say(ctx, bridge.Inbound{Channel: "#tea", User: "alice", Name: "Alice", Text: "buy my spam"}); res.Err != nil {
		t.Fatal(res.Err)
	}
	alice := protocol.BridgedID(w.BridgeUser.Key().ID(), "irc.libera", "alice")
	if _, err := w.Owner.Ban(ctx, w.GID, alice, "spam"); err != nil {
		t.Fatal(err)
	}
	testserver.WaitUntil(t, 20*time.Second, "IRC bans Alice", func() bool {
		return slices.ContainsFunc(irc.calls(), func(c fakeCall) bool { return c.Op == "kick" && c.User == "alice" && c.Ban })
	})
	for _, f := range []*fakeConn{irc, mx} {
		testserver.WaitUntil(t, 20*time.Second, f.name+" announces the ban", func() bool {
			return slices.ContainsFunc(f.calls(), func(c fakeCall) bool {
				return c.Out.Kind == bridge.OutNotice && c.Out.Text == "Alice (irc.libera) was banned from the group by 店长: spam"
			})
		})
	}
	if slices.ContainsFunc(mx.calls(), func(c fakeCall) bool { return c.Op == "kick" }) {
		t.Fatal("Matrix was asked to kick a person of IRC")
	}
	head := testserver.GroupHead(t, ctx, w.Owner, w.GID)
	res := irc.say(ctx, bridge.Inbound{Channel: "#tea", User: "alice", Name: "Alice", Text: "more spam"})
	var ie *bridge.InputError
	if !errors.As(res.Err, &ie) || !strings.Contains(ie.Reason, "banned") {
		t.Fatalf("a banned person's message: %v", res.Err)
	}
	// A bridge that forgets the ban: the host refuses her.
	_, err = w.BridgeUser.Send(ctx, w.GID, protocol.MessageBody{Text: "more spam", Bridged: &protocol.Bridged{Network: "irc.libera", User: "alice", Name: "Alice"}})
	if !errors.Is(err, &protocol.Error{Code: protocol.CodeBanned}) {
		t.Fatalf("the host took a banned person's message from the bridge: %v", err)
	}
	if h := testserver.GroupHead(t, ctx, w.Owner, w.GID); h != head {
		t.Fatalf("the group grew from %d to %d with a banned person's messages", head, h)
	}
	// Her namesake on Matrix is another person.
	if res := mx.say(ctx, bridge.Inbound{Channel: "room", ID: "$a", User: "alice", Name: "Alice", Text: "I am not her"}); res.Err != nil {
		t.Fatalf("Alice of Matrix: %v", res.Err)
	}

	// A Qun member kicked: announced on both networks.
	if _, err := w.Owner.Kick(ctx, w.GID, w.Buyer.Key().ID(), ""); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*fakeConn{irc, mx} {
		testserver.WaitUntil(t, 20*time.Second, f.name+" announces the kick", func() bool {
			return slices.ContainsFunc(f.calls(), func(c fakeCall) bool {
				return c.Out.Kind == bridge.OutNotice && c.Out.Text == "Bob was removed from the group by 店长"
			})
		})
	}
}

// TestGatewayInvite: !invite on a network answers that person privately
// with a link, the bare token and (where pictures pass) a QR code; the
// token admits a new key; asking again gives the same invite.
func TestGatewayInvite(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := testserver.NewWorld(t, ctx)
	dir := t.TempDir()
	store, err := bridge.OpenStore(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	irc := newFake("irc.libera", bridge.Caps{Private: true})
	runGateway(t, w, store, dir, irc)
	<-irc.ready
	irc.mu.Lock()
	in := irc.in
	irc.mu.Unlock()
	in <- bridge.Inbound{Channel: "#tea", User: "dave", Text: " !invite "}
	var answer fakeCall
	testserver.WaitUntil(t, 20*time.Second, "the answer to !invite", func() bool {
		for _, c := range irc.calls() {
			if c.Out.To == "dave" {
				answer = c
				return true
			}
		}
		return false
	})
	if answer.Out.Image != nil {
		t.Fatal("a picture went to a network that takes none")
	}
	link := w.Platform.APIURL() + "/join#"
	i := strings.Index(answer.Out.Text, link)
	if i < 0 || !strings.Contains(answer.Out.Text, "茶馆") {
		t.Fatalf("the answer %q has no link %s… or no group name", answer.Out.Text, link)
	}
	token := strings.Fields(answer.Out.Text[i+len(link):])[0]
	if !strings.HasSuffix(answer.Out.Text, token) {
		t.Fatalf("the answer %q does not end with the bare token", answer.Out.Text)
	}
	res := irc.say(ctx, bridge.Inbound{Channel: "#tea", User: "dave", Invite: true})
	if res.Err != nil || res.Invite == nil || res.Invite.Token != token || len(res.Invite.QR) == 0 {
		t.Fatalf("asking again: %+v", res)
	}
	dave := testserver.UserOn(t, w.BuyerNode)
	if _, err := dave.Join(ctx, token); err != nil {
		t.Fatalf("joining with the bridge's invite: %v", err)
	}
	if _, err := dave.Join(ctx, token); err == nil {
		t.Fatal("the invite admitted twice")
	}
	if got := irc.texts(); len(got) != 0 {
		t.Fatalf("!invite was relayed as a message: %q", got)
	}
}

// TestGatewayBadInput: what no group should get is refused with a reason,
// nothing of it is relayed, and the gateway goes on.
func TestGatewayBadInput(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := testserver.NewWorld(t, ctx)
	dir := t.TempDir()
	store, err := bridge.OpenStore(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	irc := newFake("irc.libera", bridge.Caps{Private: true})
	mx := newFake("matrix.hs", bridge.Caps{Edit: true, Delete: true, Replies: true})
	runGateway(t, w, store, dir, irc, mx)
	head := testserver.GroupHead(t, ctx, w.Owner, w.GID)
	for _, tc := range []struct {
		name string
		m    bridge.Inbound
		want string
	}{
		{"invalid UTF-8", bridge.Inbound{Channel: "#tea", User: "eve", Text: "caf\xe9"}, "not UTF-8"},
		{"control characters", bridge.Inbound{Channel: "#tea", User: "eve", Text: "bell\x07\x1b[2J"}, "control characters"},
		{"oversized", bridge.Inbound{Channel: "#tea", User: "eve", Text: strings.Repeat("长", protocol.MaxTextRunes+1)}, "at most"},
		{"no sender", bridge.Inbound{Channel: "#tea", Text: "who am I"}, "no sender"},
		{"a sender with a line break", bridge.Inbound{Channel: "#tea", User: "eve\nPRIVMSG", Text: "x"}, "control characters"},
		{"an overlong sender", bridge.Inbound{Channel: "#tea", User: strings.Repeat("e", 300), Text: "x"}, "at most"},
		{"empty", bridge.Inbound{Channel: "#tea", User: "eve", Text: "  \n "}, "no text"},
		{"an unknown channel", bridge.Inbound{Channel: "#elsewhere", User: "eve", Text: "hi"}, "not routed"},
		{"a deletion of a message never relayed", bridge.Inbound{Channel: "room", User: "eve", ID: "$d", Deletes: "$nothing"}, "never relayed"},
		{"an edit of a message never relayed", bridge.Inbound{Channel: "room", User: "eve", ID: "$e", Edits: "$nothing", Text: "x"}, "never relayed"},
	} {
		f := irc
		if tc.m.Channel == "room" {
			f = mx
		}
		res := f.say(ctx, tc.m)
		var ie *bridge.InputError
		if !errors.As(res.Err, &ie) || !strings.Contains(ie.Reason, tc.want) {
			t.Errorf("%s: %v, want a refusal saying %q", tc.name, res.Err, tc.want)
		}
	}
	// Names that are no profile string are cleaned, not refused.
	if res := irc.say(ctx, bridge.Inbound{Channel: "#tea", User: "zoe", Name: " \u202eZoe\u200b the very long name of someone on IRC ", Text: "still here"}); res.Err != nil {
		t.Fatal(res.Err)
	}
	if h := testserver.GroupHead(t, ctx, w.Owner, w.GID); h != head+1 {
		t.Fatalf("the group went from %d to %d: something refused was relayed", head, h)
	}
	ev := testserver.EventAt(t, ctx, w.Owner, w.GID, head+1)
	if ev.Bridged == nil || ev.Bridged.Name != "Zoe the very long name of someon" {
		t.Fatalf("the cleaned name: %+v", ev.Bridged)
	}
	testserver.WaitUntil(t, 20*time.Second, "Matrix gets the good message", func() bool { return len(mx.texts()) == 1 })
}

// TestGatewayRestart: a gateway stopped and started again on its store
// sends what was written meanwhile once, nothing it sent before, and still
// knows the copies that recalls need; a submission a crash left pending
// (posted, not yet linked) is posted again and becomes the same event.
func TestGatewayRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := testserver.NewWorld(t, ctx)
	dir := t.TempDir()
	store, err := bridge.OpenStore(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	irc := newFake("irc.libera", bridge.Caps{Private: true})
	mx := newFake("matrix.hs", bridge.Caps{Edit: true, Delete: true, Replies: true})
	stop := runGateway(t, w, store, dir, irc, mx)
	before, err := w.Buyer.Send(ctx, w.GID, protocol.MessageBody{Text: "before"})
	if err != nil {
		t.Fatal(err)
	}
	if res := mx.say(ctx, bridge.Inbound{Channel: "room", ID: "$m1", User: "@carol:hs", Text: "from Matrix before"}); res.Err != nil {
		t.Fatal(res.Err)
	}
	testserver.WaitUntil(t, 20*time.Second, "both copies", func() bool { return len(mx.texts()) == 1 && len(irc.texts()) == 2 })
	mxBefore := mx.calls()[0].ID
	stop()
	status, err := os.ReadFile(filepath.Join(dir, bridge.StatusFile))
	if err != nil || !strings.Contains(string(status), "irc.libera:#tea") || !strings.Contains(string(status), "in 1 · out 3") {
		t.Fatalf("the status file: %q %v", status, err)
	}

	// While it is down: three messages on Qun; and a crash just after
	// posting a relayed IRC message, before its link was written.
	for _, text := range []string{"one", "two", "three"} {
		if _, err := w.Buyer.Send(ctx, w.GID, protocol.MessageBody{Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	sub, err := w.BridgeUser.Sign(protocol.KindMessage, w.GID, &protocol.MessageBody{Text: "lost in the crash?", Bridged: &protocol.Bridged{Network: "irc.libera", User: "alice"}})
	if err != nil {
		t.Fatal(err)
	}
	crashed := bridge.Pending{Remote: bridge.Remote{Connector: "irc.libera", Channel: "#tea", ID: "irc-crash"}, Group: w.GID, Raw: sub.Raw}
	if err := store.Pend(crashed); err != nil {
		t.Fatal(err)
	}
	posted, err := w.BridgeUser.SubmitSigned(ctx, sub.Raw, nil)
	if err != nil {
		t.Fatal(err)
	}

	irc2 := newFake("irc.libera", bridge.Caps{Private: true})
	mx2 := newFake("matrix.hs", bridge.Caps{Edit: true, Delete: true, Replies: true})
	runGateway(t, w, store, dir, irc2, mx2)
	want := []string{"Bob: one", "Bob: two", "Bob: three"}
	testserver.WaitUntil(t, 20*time.Second, "IRC gets what was written meanwhile", func() bool { return slices.Equal(irc2.texts(), want) })
	testserver.WaitUntil(t, 20*time.Second, "Matrix gets it and the crashed message, once", func() bool {
		return slices.Equal(mx2.texts(), append(want[:3:3], "alice (irc.libera): lost in the crash?"))
	})
	if ev, ok, _ := store.EventOf(crashed.Remote); !ok || ev.Seq != posted.Seq {
		t.Fatalf("the crashed message links to %+v %v, want seq %d", ev, ok, posted.Seq)
	}
	if ps, _ := store.Pendings(); len(ps) != 0 {
		t.Fatalf("still pending: %+v", ps)
	}
	testserver.EventAt(t, ctx, w.Buyer, w.GID, posted.Seq)
	got, _ := groupTexts(t, ctx, w.Buyer, w.GID)
	if n := strings.Count(strings.Join(got, "\n"), "lost in the crash?"); n != 1 {
		t.Fatalf("the crashed message is %d times in the group", n)
	}

	// Copies made before the restart are still known.
	if _, err := w.Buyer.Recall(ctx, w.GID, before.Seq); err != nil {
		t.Fatal(err)
	}
	testserver.WaitUntil(t, 20*time.Second, "Matrix deletes the copy made before the restart", func() bool {
		return slices.ContainsFunc(mx2.calls(), func(c fakeCall) bool { return c.Op == "delete" && c.ID == mxBefore })
	})
	res := mx2.say(ctx, bridge.Inbound{Channel: "room", ID: "$r1", User: "@carol:hs", Deletes: "$m1"})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if ev := testserver.EventAt(t, ctx, w.Buyer, w.GID, res.Seq); ev.Kind != "recall" {
		t.Fatalf("a redaction after the restart became %s", ev.Kind)
	}
	// A replay of a message relayed before (a network that sends its
	// history again) is not relayed twice.
	head := testserver.GroupHead(t, ctx, w.Owner, w.GID)
	if res := mx2.say(ctx, bridge.Inbound{Channel: "room", ID: "$m1", User: "@carol:hs", Text: "from Matrix before"}); res.Err != nil {
		t.Fatal(res.Err)
	}
	if h := testserver.GroupHead(t, ctx, w.Owner, w.GID); h != head {
		t.Fatal("a replayed message was relayed again")
	}
}

// TestGatewayNodeDownAtStart: a gateway that starts with a submission
// pending while its node cannot be reached connects its networks anyway;
// once the node answers, the pending message is posted first and what the
// network said meanwhile after it, each once.
func TestGatewayNodeDownAtStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := testserver.NewWorld(t, ctx)
	dir := t.TempDir()
	store, err := bridge.OpenStore(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := w.BridgeUser.Sign(protocol.KindMessage, w.GID, &protocol.MessageBody{Text: "pending at the crash", Bridged: &protocol.Bridged{Network: "irc.libera", User: "alice", Name: "alice"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Pend(bridge.Pending{Remote: bridge.Remote{Connector: "irc.libera", Channel: "#tea", ID: "irc-crash"}, Group: w.GID, Raw: sub.Raw}); err != nil {
		t.Fatal(err)
	}

	// The node, behind a gate that is shut: no answer but 503.
	target, err := url.Parse(w.Platform.APIURL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var open atomic.Bool
	gate := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if !open.Load() {
			http.Error(rw, "the node is down", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(rw, r)
	}))
	defer gate.Close()
	c, err := client.New(gate.URL, w.BridgeUser.Key(), client.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}

	irc := newFake("irc.libera", bridge.Caps{Private: true})
	runGatewayAs(t, c, w, store, dir, irc)
	testserver.WaitUntil(t, 20*time.Second, "IRC connected while the node is down", func() bool { return irc.Status().Connected })
	said := make(chan bridge.Result, 1)
	go func() {
		said <- irc.say(ctx, bridge.Inbound{Channel: "#tea", ID: "irc-new", User: "alice", Name: "alice", Text: "said while the node was down"})
	}()
	open.Store(true)
	res := <-said
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	testserver.EventAt(t, ctx, w.Buyer, w.GID, res.Seq)
	got, _ := groupTexts(t, ctx, w.Buyer, w.GID)
	want := []string{"alice (irc.libera): pending at the crash", "alice (irc.libera): said while the node was down"}
	if !slices.Equal(got, want) {
		t.Fatalf("the group reads %q, want %q", got, want)
	}
	if ps, _ := store.Pendings(); len(ps) != 0 {
		t.Fatalf("still pending: %+v", ps)
	}
}
