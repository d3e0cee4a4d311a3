package node

// Head notices: how a private group's new events reach its replicas
// without travelling by gossip.

import (
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/qunchat/qun/protocol"
)

// public reports whether the group's events may go to any node.
func (g *group) public() bool {
	set := g.allowed.Load()
	return set != nil && set.public
}

// publishCommitted hands just-committed events to gossip: a public group's
// events themselves, a private group's only as one head notice for the
// batch. Replicas then fetch the events over sync, which checks the
// privacy rule against the current state on every request.
func (g *group) publishCommitted(events []*protocol.SignedEvent) {
	if len(events) == 0 {
		return
	}
	if g.public() {
		g.publish(events)
		return
	}
	last := events[len(events)-1]
	n := protocol.HeadNotice{Group: g.id, Seq: last.Seq, Event: last.ID}
	g.outbox.push(n.Sign(g.n.key))
}

// validateNotice checks a head notice from gossip: the group's host signed
// it and it announces events this node does not hold yet.
func (g *group) validateNotice(from peer.ID, msg *pubsub.Message, n *protocol.SignedHeadNotice) pubsub.ValidationResult {
	switch {
	case n.Group != g.id:
		g.rejected(protocolEventID(msg.Data), from, protocol.Errorf(protocol.CodeInvalid, "head notice of another group"))
		return pubsub.ValidationReject
	case g.hosted:
		// The host's own notices never come back to it.
		g.rejected(protocolEventID(msg.Data), from, protocol.Errorf(protocol.CodeBadSignature, "a head notice this host did not make"))
		return pubsub.ValidationReject
	case n.Seq <= g.headHint.Load():
		return pubsub.ValidationIgnore
	}
	if err := n.Verify(g.host); err != nil {
		g.rejected(protocolEventID(msg.Data), from, err)
		return pubsub.ValidationReject
	}
	msg.ValidatorData = n
	return pubsub.ValidationAccept
}

// noticed records that the host's log reaches seq and syncs at once.
func (g *group) noticed(seq uint64) {
	g.sawHostHead(seq)
	if seq > g.headHint.Load() {
		g.kickSync()
	}
}
