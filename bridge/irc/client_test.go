package irc

import (
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestExchange(t *testing.T) {
	d := startIRCd(t)
	a := startClient(t, Config{Addr: d.Addr(), Nick: "alice", Channels: []string{"#shop"}})
	a.waitEvents(EventConnected, 1)
	b := startClient(t, Config{Addr: d.Addr(), Nick: "bob", Channels: []string{"#Shop"}})
	b.waitEvents(EventConnected, 1)
	a.waitEvents(EventJoin, 1)
	ctx := ctxT(t)

	if err := a.Say(ctx, "#shop", "hello bob"); err != nil {
		t.Fatal(err)
	}
	m := b.recv()
	if m.Channel != "#Shop" && m.Channel != "#shop" || m.Nick != "alice" || m.User == "" || m.Host == "" || m.Text != "hello bob" || m.Action || m.Notice || m.Time.IsZero() {
		t.Fatalf("bob got %+v", m)
	}
	if err := b.Action(ctx, "#shop", "waves"); err != nil {
		t.Fatal(err)
	}
	if m := a.recv(); m.Nick != "bob" || !m.Action || m.Text != "waves" {
		t.Fatalf("alice got %+v", m)
	}
	zh := "你好，欢迎光临本店！今天的茶叶八折。"
	if err := b.Notice(ctx, "#shop", zh); err != nil {
		t.Fatal(err)
	}
	if m := a.recv(); m.Text != zh || !m.Notice {
		t.Fatalf("alice got %+v", m)
	}

	// A long text in several lines: joined, they give it back.
	var long strings.Builder
	for i := 0; long.Len() < 3000; i++ {
		long.WriteString("商品 tea-")
		long.WriteString(strings.Repeat("x", i%7))
		long.WriteString(" 🍵 ")
	}
	long.WriteString("end")
	if err := a.Say(ctx, "#shop", long.String()); err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	n := 0
	for got.Len() < long.Len() {
		got.WriteString(b.recv().Text)
		n++
	}
	if got.String() != long.String() || n < 7 {
		t.Fatalf("reassembled %d lines: equal %v, %d of %d bytes", n, got.String() == long.String(), got.Len(), long.Len())
	}

	// Nothing of its own came back to either.
	select {
	case m := <-a.Messages():
		t.Fatalf("alice got %+v", m)
	case m := <-b.Messages():
		t.Fatalf("bob got %+v", m)
	default:
	}
}

func TestInjectionStaysOneLine(t *testing.T) {
	d := startIRCd(t)
	w := dialRaw(t, d.Addr(), "watcher", "#shop")
	a := startClient(t, Config{Addr: d.Addr(), Nick: "alice", Channels: []string{"#shop"}})
	a.waitEvents(EventConnected, 1)
	ctx := ctxT(t)
	for _, tc := range []struct{ in, want string }{
		{"hi\r\nQUIT :bye", "hi QUIT :bye"},
		{"x\nJOIN #evil\r\n\r\nPRIVMSG #shop :forged", "x JOIN #evil PRIVMSG #shop :forged"},
		{"nul\x00 and \x01VERSION\x01", "nul and VERSION"},
		{"\rKICK #shop watcher", " KICK #shop watcher"},
	} {
		if err := a.Say(ctx, "#shop", tc.in); err != nil {
			t.Fatal(err)
		}
		l := w.privmsg()
		if l.Nick() != "alice" || l.Param(0) != "#shop" || l.Param(1) != tc.want || len(l.Params) != 2 {
			t.Fatalf("%q arrived as %q", tc.in, l.String())
		}
	}
	if err := a.Say(ctx, "#shop", "still here"); err != nil {
		t.Fatal(err)
	}
	if l := w.privmsg(); l.Param(1) != "still here" {
		t.Fatalf("got %q", l.String())
	}
	if !a.Connected() {
		t.Fatal("alice disconnected")
	}
	// a target cannot inject either
	for _, target := range []string{"#shop :x\r\nQUIT", "#a b", "", ":x", "#a,#b"} {
		if err := a.Say(ctx, target, "x"); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Say to %q: %v", target, err)
		}
	}
	if err := a.Say(ctx, "#shop", "\r\n\x00"); !errors.Is(err, ErrEmptyText) {
		t.Errorf("empty text: %v", err)
	}
}

func TestFloodControl(t *testing.T) {
	d := startIRCd(t)
	w := dialRaw(t, d.Addr(), "watcher", "#shop")
	const rate, burst, n = 10.0, 3, 15
	a := startClient(t, Config{Addr: d.Addr(), Nick: "alice", Channels: []string{"#shop"}, MessagesPerSecond: rate, Burst: burst})
	a.waitEvents(EventConnected, 1)
	ctx := ctxT(t)
	start := time.Now()
	errs := make(chan error, 1)
	go func() {
		for i := range n {
			if err := a.Say(ctx, "#shop", strings.Repeat("m", i+1)); err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	}()
	for i := range n {
		l := w.privmsg()
		// Whatever the bucket holds (at most burst tokens), the i-th line
		// (from 0) cannot go earlier than this.
		earliest := time.Duration(float64(i+1-burst) / rate * float64(time.Second))
		if at := l.at.Sub(start); at < earliest-20*time.Millisecond {
			t.Errorf("line %d arrived after %v, before %v", i, at, earliest)
		}
		if len(l.Param(1)) != i+1 {
			t.Fatalf("line %d is %q", i, l.Param(1))
		}
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if total, want := time.Since(start), time.Duration(float64(n-burst)/rate*float64(time.Second)); total > want+3*time.Second {
		t.Errorf("%d lines took %v, want about %v", n, total, want)
	}
}

func TestQueueFull(t *testing.T) {
	// Not running: texts stay queued.
	c := New(Config{Addr: "127.0.0.1:1", Nick: "alice", QueueLines: 3})
	ctx := ctxT(t)
	done := make(chan error, 3)
	for range 3 {
		go func() { done <- c.Say(ctx, "#shop", "x") }()
	}
	waitFor(t, 5*time.Second, "3 queued lines", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.queued == 3
	})
	if err := c.Say(ctx, "#shop", "one too many"); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("4th line: %v", err)
	}
	c.Close()
	for range 3 {
		if err := <-done; !errors.Is(err, ErrClosed) {
			t.Fatalf("after Close: %v", err)
		}
	}
	if err := c.Say(ctx, "#shop", "x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Say after Close: %v", err)
	}
}

