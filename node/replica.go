package node

// The replica: verified events from gossip and sync are re-checked against
// the rules, applied in seq order and stored.

import (
	"github.com/qunchat/qun/protocol"
)

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
	if g.frozen() {
		return nil
	}
	if g.n.store.Full() {
		return nil // nothing could be stored: sync fetches the events again later
	}
	for _, ev := range evs {
		head := g.state.Head
		switch {
		case ev.Seq <= head:
			g.compareHeld(ev)
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
				g.quarantine(next.Seq, err)
				break
			}
			g.appliedOK()
			applied = append(applied, next)
			if membershipKind(next.Sub.Kind) {
				g.refreshAllowed()
			}
		}
	}
	for seq := range g.future {
		if seq <= g.state.Head {
			delete(g.future, seq)
		}
	}
	if len(g.future) > 0 {
		gap = true
		g.sawHostHead(g.state.Head + 1) // a gap: not idle until it is filled
	}
	g.headHint.Store(g.state.Head)
	if len(applied) > 0 {
		g.touch() // a replica in use stays loaded
	}
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
