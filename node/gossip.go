package node

// Gossip: publishing committed events and validating received ones.

import (
	"context"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/qunchat/qun/protocol"
)

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
