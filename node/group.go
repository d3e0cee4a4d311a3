package node

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	lp "github.com/libp2p/go-libp2p/core/protocol"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/storage"
	"golang.org/x/time/rate"
)

func protocolID(s string) lp.ID { return lp.ID(s) }

func protocolEventID(raw []byte) protocol.EventID { return protocol.EventID(sha256.Sum256(raw)) }

// Sizes of a group's queues and batches. A channel's buffer is allocated
// when the group is made, busy or idle, so channels are small (an idle
// group costs a few KB, see groupmem.go): under a burst their senders wait
// and the loops' drains take from them directly; what grows with a burst
// (outbox, cache, future events) grows in maps and slices.
const (
	submitQueue   = 16  // submissions waiting for the sequencer (more wait to be sent)
	maxForwards   = 192 // submissions a replica forwards at once (the host accepts 256 streams per peer)
	incomingQueue = 16  // batches of verified events waiting for the replica loop
	outboxQueue   = 65536
	maxBatch      = 512 // events per storage commit
	maxFuture     = 16384
	cacheSize     = 4096
)

// group is one group held by the node: hosted (this node sequences it) or
// replicated.
type group struct {
	n      *Node
	id     protocol.GroupID
	host   protocol.UserID
	hosted bool
	log    *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	state     *protocol.State     // owned by the loop; read by others under mu
	committed uint64              // head on disk
	changed   chan struct{}       // closed and replaced when committed advances
	cache     infoCache           // recent events for lookups (groupmem.go)
	ckpts     []pendingCheckpoint // made by the sequencer, stored before its batch (checkpoint.go)

	headHint atomic.Uint64               // state head, for cheap checks in validators
	health   atomic.Pointer[groupHealth] // nil when healthy (health.go); changed through setHealth
	healthMu sync.Mutex
	healthCh chan struct{} // closed at the next health change; nil until a WebSocket pump waits
	allowed  atomic.Pointer[allowSet]
	verified idSet         // IDs whose signatures were verified here (verify.go)
	frames   frameCache    // rendered WebSocket event messages (wsframes.go)
	recalls  atomic.Uint64 // recalls applied: a frame rendered before one may be stale (views.go)
	lastUsed atomic.Int64  // unix ns of the last use (table.go)
	watchers atomic.Int32  // WebSocket subscriptions being served: the group stays loaded

	submits  chan *submitReq
	forwards chan struct{} // slots for submissions being forwarded to the host
	incoming chan []*protocol.SignedEvent
	outbox   *outbox       // committed events for gossip (groupmem.go)
	syncKick chan struct{} // sync now
	gapKick  chan struct{} // a gap was seen: sync if gossip does not fill it

	topic *groupTopic // nil when joining failed (sync still works)
	// started is set when start has returned, inTopic when it joined and
	// subscribed to the topic: the sleep decision, which may run while
	// start does, reads them.
	started, inTopic atomic.Bool
	// keepTopic is set before a replicated group is put to sleep: it stays
	// in its topic as a relay (topics.go).
	keepTopic bool
	// hostHead is the highest seq the host is known to have (head notices
	// and syncs); a replica behind it does not sleep.
	hostHead atomic.Uint64
	sub      *pubsub.Subscription

	// loop-owned
	claims        chan claim            // replicas that asked beyond the host's head (recovery.go)
	claimChecked  map[peer.ID]time.Time // host loop: when each claim was checked
	recoverTo     uint64                // host loop: the head the host had acknowledged
	future        map[uint64]*protocol.SignedEvent
	sinceSnapshot int
	limiters      map[protocol.UserID]*rate.Limiter
}

type cachedInfo struct {
	seq  uint64
	info protocol.EventInfo
}

// allowSet is the set of nodes that may receive a group's events.
type allowSet struct {
	public  bool
	peers   map[peer.ID]bool
	removed map[peer.ID]uint64 // nodes not allowed: the last seq they may fetch (their removal; 1 for a pending request)
	// from holds the nodes that may fetch only from a seq above 1 (besides
	// event 1, which proves the host): home nodes whose members all read
	// from their join (protocol 1.2). Absent: from 1.
	from map[peer.ID]uint64
}

type submitReq struct {
	sub   *protocol.SignedSubmission
	via   protocol.UserID
	reply chan submitResult
}

type submitResult struct {
	ev  *protocol.SignedEvent
	err error
}

