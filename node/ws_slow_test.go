package node

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
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
	"github.com/qunchat/qun/protocol/api"
)

// apiSocketPages returns the kernel memory, in 4 KiB pages, held by the
// TCP sockets of the node's API port (both ends: the clients are local),
// from ss's skmem: receive queue + send queue + forward allocation. Unlike
// /proc/net/sockstat it does not count what other tests on the machine hold.
func apiSocketPages(t *testing.T, port string) int {
	t.Helper()
	out, err := exec.Command("ss", "-tmnH", "state", "all", "( sport = :"+port+" or dport = :"+port+" )").Output()
	if err != nil {
		if os.Getenv("QUN_CI") == "1" {
			t.Fatalf("QUN_CI=1 but ss (iproute2) failed: %v", err)
		}
		t.Skipf("skipped: ss (iproute2) is needed to measure socket memory: %v", err)
	}
	total := 0
	for _, f := range strings.Fields(string(out)) {
		if !strings.HasPrefix(f, "skmem:(") {
			continue
		}
		for _, kv := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(f, "skmem:("), ")"), ",") {
			for _, key := range []string{"r", "w", "f"} {
				if v, ok := strings.CutPrefix(kv, key); ok {
					if n, err := strconv.Atoi(v); err == nil {
						total += n
					}
				}
			}
		}
	}
	return (total + 4095) / 4096
}

// sockstat is the TCP line of /proc/net/sockstat (per network namespace):
// sockets in use, orphaned (closed by their process, still holding data)
// and the memory of all TCP sockets, in pages.
type sockstat struct{ inuse, orphan, mem int }

func readSockstat(t *testing.T) sockstat {
	t.Helper()
	data, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		t.Skipf("no /proc/net/sockstat: %v", err)
	}
	var st sockstat
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "TCP:") {
			continue
		}
		f := strings.Fields(line)
		for i := 1; i+1 < len(f); i += 2 {
			n, err := strconv.Atoi(f[i+1])
			if err != nil {
				t.Fatalf("/proc/net/sockstat: %q", line)
			}
			switch f[i] {
			case "inuse":
				st.inuse = n
			case "orphan":
				st.orphan = n
			case "mem":
				st.mem = n
			}
		}
		return st
	}
	t.Skip("no TCP line in /proc/net/sockstat")
	return st
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
	var dropped atomic.Int64
	a := startNode(t, "", func(c *Config) {
		c.WSWriteTimeout = writeTimeout
		c.OnWSDrop = func(reason string) {
			if strings.Contains(reason, "too slow") {
				dropped.Add(1)
			}
		}
	})
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
		wsSend(t, conn, api.WSClientMessage{Type: "subscribe", Group: gid.String(), From: 1})
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
	waitFor(t, 30*time.Second, "the readers to catch up", func() bool { return readUpTo(a.headNow(t, gid)) })

	runtime.GC()
	_, port, err := net.SplitHostPort(strings.TrimPrefix(a.APIURL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	base, baseG := readSockstat(t), runtime.NumGoroutine()
	baseMem := apiSocketPages(t, port)

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
		wsSend(t, conns[i], api.WSClientMessage{Type: "subscribe", Group: gid.String(), From: 1})
	}
	dialed := time.Since(start)
	peakMem := 0
	bound := dialed + 3*writeTimeout + 10*time.Second // generous for -race on 2 shared cores
	waitFor(t, bound, fmt.Sprintf("%d non-readers to be dropped", nonReaders), func() bool {
		peakMem = max(peakMem, apiSocketPages(t, port))
		return dropped.Load() >= int64(nonReaders)
	})
	allDropped := time.Since(start)
	close(stop)
	twg.Wait()
	head := a.headNow(t, gid)
	waitFor(t, 30*time.Second, "the readers to get every event", func() bool { return readUpTo(head) })
	for i, r := range readers {
		if e := r.err.Load(); e != nil {
			t.Fatalf("reader %d: %v", i, e)
		}
	}
	// The node reset the non-readers' sockets: none of its sockets is left
	// holding their unsent data (orphaned), although the clients still
	// hold theirs open.
	var st sockstat
	waitFor(t, 20*time.Second, "the node's sockets of the non-readers to be gone", func() bool {
		st = readSockstat(t)
		return st.orphan == 0 && st.inuse <= base.inuse+2
	})
	// Then the clients go too: kernel memory and goroutines come back.
	for _, c := range conns {
		c.CloseNow()
	}
	var g, mem int
	back := func() bool {
		runtime.GC()
		mem, g = apiSocketPages(t, port), runtime.NumGoroutine()
		// The baseline is a few pages (the honest readers' sockets, which
		// move with traffic): allow 1 MiB beyond 10% (the peak is tens of MiB).
		return float64(mem) <= 1.1*float64(baseMem)+256 && float64(g) <= 1.1*float64(baseG)+2
	}
	if !pollUntil(20*time.Second, back) {
		out, _ := exec.Command("sh", "-c", "cat /proc/net/sockstat; ss -tanm | head -80").CombinedOutput()
		t.Logf("%s", out)
		t.Fatalf("20 s after the drops: API sockets' memory %d pages (baseline %d, peak %d), goroutines %d (baseline %d)", mem, baseMem, peakMem, g, baseG)
	}
	// While they were connected, each held at most about the node's send
	// buffer and its own receive buffer of unsent data (not the megabyte
	// of history each asked for).
	if perClient := peakMem * 4096 / nonReaders; perClient > 400<<10 {
		t.Errorf("peak TCP memory %d pages: %d KiB per non-reader", peakMem, perClient>>10)
	}
	t.Logf("%d non-readers: dialed in %s, all dropped %s after the first dial (write timeout %s); "+
		"API sockets' memory %d pages baseline, %d peak, %d after; goroutines %d baseline, %d after; head %d",
		nonReaders, dialed.Round(time.Millisecond), allDropped.Round(time.Millisecond), writeTimeout,
		baseMem, peakMem, mem, baseG, g, head)
}

// wsReadCtx reads one message.
func wsReadCtx(ctx context.Context, conn *websocket.Conn) (api.WSServerMessage, error) {
	var m api.WSServerMessage
	_, b, err := conn.Read(ctx)
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(b, &m)
}
