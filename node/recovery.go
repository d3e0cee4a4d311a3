package node

// Recovery: a host that lost events it had acknowledged (a damaged write-
// ahead log, a restored backup) must never sequence new events over their
// seqs — that would be two host-signed events for one seq. It learns of the
// loss from the store's head witness at start, or from a replica that asks
// for events beyond the host's head. It then refuses submissions, fetches
// the lost events back from its members' nodes (verifying its own
// signature and the chain), and sequences again only when its log reaches
// the head it had acknowledged.
//
// Recovery runs inside the host loop, the one owner of sequencing, so no
// submission is sequenced while the host checks a replica's claim.

import (
	"context"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/qunchat/qun/protocol"
)

// Recovery pacing.
const (
	recoverFirstRetry = 500 * time.Millisecond
	recoverMaxRetry   = 30 * time.Second
	recoverFetch      = 10 * time.Second // bound of one fetch from a replica while recovering
	claimFetch        = 2 * time.Second  // bound of checking a claim: sequencing waits meanwhile
	claimCooldown     = time.Minute      // between checks of one peer's claim
)

// lostEvents marks a hosted group as recovering: it acknowledged events up
// to want but its log ends before. Called before the group starts or from
// the host loop.
func (g *group) lostEvents(want uint64, why string) {
	g.recoverTo = max(g.recoverTo, want)
	g.setHealth(&groupHealth{
		code: protocol.CodeRecovering,
		reason: fmt.Sprintf("the host lost acknowledged events %d to %d (%s) and recovers them from its members' nodes "+
			"before it accepts anything new", g.committedHead()+1, g.recoverTo, why),
		since: time.Now(),
	})
	g.log.Error("host lost acknowledged events; recovering from replicas", "stored", g.committedHead(), "acknowledged", g.recoverTo, "why", why)
}

// claimBeyond is told by the sync server that peer p asked for events from
// seq on, beyond this host's head: p may hold events this host lost. The
// claim is checked in the host loop (at most once a minute per peer).
func (g *group) claimBeyond(p peer.ID, seq uint64) {
	select {
	case g.claims <- claim{peer: p, seq: seq}:
	default:
	}
}

type claim struct {
	peer peer.ID
	seq  uint64
}

// checkClaim fetches from the peer what follows the host's head; events
// this host signed that it does not hold mean it lost them. Host loop only:
// sequencing waits for the check, so a member's node that makes false
// claims can delay the group by at most claimFetch per claimCooldown.
func (g *group) checkClaim(c claim) {
	if last, ok := g.claimChecked[c.peer]; ok && time.Since(last) < claimCooldown {
		return
	}
	g.claimChecked[c.peer] = time.Now()
	if len(g.claimChecked) > maxRemovedPeers {
		for p, at := range g.claimChecked {
			if time.Since(at) >= claimCooldown {
				delete(g.claimChecked, p)
			}
		}
	}
	head := g.committedHead()
	if c.seq <= head {
		return
	}
	evs, err := g.fetchOwn(c.peer, head+1, 1, claimFetch)
	if err != nil || len(evs) == 0 {
		return // nothing proven: go on
	}
	g.lostEvents(max(c.seq, evs[0].Seq), fmt.Sprintf("node %s holds event %d signed by this host", c.peer, evs[0].Seq))
	g.recover()
}

// recover fetches lost events from the members' nodes it is connected to
// and reports whether the log is whole again. Host loop only.
//
// Events that no member's node holds may never have left this host: it
// stores a batch, then answers, serves and publishes it, and a crash in
// between leaves that one batch (at most maxBatch events) signed, counted
// by the head witness and seen by nobody. When every member's node has
// answered that it holds nothing more and at most one batch is missing,
// the host gives the batch up and sequences over its seqs; while any
// member's node is silent, or more is missing, it keeps waiting.
func (g *group) recover() bool {
	homes := g.memberHomes()
	answered := 0
	for _, p := range homes {
		if g.committedHead() >= g.recoverTo {
			break
		}
		if g.n.host.Network().Connectedness(p) == network.Connected && g.recoverFrom(p) {
			answered++
		}
	}
	head := g.committedHead()
	if head < g.recoverTo {
		if answered < len(homes) || g.recoverTo-head > maxBatch {
			g.setHealth(&groupHealth{
				code: protocol.CodeRecovering,
				reason: fmt.Sprintf("the host lost acknowledged events %d to %d and recovers them from its members' nodes "+
					"before it accepts anything new; %d of %d members' nodes have answered", head+1, g.recoverTo, answered, len(homes)),
				since: time.Now(),
			})
			return false
		}
		if err := g.n.store.ClearDamage(g.id); err != nil {
			g.log.Error("cannot accept the recovered log", "err", err)
			return false
		}
		g.log.Warn("events no member's node holds are given up: the host stored them and stopped before it released them",
			"from", head+1, "to", g.recoverTo, "members_nodes", len(homes))
		g.recoverTo = head
	} else {
		g.log.Info("recovered every acknowledged event from replicas", "head", head)
	}
	g.setHealth(nil)
	return true
}

