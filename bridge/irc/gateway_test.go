package irc_test

import (
	"context"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qunchat/qun/bridge"
	"github.com/qunchat/qun/bridge/irc"
	"github.com/qunchat/qun/internal/testserver"
	"github.com/qunchat/qun/protocol"
)

func logger(t testing.TB) *slog.Logger { return testserver.Logger(t) }

// TestGatewayOverIRC: a Qun group routed to a channel of a real ngircd.
// Messages go both ways, attributed and without pinging; a recall is a
// notice; !invite answers privately with a token that admits a new key; a
// ban kicks and bans the person; the server restarted mid-stream, the
// bridge reconnects and nothing is lost.
func TestGatewayOverIRC(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d := testserver.StartNgircd(t)
	w := testserver.NewWorld(t, ctx)
	conn, err := irc.NewConnector("irc.test", bridge.IRC{Server: d.Addr(), Nick: "qunbridge"}, []string{"#tea"}, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	conn.WithConfig(func(c *irc.Config) {
		c.MessagesPerSecond = -1 // ngircd runs without penalties here
		c.ReconnectMin, c.ReconnectMax = 100*time.Millisecond, 500*time.Millisecond
	})
	dir := t.TempDir()
	store, err := bridge.OpenStore(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	g, err := bridge.New(bridge.Options{
		Client: w.BridgeUser, Store: store, Connectors: []bridge.Connector{conn},
		Routes: []bridge.Route{{Group: w.GID.String(), Direction: "both", Remote: []string{"irc.test:#tea"}}},
		Web:    w.Platform.APIURL(), Logger: logger(t), StatusEvery: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	gctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = g.Run(gctx) }()
	defer func() { stop(); <-done }()
	testserver.WaitUntil(t, 20*time.Second, "the bridge on IRC", func() bool { return conn.Status().Connected })
	alice := irc.DialRaw(t, d.Addr(), "alice", "#tea") // after the bridge: it is the channel's operator

	// Qun → IRC: the author's name does not ping the IRC user of that name.
	hello, err := w.Buyer.Send(ctx, w.GID, protocol.MessageBody{Text: "hello IRC"})
	if err != nil {
		t.Fatal(err)
	}
	l := alice.Wait(func(l irc.Line) bool { return l.Command == "PRIVMSG" })
	if l.Nick() != "qunbridge" || l.Param(0) != "#tea" || l.Param(1) != "<"+irc.NoPing("Bob")+"> hello IRC" {
		t.Fatalf("IRC got %q", l.String())
	}

	// IRC → Qun, attributed; formatting codes dropped.
	head := testserver.GroupHead(t, ctx, w.Owner, w.GID)
	alice.Send("PRIVMSG #tea :\x02hi\x02 Qun")
	ev := testserver.EventAt(t, ctx, w.Owner, w.GID, head+1)
	if ev.Text != "hi Qun" || ev.Bridged == nil || ev.Bridged.Network != "irc.test" || ev.Bridged.User != "alice" {
		t.Fatalf("Qun got %+v (bridged %+v)", ev, ev.Bridged)
	}

	// A recall on Qun: a notice on IRC.
	if _, err := w.Buyer.Recall(ctx, w.GID, hello.Seq); err != nil {
		t.Fatal(err)
	}
	l = alice.Wait(func(l irc.Line) bool { return l.Command == "NOTICE" && l.Param(0) == "#tea" })
	if l.Param(1) != "[a message of "+irc.NoPing("Bob")+" was recalled]" && l.Param(1) != "[a message of Bob was recalled]" {
		t.Fatalf("the recall notice: %q", l.String())
	}

	// !invite: a private notice with a token that admits a new key.
	alice.Send("PRIVMSG #tea :!invite")
	l = alice.Wait(func(l irc.Line) bool {
		return l.Command == "NOTICE" && l.Param(0) == "alice" && strings.Contains(l.Param(1), "paste this code")
	})
	fields := strings.Fields(l.Param(1))
	token := fields[len(fields)-1]
	if _, err := protocol.ParseToken(token); err != nil {
		t.Fatalf("the token %q in %q: %v", token, l.Param(1), err)
	}
	newcomer := testserver.UserOn(t, w.BuyerNode)
	if _, err := newcomer.Join(ctx, token); err != nil {
		t.Fatalf("joining with the token from IRC: %v", err)
	}

	// A ban on Qun: the bridge, the channel's operator, kicks and bans.
	if _, err := w.Owner.Ban(ctx, w.GID, protocol.BridgedID(w.BridgeUser.Key().ID(), "irc.test", "alice"), "spam"); err != nil {
		t.Fatal(err)
	}
	alice.Wait(func(l irc.Line) bool {
		return l.Command == "MODE" && l.Param(1) == "+b" && strings.HasPrefix(l.Param(2), "alice!")
	})
	l = alice.Wait(func(l irc.Line) bool { return l.Command == "KICK" && l.Param(1) == "alice" })
	if l.Nick() != "qunbridge" {
		t.Fatalf("kicked by %q", l.Nick())
	}

	// The server restarted mid-stream: what Qun says meanwhile reaches the
	// channel once the bridge is back; IRC reaches Qun again.
	d.Stop(syscall.SIGKILL)
	testserver.WaitUntil(t, 10*time.Second, "the bridge to notice", func() bool { return !conn.Status().Connected })
	if _, err := w.Buyer.Send(ctx, w.GID, protocol.MessageBody{Text: "said while IRC was down"}); err != nil {
		t.Fatal(err)
	}
	d.Listen()
	watcher := irc.DialRawAsync(t, d.Addr(), "watcher", "#tea") // in the backlog before the bridge
	d.Exec()
	watcher.WaitJoined("#tea")
	l = watcher.Wait(func(l irc.Line) bool { return l.Command == "PRIVMSG" })
	if l.Param(1) != "<"+irc.NoPing("Bob")+"> said while IRC was down" {
		t.Fatalf("after the restart IRC got %q", l.String())
	}
	head = testserver.GroupHead(t, ctx, w.Owner, w.GID)
	watcher.Send("PRIVMSG #tea :back again")
	if ev := testserver.EventAt(t, ctx, w.Owner, w.GID, head+1); ev.Text != "back again" || ev.Bridged.User != "watcher" {
		t.Fatalf("after the restart Qun got %+v", ev)
	}

}
