package node

// The host clock: event times come from the wall clock read once at start
// and advanced by the monotonic clock, so a jump of the system clock while
// the node runs neither freezes event times (a backward jump) nor moves
// them (a forward jump). The difference to the wall clock is reported.

import (
	"sync"
	"time"
)

// clockSkewWarn is the difference to the wall clock worth a log line.
const clockSkewWarn = 2 * time.Second

// hostClock is the clock the sequencer stamps events with.
type hostClock struct {
	wall  func() time.Time // the system clock without its monotonic reading
	since func() time.Duration
	start time.Time

	mu     sync.Mutex
	warned time.Duration // the skew last reported
}

func newHostClock() *hostClock {
	start := time.Now()
	return &hostClock{
		wall:  func() time.Time { return time.Now().Round(0) },
		since: func() time.Duration { return time.Since(start) },
		start: start.Round(0),
	}
}

// now returns the host time.
func (c *hostClock) now() time.Time { return c.start.Add(c.since()) }

// nowMS returns the host time in unix milliseconds.
func (c *hostClock) nowMS() uint64 { return uint64(c.now().UnixMilli()) }

// skew returns how far the system clock is ahead of the host clock
// (negative: behind): non-zero after the system clock was set while the
// node ran.
func (c *hostClock) skew() time.Duration { return c.wall().Sub(c.now()) }

// checkSkew returns the skew and whether it is worth a warning now: it
// moved by more than clockSkewWarn since the last warning (or since it was
// last small), so each setting of the system clock is reported once.
func (c *hostClock) checkSkew() (time.Duration, bool) {
	d := c.skew()
	c.mu.Lock()
	defer c.mu.Unlock()
	moved := d - c.warned
	if moved > clockSkewWarn || moved < -clockSkewWarn {
		c.warned = d
		return d, true
	}
	return d, false
}
