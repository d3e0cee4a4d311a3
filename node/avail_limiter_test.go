package node

import (
	"context"
	"crypto/rand"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"golang.org/x/time/rate"
)

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// limiterCount counts the group's rate limiters (used under g.mu by the
// sequencer).
func limiterCount(g *group) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.limiters)
}

// TestFreshKeyFlood: 200,000 submissions signed by fresh keys that are not
// members leave no per-author state on the host, and the host's heap does
// not grow with them; members are still rate limited.
func TestFreshKeyFlood(t *testing.T) {
	a := startNode(t, "", func(c *Config) { c.RatePerSecond, c.RateBurst = 5, 20 })
	gid := createGroup(t, a, "flood", protocol.PolicyInvite)
	g := a.group(gid)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// A few thousand through the whole path, signature check included.
	const signed = 2000
	for i := range signed {
		_, err := a.hostSubmit(ctx, sign(t, newKey(t), gid, text("hello")).Raw, a.ID())
		if !errors.Is(err, protocol.ErrNotMember) {
			t.Fatalf("submission %d by a fresh key: %v, want not a member", i, err)
		}
	}
	before := heapAlloc()
	// The rest straight into the sequencer, as if verified: the signature
	// of a fresh key is as valid as any.
	tmpl := sign(t, newKey(t), gid, text("hello"))
	const flood = 200_000
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < flood; i += 32 {
				sub := *tmpl
				rand.Read(sub.Author[:])
				rand.Read(sub.ID[:])
				_, err := g.submit(ctx, &sub, a.ID())
				if !errors.Is(err, protocol.ErrNotMember) {
					select {
					case errc <- err:
					default:
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errc:
		t.Fatalf("a fresh key's submission: %v, want not a member", err)
	default:
	}
	after := heapAlloc()
	growth := int64(after) - int64(before)
	n := limiterCount(g)
	t.Logf("after %d submissions by fresh keys: %d limiters, heap %d -> %d KB", signed+flood, n, before>>10, after>>10)
	if n != 0 {
		t.Errorf("%d rate limiters held for keys that are not members, want 0", n)
	}
	if growth > 4<<20 {
		t.Errorf("heap grew by %d KB after a fresh-key flood, want < 4 MB", growth>>10)
	}

	// Members are still limited: a burst of 30 gets about 20 through.
	limited := 0
	for range 30 {
		if _, err := a.hostSubmit(ctx, sign(t, a.admin, gid, text("burst")).Raw, a.ID()); errors.Is(err, protocol.ErrRateLimited) {
			limited++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if limited < 8 {
		t.Fatalf("%d of 30 quick messages were rate limited, want about 10", limited)
	}
}

// TestLimiterSweep: limiters whose bucket is full again are dropped when
// the map grows; a member still spending its budget keeps its limiter.
func TestLimiterSweep(t *testing.T) {
	a := startNode(t, "", func(c *Config) { c.RatePerSecond, c.RateBurst = 5, 20 })
	gid := createGroup(t, a, "sweep", protocol.PolicyInvite)
	g := a.group(gid)
	g.mu.Lock()
	defer g.mu.Unlock()
	clear(g.limiters)
	var busy protocol.UserID
	rand.Read(busy[:])
	for range 20 {
		g.allow(busy) // drains busy's bucket
	}
	for len(g.limiters) < minLimiterSweep {
		var u protocol.UserID
		rand.Read(u[:])
		g.limiters[u] = rate.NewLimiter(5, 20) // sent long ago: bucket full
	}
	var fresh protocol.UserID
	rand.Read(fresh[:])
	g.allow(fresh)
	if len(g.limiters) != 2 || g.limiters[busy] == nil || g.limiters[fresh] == nil {
		t.Fatalf("after a sweep the map holds %d limiters, want the busy member's and the new one", len(g.limiters))
	}
	if g.allow(busy) {
		t.Fatal("the busy member's budget was reset by the sweep")
	}
}