// newGroup loads the group's state from storage (snapshot plus replay).
func newGroup(n *Node, gid protocol.GroupID, hostKey protocol.UserID) (*group, error) {
	g := &group{
		n: n, id: gid, host: hostKey, hosted: hostKey == n.id,
		log:          n.log.With("group", gid.String()[:12]),
		changed:      make(chan struct{}),
		submits:      make(chan *submitReq, submitQueue),
		forwards:     make(chan struct{}, maxForwards),
		incoming:     make(chan []*protocol.SignedEvent, incomingQueue),
		outbox:       newOutbox(),
		syncKick:     make(chan struct{}, 1),
		gapKick:      make(chan struct{}, 1),
		future:       map[uint64]*protocol.SignedEvent{},
		claims:       make(chan claim, 1),
		claimChecked: map[peer.ID]time.Time{},
		limiters:     map[protocol.UserID]*rate.Limiter{},
	}
	g.ctx, g.cancel = context.WithCancel(n.ctx)
	g.loadFork()
	if err := g.load(); err != nil {
		// The rest of the node goes on: the group is held read-only.
		seq := g.state.Head + 1
		if base, _, e := g.n.store.Base(g.id); e == nil && base >= seq {
			seq = base // the checkpoint the log starts from
		}
		g.quarantine(seq, err)
	} else if err := g.reindex(); err != nil {
		g.log.Warn("the member index lacks this group; its members' group lists miss it until it is loaded again", "err", err)
	}
	g.checkDamage()
	return g, nil
}

// load rebuilds the state from the latest snapshot and the events after it.
// On failure the state is the one of the last event that applied, and the
// stored events stay readable.
func (g *group) load() error {
	st := protocol.NewState()
	g.state = st
	defer func() {
		g.headHint.Store(g.state.Head)
		g.refreshAllowed()
	}()
	snap, ok, err := g.n.store.LatestSnapshot(g.id)
	if err != nil {
		return fmt.Errorf("group %s: reading snapshot: %w", g.id, err)
	}
	if ok {
		if s, err := protocol.UnmarshalSnapshot(snap.Data); err == nil && s.Head == snap.Seq {
			st = s
		} else {
			g.log.Warn("ignoring unreadable snapshot; replaying the log", "err", err)
		}
	}
	head, _, err := g.n.store.Head(g.id)
	if err != nil {
		return fmt.Errorf("group %s: reading head: %w", g.id, err)
	}
	if base, _, err := g.n.store.Base(g.id); err == nil && base > st.Head {
		if st, err = g.baseState(base); err != nil {
			return fmt.Errorf("group %s: %w", g.id, err)
		}
	}
	g.state = st
	g.committed = head
	for st.Head < head {
		recs, err := g.n.store.Range(g.id, st.Head+1, maxBatch, maxSyncBytes)
		if err != nil {
			return fmt.Errorf("group %s: replaying log: %w", g.id, err)
		}
		if len(recs) == 0 {
			return fmt.Errorf("group %s: log ends at %d, before its head %d", g.id, st.Head, head)
		}
		for _, r := range recs {
			ev, err := protocol.DecodeEvent(r.Data)
			if err == nil {
				err = st.Apply(ev, g.lookup)
			}
			if err != nil {
				return fmt.Errorf("group %s: stored event %d does not apply: %w", g.id, r.Seq, err)
			}
			// Not remembered: a group loaded at start keeps no event
			// cache until it is busy (lookups read the store).
		}
	}
	return nil
}

// start joins the topic and starts the group's goroutines.
func (g *group) start() {
	t, err := g.n.joinTopic(g)
	if err == nil {
		g.topic = t
		g.sub, err = t.topic.Subscribe(pubsub.WithBufferSize(subscriptionQueue))
		if err == nil {
			g.n.subscribed(t)
			g.inTopic.Store(true)
		}
	}
	if err != nil {
		g.log.Error("joining the group's topic failed; relying on sync", "err", err)
	}
	g.wg.Add(2)
	go g.publishLoop()
	if g.hosted {
		go g.hostLoop()
	} else {
		go g.replicaLoop()
		g.wg.Add(1)
		go g.syncLoop()
	}
	if g.sub != nil {
		g.wg.Add(1)
		go g.readGossip()
	}
	g.started.Store(true)
}