func TestReconnectAfterRestart(t *testing.T) {
	d := startIRCd(t)
	a := startClient(t, Config{Addr: d.Addr(), Nick: "alice", Channels: []string{"#shop"}, ReconnectMin: 100 * time.Millisecond, ReconnectMax: 500 * time.Millisecond})
	a.waitEvents(EventConnected, 1)

	d.Stop(syscall.SIGKILL)
	waitFor(t, 10*time.Second, "alice to notice", func() bool { return !a.Connected() })
	ctx := ctxT(t)
	said := make(chan error, 1)
	go func() { said <- a.Say(ctx, "#shop", "queued while the server was down") }()
	waitFor(t, 5*time.Second, "the line to be queued", func() bool {
		a.Client.mu.Lock()
		defer a.Client.mu.Unlock()
		return a.queued == 1
	})

	// The same port again; the watcher is in the backlog before ngircd runs,
	// so it has joined before alice can say anything.
	down := time.Now()
	d.Listen()
	w := dialRawAsync(t, d.Addr(), "watcher", "#shop")
	d.Exec()
	w.waitJoined("#shop")
	l := w.privmsg()
	if l.Nick() != "alice" || l.Param(1) != "queued while the server was down" {
		t.Fatalf("got %q", l.String())
	}
	if err := <-said; err != nil {
		t.Fatal(err)
	}
	a.waitEvents(EventConnected, 2)
	if took := time.Since(down); took > 5*time.Second {
		t.Errorf("reconnecting took %v with a backoff of at most 500ms", took)
	}
	// alice rejoined: she hears the channel.
	w.send("PRIVMSG #shop :welcome back")
	if m := a.recv(); m.Text != "welcome back" || m.Nick != "watcher" {
		t.Fatalf("alice got %+v", m)
	}
}

func TestNickInUse(t *testing.T) {
	d := startIRCd(t)
	a := startClient(t, Config{Addr: d.Addr(), Nick: "shop", Channels: []string{"#shop"}})
	a.waitEvents(EventConnected, 1)
	b := startClient(t, Config{Addr: d.Addr(), Nick: "shop", Channels: []string{"#shop"}})
	b.waitEvents(EventConnected, 1)
	if a.Nick() != "shop" || b.Nick() != "shop_" {
		t.Fatalf("nicks %q and %q", a.Nick(), b.Nick())
	}
	c := startClient(t, Config{Addr: d.Addr(), Nick: "shop", Channels: []string{"#shop"}})
	c.waitEvents(EventConnected, 1)
	if c.Nick() != "shop__" {
		t.Fatalf("third nick %q", c.Nick())
	}
	// shop_ hears shop, and shop does not hear itself
	if err := a.Say(ctxT(t), "#shop", "from shop"); err != nil {
		t.Fatal(err)
	}
	if m := b.recv(); m.Nick != "shop" || m.Text != "from shop" {
		t.Fatalf("got %+v", m)
	}
}

func TestKickBanRejoin(t *testing.T) {
	d := startIRCd(t)
	op := startClient(t, Config{Addr: d.Addr(), Nick: "op", Channels: []string{"#shop"}})
	op.waitEvents(EventConnected, 1) // first in the channel: operator
	b := startClient(t, Config{Addr: d.Addr(), Nick: "bridge", Channels: []string{"#shop"}})
	b.waitEvents(EventConnected, 1)
	ctx := ctxT(t)

	if err := b.Kick(ctx, "#shop", "op", "no"); !errors.Is(err, ErrNotOperator) {
		t.Fatalf("kick by a non-operator: %v", err)
	}
	if err := op.Kick(ctx, "#shop", "nobody", "x"); err == nil {
		t.Fatal("kicking someone absent went through")
	}
	if err := op.Kick(ctx, "#shop", "bridge", "spam\r\nQUIT"); err != nil {
		t.Fatal(err)
	}
	b.waitEvents(EventKick, 1)
	op.waitEvents(EventJoin, 2) // bridge is back
	if err := b.Say(ctx, "#shop", "back"); err != nil {
		t.Fatal(err)
	}
	if m := op.recv(); m.Text != "back" {
		t.Fatalf("got %+v", m)
	}
	if err := op.Ban(ctx, "#shop", "spammer"); err != nil {
		t.Fatal(err)
	}
	if err := b.Ban(ctx, "#shop", "op"); !errors.Is(err, ErrNotOperator) {
		t.Fatalf("ban by a non-operator: %v", err)
	}
}
