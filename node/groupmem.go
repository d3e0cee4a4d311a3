package node

// What a group holds in memory grows with its activity, not its existence:
// an idle group costs a few kilobytes (see TestIdleGroupHeap), a busy one
// grows its queues and caches while it is busy.

import (
	"sync"

	"github.com/qunchat/qun/protocol"
)

// infoCache remembers the info of a group's recent events by seq (a ring),
// for the state machine's lookups; a miss reads the store. It is allocated
// on the first event and doubles, up to cacheSize entries, each time an
// entry would be overwritten, so a group holds about as many entries as it
// had events, at most cacheSize. Used under the group's mu.
type infoCache struct {
	slots []cachedInfo
}

// minCacheSlots is the size of a group's first cache.
const minCacheSlots = 4

func (c *infoCache) get(seq uint64) (protocol.EventInfo, bool) {
	if len(c.slots) == 0 || seq == 0 {
		return protocol.EventInfo{}, false
	}
	e := c.slots[seq%uint64(len(c.slots))]
	return e.info, e.seq == seq
}

func (c *infoCache) put(seq uint64, info protocol.EventInfo) {
	if c.slots == nil {
		c.slots = make([]cachedInfo, minCacheSlots)
	}
	i := seq % uint64(len(c.slots))
	if old := c.slots[i].seq; old != 0 && old != seq && len(c.slots) < cacheSize {
		c.grow()
		i = seq % uint64(len(c.slots))
	}
	c.slots[i] = cachedInfo{seq: seq, info: info}
}

func (c *infoCache) grow() {
	slots := make([]cachedInfo, 2*len(c.slots))
	for _, e := range c.slots {
		if e.seq == 0 {
			continue
		}
		j := e.seq % uint64(len(slots))
		if slots[j].seq < e.seq {
			slots[j] = e
		}
	}
	c.slots = slots
}

// outbox queues committed events for the publish loop, in order. The queue
// is a slice that grows under a burst, up to outboxQueue events (beyond,
// events are dropped from gossip and replicas sync them), and is released
// when the loop takes it.
type outbox struct {
	mu    sync.Mutex
	queue [][]byte
	ready chan struct{} // signalled when the queue becomes non-empty
}

func newOutbox() *outbox {
	return &outbox{ready: make(chan struct{}, 1)}
}

// push queues raw events; it reports how many were dropped because the
// queue was full.
func (o *outbox) push(raws ...[]byte) (dropped int) {
	o.mu.Lock()
	room := max(0, outboxQueue-len(o.queue))
	if len(raws) > room {
		dropped = len(raws) - room
		raws = raws[:room]
	}
	o.queue = append(o.queue, raws...)
	o.mu.Unlock()
	select {
	case o.ready <- struct{}{}:
	default:
	}
	return dropped
}

// take returns everything queued and empties the queue.
func (o *outbox) take() [][]byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	q := o.queue
	o.queue = nil
	return q
}

// len returns the number of events queued.
func (o *outbox) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.queue)
}
