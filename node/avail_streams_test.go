package node

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
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

// holdStreams opens streams to target on proto as fast as the target
// accepts them and holds each one idle until the target resets it: mode 0
// negotiates the protocol and sends nothing, mode 1 sends the first byte of
// a frame header and stops (slow request), mode 2 never negotiates.
func holdStreams(ctx context.Context, h host.Host, target peer.ID, proto string, openers int, opened *atomic.Int64) *sync.WaitGroup {
	var wg sync.WaitGroup
	for i := range openers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64)
			for ctx.Err() == nil {
				var s network.Stream
				var err error
				switch i % 3 {
				case 2:
					s, err = h.Network().NewStream(network.WithNoDial(ctx, "abuse"), target)
				default:
					s, err = h.NewStream(network.WithNoDial(ctx, "abuse"), target, protocolID(proto))
					if err == nil {
						_, err = s.Write([]byte{0x80}[:i%3]) // mode 0: flushes the protocol header only
					}
				}
				if err != nil {
					if s != nil {
						s.Reset()
					}
					select { // refused: try again soon (a flood of opens is another attack)
					case <-ctx.Done():
					case <-time.After(250 * time.Millisecond):
					}
					continue
				}
				opened.Add(1)
				stop := context.AfterFunc(ctx, func() { s.Reset() })
				start := time.Now()
				_, _ = s.Read(buf) // blocks until the target resets or answers
				stop()
				s.Reset()
				if time.Since(start) < 100*time.Millisecond {
					// refused at once (a resource limit): try again soon
					select {
					case <-ctx.Done():
					case <-time.After(250 * time.Millisecond):
					}
				}
			}
		}()
	}
	return &wg
}

// TestIdleStreamAbuse: eight throw-away peers open as many idle submit and
// sync streams as the host lets them and hold them, while an honest member
// submits through its home node. The honest submissions keep succeeding
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

	abuseCtx, stopAbuse := context.WithCancel(context.Background())
	defer stopAbuse()
	var opened atomic.Int64
	var abusers []*sync.WaitGroup
	var hosts []host.Host
	for range 0 {
		h := abuser(t)
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := h.Connect(cctx, addrInfo(a))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, h)
		abusers = append(abusers,
			holdStreams(abuseCtx, h, a.PeerID(), protocol.SubmitProtocol, 300, &opened),
			holdStreams(abuseCtx, h, a.PeerID(), protocol.SyncProtocol, 80, &opened))
	}
	// Let the abusers fill what they can before the honest member starts.
	deadline := time.Now().Add(5 * time.Second)
	for opened.Load() < 8*256 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("abusers opened %d streams before the honest member started", opened.Load())

	const senders = 4
	duration := 8 * time.Second
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
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	held := opened.Load()
	stopAbuse()
	for _, w := range abusers {
		w.Wait()
	}
	for _, h := range hosts {
		h.Close()
	}

	slices.Sort(latencies)
	total := len(latencies)
	p99 := latencies[min(total-1, total*99/100)]
	rate := float64(total-len(failures)) / float64(total)
	t.Logf("honest submissions: %d, failed %d (success %.2f%%), p50 %v, p99 %v; abusive streams opened %d",
		total, len(failures), 100*rate, latencies[total/2], p99, held)
	if len(failures) > 0 {
		t.Logf("first failure: %v", failures[0])
	}
	if rate < 0.99 {
		t.Errorf("only %.2f%% of honest submissions succeeded under idle-stream abuse, want >= 99%%", 100*rate)
	}
	if p99 > time.Second {
		t.Errorf("p99 latency %v under idle-stream abuse, want <= 1s", p99)
	}

	// Goroutines return to within 10% of the baseline.
	limit := baseline + baseline/10
	deadline = time.Now().Add(15 * time.Second)
	for {
		runtime.GC()
		n := runtime.NumGoroutine()
		if n <= limit {
			t.Logf("goroutines: baseline %d, after the abuse %d", baseline, n)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: baseline %d, still %d 15 s after the abuse ended", baseline, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
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
