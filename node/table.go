package node

// The group table: which groups the node holds and which of them are loaded.
//
// A hosted group is loaded when something needs it (a submission, a sync
// asking beyond its head, an API read, a WebSocket subscription) and put to
// sleep after Config.IdleAfter without use: its goroutines stop, it leaves
// its gossip topic, its snapshot is saved, and a dormant record of a few
// hundred bytes stays in memory. While it sleeps its head cannot move (only
// its host sequences it), so the record answers replicas' periodic syncs
// and the privacy filter without loading it. At start, hosted groups begin
// asleep, so a merchant with one group per order starts in seconds with
// 100,000 groups.
//
// A replicated group sleeps too once it is idle and level with its host:
// it stays in its gossip topic as a relay, and the host's next head notice
// wakes it (topics.go); woken, it syncs at once. Replicated groups start
// loaded, so that each compares its head with its host's after a restart.

import (
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
	"github.com/qunchat/qun/storage"
)

// dormant is what the node keeps of a group that sleeps.
type dormant struct {
	host protocol.UserID
	// known is false for a group not loaded since the node started: the
	// fields below are then unset (peek fills them).
	known   bool
	head    uint64
	allowed *allowSet
	summary api.GroupSummary
}

// group returns the group, loading it when it sleeps, or nil when the node
// does not hold it. Every call counts as a use that keeps it loaded.
func (n *Node) group(gid protocol.GroupID) *group {
	for {
		n.mu.Lock()
		if g := n.groups[gid]; g != nil {
			g.touch()
			n.mu.Unlock()
			return g
		}
		if ch := n.pending[gid]; ch != nil {
			n.mu.Unlock()
			<-ch // being woken or put to sleep: look again when done
			continue
		}
		d := n.asleep[gid]
		if d == nil || n.closed {
			n.mu.Unlock()
			return nil
		}
		ch := make(chan struct{})
		n.pending[gid] = ch
		n.mu.Unlock()
		ok := n.wake(gid, d)
		n.mu.Lock()
		delete(n.pending, gid)
		close(ch)
		n.mu.Unlock()
		if !ok {
			return nil
		}
	}
}

// loadedGroup returns the group when it is loaded, without loading it or
// counting a use.
func (n *Node) loadedGroup(gid protocol.GroupID) *group {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.groups[gid]
}

// held returns the loaded group, or else a copy of its dormant record; ok
// is false when the node does not hold the group.
func (n *Node) held(gid protocol.GroupID) (g *group, d dormant, ok bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if g := n.groups[gid]; g != nil {
		return g, dormant{}, true
	}
	if r := n.asleep[gid]; r != nil {
		return nil, *r, true
	}
	return nil, dormant{}, n.pending[gid] != nil
}

// wake loads a sleeping group and starts it. It reports false when the
// node is closing.
func (n *Node) wake(gid protocol.GroupID, d *dormant) bool {
	g, err := newGroup(n, gid, d.host)
	if err != nil {
		n.log.Error("loading a group failed", "group", gid, "err", err)
		return false
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		g.close()
		return false
	}
	n.groups[gid] = g
	delete(n.asleep, gid)
	g.touch()
	n.mu.Unlock()
	g.start()
	return true
}

// sleepLoop puts idle groups to sleep.
func (n *Node) sleepLoop() {
	defer n.wg.Done()
	t := time.NewTicker(min(n.cfg.IdleAfter/2, 30*time.Second))
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case now := <-t.C:
			if k := n.sleepIdle(now); k > 0 {
				n.log.Debug("idle groups put to sleep", "groups", k)
			}
		}
	}
}

// sleepIdle puts every group unused since IdleAfter to sleep and
// returns how many. A group is taken out of the table before it is closed,
// under the lock group() takes, so no caller gets it after the decision.
func (n *Node) sleepIdle(now time.Time) int {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return 0
	}
	var idle []*group
	for gid, g := range n.groups {
		if n.pending[gid] == nil && g.idle(now, n.cfg.IdleAfter) {
			delete(n.groups, gid)
			n.pending[gid] = make(chan struct{})
			idle = append(idle, g)
		}
	}
	n.mu.Unlock()
	for _, g := range idle {
		// The record goes in first: while the group closes, a replica's
		// topic hands notices to it (topics.go), and group() waits for the
		// pending close before it wakes the group again. Nothing is queued
		// (idle), so the head cannot move meanwhile.
		g.mu.Lock()
		d := &dormant{host: g.host, known: true, head: g.committed, allowed: g.allowed.Load(), summary: g.summary()}
		g.mu.Unlock()
		n.mu.Lock()
		n.asleep[g.id] = d
		n.mu.Unlock()
		g.keepTopic = !g.hosted
		g.close()
		n.mu.Lock()
		close(n.pending[g.id])
		delete(n.pending, g.id)
		n.mu.Unlock()
	}
	return len(idle)
}

