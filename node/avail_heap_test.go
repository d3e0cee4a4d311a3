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
