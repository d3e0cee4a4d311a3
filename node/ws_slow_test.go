package node

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/qunchat/qun/protocol"
)

// tcpMemPages reads the kernel's TCP memory (in pages) from
// /proc/net/sockstat ("TCP: inuse … mem N"); it is per network namespace.
func tcpMemPages(t *testing.T) int {
	t.Helper()
	data, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		t.Skipf("no /proc/net/sockstat: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "TCP:") {
			continue
		}
		f := strings.Fields(line)
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "mem" {
				n, err := strconv.Atoi(f[i+1])
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
		}
	}
	t.Skip("no TCP mem in /proc/net/sockstat")
	return 0
}

// TestWebSocketNonReadersDropped: N clients that subscribe and never read,
// on a group with steady traffic, are dropped within a bound while honest
// readers get every event; afterwards the kernel's TCP memory and the
// node's goroutines are back within 10% of the baseline. N is 200, or
// 1,000 with QUN_SOAK=1.
func TestWebSocketNonReadersDropped(t *testing.T) {
	nonReaders := 200
	if os.Getenv("QUN_SOAK") == "1" {
		nonReaders = 1000
	}
	const writeTimeout = 2 * time.Second
	a := startNode(t, "")
	a.wsWriteTimeout = writeTimeout
	var dropped atomic.Int64
	a.onWSDrop = func(reason string) {
		if strings.Contains(reason, "too slow") {
			dropped.Add(1)
		}
	}
	gid := createGroup(t, a, "busy", protocol.PolicyOpen)
	admin := newAPI(t, a, a.admin).signIn()
	// History to catch up on: ~1.2 MB per subscriber from seq 1, more than
	// any socket buffer holds.
	big := strings.Repeat("x", 3000)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				mustSubmit(t, a, a.admin, gid, text(fmt.Sprintf("old %d %d %s", w, i, big)))
			}
		}()
	}
	wg.Wait()

	// Honest readers, reading everything.
	type reader struct {
		next uint64
		err  atomic.Value
		mu   sync.Mutex
	}
	readers := make([]*reader, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var rwg sync.WaitGroup
	for i := range readers {
		r := &reader{next: 1}
		readers[i] = r
		conn := wsDial(t, admin)
		wsSend(t, conn, protocol.WSClientMessage{Type: "subscribe", Group: gid.String(), From: 1})
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			for {
				m, err := wsReadCtx(ctx, conn)
				if err != nil {
					if ctx.Err() == nil {
						r.err.Store(err.Error())
					}
					return
				}
				if m.Type != "event" {
					continue
				}
				r.mu.Lock()
				if m.Event.Seq != r.next {
					r.err.Store(fmt.Sprintf("got event %d, want %d", m.Event.Seq, r.next))
				}
				r.next = m.Event.Seq + 1
				r.mu.Unlock()
			}
		}()
	}
	readUpTo := func(seq uint64) bool {
		for _, r := range readers {
			r.mu.Lock()
			n := r.next
			r.mu.Unlock()
			if n <= seq {
				return false
			}
		}
		return true
	}
	waitFor(t, 30*time.Second, "the readers to catch up", func() bool { return readUpTo(a.mustHead(t, gid)) })

	runtime.GC()
	baseMem, baseG := tcpMemPages(t), runtime.NumGoroutine()

	// Steady traffic: 50 events a second.
	stop := make(chan struct{})
	var twg sync.WaitGroup
	twg.Add(1)
	go func() {
		defer twg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := submit(t, a, a.admin, gid, text(fmt.Sprintf("live %d %s", i, big[:1000]))); err != nil {
				t.Errorf("live message: %v", err)
				return
			}
		}
	}()

	// The clients that never read. Each subscribes from seq 1.
	start := time.Now()
	conns := make([]*websocket.Conn, nonReaders)
	for i := range conns {
		conns[i] = wsDial(t, admin)
		wsSend(t, conns[i], protocol.WSClientMessage{Type: "subscribe", Group: gid.String(), From: 1})
	}
	dialed := time.Since(start)
	peakMem := 0
	bound := dialed + 3*writeTimeout + 10*time.Second // generous for -race on 2 shared cores
	waitFor(t, bound, fmt.Sprintf("%d non-readers to be dropped", nonReaders), func() bool {
		peakMem = max(peakMem, tcpMemPages(t))
		return dropped.Load() >= int64(nonReaders)
	})
	allDropped := time.Since(start)
	close(stop)
	twg.Wait()
	head := a.mustHead(t, gid)
	waitFor(t, 30*time.Second, "the readers to get every event", func() bool { return readUpTo(head) })
	for i, r := range readers {
		if e := r.err.Load(); e != nil {
			t.Fatalf("reader %d: %v", i, e)
		}
	}
	// The node reset the non-readers' sockets: kernel memory and
	// goroutines come back without the clients closing anything.
	var mem, g int
	back := func() bool {
		runtime.GC()
		mem, g = tcpMemPages(t), runtime.NumGoroutine()
		return float64(mem) <= 1.1*float64(baseMem)+16 && float64(g) <= 1.1*float64(baseG)+2
	}
	for deadline := time.Now().Add(20 * time.Second); !back(); time.Sleep(50 * time.Millisecond) { // poll interval of a bounded wait
		if time.Now().After(deadline) {
			out, _ := exec.Command("sh", "-c", "cat /proc/net/sockstat; ss -tan | awk '{print $1, ($2>0), ($3>0)}' | sort | uniq -c").CombinedOutput()
			t.Logf("%s", out)
			t.Fatalf("20 s after the drops: TCP memory %d pages (baseline %d, peak %d), goroutines %d (baseline %d)", mem, baseMem, peakMem, g, baseG)
		}
	}
	t.Logf("%d non-readers: dialed in %s, all dropped %s after the first dial (write timeout %s); "+
		"TCP memory %d pages baseline, %d peak, %d after; goroutines %d baseline, %d after; head %d",
		nonReaders, dialed.Round(time.Millisecond), allDropped.Round(time.Millisecond), writeTimeout,
		baseMem, peakMem, mem, baseG, g, head)
	for _, c := range conns {
		c.CloseNow()
	}
}

// wsReadCtx reads one message.
func wsReadCtx(ctx context.Context, conn *websocket.Conn) (protocol.WSServerMessage, error) {
	var m protocol.WSServerMessage
	_, b, err := conn.Read(ctx)
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(b, &m)
}
