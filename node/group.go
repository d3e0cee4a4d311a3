package node

import (
	"context"
	"crypto/sha256"
	"errors"
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

// Sizes of a group's queues and batches.
const (
	submitQueue   = 4096 // submissions waiting for the sequencer
	maxForwards   = 192  // submissions a replica forwards at once (the host accepts 256 streams per peer)
	incomingQueue = 1024 // batches of verified events waiting for the replica loop
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
	state     *protocol.State // owned by the loop; read by others under mu
	committed uint64          // head on disk
	changed   chan struct{}   // closed and replaced when committed advances
	cache     [cacheSize]cachedInfo

	headHint atomic.Uint64 // state head, for cheap checks in validators
	allowed  atomic.Pointer[allowSet]
	verified idSet      // IDs whose signatures were verified here (verify.go)
	frames   frameCache // rendered WebSocket event messages (wsframes.go)

	submits  chan *submitReq
	forwards chan struct{} // slots for submissions being forwarded to the host
	incoming chan []*protocol.SignedEvent
	outbox   chan []byte
	syncKick chan struct{} // sync now
	gapKick  chan struct{} // a gap was seen: sync if gossip does not fill it

	topic *pubsub.Topic
	sub   *pubsub.Subscription

	// loop-owned
	future        map[uint64]*protocol.SignedEvent
	sinceSnapshot int
	limiters      map[protocol.UserID]*rate.Limiter
	broken        error
}

type cachedInfo struct {
	seq  uint64
	info protocol.EventInfo
}

// allowSet is the set of nodes that may receive a group's events.
type allowSet struct {
	public bool
	peers  map[peer.ID]bool
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
		log:      n.log.With("group", gid.String()[:12]),
		changed:  make(chan struct{}),
		submits:  make(chan *submitReq, submitQueue),
		forwards: make(chan struct{}, maxForwards),
		incoming: make(chan []*protocol.SignedEvent, incomingQueue),
		outbox:   make(chan []byte, outboxQueue),
		syncKick: make(chan struct{}, 1),
		gapKick:  make(chan struct{}, 1),
		future:   map[uint64]*protocol.SignedEvent{},
		limiters: map[protocol.UserID]*rate.Limiter{},
	}
	g.ctx, g.cancel = context.WithCancel(n.ctx)
	if err := g.load(); err != nil {
		return nil, err
	}
	return g, nil
}

// load rebuilds the state from the latest snapshot and the events after it.
func (g *group) load() error {
	st := protocol.NewState()
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
	g.state = st
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
			g.remember(ev)
		}
	}
	g.committed = head
	g.headHint.Store(head)
	g.refreshAllowed()
	return nil
}