// recoverFrom fetches from p what follows the host's head until p holds
// nothing more or the lost events are back, and reports whether p answered
// that it holds nothing more.
func (g *group) recoverFrom(p peer.ID) bool {
	for g.ctx.Err() == nil && g.committedHead() < g.recoverTo {
		evs, err := g.fetchOwn(p, g.committedHead()+1, protocol.MaxSyncBatch, recoverFetch)
		if err != nil {
			return false
		}
		if len(evs) == 0 {
			return true
		}
		if err := g.applyRecovered(evs); err != nil {
			g.log.Warn("recovered events do not apply", "from", p, "err", err)
			return false
		}
		if last := evs[len(evs)-1].Seq; last > g.recoverTo {
			g.recoverTo = last // the replica held even more: keep it all
		}
	}
	return false
}

// memberHomes lists the other nodes that are home to a member.
func (g *group) memberHomes() []peer.ID {
	g.mu.Lock()
	defer g.mu.Unlock()
	seen := map[peer.ID]bool{g.n.host.ID(): true}
	var out []peer.ID
	for _, m := range g.state.Members {
		if p := m.Home.PeerID(); !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// fetchOwn fetches events of this hosted group from a replica, verified
// against this node's own key.
func (g *group) fetchOwn(p peer.ID, from uint64, limit uint32, bound time.Duration) ([]*protocol.SignedEvent, error) {
	ctx, cancel := context.WithTimeout(g.ctx, bound)
	defer cancel()
	evs, _, err := g.n.fetch(ctx, p, g.id, g.n.id, from, limit)
	return evs, err
}

// applyRecovered applies and stores events fetched back from a replica.
func (g *group) applyRecovered(evs []*protocol.SignedEvent) error {
	g.mu.Lock()
	var ok []*protocol.SignedEvent
	var err error
	for _, ev := range evs {
		if ev.Seq != g.state.Head+1 {
			break
		}
		if err = g.state.Apply(ev, g.lookup); err != nil {
			break
		}
		g.remember(ev)
		ok = append(ok, ev)
		if membershipKind(ev.Sub.Kind) {
			g.refreshAllowed()
		}
	}
	g.headHint.Store(g.state.Head)
	g.mu.Unlock()
	if cerr := g.commit(ok); cerr != nil {
		return cerr
	}
	return err
}

// recovering reports whether the group waits for lost events.
func (g *group) recovering() bool {
	h := g.health.Load()
	return h != nil && h.code == protocol.CodeRecovering
}

// checkDamage applies what the store found at open about a hosted group:
// acknowledged events missing from the log make it recover them before it
// sequences anything; a log that differs from what was acknowledged, or
// cannot be read, holds the group read-only. Called before the group starts.
func (g *group) checkDamage() {
	if !g.hosted {
		return // a replica fetches again what it lost: sync starts from its head
	}
	d, ok := g.n.store.DamageOf(g.id)
	switch {
	case !ok:
	case d.WitnessHead > d.StoredHead:
		g.lostEvents(d.WitnessHead, d.Reason)
	case d.WitnessHead == 0 && d.StoredHead > 0:
		// The witness itself was lost: nothing local tells what was
		// acknowledged; replicas that hold more are still caught by
		// their sync requests (claimBeyond).
		g.log.Warn("the store's head witness was lost; relying on replicas to report lost events", "reason", d.Reason)
	default:
		g.quarantine(d.StoredHead, protocol.Errorf(protocol.CodeInternal, "%s", d.Reason))
	}
}
