package node

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/storage"
)

// handleSubmit serves /qun/submit/1.0.0 on the host: one signed submission
// in, one reply out. The remote peer becomes the event's via (home node).
func (n *Node) handleSubmit(s network.Stream) {
	n.serveRequest(s, "qun-submit", protocol.MaxSubmissionSize, func(ctx context.Context, remote peer.ID, raw []byte) []byte {
		via, err := protocol.UserIDFromPeer(remote)
		var reply submitReply
		if err == nil {
			var ev *protocol.SignedEvent
			ev, err = n.hostSubmit(ctx, raw, via)
			if err == nil {
				reply.event = ev.Raw
			}
		}
		if err != nil {
			pe := protocol.AsError(err)
			reply.code, reply.msg = pe.Code, pe.Msg
		}
		return reply.encode()
	})
}

// decodeVerified decodes a submission and verifies its author's signature,
// unless the group it is for verified the same bytes before.
func (n *Node) decodeVerified(raw []byte) (*protocol.SignedSubmission, *group, error) {
	sub, err := protocol.DecodeSubmission(raw)
	if err != nil {
		return nil, nil, err
	}
	g := n.group(sub.GroupID())
	if g != nil {
		err = g.verifySub(sub)
	} else {
		err = sub.Verify()
	}
	if err != nil {
		return nil, nil, err
	}
	return sub, g, nil
}

// hostSubmit sequences a submission of a group this node hosts.
func (n *Node) hostSubmit(ctx context.Context, raw []byte, via protocol.UserID) (*protocol.SignedEvent, error) {
	sub, _, err := n.decodeVerified(raw)
	if err != nil {
		return nil, err
	}
	return n.sequenceLocal(ctx, sub, via)
}