// start joins the topic and starts the group's goroutines.
func (g *group) start() {
	topic, err := g.n.ps.Join(protocol.Topic(g.id))
	if err == nil {
		_ = topic.SetScoreParams(topicScoreParams())
		err = g.n.ps.RegisterTopicValidator(protocol.Topic(g.id), g.validate)
	}
	if err == nil {
		g.sub, err = topic.Subscribe(pubsub.WithBufferSize(subscriptionQueue))
	}
	if err != nil {
		g.log.Error("joining the group's topic failed; relying on sync", "err", err)
	} else {
		g.topic = topic
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
}

// close stops the group's goroutines and saves a snapshot.
func (g *group) close() {
	g.cancel()
	g.wg.Wait()
	if g.sub != nil {
		g.sub.Cancel()
	}
	if g.topic != nil {
		_ = g.n.ps.UnregisterTopicValidator(protocol.Topic(g.id))
		_ = g.topic.Close()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state != nil && g.state.Head > 0 && g.state.Head == g.committed && g.sinceSnapshot > 0 {
		if data, err := g.state.MarshalSnapshot(); err == nil {
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
	c := g.cache[seq%cacheSize]
	if c.seq == seq && seq != 0 {
		return c.info, true
	}
	raw, err := g.n.store.Event(g.id, seq)
	if err != nil {
		return protocol.EventInfo{}, false
	}
	ev, err := protocol.DecodeEvent(raw)
	if err != nil {
		return protocol.EventInfo{}, false
	}
	return infoOf(ev), true
}

func infoOf(ev *protocol.SignedEvent) protocol.EventInfo {
	return protocol.EventInfo{Kind: ev.Sub.Kind, Author: ev.Sub.Author, Time: ev.Time}
}

func (g *group) remember(ev *protocol.SignedEvent) {
	g.cache[ev.Seq%cacheSize] = cachedInfo{seq: ev.Seq, info: infoOf(ev)}
}

// refreshAllowed recomputes the set of nodes allowed to receive the group's
// events. Called with g.mu held (or before the group is shared).
func (g *group) refreshAllowed() {
	set := &allowSet{public: g.state.Public, peers: map[peer.ID]bool{g.host.PeerID(): true}}
	for _, m := range g.state.Members {
		set.peers[m.Home.PeerID()] = true
	}
	g.allowed.Store(set)
}

func (g *group) allowsPeer(pid peer.ID) bool {
	set := g.allowed.Load()
	return set != nil && (set.public || set.peers[pid])
}

func membershipKind(k protocol.Kind) bool {
	switch k {
	case protocol.KindCreate, protocol.KindUpdate, protocol.KindJoin, protocol.KindApprove,
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
	g.sinceSnapshot += len(events)
	if g.sinceSnapshot >= g.n.cfg.SnapshotEvery && g.state.Head == events[len(events)-1].Seq {
		if data, err := g.state.MarshalSnapshot(); err == nil && len(data) <= storage.MaxCommitBytes/2 {
			snap = &storage.Snapshot{Seq: g.state.Head, Data: data}
			g.sinceSnapshot = 0
		}
	}
	g.mu.Unlock()
	budget := storage.MaxCommitBytes / 2 // leaves room for keys, indexes and the snapshot
	for len(events) > 0 {
		batch := storage.Batch{Group: g.id}
		size := 0
		for len(events) > 0 && (len(batch.Events) == 0 || size+len(events[0].Raw) <= budget) {
			ev := events[0]
			batch.Events = append(batch.Events, storage.Record{Seq: ev.Seq, ID: ev.ID, SubmissionID: ev.Sub.ID, Data: ev.Raw})
			size += len(ev.Raw) + 256
			events = events[1:]
		}
		if len(events) == 0 {
			batch.Snapshot = snap
		}
		if err := g.n.store.Commit(batch); err != nil {
			g.log.Error("storing events failed; reloading state from disk", "err", err)
			g.mu.Lock()
			if lerr := g.load(); lerr != nil {
				g.broken = fmt.Errorf("group state could not be reloaded: %w", lerr)
			}
			g.mu.Unlock()
			return protocol.Errorf(protocol.CodeInternal, "the node could not save the event: %v", err)
		}
		g.mu.Lock()
		g.markCommitted(batch.Events[len(batch.Events)-1].Seq)
		g.mu.Unlock()
	}
	return nil
}

// publishLoop hands committed events to gossipsub in order, off the
// sequencer's path.
func (g *group) publishLoop() {
	defer g.wg.Done()
	for {
		select {
		case <-g.ctx.Done():
			return
		case raw := <-g.outbox:
			if g.topic == nil {
				continue
			}
			if err := g.topic.Publish(g.ctx, raw); err != nil && g.ctx.Err() == nil {
				g.log.Debug("publish failed; replicas will sync", "err", err)
			}
		}
	}
}

func (g *group) publish(events []*protocol.SignedEvent) {
	for _, ev := range events {
		select {
		case g.outbox <- ev.Raw:
		default: // replicas catch up through sync
		}
	}
}

// ---- host side ----

// hostLoop sequences submissions in batches: one commit (one fsync) per
// batch of concurrent submissions.
func (g *group) hostLoop() {
	defer g.wg.Done()
	for {
		var batch []*submitReq
		select {
		case <-g.ctx.Done():
			g.drainSubmits()
			return
		case r := <-g.submits:
			batch = append(batch, r)
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case r := <-g.submits:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		g.sequence(batch)
	}
}

func (g *group) drainSubmits() {
	for {
		select {
		case r := <-g.submits:
			r.reply <- submitResult{err: protocol.Errorf(protocol.CodeUnavailable, "the host is shutting down; retry")}
		default:
			return
		}
	}
}

// sequence checks, signs, stores, answers and publishes a batch.
func (g *group) sequence(reqs []*submitReq) {
	results := make([]submitResult, len(reqs))
	// Retries of stored submissions get their stored event: exactly once.
	for i, r := range reqs {
		if seq, ok, err := g.n.store.LookupSubmission(g.id, r.sub.ID); err != nil {
			results[i].err = protocol.Errorf(protocol.CodeInternal, "looking up the submission: %v", err)
		} else if ok {
			results[i].ev, results[i].err = g.storedEvent(seq)
		}
	}
	var events []*protocol.SignedEvent
	inBatch := map[protocol.SubmissionID]*protocol.SignedEvent{}
	g.mu.Lock()
	if g.broken != nil {
		g.mu.Unlock()
		for _, r := range reqs {
			r.reply <- submitResult{err: protocol.Errorf(protocol.CodeInternal, "the group is unavailable on its host: %v", g.broken)}
		}
		return
	}
	members := false
	for i, r := range reqs {
		if results[i].ev != nil || results[i].err != nil {
			continue
		}
		if ev := inBatch[r.sub.ID]; ev != nil {
			results[i].ev = ev
			continue
		}
		ev, err := g.sequenceOne(r)
		if err != nil {
			results[i].err = err
			continue
		}
		results[i].ev = ev
		inBatch[r.sub.ID] = ev
		events = append(events, ev)
		members = members || membershipKind(ev.Sub.Kind)
	}
	if members {
		g.refreshAllowed()
	}
	g.headHint.Store(g.state.Head)
	g.mu.Unlock()

	if err := g.commit(events); err != nil {
		for i := range results {
			if _, fresh := inBatch[reqs[i].sub.ID]; fresh {
				results[i] = submitResult{err: err}
			}
		}
	} else {
		g.publish(events)
	}
	for i, r := range reqs {
		r.reply <- results[i]
	}
}

// sequenceOne turns one submission into the next event. Called with g.mu held.
func (g *group) sequenceOne(r *submitReq) (*protocol.SignedEvent, error) {
	st := g.state
	now := max(nowMS(), st.HeadTime)
	if r.sub.Kind != protocol.KindCreate && g.n.cfg.RatePerSecond > 0 && !g.allow(r.sub.Author) {
		return nil, protocol.Errorf(protocol.CodeRateLimited, "you are sending too fast (limit %g per second); wait a moment", g.n.cfg.RatePerSecond)
	}
	if err := st.Check(r.sub, r.via, now, g.lookup); err != nil {
		return nil, err
	}
	e := protocol.Event{Group: g.id, Seq: st.Head + 1, Prev: st.HeadID, Time: now, Via: r.via, Submission: r.sub.Raw}
	ev, err := e.Sign(g.n.key)
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeInternal, "signing the event: %v", err)
	}
	if err := st.Apply(ev, g.lookup); err != nil {
		// Check passed, so this is a bug; the event was signed but never stored or sent.
		return nil, protocol.Errorf(protocol.CodeInternal, "applying the event: %v", err)
	}
	g.remember(ev)
	return ev, nil
}

func (g *group) allow(u protocol.UserID) bool {
	l := g.limiters[u]
	if l == nil {
		l = rate.NewLimiter(rate.Limit(g.n.cfg.RatePerSecond), g.n.cfg.RateBurst)
		g.limiters[u] = l
	}
	return l.Allow()
}

func (g *group) storedEvent(seq uint64) (*protocol.SignedEvent, error) {
	raw, err := g.n.store.Event(g.id, seq)
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeInternal, "reading event %d: %v", seq, err)
	}
	return protocol.DecodeEvent(raw)
}

// submit hands a verified submission to the sequencer and waits for the answer.
func (g *group) submit(ctx context.Context, sub *protocol.SignedSubmission, via protocol.UserID) (*protocol.SignedEvent, error) {
	r := &submitReq{sub: sub, via: via, reply: make(chan submitResult, 1)}
	select {
	case g.submits <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-g.ctx.Done():
		return nil, protocol.Errorf(protocol.CodeUnavailable, "the host is shutting down; retry")
	}
	select {
	case res := <-r.reply:
		return res.ev, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ---- replica side ----

// replicaLoop applies verified events from gossip and sync in seq order and
// stores them in batches.
func (g *group) replicaLoop() {
	defer g.wg.Done()
	for {
		var evs []*protocol.SignedEvent
		select {
		case <-g.ctx.Done():
			return
		case evs = <-g.incoming:
		}
		applied := g.offer(evs)
	drain:
		for len(applied) < maxBatch {
			select {
			case more := <-g.incoming:
				applied = append(applied, g.offer(more)...)
			default:
				break drain
			}
		}
		_ = g.commit(applied) // on failure commit reloads the state; sync refetches
	}
}

// offer applies the events that continue the chain and buffers future ones.
func (g *group) offer(evs []*protocol.SignedEvent) []*protocol.SignedEvent {
	g.mu.Lock()
	defer g.mu.Unlock()
	var applied []*protocol.SignedEvent
	gap := false
	members := false
	for _, ev := range evs {
		head := g.state.Head
		switch {
		case ev.Seq <= head:
			continue
		case ev.Seq > head+1:
			if len(g.future) < maxFuture {
				g.future[ev.Seq] = ev
			}
			gap = true
			continue
		}
		for next := ev; next != nil; next = g.future[g.state.Head+1] {
			delete(g.future, next.Seq)
			if err := g.applyReplica(next); err != nil {
				g.rejected(next.ID, "", err)
				break
			}
			applied = append(applied, next)
			members = members || membershipKind(next.Sub.Kind)
		}
	}
	for seq := range g.future {
		if seq <= g.state.Head {
			delete(g.future, seq)
		}
	}
	if len(g.future) > 0 {
		gap = true
	}
	if members {
		g.refreshAllowed()
	}
	g.headHint.Store(g.state.Head)
	if gap {
		select {
		case g.gapKick <- struct{}{}:
		default:
		}
	}
	return applied
}

// applyReplica re-checks an event (already signature-verified) against the
// rules and applies it. Called with g.mu held.
func (g *group) applyReplica(ev *protocol.SignedEvent) error {
	if ev.Seq == 1 {
		host, err := ev.GenesisHost()
		if err != nil {
			return err
		}
		if host != g.host {
			return protocol.Errorf(protocol.CodeBrokenChain, "the group's create event names another host")
		}
	}
	if err := g.state.Apply(ev, g.lookup); err != nil {
		return err
	}
	g.remember(ev)
	return nil
}

func (g *group) kickSync() {
	select {
	case g.syncKick <- struct{}{}:
	default:
	}
}

// deliver hands verified events to the replica loop.
func (g *group) deliver(evs []*protocol.SignedEvent) error {
	select {
	case g.incoming <- evs:
		return nil
	case <-g.ctx.Done():
		return g.ctx.Err()
	}
}

// ---- gossip ----

// rejected records an invalid event received from peer from ("" when the
// peer is unknown, e.g. after it passed gossip validation).
func (g *group) rejected(id protocol.EventID, from peer.ID, err error) {
	g.log.Warn("rejected an invalid event", "id", id.String()[:12], "from", from, "err", err)
	if h := g.n.onReject; h != nil {
		h(g.id, id, err)
	}
}

// validate is the topic validator: shape, limits and both signatures. Old
// events are ignored without verifying them; the host rejects any event it
// did not make.
func (g *group) validate(_ context.Context, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
	if from == g.n.host.ID() {
		return pubsub.ValidationAccept // our own publication, made by the sequencer
	}
	ev, err := protocol.DecodeEvent(msg.Data)
	if err == nil && ev.Group != g.id {
		err = protocol.Errorf(protocol.CodeInvalid, "event of another group")
	}
	if err == nil && ev.Seq <= g.headHint.Load() {
		return pubsub.ValidationIgnore
	}
	if err == nil && g.hosted {
		err = protocol.Errorf(protocol.CodeBadSignature, "an event this host did not make")
	}
	if err == nil {
		err = g.verifyEvent(ev)
	}
	if err != nil {
		g.rejected(protocolEventID(msg.Data), from, err)
		return pubsub.ValidationReject
	}
	msg.ValidatorData = ev
	return pubsub.ValidationAccept
}

// readGossip feeds validated events to the replica loop.
func (g *group) readGossip() {
	defer g.wg.Done()
	for {
		msg, err := g.sub.Next(g.ctx)
		if err != nil {
			return
		}
		ev, ok := msg.ValidatorData.(*protocol.SignedEvent)
		if !ok || g.hosted {
			continue
		}
		if g.deliver([]*protocol.SignedEvent{ev}) != nil {
			return
		}
	}
}

// ---- sync ----

// gapGrace is how long a replica lets gossip fill a gap before it syncs.
// Under a burst, gossip delivers out of order (validation runs
// concurrently) and the host's answer to a forwarded submission overtakes
// the gossip of earlier events: almost every gap closes within
// milliseconds, and syncing at once would fetch and verify again what
// gossip is about to deliver.
const gapGrace = 20 * time.Millisecond

// syncLoop catches the replica up with the host: at start, when a gap
// persists for gapGrace, and every SyncInterval.
func (g *group) syncLoop() {
	defer g.wg.Done()
	t := time.NewTicker(g.n.cfg.SyncInterval)
	defer t.Stop()
	grace := time.NewTimer(gapGrace)
	grace.Stop()
	var missing uint64 // first missing seq when the grace timer was started
	g.kickSync()
	for {
		select {
		case <-g.ctx.Done():
			return
		case <-g.gapKick:
			if missing == 0 {
				g.mu.Lock()
				missing = g.state.Head + 1
				g.mu.Unlock()
				grace.Reset(gapGrace)
			}
			continue
		case <-grace.C:
			g.mu.Lock()
			filled := g.state.Head >= missing
			g.mu.Unlock()
			missing = 0
			if filled {
				continue
			}
		case <-t.C:
		case <-g.syncKick:
		}
		if err := g.syncOnce(); err != nil && g.ctx.Err() == nil {
			g.log.Debug("sync incomplete", "err", err)
		}
	}
}

// syncOnce fetches everything after the local head from the host or, when
// the host is unreachable, from another replica.
func (g *group) syncOnce() error {
	g.mu.Lock()
	from := g.state.Head + 1
	g.mu.Unlock()
	var errs []error
	for _, p := range g.syncPeers() {
		err := g.syncFrom(p, from)
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", p, err))
	}
	return errors.Join(errs...)
}

func (g *group) syncFrom(p peer.ID, from uint64) error {
	for {
		// Fetch only up to the first event held already (from gossip or
		// the host's answer): what follows it is arriving.
		limit := uint64(protocol.MaxSyncBatch)
		if end := g.gapEnd(); end >= from {
			limit = min(limit, end-from+1)
		}
		ctx, cancel := context.WithTimeout(g.ctx, 30*time.Second)
		evs, head, err := g.n.fetch(ctx, p, g.id, g.host, from, uint32(limit))
		cancel()
		if err != nil {
			return err
		}
		if len(evs) > 0 {
			if err := g.deliver(evs); err != nil {
				return err
			}
			from = evs[len(evs)-1].Seq + 1
		}
		if len(evs) == 0 || from > head {
			return nil
		}
	}
}

// gapEnd returns the seq before the first buffered future event, or 0.
func (g *group) gapEnd() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	var first uint64
	for seq := range g.future {
		if first == 0 || seq < first {
			first = seq
		}
	}
	if first == 0 {
		return 0
	}
	return first - 1
}

// syncPeers lists the peers to sync from: the host first, then connected
// peers of the topic that may hold the group.
func (g *group) syncPeers() []peer.ID {
	peers := []peer.ID{g.host.PeerID()}
	if g.topic != nil {
		for _, p := range g.topic.ListPeers() {
			if p != peers[0] && g.allowsPeer(p) {
				peers = append(peers, p)
			}
		}
	}
	return peers
}
