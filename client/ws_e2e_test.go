package client_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/node"
	"github.com/qunchat/qun/protocol"
)

// The SDK against real nodes, in process. This external test package may
// import node/; the SDK itself may not (see deps_test.go).

// cutProxy is a TCP proxy in front of a node's API that the test can cut:
// cut closes every connection through it and refuses new ones (accepts and
// closes them at once) until restore.
type cutProxy struct {
	ln     net.Listener
	target string

	mu       sync.Mutex
	cut      bool
	conns    map[net.Conn]bool
	accepted int // connections piped to the node
	refused  int // connections refused while cut
	wg       sync.WaitGroup
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.setCut(true)
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *cutProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.refused++
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.accepted++
		p.conns[c] = true
		p.wg.Add(1)
		p.mu.Unlock()
		go p.pipe(c)
	}
}

func (p *cutProxy) pipe(c net.Conn) {
	defer p.wg.Done()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.cut { // cut while dialing
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[up] = true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); up.Close(); done <- struct{}{} }()
	go func() { io.Copy(c, up); c.Close(); done <- struct{}{} }()
	<-done
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// setCut cuts (closing every live connection) or restores the proxy.
func (p *cutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
	}
}

func (p *cutProxy) counts() (accepted, refused int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted, p.refused
}

// startNode runs a real node in process on loopback and returns it with a
// client that acts with its admin key (DataDir/admin.key).
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

// TestWSDisconnectedWhile1000Sent is the light client's promise: a
// WebSocket client that is disconnected while 1,000 messages are sent
// receives all of them, in order, once, after it reconnects.
func TestWSDisconnectedWhile1000Sent(t *testing.T) {
	const total = 1000
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	n, shop := startNode(t)
	host, err := protocol.ParseUserID(n.NodeInfo().PeerID)
	if err != nil {
		t.Fatal(err)
	}
	name := "Tea shop"
	gid, _, err := shop.CreateGroup(ctx, host, protocol.Settings{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	inv, _, err := shop.CreateInvite(ctx, gid, 1, time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}

	// The reader is a member who talks to the node only through the proxy.
	proxy := newCutProxy(t, strings.TrimPrefix(n.APIURL(), "http://"))
	readerKey, _ := protocol.NewKey()
	reader, err := client.New(proxy.URL(), readerKey, client.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	joined, err := reader.Join(ctx, inv.Token())
	if err != nil {
		t.Fatal(err)
	}
	sub, err := reader.Subscribe(ctx, map[protocol.GroupID]uint64{gid: 1},
		client.WithBackoff(20*time.Millisecond, 300*time.Millisecond), client.WithPingInterval(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	// Catch-up of what is stored: create, invite, join.
	next := uint64(1)
	for next <= joined.Seq {
		select {
		case ev := <-sub.Events():
			if ev.Group != gid || ev.Seq != next {
				t.Fatalf("catch-up: event %d of %s, want %d", ev.Seq, ev.Group, next)
			}
			next++
		case <-ctx.Done():
			t.Fatalf("catch-up stopped before seq %d", next)
		}
	}

	// Cut the reader off, then send 1,000 messages while it is away.
	proxy.setCut(true)
	waitUntil(t, 30*time.Second, "the subscription to notice the cut", func() bool { return !sub.Connected() })
	sent := make([]string, total)
	var wg sync.WaitGroup
	errs := make(chan error, total)
	work := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				sent[i] = fmt.Sprintf("message %04d", i)
				if _, err := shop.Send(ctx, gid, protocol.MessageBody{Text: sent[i]}); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := range total {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("sending: %v", err)
	}
	head := joined.Seq + total
	if h, err := n.Head(gid); err != nil || h != head {
		t.Fatalf("the node's head is %d (%v), want %d", h, err, head)
	}
	// Nothing arrived while cut, and the reader did try to come back.
	select {
	case ev := <-sub.Events():
		t.Fatalf("event %d arrived while the reader was cut off", ev.Seq)
	default:
	}
	waitUntil(t, 30*time.Second, "a reconnect attempt to be refused", func() bool { _, refused := proxy.counts(); return refused > 0 })
	acceptedBefore, _ := proxy.counts()

	// Restore: everything arrives, in order, once.
	proxy.setCut(false)
	got := map[string]int{}
	deadline := time.After(60 * time.Second)
	for next <= head {
		select {
		case ev, ok := <-sub.Events():
			if !ok {
				t.Fatalf("events closed at seq %d: %v", next, sub.Err())
			}
			if ev.Group != gid || ev.Seq != next {
				t.Fatalf("event %d of %s, want %d: out of order or repeated", ev.Seq, ev.Group, next)
			}
			if ev.Kind != "message" || ev.Author != shop.Key().ID().String() {
				t.Fatalf("event %d: %s by %s", ev.Seq, ev.Kind, ev.Author)
			}
			got[ev.Text]++
			next++
		case <-deadline:
			t.Fatalf("after reconnecting, received up to seq %d of %d", next-1, head)
		}
	}
	for i, text := range sent {
		if got[text] != 1 {
			t.Fatalf("message %d (%q) arrived %d times", i, text, got[text])
		}
	}
	if accepted, _ := proxy.counts(); accepted <= acceptedBefore {
		t.Errorf("no new connection through the proxy after the restore (%d before, %d after)", acceptedBefore, accepted)
	}
	// And nothing more: a message sent now is the next event, once.
	if _, err := shop.Send(ctx, gid, protocol.MessageBody{Text: "after"}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-sub.Events():
		if ev.Seq != head+1 || ev.Text != "after" {
			t.Fatalf("after the burst: event %d %q, want %d", ev.Seq, ev.Text, head+1)
		}
	case <-ctx.Done():
		t.Fatal("the live message after the burst did not arrive")
	}
	// The disconnect was reported.
	select {
	case err := <-sub.Errors():
		if err == nil {
			t.Error("a nil error was reported")
		}
	default:
		t.Error("the disconnect was not reported on Errors")
	}
}
