package node

import (
	"testing"
	"time"
)

// fakeClock drives a hostClock: the wall clock can be set, the monotonic
// clock only advances.
type fakeClock struct {
	wall time.Time
	mono time.Duration
}

func (f *fakeClock) advance(d time.Duration) { f.wall = f.wall.Add(d); f.mono += d }

func testClock(f *fakeClock) *hostClock {
	return &hostClock{wall: func() time.Time { return f.wall }, since: func() time.Duration { return f.mono }, start: f.wall}
}

// TestHostClockIgnoresJumps: a system clock set 20 minutes forward or back
// while the node runs moves neither event times nor their order: host time
// keeps advancing with the monotonic clock, and the skew is reported.
func TestHostClockIgnoresJumps(t *testing.T) {
	f := &fakeClock{wall: time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)}
	c := testClock(f)
	t0 := c.nowMS()
	f.advance(time.Second)
	if got := c.nowMS() - t0; got != 1000 {
		t.Fatalf("host time advanced %d ms, want 1000", got)
	}
	for _, jump := range []time.Duration{20 * time.Minute, -40 * time.Minute} {
		before := c.nowMS()
		f.wall = f.wall.Add(jump) // the system clock is set
		f.advance(10 * time.Millisecond)
		after := c.nowMS()
		if after != before+10 {
			t.Fatalf("after a jump of %s host time moved %d ms, want 10", jump, int64(after-before))
		}
		d, warn := c.checkSkew()
		if !warn {
			t.Fatalf("a jump of %s is not reported", jump)
		}
		if d.Round(time.Second) != f.wall.Sub(c.now()).Round(time.Second) {
			t.Fatalf("skew %s does not match the wall clock", d)
		}
		if _, again := c.checkSkew(); again {
			t.Fatal("the same skew is reported twice")
		}
	}
}
