package node

// Gossip: publishing committed events and validating received ones.

import (
	"context"
	"errors"
	"fmt"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	lp "github.com/libp2p/go-libp2p/core/protocol"

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
		case <-g.outbox.ready:
		}
		for _, raw := range g.outbox.take() {
			if g.topic == nil || g.ctx.Err() != nil {
				break
			}
			if err := g.topic.topic.Publish(g.ctx, raw); err != nil && g.ctx.Err() == nil {
				g.log.Debug("publish failed; replicas will sync", "err", err)
			}
		}
	}
}

func (g *group) publish(events []*protocol.SignedEvent) {
	raws := make([][]byte, len(events))
	for i, ev := range events {
		raws[i] = ev.Raw
	}
	g.outbox.push(raws...) // what does not fit, replicas catch up through sync
}

// rejected records an invalid event received from peer from ("" when the
// peer is unknown, e.g. after it passed gossip validation).
func (g *group) rejected(id protocol.EventID, from peer.ID, err error) {
	g.log.Warn("rejected an invalid event", "id", id.String()[:12], "from", from, "err", err)
	if h := g.n.onReject; h != nil {
		h(g.id, id, err)
	}
}

// validate is the topic validator. A public group's topic carries its
// events: shape, limits and both signatures are checked, old events are
// ignored without verifying them, and the host rejects any event it did not
// make. A private group's topic carries only head notices signed by the
// host (notice.go); an event of a private group is never accepted from
// gossip, so no node relays one to peers the privacy rule may exclude.
func (g *group) validate(_ context.Context, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
	if from == g.n.host.ID() {
		return pubsub.ValidationAccept // our own publication, made by the sequencer
	}
	if notice, err := protocol.DecodeHeadNotice(msg.Data); err == nil {
		return g.validateNotice(from, msg, notice)
	}
	ev, err := protocol.DecodeEvent(msg.Data)
	if errors.Is(err, protocol.ErrUpgradeNeeded) {
		// Of a later protocol revision: not the sender's fault. Sync
		// fetches it from the host, checks the host's signature and holds
		// the group for an upgrade (syncloop.go).
		if !g.hosted {
			g.kickSync()
		}
		return pubsub.ValidationIgnore
	}
	if err == nil && ev.Group != g.id {
		err = protocol.Errorf(protocol.CodeInvalid, "event of another group")
	}
	if err == nil && ev.Seq <= g.headHint.Load() {
		return pubsub.ValidationIgnore
	}
	if err == nil && g.hosted {
		err = protocol.Errorf(protocol.CodeBadSignature, "an event this host did not make")
	}
	if err == nil && !g.public() {
		// Replicas fetch a private group's events over sync. An honest host
		// may have published this one while the group was public: ignore it
		// rather than relay it.
		return pubsub.ValidationIgnore
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

// readGossip feeds validated events to the replica loop and turns head
// notices into syncs.
func (g *group) readGossip() {
	defer g.wg.Done()
	for {
		msg, err := g.sub.Next(g.ctx)
		if err != nil {
			return
		}
		if g.hosted {
			continue
		}
		switch v := msg.ValidatorData.(type) {
		case *protocol.SignedEvent:
			if g.deliver([]*protocol.SignedEvent{v}) != nil {
				return
			}
		case *protocol.SignedHeadNotice:
			g.noticed(v.Seq)
		}
	}
}

// Gossipsub sizing. Bursts of thousands of events must not be dropped by the
// default queues (outbound 32, validation 32, subscription 32).
const (
	peerOutboundQueue = 8192
	validateQueue     = 8192
	subscriptionQueue = 64 // per group, allocated when it starts: readGossip drains it at once
)

// gossipProtocols lists the pubsub protocols a node offers and speaks.
func gossipProtocols() []lp.ID {
	return []lp.ID{pubsub.GossipSubID_v13, pubsub.GossipSubID_v12, pubsub.GossipSubID_v11}
}

func (n *Node) startPubSub() error {
	params := pubsub.DefaultGossipSubParams()
	ps, err := pubsub.NewGossipSub(n.ctx, n.host,
		pubsub.WithGossipSubParams(params),
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(func(m *pb.Message) string {
			id := protocolEventID(m.Data)
			return string(id[:])
		}),
		// Only gossipsub v1.1 and later: floodsub (and gossipsub v1.0)
		// peers would be served without the peer filter and scoring.
		pubsub.WithGossipSubProtocols(gossipProtocols(), pubsub.GossipSubDefaultFeatures),
		pubsub.WithPeerFilter(n.peerAllowed),
		pubsub.WithFloodPublish(false), // flood publish ignores the peer filter
		pubsub.WithPeerExchange(false),
		pubsub.WithPeerOutboundQueueSize(peerOutboundQueue),
		pubsub.WithValidateQueueSize(validateQueue),
		pubsub.WithMaxMessageSize(protocol.MaxEventSize+4096),
		pubsub.WithPeerScore(peerScoreParams(), peerScoreThresholds()),
	)
	if err != nil {
		return fmt.Errorf("starting gossipsub: %w", err)
	}
	n.ps = ps
	return nil
}

// peerAllowed is the gossipsub peer filter: the privacy rule.
func (n *Node) peerAllowed(pid peer.ID, topic string) bool {
	gid, err := protocol.GroupFromTopic(topic)
	if err != nil {
		return false
	}
	g, d, ok := n.held(gid)
	switch {
	case g != nil:
		return g.allowsPeer(pid)
	case ok:
		return d.allowed.allows(pid) // nil until the sleeping group was read
	}
	return false
}

func peerScoreParams() *pubsub.PeerScoreParams {
	return &pubsub.PeerScoreParams{
		SkipAtomicValidation: true,
		Topics:               map[string]*pubsub.TopicScoreParams{},
		AppSpecificScore:     func(peer.ID) float64 { return 0 },
		DecayInterval:        time.Second,
		DecayToZero:          0.01,
		RetainScore:          10 * time.Minute,
		// Every test and many shops run several nodes behind one address:
		// no IP colocation penalty.
		IPColocationFactorWeight:  0,
		BehaviourPenaltyWeight:    -10,
		BehaviourPenaltyThreshold: 6,
		BehaviourPenaltyDecay:     0.9,
	}
}

func topicScoreParams() *pubsub.TopicScoreParams {
	return &pubsub.TopicScoreParams{
		SkipAtomicValidation: true,
		TopicWeight:          1,
		// With SkipAtomicValidation a zero quantum divides by zero in
		// pubsub's score function: set it even though its weight is 0.
		TimeInMeshQuantum:              time.Second,
		InvalidMessageDeliveriesWeight: -100,
		InvalidMessageDeliveriesDecay:  0.9,
	}
}

func peerScoreThresholds() *pubsub.PeerScoreThresholds {
	return &pubsub.PeerScoreThresholds{
		SkipAtomicValidation:        true,
		GossipThreshold:             -500,
		PublishThreshold:            -1000,
		GraylistThreshold:           -2500,
		AcceptPXThreshold:           1000,
		OpportunisticGraftThreshold: 3,
	}
}