// touch records a use of the group. Called with n.mu held.
func (g *group) touch() { g.lastUsed.Store(time.Now().UnixNano()) }

// idle reports whether the group may sleep: healthy, nothing queued or
// watched, a replica level with its host, and unused for at least after.
func (g *group) idle(now time.Time, after time.Duration) bool {
	if !g.started.Load() || g.watchers.Load() > 0 || g.health.Load() != nil || len(g.submits) > 0 || len(g.claims) > 0 || g.outbox.len() > 0 {
		return false
	}
	if !g.hosted && (!g.inTopic.Load() || len(g.incoming) > 0 || len(g.forwards) > 0 || g.hostHead.Load() > g.committedHead()) {
		return false
	}
	return now.Sub(time.Unix(0, g.lastUsed.Load())) >= after
}

// sawHostHead records that the host's log reaches seq.
func (g *group) sawHostHead(seq uint64) {
	for {
		cur := g.hostHead.Load()
		if seq <= cur || g.hostHead.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// peek reads a sleeping group's state from the store, without starting it,
// and records its head, privacy set and summary in its dormant record.
// fn, when not nil, is called with the loaded state (under the group's
// lock). It reports false when the group is not asleep or cannot be read.
func (n *Node) peek(gid protocol.GroupID, fn func(*group)) (dormant, bool) {
	_, d, ok := n.held(gid)
	if !ok || d.host.IsZero() {
		return dormant{}, false
	}
	g := &group{n: n, id: gid, host: d.host, hosted: d.host == n.id, log: n.log.With("group", gid.String()[:12])}
	g.mu.Lock()
	err := g.load()
	if err == nil && fn != nil {
		fn(g)
	}
	rec := dormant{host: d.host, known: true, head: g.committed, allowed: g.allowed.Load(), summary: g.summary()}
	g.mu.Unlock()
	if err != nil {
		return dormant{}, false
	}
	n.mu.Lock()
	if r := n.asleep[gid]; r != nil && !r.known {
		*r = rec
	}
	n.mu.Unlock()
	return rec, true
}

// withState calls fn with the group under its lock: the loaded group, or
// a sleeping group's state read from the store (not started, not kept).
// It reports false when the node does not hold the group.
func (n *Node) withState(gid protocol.GroupID, fn func(*group)) bool {
	if g := n.loadedGroup(gid); g != nil {
		g.mu.Lock()
		fn(g)
		g.mu.Unlock()
		return true
	}
	if _, ok := n.peek(gid, fn); ok {
		return true
	}
	g := n.group(gid) // woken by someone meanwhile, or unreadable: loaded and quarantined
	if g == nil {
		return false
	}
	g.mu.Lock()
	fn(g)
	g.mu.Unlock()
	return true
}

// Groups lists the groups the node holds, loaded or asleep, in no order.
func (n *Node) Groups() []protocol.GroupID { return n.heldGroups() }

// heldGroups lists every group the node holds, loaded or asleep.
func (n *Node) heldGroups() []protocol.GroupID {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]protocol.GroupID, 0, len(n.groups)+len(n.asleep))
	for gid := range n.groups {
		out = append(out, gid)
	}
	for gid := range n.asleep {
		out = append(out, gid)
	}
	return out
}

// startsAsleep reports whether a stored group may begin asleep: hosted,
// with nothing the store found wrong, and already in the member index.
func (n *Node) startsAsleep(gid protocol.GroupID, hostKey protocol.UserID, indexed bool) bool {
	if hostKey != n.id || !indexed {
		return false
	}
	_, damaged := n.store.DamageOf(storage.GroupID(gid))
	return !damaged
}
