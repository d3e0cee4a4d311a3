package node

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
)

// maxIdleGroupHeap is what an idle group may cost in heap.
const maxIdleGroupHeap = 10 << 10

// TestIdleGroupHeap: an idle group costs at most 10 KB of heap, so a
// merchant with one group per order can hold many thousands of them.
func TestIdleGroupHeap(t *testing.T) {
	a := startNode(t, "")
	for i := range 10 { // warm up: the first groups set up shared state
		createGroup(t, a, fmt.Sprintf("warm %d", i), protocol.PolicyInvite)
	}
	settle(t)
	before := heapAlloc()
	const n = 200
	for i := range n {
		createGroup(t, a, fmt.Sprintf("order %d", i), protocol.PolicyInvite)
	}
	settle(t)
	after := heapAlloc()
	per := (int64(after) - int64(before)) / n
	t.Logf("%d idle groups: heap %d -> %d KB, %d bytes per group", n, before>>10, after>>10, per)
	if per > maxIdleGroupHeap {
		t.Fatalf("an idle group costs %d bytes of heap, want <= %d", per, maxIdleGroupHeap)
	}
}

// TestIdleGroupHeapLoaded: groups loaded from disk at start cost as little:
// a node restarted with 200 more groups holds at most 10 KB more per group.
func TestIdleGroupHeapLoaded(t *testing.T) {
	few, many := t.TempDir(), t.TempDir()
	for _, c := range []struct {
		dir    string
		groups int
	}{{few, 10}, {many, 210}} {
		n := startNode(t, c.dir)
		for i := range c.groups {
			createGroup(t, n, fmt.Sprintf("order %d", i), protocol.PolicyInvite)
		}
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
	}
	cost := func(dir string) int64 {
		before := heapAlloc()
		n := startNode(t, dir)
		settle(t)
		after := heapAlloc()
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
		return int64(after) - int64(before)
	}
	base, loaded := cost(few), cost(many)
	per := (loaded - base) / 200
	t.Logf("node with 10 groups: %d KB; with 210: %d KB; %d bytes per loaded idle group", base>>10, loaded>>10, per)
	if per > maxIdleGroupHeap {
		t.Fatalf("a loaded idle group costs %d bytes of heap, want <= %d", per, maxIdleGroupHeap)
	}
}

// settle waits until the groups' goroutines have started: the goroutine
// count stays the same over three polls in a row.
func settle(t *testing.T) {
	t.Helper()
	last, same := -1, 0
	waitFor(t, 10*time.Second, "the goroutine count to settle", func() bool {
		if n := runtime.NumGoroutine(); n == last {
			same++
		} else {
			last, same = n, 0
		}
		return same >= 3
	})
}

// TestSleepingReplicaHeap: a member's node that holds many groups hosted
// elsewhere pays at most 10 KB of heap for each once they sleep (they stay
// in their gossip topics as relays, topics.go), as a host does for its own.
func TestSleepingReplicaHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("joins 100 groups")
	}
	idle := func(c *Config) { c.IdleAfter = time.Second }
	a := startNode(t, "", idle)
	b := startNode(t, "", idle)
	const n = 100
	fan := newKey(t)
	allAsleep := func(nodes ...*testNode) func() bool {
		return func() bool {
			for _, x := range nodes {
				x.mu.Lock()
				loaded := len(x.groups)
				x.mu.Unlock()
				if loaded > 0 {
					return false
				}
			}
			return true
		}
	}
	gids := make([]protocol.GroupID, n)
	for i := range gids {
		gids[i] = createGroup(t, a, fmt.Sprintf("order %d", i), protocol.PolicyInvite)
	}
	waitFor(t, 30*time.Second, "the host's groups to sleep", allAsleep(a))
	settle(t)
	before := heapAlloc()
	for _, gid := range gids {
		join(t, b, fan, invite(t, a, a.admin, gid, a, 0, 0))
	}
	awake := heapAlloc()
	waitFor(t, 60*time.Second, "every group to sleep on both nodes", allAsleep(a, b))
	settle(t)
	after := heapAlloc()
	per := (int64(after) - int64(before)) / n
	t.Logf("%d groups replicated on B: heap %d KB before the joins, %d KB awake, %d KB asleep: %d bytes per sleeping replica (%d awake)",
		n, before>>10, awake>>10, after>>10, per, (int64(awake)-int64(before))/n)
	if per > maxIdleGroupHeap {
		t.Fatalf("a sleeping replica costs %d bytes of heap, want <= %d", per, maxIdleGroupHeap)
	}
}
