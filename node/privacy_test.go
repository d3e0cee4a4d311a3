package node

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"

	"github.com/qunchat/qun/protocol"
)

// outsider is a bare libp2p host with its own pubsub router, subscribed to
// a group's topic: it plays a stranger who read the group ID in an invite.
type outsider struct {
	h   host.Host
	sub *pubsub.Subscription
	got chan []byte
}

func newOutsider(t *testing.T, flood bool, gid protocol.GroupID, target *testNode) *outsider {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var ps *pubsub.PubSub
	if flood {
		ps, err = pubsub.NewFloodSub(ctx, h, pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign), pubsub.WithNoAuthor())
	} else {
		ps, err = pubsub.NewGossipSub(ctx, h, pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign), pubsub.WithNoAuthor())
	}
	if err != nil {
		t.Fatal(err)
	}
	topic, err := ps.Join(protocol.Topic(gid))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := topic.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	o := &outsider{h: h, sub: sub, got: make(chan []byte, 1024)}
	go func() {
		for {
			m, err := sub.Next(ctx)
			if err != nil {
				return
			}
			select {
			case o.got <- m.Data:
			default:
			}
		}
	}()
	if err := h.Connect(ctx, addrInfo(target)); err != nil {
		t.Fatal(err)
	}
	return o
}

// leaked reports whether any message the outsider received carries one of
// the texts (content, not a bare head notice).
func leaked(o *outsider, texts []string) string {
	for {
		select {
		case data := <-o.got:
			for _, s := range texts {
				if strings.Contains(string(data), s) {
					return s
				}
			}
		default:
			return ""
		}
	}
}

// TestOutsiderPeersReadNothing: bare libp2p hosts speaking floodsub or
// gossipsub, subscribed to a private group's topic, receive none of its
// content while members' nodes receive all of it.
func TestOutsiderPeersReadNothing(t *testing.T) {
	a, b, c, gid, keys := threeNodeGroup(t)
	flood := newOutsider(t, true, gid, a)
	gossip := newOutsider(t, false, gid, a)
	floodB := newOutsider(t, true, gid, b)
	waitFor(t, 5*time.Second, "the outsiders' subscriptions to reach the host", func() bool {
		return len(a.ps.ListPeers(protocol.Topic(gid))) >= 2
	})
	var texts []string
	var last uint64
	for i := 0; i < 30; i++ {
		s := "secret-order-address-" + string(rune('a'+i%26)) + strings.Repeat("x", i)
		texts = append(texts, s)
		last = mustSubmit(t, a, keys[0], gid, text(s)).Seq
	}
	waitHead(t, 10*time.Second, gid, last, a, b, c)
	// Members' nodes hold everything; give gossip the same time to reach
	// the outsiders that it took to reach the members, and more.
	holdsFor(t, 2*time.Second, func() error {
		for name, o := range map[string]*outsider{"floodsub": flood, "gossipsub": gossip, "floodsub via a member node": floodB} {
			if s := leaked(o, texts); s != "" {
				return fmt.Errorf("%s outsider received private content %q", name, s)
			}
		}
		return nil
	})
}

// TestKickedMemberNodeStopsReceiving: the home node of a kicked or banned
// member, which held the group only for them, stores nothing sequenced after
// the removal, while the remaining member's node keeps receiving.
func TestKickedMemberNodeStopsReceiving(t *testing.T) {
	for _, kind := range []protocol.Kind{protocol.KindKick, protocol.KindBan} {
		t.Run(kind.String(), func(t *testing.T) {
			a, b, c, gid, keys := threeNodeGroup(t)
			// Warm up the mesh so that b is a mesh peer of everyone.
			last := sendMany(t, gid, 40, 2, []*testNode{a, c}, []*protocol.Key{keys[0], keys[2]})
			waitHead(t, 10*time.Second, gid, last, a, b, c)
			removed := mustSubmit(t, a, keys[0], gid, protocol.NewMemberBody(kind, keys[1].ID(), "test")).Seq
			waitHead(t, 10*time.Second, gid, removed, a, b, c)
			last = sendMany(t, gid, 40, 2, []*testNode{a, c}, []*protocol.Key{keys[0], keys[2]})
			waitHead(t, 10*time.Second, gid, last, a, c)
			// b had the same time as c to receive; then some more.
			holdsFor(t, 2*time.Second, func() error {
				if h, _ := b.Head(gid); h > removed {
					return fmt.Errorf("the removed member's node stored seq %d, sequenced after the %s at %d", h, kind, removed)
				}
				return nil
			})
		})
	}
}

// signingHost is a bare libp2p host with key k that answers every
// submission with the event that makes (nil: no answer), signed with k.
func signingHost(t *testing.T, k *protocol.Key, makes func(sub []byte, via protocol.UserID) protocol.Event) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.Identity(k.Libp2p()), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	h.SetStreamHandler(protocolID(protocol.SubmitProtocol), func(s network.Stream) {
		defer s.Close()
		raw, err := readFrame(bufio.NewReader(s), protocol.MaxSubmissionSize)
		if err != nil {
			s.Reset()
			return
		}
		via, _ := protocol.UserIDFromPeer(s.Conn().RemotePeer())
		e := makes(raw, via)
		ev, err := e.Sign(k)
		if err != nil {
			s.Reset()
			return
		}
		_ = writeFrame(s, (&submitReply{event: ev.Raw}).encode())
	})
	return h
}

// fakeHost is a host that answers every submission with an "event" it
// signs itself: it plays a node that put its own ID and address into an
// invite for someone else's group.
func fakeHost(t *testing.T, gid protocol.GroupID) (host.Host, *protocol.Key) {
	t.Helper()
	k := newKey(t)
	return signingHost(t, k, func(sub []byte, via protocol.UserID) protocol.Event {
		return protocol.Event{Group: gid, Seq: 7, Prev: protocol.EventID{7}, Time: nowMS(), Via: via, Submission: sub}
	}), k
}

// TestFakeHostNotTrusted: an invite for a real group that names another
// node as its host gets no acknowledged join, and the node does not take
// the impostor as the group's host.
func TestFakeHostNotTrusted(t *testing.T) {
	for _, kind := range []protocol.Kind{protocol.KindJoin, protocol.KindJoinRequest} {
		t.Run(kind.String(), func(t *testing.T) {
			a, b := startNode(t, ""), startNode(t, "")
			gid := createGroup(t, a, "real shop", protocol.PolicyOpen)
			fh, fk := fakeHost(t, gid)
			inv := protocol.Invite{Group: gid, Host: fk.ID(), Inviter: fk.ID(), Nonce: nonce()}
			for _, ad := range fh.Addrs() {
				inv.Addrs = append(inv.Addrs, ad.Bytes())
			}
			si, err := inv.Sign(fk)
			if err != nil {
				t.Fatal(err)
			}
			user := newKey(t)
			_, err = submit(t, b, user, gid, protocol.NewJoinBody(kind, si.Raw, ""))
			if err == nil {
				t.Fatal("the join through a fake host was acknowledged")
			}
			if !strings.Contains(err.Error(), "host") {
				t.Fatalf("the refusal does not say what is wrong: %v", err)
			}
			if b.group(gid) != nil {
				t.Fatal("the node holds the group with the fake host")
			}
			if _, ok, _ := b.storedHost(gid); ok {
				t.Fatal("the node stored the fake host for the group")
			}
			// The real invite still works from the same node.
			real := invite(t, a, a.admin, gid, a, 0, time.Hour)
			join(t, b, user, real)
		})
	}
}