func (n *Node) sequenceLocal(ctx context.Context, sub *protocol.SignedSubmission, via protocol.UserID) (*protocol.SignedEvent, error) {
	gid := sub.GroupID()
	if sub.Kind == protocol.KindCreate {
		body := sub.DecodedBody().(*protocol.CreateBody)
		if body.Host != n.id {
			return nil, protocol.Errorf(protocol.CodeNotHost, "this node (%s) is not the host named in the create submission", n.id)
		}
		if !n.admins[sub.Author] {
			return nil, protocol.Errorf(protocol.CodeForbidden, "only this node's admins can create groups hosted here")
		}
		if _, err := n.addGroup(gid, n.id, nil); err != nil {
			return nil, err
		}
	}
	g := n.group(gid)
	if g == nil {
		return nil, protocol.Errorf(protocol.CodeUnknownGroup, "this node does not know group %s", gid)
	}
	if !g.hosted {
		return nil, protocol.Errorf(protocol.CodeNotHost, "this node does not host group %s", gid)
	}
	if sub.Kind == protocol.KindJoin || sub.Kind == protocol.KindJoinRequest {
		unlock, err := n.familyAdmission(ctx, gid, sub.Author) // live codes (family.go)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	return g.submit(ctx, sub, via)
}

// Submit handles a submission signed by a client of this node: sequenced
// here when this node hosts the group, otherwise forwarded to the host. It
// returns once the event is durable on the host and applied here. hostAddrs
// help find the host of a group the node does not know yet (a join carries
// them in its invite).
func (n *Node) Submit(ctx context.Context, raw []byte, hostAddrs []multiaddr.Multiaddr) (*protocol.SignedEvent, error) {
	sub, g, err := n.decodeVerified(raw)
	if err != nil {
		return nil, err
	}
	gid := sub.GroupID()
	if sub.Kind == protocol.KindCreate || (g != nil && g.hosted) {
		return n.sequenceLocal(ctx, sub, n.id)
	}
	hostKey, addrs := protocol.UserID{}, hostAddrs
	if g != nil {
		hostKey = g.host
	} else {
		if jb, ok := sub.DecodedBody().(*protocol.JoinBody); ok && jb.Invite != nil {
			hostKey = jb.Invite.Host
			addrs = append(addrs, jb.Invite.Multiaddrs()...)
		}
		for _, a := range hostAddrs {
			if info, err := peer.AddrInfoFromP2pAddr(a); err == nil && hostKey.IsZero() {
				if hostKey, err = protocol.UserIDFromPeer(info.ID); err != nil {
					return nil, protocol.Errorf(protocol.CodeInvalid, "host address %s: %v", a, err)
				}
			}
		}
		if hostKey.IsZero() {
			return nil, protocol.Errorf(protocol.CodeUnknownGroup, "this node does not know group %s; join it with an invite first", gid)
		}
		if hostKey == n.id {
			return nil, protocol.Errorf(protocol.CodeUnknownGroup, "this node is named as the host of group %s but does not hold it", gid)
		}
	}
	if err := n.diskFull(); err != nil {
		return nil, err // the host would sequence what this node cannot store
	}
	if g != nil {
		if g.frozen() {
			return nil, g.unhealthy() // a forked replica stores nothing new
		}
		// Wait for a slot rather than open more streams than the host's
		// resource manager accepts from one peer: under overload a
		// submission then waits instead of failing with a reset stream.
		select {
		case g.forwards <- struct{}{}:
			defer func() { <-g.forwards }()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if g != nil {
		n.ensureHostAddrs(gid, hostKey)
	}
	ev, err := n.forward(ctx, g, hostKey, addrs, raw)
	if err != nil {
		return nil, err
	}
	if ev.Group != gid || ev.Sub.ID != sub.ID {
		return nil, protocol.Errorf(protocol.CodeInternal, "the host answered with an event for another submission")
	}
	if g == nil {
		// A node trusts a host only after event 1 proves it: the genesis
		// whose hash is the group ID names that host and carries its
		// signature. Anyone can put their own ID and address into an
		// invite for someone else's group.
		if err := n.proveHost(ctx, gid, hostKey); err != nil {
			return nil, err
		}
		if g, err = n.addGroup(gid, hostKey, withoutP2P(addrs)); err != nil {
			return nil, err
		}
	}
	if err := g.deliver([]*protocol.SignedEvent{ev}); err != nil {
		return nil, err
	}
	if sub.Kind == protocol.KindJoinRequest {
		return ev, nil // not a member yet: the group is readable here after approval
	}
	// A quarantined replica may be unable to apply the host's log (then the
	// event never arrives here), or it refused one bad event and the host's
	// real one applies: wait less, then answer with the reason.
	wait := 15 * time.Second
	if g.unhealthy() != nil {
		wait = 2 * time.Second
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := n.waitStored(wctx, g, ev.Seq); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, protocol.ErrStorageFull) {
			return nil, err
		}
		if err := g.unhealthy(); err != nil {
			return nil, err
		}
		return nil, protocol.Errorf(protocol.CodeUnavailable, "the host sequenced the event as %d but this node has not stored it yet; retry (a retry returns the same event)", ev.Seq)
	}
	// Never acknowledge what is not stored here: the seq being on disk is
	// not enough, it must hold this event (a host that signed another event
	// for the seq has forked the group).
	if gid2, seq, ok, err := n.store.LookupEvent(ev.ID); err != nil || !ok || gid2 != gid || seq != ev.Seq {
		g.mu.Lock()
		g.compareHeld(ev) // now, not when the replica loop gets to it
		g.mu.Unlock()
		if err := g.unhealthy(); err != nil {
			return nil, err
		}
		return nil, protocol.Errorf(protocol.CodeUnavailable, "the host answered with event %d, which this node does not hold; retry (a retry returns the same event)", ev.Seq)
	}
	return ev, nil
}

// proveHost fetches the group's first event from hostKey and checks that
// it is the group's genesis (its hash is the group ID: DecodeEvent checks
// it) signed by hostKey, naming hostKey as the host. The host serves event
// 1 to a node that just joined, or asked to join, for one of its users.
func (n *Node) proveHost(ctx context.Context, gid protocol.GroupID, hostKey protocol.UserID) error {
	ctx, cancel := context.WithTimeout(ctx, streamTimeout)
	defer cancel()
	evs, _, err := n.fetch(ctx, hostKey.PeerID(), gid, hostKey, 1, 1)
	if err == nil && len(evs) != 1 {
		err = errors.New("it sent no create event")
	}
	if err == nil {
		var named protocol.UserID
		if named, err = evs[0].GenesisHost(); err == nil && named != hostKey {
			err = fmt.Errorf("the group's create event names host %s", named)
		}
	}
	if err != nil {
		return protocol.Errorf(protocol.CodeNotHost, "the node named as the group's host (%s) could not prove that it hosts group %s: %v", hostKey, gid, err)
	}
	return nil
}

func withoutP2P(addrs []multiaddr.Multiaddr) []multiaddr.Multiaddr {
	out := make([]multiaddr.Multiaddr, 0, len(addrs))
	for _, a := range addrs {
		t, _ := peer.SplitAddr(a)
		if t != nil {
			out = append(out, t)
		}
	}
	return out
}

// forward sends a signed submission to the host and verifies the event it
// answers with. g is the group when the node holds it already (its
// verified IDs spare a second verification when gossip was faster).
func (n *Node) forward(ctx context.Context, g *group, hostKey protocol.UserID, addrs []multiaddr.Multiaddr, raw []byte) (*protocol.SignedEvent, error) {
	hostID := hostKey.PeerID()
	if t := withoutP2P(addrs); len(t) > 0 {
		n.host.Peerstore().AddAddrs(hostID, t, time.Hour)
	}
	frame, err := n.request(ctx, hostID, protocol.SubmitProtocol, "the group's host", raw, protocol.MaxEventSize+1024)
	if err != nil {
		return nil, err
	}
	reply, err := decodeSubmitReply(frame)
	if err != nil {
		return nil, err
	}
	if reply.code != 0 {
		return nil, &protocol.Error{Code: reply.code, Msg: reply.msg}
	}
	ev, err := protocol.DecodeEvent(reply.event)
	if err == nil && ev.Sub.ID != protocol.SubmissionID(sha256.Sum256(raw)) {
		err = errors.New("it carries another submission")
	}
	if err == nil && (g == nil || !g.verified.has(ev.ID)) {
		// the author's signature was verified before forwarding
		if err = ev.VerifyHost(hostKey); err == nil && g != nil {
			g.verified.add(ev.ID)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("the host answered with an invalid event: %w", err)
	}
	return ev, nil
}

// waitStored waits until the event seq is on disk here, and gives up at
// once with storage_full when the disk fills meanwhile (the host sequenced
// the event; this node cannot store it until space is freed).
func (n *Node) waitStored(ctx context.Context, g *group, seq uint64) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		head, changed := g.committedWait()
		if head >= seq {
			return nil
		}
		select {
		case <-changed:
		case <-t.C:
			if n.store.Full() {
				return protocol.Errorf(protocol.CodeStorageFull, "the host sequenced the message as event %d, but this node's disk is full so it cannot store it; it keeps serving what it holds, and a retry once space is freed returns the same event (%s)", seq, storageFullReason(storage.ErrStorageFull))
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitHead blocks until the node has stored the group's events up to seq.
func (n *Node) WaitHead(ctx context.Context, gid protocol.GroupID, seq uint64) error {
	for {
		if g := n.group(gid); g != nil {
			return g.waitCommitted(ctx, seq)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Head returns the seq of the last event of the group stored here.
func (n *Node) Head(gid protocol.GroupID) (uint64, error) {
	g := n.group(gid)
	if g == nil {
		return 0, protocol.Errorf(protocol.CodeUnknownGroup, "this node does not know group %s", gid)
	}
	return g.committedHead(), nil
}
