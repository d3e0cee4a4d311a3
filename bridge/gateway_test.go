package bridge_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/bridge"
	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/node"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("QUN_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}

// startNode starts a node on loopback with its admin's client.
func startNode(t *testing.T) (*node.Node, *client.Client) {
	t.Helper()
	dir := t.TempDir()
	n, err := node.New(node.Config{
		DataDir:          dir,
		ListenAddrs:      []string{"/ip4/127.0.0.1/tcp/0"},
		APIAddr:          "127.0.0.1:0",
		RatePerSecond:    -1,
		APIRatePerSecond: -1,
		SyncInterval:     200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		n.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	k, err := client.LoadKey(filepath.Join(dir, "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(n.APIURL(), k, client.WithTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return n, c
}

// userOn makes a new user of node n.
func userOn(t *testing.T, n *node.Node) *client.Client {
	t.Helper()
	k, err := protocol.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(n.APIURL(), k, client.WithTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitUntil polls cond until it holds, failing after timeout.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(10 * time.Millisecond) // poll interval of a bounded wait
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
	}
}

// world is a shop's group on its node, a buyer on a second node, and a
// bridge user on a platform's node, a member with the role bridge.
type world struct {
	shop, buyerNode, platform *node.Node
	owner, buyer, bridgeUser  *client.Client
	gid                       protocol.GroupID
}

func newWorld(t *testing.T, ctx context.Context) *world {
	t.Helper()
	w := &world{}
	w.shop, w.owner = startNode(t)
	w.buyerNode, _ = startNode(t)
	w.platform, _ = startNode(t)
	for _, n := range []*node.Node{w.buyerNode, w.platform} {
		n.Host().Peerstore().AddAddrs(w.shop.ID().PeerID(), w.shop.Host().Addrs(), time.Hour)
	}
	w.buyer = userOn(t, w.buyerNode)
	w.bridgeUser = userOn(t, w.platform)
	name := "茶馆"
	gid, _, err := w.owner.CreateGroup(ctx, w.shop.ID(), protocol.Settings{Name: &name, Policy: ptr(protocol.PolicyOpen)})
	if err != nil {
		t.Fatal(err)
	}
	w.gid = gid
	if _, err := w.owner.SetMyProfile(ctx, api.MyProfile{Name: "店长"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.owner.SetProfile(ctx, gid, protocol.Profile{Name: "店长"}); err != nil {
		t.Fatal(err)
	}
	inv, _, err := w.owner.CreateInvite(ctx, gid, 0, time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client.Client{w.buyer, w.bridgeUser} {
		if _, err := c.Join(ctx, inv.Token()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.buyer.SetProfile(ctx, gid, protocol.Profile{Name: "Bob"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.owner.SetRole(ctx, gid, w.bridgeUser.Key().ID(), protocol.RoleBridge); err != nil {
		t.Fatal(err)
	}
	return w
}

func ptr[T any](v T) *T { return &v }

// runGateway runs a gateway for w's group routed to the fakes' channel
// "#tea" (or "room" for those that have IDs), until the test ends or stop
// is called.
func runGateway(t *testing.T, w *world, store *bridge.Store, dir string, fakes ...*fakeConn) (stop func()) {
	t.Helper()
	route := bridge.Route{Group: w.gid.String(), Direction: "both"}
	var conns []bridge.Connector
	for _, f := range fakes {
		route.Remote = append(route.Remote, f.name+":"+channelOf(f))
		conns = append(conns, f)
	}
	g, err := bridge.New(bridge.Options{
		Client: w.bridgeUser, Store: store, Connectors: conns, Routes: []bridge.Route{route},
		Web: w.platform.APIURL(), Logger: testLogger(t), StatusEvery: -1,
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
	w := newWorld(t, ctx)
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
	hello, err := w.buyer.Send(ctx, w.gid, protocol.MessageBody{Text: "hello from Qun"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []*fakeConn{irc, mx} {
		waitUntil(t, 20*time.Second, f.name+" gets the Qun message", func() bool {
			return slices.Equal(f.texts(), []string{"Bob: hello from Qun"})
		})
	}

	// IRC → Qun and Matrix, attributed; nothing back to IRC.
	res := irc.say(ctx, bridge.Inbound{Channel: "#tea", User: "alice", Name: "Alice", Text: "hi from IRC"})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	waitUntil(t, 20*time.Second, "Matrix gets the IRC message", func() bool {
		return slices.Equal(mx.texts(), []string{"Bob: hello from Qun", "Alice (irc.libera): hi from IRC"})
	})
	got, evs := groupTexts(t, ctx, w.buyer, w.gid)
	if !slices.Equal(got, []string{"me: hello from Qun", "Alice (irc.libera): hi from IRC"}) {
		t.Fatalf("the group reads %q", got)
	}
	if evs[1].Author != w.bridgeUser.Key().ID().String() || evs[1].Bridged.ID != protocol.BridgedID(w.bridgeUser.Key().ID(), "irc.libera", "alice").String() {
		t.Fatalf("the relayed message: author %s, bridged %+v", evs[1].Author, evs[1].Bridged)
	}

	// A Matrix reply to the Qun message: a reply on Qun, a quote on IRC.
	mxHello := mx.calls()[0].ID
	res = mx.say(ctx, bridge.Inbound{Channel: "room", ID: "$reply", User: "@carol:hs", Name: "Carol", Text: "welcome!", ReplyTo: mxHello})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	waitUntil(t, 20*time.Second, "IRC gets the Matrix reply with its quote", func() bool {
		tx := irc.calls()
		last := tx[len(tx)-1]
		return last.Out.Text == "welcome!" && last.Out.Quote != nil && last.Out.Quote.Author == "Bob" && last.Out.Quote.Text == "hello from Qun"
	})
	if ev := eventAt(t, ctx, w.buyer, w.gid, res.Seq); ev.Target != hello.Seq {
		t.Fatalf("the reply answers seq %d, want %d", ev.Target, hello.Seq)
	}

	// A Matrix edit: an edit on Qun, a correction on IRC.
	res = mx.say(ctx, bridge.Inbound{Channel: "room", ID: "$edit", User: "@carol:hs", Text: "welcome, Bob!", Edits: "$reply"})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	waitUntil(t, 20*time.Second, "IRC gets the correction", func() bool {
		tx := irc.calls()
		last := tx[len(tx)-1]
		return last.Out.Kind == bridge.OutCorrection && last.Out.Text == "welcome, Bob!" && last.Out.Author == "Carol (matrix.hs)"
	})

	// A recall on Qun: a redaction on Matrix, a notice on IRC.
	if _, err := w.buyer.Recall(ctx, w.gid, hello.Seq); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 20*time.Second, "Matrix deletes its copy", func() bool {
		return slices.ContainsFunc(mx.calls(), func(c fakeCall) bool { return c.Op == "delete" && c.ID == mxHello })
	})
	waitUntil(t, 20*time.Second, "IRC says it was recalled", func() bool {
		return slices.ContainsFunc(irc.calls(), func(c fakeCall) bool {
			return c.Out.Kind == bridge.OutNotice && strings.Contains(c.Out.Text, "recalled")
		})
	})

	// A Matrix redaction recalls the relayed message on Qun.
	res = mx.say(ctx, bridge.Inbound{Channel: "room", ID: "$redact", User: "@carol:hs", Deletes: "$reply"})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if ev := eventAt(t, ctx, w.buyer, w.gid, res.Seq); ev.Kind != "recall" {
		t.Fatalf("the redaction became %s", ev.Kind)
	}
	got, _ = groupTexts(t, ctx, w.buyer, w.gid)
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

// eventAt reads the event with seq.
func eventAt(t *testing.T, ctx context.Context, c *client.Client, gid protocol.GroupID, seq uint64) api.EventView {
	t.Helper()
	page, err := c.Events(ctx, gid, seq, 1)
	if err != nil || len(page.Events) == 0 {
		t.Fatalf("event %d: %v", seq, err)
	}
	return page.Events[0]
}

var _ = errors.Is
