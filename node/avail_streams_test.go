package node

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"

	"github.com/qunchat/qun/protocol"
)

// abuser is a throw-away libp2p host with no resource limits of its own.
func abuser(t testing.TB) host.Host {
	t.Helper()
	h, err := libp2p.New(
		libp2p.NoListenAddrs,
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.ResourceManager(&network.NullResourceManager{}),
		libp2p.DisableRelay(),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// abuserBinary builds the abuser helper (testdata/abuser) without the race
// detector, so that the abusers run at their real speed in their own
// process and the host under test gets the CPU a real host would.
func abuserBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "abuser")
	out, err := exec.Command("go", "build", "-o", bin, "./testdata/abuser").CombinedOutput()
	if err != nil {
		t.Fatalf("building the abuser helper: %v\n%s", err, out)
	}
	return bin
}

// startAbusers runs the abuser helper against target and waits until its
// peers are connected; held reports the streams they opened so far. stop
// ends the process and waits for it.
func startAbusers(t *testing.T, target string) (held func() int64, stop func()) {
	t.Helper()
	cmd := exec.Command(abuserBinary(t), "-target", target, "-peers", "8", "-submit", "400", "-sync", "100")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var count atomic.Int64
	connected := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if line == "connected" {
				close(connected)
			} else if n, ok := strings.CutPrefix(line, "held "); ok {
				v, _ := strconv.ParseInt(n, 10, 64)
				count.Store(v)
			}
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			stdin.Close()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				<-done
			}
			_ = cmd.Wait()
		})
	}
	t.Cleanup(stop)
	select {
	case <-connected:
	case <-done:
		t.Fatalf("the abuser helper exited: %s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("the abuser helper did not connect within 30 s")
	}
	return count.Load, stop
}

// TestIdleStreamAbuse: eight throw-away peers (in their own process, see
// testdata/abuser) open as many idle submit and sync streams as the host
// lets them and hold them, while an honest member submits through its home
// node. The honest submissions keep succeeding
// (>= 99%, p99 <= 1 s), and the host's goroutines return to their baseline
// once the abusers leave.
func TestIdleStreamAbuse(t *testing.T) {
	a, b := startNode(t, ""), startNode(t, "")
	gid := createGroup(t, a, "abuse", protocol.PolicyInvite)
	inv := invite(t, a, a.admin, gid, a, 0, time.Hour)
	bob := newKey(t)
	join(t, b, bob, inv)
	mustSubmit(t, b, bob, gid, text("warm-up"))

	runtime.GC()
	baseline := runtime.NumGoroutine()

	held, stopAbuse := startAbusers(t, a.Addrs()[0].String())
	// Let the abusers fill what they can before the honest member starts.
	pollUntil(5*time.Second, func() bool { return held() >= 8*256 }) // as many as they get in 5 s
	t.Logf("abusers opened %d streams before the honest member started", held())

	const senders = 2
	duration := 6 * time.Second
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  []error
		wg        sync.WaitGroup
	)
	end := time.Now().Add(duration)
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pause := time.NewTicker(50 * time.Millisecond)
			defer pause.Stop()
			for i := 0; time.Now().Before(end); i++ {
				raw := sign(t, bob, gid, text(fmt.Sprintf("honest %d/%d", s, i))).Raw
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				start := time.Now()
				_, err := b.Submit(ctx, raw, nil)
				took := time.Since(start)
				cancel()
				mu.Lock()
				latencies = append(latencies, took)
				if err != nil {
					failures = append(failures, err)
				}
				mu.Unlock()
				if err != nil {
					<-pause.C // an honest client backs off after a refusal
				}
			}
		}()
	}
	wg.Wait()
	opened := held()
	stopAbuse()

	slices.Sort(latencies)
	total := len(latencies)
	p99 := latencies[min(total-1, total*99/100)]
	rate := float64(total-len(failures)) / float64(total)
	t.Logf("honest submissions: %d, failed %d (success %.2f%%), p50 %v, p99 %v; abusive streams opened %d",
		total, len(failures), 100*rate, latencies[total/2], p99, opened)
	if len(failures) > 0 {
		t.Logf("first failure: %v", failures[0])
	}
	if rate < 0.99 {
		t.Errorf("only %.2f%% of honest submissions succeeded under idle-stream abuse, want >= 99%%", 100*rate)
	}
	// The bound is the product's (1 s); a race-instrumented build spends
	// several times the CPU per request on the same 2 cores.
	bound := time.Second
	if raceEnabled {
		bound *= raceSlowdown
	}
	if p99 > bound {
		t.Errorf("p99 latency %v under idle-stream abuse, want <= %v", p99, bound)
	}

	// Goroutines return to within 10% of the baseline.
	limit := baseline + baseline/10
	var n int
	if !pollUntil(15*time.Second, func() bool { runtime.GC(); n = runtime.NumGoroutine(); return n <= limit }) {
		t.Fatalf("goroutines: baseline %d, still %d 15 s after the abuse ended", baseline, n)
	}
	t.Logf("goroutines: baseline %d, after the abuse %d", baseline, n)
	// The host still serves.
	mustSubmit(t, b, bob, gid, text("after the abuse"))
}

// TestIdleStreamReset: a stream that sends no request is reset within
// about requestStartTimeout, on every request/response protocol.
func TestIdleStreamReset(t *testing.T) {
	a := startNode(t, "")
	h := abuser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Connect(ctx, addrInfo(a)); err != nil {
		t.Fatal(err)
	}
	for _, proto := range []string{protocol.SubmitProtocol, protocol.SyncProtocol, InfoProtocol} {
		s, err := h.NewStream(ctx, a.PeerID(), protocolID(proto))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write(nil); err != nil { // the protocol header only
			t.Fatal(err)
		}
		start := time.Now()
		_ = s.SetReadDeadline(start.Add(8 * time.Second))
		_, err = s.Read(make([]byte, 1))
		took := time.Since(start)
		s.Reset()
		if !errors.Is(err, network.ErrReset) {
			t.Fatalf("%s: idle stream ended with %v after %v, want a reset", proto, err, took)
		}
		if took > requestStartTimeout+time.Second {
			t.Fatalf("%s: idle stream reset after %v, want about %v", proto, took, requestStartTimeout)
		}
		t.Logf("%s: idle stream reset after %v", proto, took.Round(time.Millisecond))
	}
}
