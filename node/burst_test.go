package node

import (
	"testing"
	"time"
)

// TestBurst20k: a 20,000-message burst from 16 concurrent senders on three
// nodes ends complete and identical on every replica.
func TestBurst20k(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000-message burst skipped in -short mode")
	}
	a, b, c, gid, keys := threeNodeGroup(t)
	before, _ := a.Head(gid)
	start := time.Now()
	last := sendMany(t, gid, 20000, 16, []*testNode{a, b, c}, keys)
	acked := time.Since(start)
	if last != before+20000 {
		t.Fatalf("head %d after 20,000 messages from %d", last, before)
	}
	waitHead(t, 2*time.Minute, gid, last, a, b, c)
	t.Logf("20,000 acknowledged in %s, complete everywhere after %s", acked.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	sameLogs(t, gid, last, a, b, c)
}