// close stops the group's goroutines and saves a snapshot.
func (g *group) close() {
	if g.keepTopic && g.topic != nil {
		g.topic.g.CompareAndSwap(g, nil) // the sleeping record takes the topic's messages now
	}
	g.cancel()
	g.wg.Wait()
	if g.sub != nil {
		g.sub.Cancel()
	}
	if g.topic != nil {
		g.n.leaveTopic(g, g.topic, g.keepTopic)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state != nil && g.state.Head > 0 && g.state.Head == g.committed && g.sinceSnapshot > 0 {
		if data, err := g.state.MarshalSnapshot(); err == nil && len(data) <= g.n.snapshotLimit() {
			err = g.n.store.Commit(storage.Batch{Group: g.id, Snapshot: &storage.Snapshot{Seq: g.state.Head, Data: data}})
			if err != nil {
				g.log.Warn("saving snapshot at shutdown failed", "err", err)
			}
		}
	}
}

// lookup answers the state machine's questions about earlier events.
// Called with g.mu held or from load.
func (g *group) lookup(seq uint64) (protocol.EventInfo, bool) {
	if info, ok := g.cache.get(seq); ok {
		return info, true
	}
	raw, err := g.n.store.Event(g.id, seq)
	if err != nil {
		return protocol.EventInfo{}, false
	}
	ev, err := protocol.DecodeEvent(raw)
	if err != nil {
		return protocol.EventInfo{}, false
	}
	return protocol.InfoOf(ev), true
}

func (g *group) remember(ev *protocol.SignedEvent) {
	g.cache.put(ev.Seq, protocol.InfoOf(ev))
	g.applied(ev)
}

// refreshAllowed recomputes the set of nodes allowed to receive the group's
// events after an event that may change it. A node that stops being home to
// any member may still sync up to that event (it learns of its removal),
// and nothing after it. Called with g.mu held (or before the group is
// shared), after every event that changes membership.
func (g *group) refreshAllowed() {
	set := &allowSet{public: g.state.Public, peers: map[peer.ID]bool{g.host.PeerID(): true}, removed: map[peer.ID]uint64{}}
	for _, m := range g.state.Members {
		set.peers[m.Home.PeerID()] = true
	}
	for _, r := range g.state.Requests {
		if !set.peers[r.Home.PeerID()] {
			set.removed[r.Home.PeerID()] = 1 // the genesis, to prove the host (submit.go)
		}
	}
	old := g.allowed.Load()
	set.from = nodesFrom(g.state, g.host.PeerID())
	if old != nil {
		for p, f := range old.from {
			if _, ok := set.from[p]; !ok && !set.peers[p] {
				if set.from == nil {
					set.from = map[peer.ID]uint64{}
				}
				set.from[p] = f // a removed node keeps its lower bound
			}
		}
		for p, seq := range old.removed {
			if !set.peers[p] && seq > set.removed[p] {
				set.removed[p] = seq
			}
		}
		for p := range old.peers {
			if !set.peers[p] && p != g.host.PeerID() {
				set.removed[p] = g.state.Head
			}
		}
		for len(set.removed) > maxRemovedPeers {
			var oldest peer.ID
			for p, seq := range set.removed {
				if oldest == "" || seq < set.removed[oldest] {
					oldest = p
				}
			}
			delete(set.removed, oldest)
		}
	}
	g.allowed.Store(set)
}

// nodesFrom returns, for the home nodes whose members may all read only
// from a seq above 1, the lowest such seq (State.NodeFrom, for every node
// at once). Called with g.mu held.
func nodesFrom(st *protocol.State, host peer.ID) map[peer.ID]uint64 {
	if st.Public {
		return nil
	}
	var from map[peer.ID]uint64
	for u, m := range st.Members {
		f := st.ReadFrom(u)
		if from == nil {
			if f <= 1 {
				continue // the usual case costs no map
			}
			from = map[peer.ID]uint64{}
		}
		p := m.Home.PeerID()
		if cur, ok := from[p]; !ok || f < cur {
			from[p] = f
		}
	}
	if from == nil {
		return nil
	}
	// A node with one member reading from 1 reads from 1; nodes met before
	// the first such member were skipped above and are checked here.
	for u, m := range st.Members {
		if st.ReadFrom(u) <= 1 {
			delete(from, m.Home.PeerID())
		}
	}
	delete(from, host)
	return from
}

// first returns the first seq above 1 that peer pid may fetch (event 1 it
// may always, to prove the host): 1 unless its members read from their join.
func (set *allowSet) first(pid peer.ID) uint64 {
	if set == nil || set.public {
		return 1
	}
	if f, ok := set.from[pid]; ok {
		return f
	}
	return 1
}

// maxRemovedPeers bounds the removed nodes a group remembers.
const maxRemovedPeers = 64

func (g *group) allowsPeer(pid peer.ID) bool { return g.allowed.Load().allows(pid) }

// allows reports whether the privacy rule lets node pid receive the
// group's events now.
func (set *allowSet) allows(pid peer.ID) bool {
	return set != nil && (set.public || set.peers[pid])
}

// limit returns the last seq peer pid may fetch: every seq for nodes the
// privacy rule allows now, up to its removal for a node that stopped being
// home to a member, nothing (ok false) for any other node.
func (set *allowSet) limit(pid peer.ID) (last uint64, ok bool) {
	if set == nil {
		return 0, false
	}
	if set.public || set.peers[pid] {
		return ^uint64(0), true
	}
	last, ok = set.removed[pid]
	return last, ok
}

func membershipKind(k protocol.Kind) bool {
	switch k {
	case protocol.KindCreate, protocol.KindUpdate, protocol.KindJoin, protocol.KindJoinRequest, protocol.KindApprove, protocol.KindReject,
		protocol.KindLeave, protocol.KindKick, protocol.KindBan, protocol.KindRole:
		return true
	}
	return false
}

// committedHead returns the seq of the last event on disk.
func (g *group) committedHead() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.committed
}

