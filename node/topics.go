package node

// Gossip topics of groups. A topic is joined when its group starts, with
// one validator for its whole life that hands each message to the group
// while it is loaded. A replicated group that sleeps stays in its topic as
// a relay (no subscription, no goroutine): its host's head notices still
// reach it, and a notice of a seq beyond the sleeping replica's head,
// signed by the host, wakes it; the woken group syncs at once. A hosted
// group that sleeps leaves its topic: only it makes its events.

import (
	"context"
	"sync/atomic"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/qunchat/qun/protocol"
)

// groupTopic is a joined topic.
type groupTopic struct {
	topic *pubsub.Topic
	g     atomic.Pointer[group] // the loaded group reading it; nil while it sleeps
	relay pubsub.RelayCancelFunc
}

// joinTopic returns the group's topic, joined and validated, with g as its
// reader; a topic kept by the sleeping replica is reused.
func (n *Node) joinTopic(g *group) (*groupTopic, error) {
	n.topicsMu.Lock()
	defer n.topicsMu.Unlock()
	if t := n.topics[g.id]; t != nil {
		t.g.Store(g)
		return t, nil
	}
	topic, err := n.ps.Join(protocol.Topic(g.id))
	if err != nil {
		return nil, err
	}
	_ = topic.SetScoreParams(topicScoreParams())
	t := &groupTopic{topic: topic}
	t.g.Store(g)
	gid := g.id
	validate := func(ctx context.Context, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
		if g := t.g.Load(); g != nil {
			return g.validate(ctx, from, msg)
		}
		return n.validateAsleep(gid, from, msg)
	}
	if err := n.ps.RegisterTopicValidator(protocol.Topic(gid), validate); err != nil {
		_ = topic.Close()
		return nil, err
	}
	n.topics[gid] = t
	return t, nil
}

// subscribed is called once the loaded group has subscribed: a relay kept
// while it slept is not needed any more.
func (n *Node) subscribed(t *groupTopic) {
	n.topicsMu.Lock()
	defer n.topicsMu.Unlock()
	if t.relay != nil {
		t.relay()
		t.relay = nil
	}
}

// leaveTopic is called when g stops reading its topic. keep (a replica
// going to sleep) stays in the topic as a relay; otherwise the topic is
// left.
func (n *Node) leaveTopic(g *group, t *groupTopic, keep bool) {
	n.topicsMu.Lock()
	defer n.topicsMu.Unlock()
	t.g.CompareAndSwap(g, nil)
	if keep {
		if t.relay == nil {
			relay, err := t.topic.Relay()
			if err == nil {
				t.relay = relay
				return
			}
			g.log.Warn("staying in the group's topic while it sleeps failed; its next event waits for a read", "err", err)
		} else {
			return
		}
	}
	if t.relay != nil {
		t.relay()
		t.relay = nil
	}
	_ = n.ps.UnregisterTopicValidator(protocol.Topic(g.id))
	_ = t.topic.Close()
	if n.topics[g.id] == t {
		delete(n.topics, g.id)
	}
}

// validateAsleep validates a message of a sleeping replica's topic: the
// host's head notices (and, in a public group, the host's events) pass on,
// and one beyond the replica's head wakes it. Nothing is applied here: the
// woken group fetches what it lacks over sync.
func (n *Node) validateAsleep(gid protocol.GroupID, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
	n.mu.Lock()
	d := n.asleep[gid]
	var host protocol.UserID
	var head uint64
	if d != nil {
		host, head = d.host, d.head
	}
	n.mu.Unlock()
	if d == nil || host == n.id {
		return pubsub.ValidationIgnore // being woken or put to sleep, or hosted here
	}
	var seq uint64
	if notice, err := protocol.DecodeHeadNotice(msg.Data); err == nil {
		if notice.Group != gid || notice.Verify(host) != nil {
			n.log.Debug("a bad head notice for a sleeping group", "group", gid, "from", from)
			return pubsub.ValidationReject
		}
		seq = notice.Seq
	} else if ev, err := protocol.DecodeEvent(msg.Data); err == nil {
		if ev.Group != gid || ev.VerifyAll(host) != nil {
			return pubsub.ValidationReject
		}
		seq = ev.Seq
	} else {
		return pubsub.ValidationIgnore
	}
	if seq <= head {
		return pubsub.ValidationIgnore
	}
	n.wakeSoon(gid)
	return pubsub.ValidationAccept
}

// wakeSoon wakes a sleeping group in the background, once however many
// notices ask for it meanwhile.
func (n *Node) wakeSoon(gid protocol.GroupID) {
	if _, busy := n.waking.LoadOrStore(gid, struct{}{}); busy {
		return
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		n.waking.Delete(gid)
		return
	}
	n.wg.Add(1) // before Close waits: it sets closed first
	n.mu.Unlock()
	go func() {
		defer n.wg.Done()
		defer n.waking.Delete(gid)
		if g := n.group(gid); g != nil {
			g.log.Debug("woken by its host's notice")
		}
	}()
}
