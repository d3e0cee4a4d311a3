package node

// The host sequencer: submissions are checked, sequenced, signed, stored
// (one commit per batch) and answered here, then handed to gossip.

import (
	"context"
	"time"

	"github.com/qunchat/qun/protocol"
	"golang.org/x/time/rate"
)

// hostLoop sequences submissions in batches: one commit (one fsync) per
// batch of concurrent submissions.
func (g *group) hostLoop() {
	defer g.wg.Done()
	retry := time.NewTimer(0)
	defer retry.Stop()
	wait := recoverFirstRetry
	for {
		var batch []*submitReq
		select {
		case <-g.ctx.Done():
			g.drainSubmits()
			return
		case c := <-g.claims:
			g.checkClaim(c)
			if g.recovering() {
				wait = recoverFirstRetry
				retry.Reset(wait)
			}
			continue
		case <-retry.C:
			if g.recovering() && !g.recover() {
				retry.Reset(wait)
				wait = min(2*wait, recoverMaxRetry)
			}
			continue
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
	err := g.unhealthy()
	if err == nil {
		err = g.n.diskFull() // refuse at once rather than fail the commit
	}
	if err != nil {
		g.mu.Unlock()
		for i, r := range reqs {
			if results[i].ev == nil && results[i].err == nil {
				results[i].err = err // a retry of a stored submission still gets its event
			}
			r.reply <- results[i]
		}
		return
	}
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
		if membershipKind(ev.Sub.Kind) {
			g.refreshAllowed() // per event: a removed node may sync up to its removal
		}
	}
	g.headHint.Store(g.state.Head)
	ckpts := g.ckpts
	g.ckpts = nil
	g.mu.Unlock()

	for _, c := range ckpts {
		// Before the admission is stored: a new member's node asks for it
		// as soon as it learns of the admission. One that is lost is
		// rebuilt when asked for.
		if err := g.storeCheckpoint(c.seq, c.payload); err != nil {
			g.log.Warn("could not store a checkpoint; it is rebuilt when asked for", "seq", c.seq, "err", err)
		}
	}
	if err := g.commit(events); err != nil {
		for i := range results {
			if _, fresh := inBatch[reqs[i].sub.ID]; fresh {
				results[i] = submitResult{err: err}
			}
		}
		events = nil
	} else {
		g.publishCommitted(events)
	}
	for i, r := range reqs {
		r.reply <- results[i]
	}
	g.afterSequence(reqs, results, events) // the group's rules react (automation.go)
}

// sequenceOne turns one submission into the next event. Called with g.mu held.
func (g *group) sequenceOne(r *submitReq) (*protocol.SignedEvent, error) {
	st := g.state
	now := max(g.n.clock.nowMS(), st.HeadTime)
	if err := st.Check(r.sub, r.via, now, g.lookup); err != nil {
		return nil, err
	}
	// Per-author state only for members, created after the rules passed:
	// fresh keys cost nothing here.
	if r.sub.Kind != protocol.KindCreate && g.n.cfg.RatePerSecond > 0 && st.Members[r.sub.Author] != nil && !g.allow(r.sub.Author) {
		return nil, protocol.Errorf(protocol.CodeRateLimited, "you are sending too fast (limit %g per second); wait a moment", g.n.cfg.RatePerSecond)
	}
	if needsCheckpoint(st, r.sub, r.via) {
		// The state before the admission, while it is at hand (checkpoint.go).
		g.ckpts = append(g.ckpts, pendingCheckpoint{seq: st.Head, payload: st.EncodeCheckpoint()})
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

// allow spends one submission of member u's budget. Called with g.mu held,
// for members only. A limiter whose bucket is full again is the same as a
// new one: they are dropped whenever the map doubles past
// minLimiterSweep, so the map holds about the members that sent recently.
func (g *group) allow(u protocol.UserID) bool {
	l := g.limiters[u]
	if l == nil {
		if n := len(g.limiters); n >= minLimiterSweep && n&(n-1) == 0 {
			g.sweepLimiters()
		}
		l = rate.NewLimiter(rate.Limit(g.n.cfg.RatePerSecond), g.n.cfg.RateBurst)
		g.limiters[u] = l
	}
	return l.Allow()
}

// minLimiterSweep is the size of the limiter map below which it is not swept.
const minLimiterSweep = 64

// sweepLimiters drops the limiters whose bucket is full. Called with g.mu held.
func (g *group) sweepLimiters() {
	now := time.Now()
	for u, l := range g.limiters {
		if l.TokensAt(now) >= float64(l.Burst()) {
			delete(g.limiters, u)
		}
	}
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