// committedWait returns the head on disk and a channel closed when it moves.
func (g *group) committedWait() (uint64, <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.committed, g.changed
}

// waitCommitted blocks until the event seq is on disk here.
func (g *group) waitCommitted(ctx context.Context, seq uint64) error {
	for {
		g.mu.Lock()
		done, ch := g.committed >= seq, g.changed
		g.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// markCommitted records that events up to seq are durable. Called with g.mu held.
func (g *group) markCommitted(seq uint64) {
	if seq > g.committed {
		g.committed = seq
		close(g.changed)
		g.changed = make(chan struct{})
	}
}

// commit writes events (and a snapshot when due) durably, in as few
// storage commits as the store's size limit allows. On failure the in-memory
// state is ahead of the disk: reload it from the store.
func (g *group) commit(events []*protocol.SignedEvent) error {
	if len(events) == 0 {
		return nil
	}
	var snap *storage.Snapshot
	g.mu.Lock()
	index := g.indexWrites(events)
	var wanted []blobIndexEntry // blobs of hosted messages, to fetch
	g.sinceSnapshot += len(events)
	if g.sinceSnapshot >= g.n.cfg.SnapshotEvery && g.state.Head == events[len(events)-1].Seq {
		if data, err := g.state.MarshalSnapshot(); err == nil && len(data) <= g.n.snapshotLimit() {
			snap = &storage.Snapshot{Seq: g.state.Head, Data: data}
			g.sinceSnapshot = 0
		}
	}
	g.mu.Unlock()
	budget := storage.MaxCommitBytes / 2 // leaves room for keys, indexes and the snapshot
	for len(events) > 0 {
		batch := storage.Batch{Group: g.id}
		size, k := 0, 0
		for k < len(events) && (k == 0 || size+len(events[k].Raw) <= budget) {
			ev := events[k]
			batch.Events = append(batch.Events, storage.Record{Seq: ev.Seq, ID: ev.ID, SubmissionID: ev.Sub.ID, Data: ev.Raw})
			size += len(ev.Raw) + 256
			k++
		}
		// A blob index key goes with its message: the blob is servable
		// exactly when the message is stored.
		blobIndex, want := blobWrites(g.id, events[:k])
		wanted = append(wanted, want...)
		events = events[k:]
		batch.Meta = blobIndex
		switch {
		case len(events) == 0:
			batch.Snapshot = snap
			batch.Meta = append(batch.Meta, index...)
		case len(index) > 0:
			// The index keys go with the last part; until it is stored
			// the group counts as not indexed (reindexed at its next load).
			batch.Meta = append(batch.Meta, storage.MetaWrite{Scope: g.id, Key: metaIndexed})
		}
		if g.hosted {
			batch.Meta = append(batch.Meta, g.n.hookDirtyWrite(g.id, batch.Events[0].Seq)...)
		}
		if err := g.n.store.Commit(batch); err != nil {
			g.log.Error("storing events failed; reloading state from disk", "err", err)
			g.mu.Lock()
			if lerr := g.load(); lerr != nil {
				g.quarantine(g.state.Head+1, fmt.Errorf("the group's state could not be reloaded after a failed write: %w", lerr))
			}
			g.mu.Unlock()
			return storeError(err)
		}
		if h := g.n.beforeRelease.Load(); h != nil && g.hosted && !h.fn(g.ctx, g.id, batch.Events[len(batch.Events)-1].Seq) {
			return protocol.Errorf(protocol.CodeUnavailable, "the host is shutting down; retry")
		}
		g.mu.Lock()
		g.markCommitted(batch.Events[len(batch.Events)-1].Seq)
		g.mu.Unlock()
	}
	if g.hosted && len(wanted) > 0 {
		g.fetchBlobs(wanted)
	}
	return nil
}
