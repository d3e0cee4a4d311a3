package node

// Gossip: publishing committed events and validating received ones.

import (
	"context"
	"fmt"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
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

// Gossipsub sizing. Bursts of thousands of events must not be dropped by the
// default queues (outbound 32, validation 32, subscription 32).
const (
	peerOutboundQueue = 8192
	validateQueue     = 8192
	subscriptionQueue = 8192
)

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
	g := n.group(gid)
	return g != nil && g.allowsPeer(pid)
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
