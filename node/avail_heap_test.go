package node

import (
	"fmt"
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
	time.Sleep(100 * time.Millisecond) // let the nodes' loops settle
	before := heapAlloc()
	const n = 200
	for i := range n {
		createGroup(t, a, fmt.Sprintf("order %d", i), protocol.PolicyInvite)
	}
	time.Sleep(100 * time.Millisecond)
	after := heapAlloc()
	per := (int64(after) - int64(before)) / n
	t.Logf("%d idle groups: heap %d -> %d KB, %d bytes per group", n, before>>10, after>>10, per)
	if per > maxIdleGroupHeap {
		t.Fatalf("an idle group costs %d bytes of heap, want <= %d", per, maxIdleGroupHeap)
	}
}
