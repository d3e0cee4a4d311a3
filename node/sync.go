package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/qunchat/qun/protocol"
)

// maxSyncRequest bounds a sync request frame.
const maxSyncRequest = 128

// handleSync serves /qun/sync/1.0.0: any replica answers for the groups it
// holds, to the nodes the privacy rule allows.
func (n *Node) handleSync(s network.Stream) {
	n.serveRequest(s, "qun-sync", maxSyncRequest, func(_ context.Context, remote peer.ID, frame []byte) []byte {
		return n.serveSync(remote, frame).encode()
	})
}

func (n *Node) serveSync(from peer.ID, frame []byte) *syncReply {
	fail := func(err error) *syncReply {
		pe := protocol.AsError(err)
		return &syncReply{code: pe.Code, msg: pe.Msg}
	}
	req, err := decodeSyncRequest(frame)
	if err != nil {
		return fail(err)
	}
	n.syncsServed.Add(1)
	// A sleeping group answers from its record while the peer asks for
	// what it holds; a claim beyond its head wakes it (table.go).
	g, d, held := n.held(req.group)
	if g == nil && held && !d.known {
		d, held = n.peek(req.group, nil)
	}
	if g == nil && (!held || req.from > d.head) {
		g = n.group(req.group)
	}
	var set *allowSet
	var committed uint64
	switch {
	case g != nil:
		set, committed = g.allowed.Load(), g.committedHead()
	case held:
		set, committed = d.allowed, d.head
	default:
		return fail(protocol.Errorf(protocol.CodeUnknownGroup, "this node does not hold group %s", req.group))
	}
	limit, ok := set.limit(from)
	if !ok || (limit < req.from && !set.allows(from)) {
		return fail(protocol.Errorf(protocol.CodePrivate, "group %s is private to its members' nodes", req.group))
	}
	head := min(committed, limit)
	if first := set.first(from); req.from < first && !(req.from == 1 && req.limit == 1) {
		// Event 1 alone proves the host (submit.go); nothing else before
		// what the peer's members may read leaves this node.
		return &syncReply{code: protocol.CodeHistoryHidden, base: first - 1,
			msg: fmt.Sprintf("this node may fetch group %s from event %d on: start from the host's checkpoint at %d", req.group, first, first-1)}
	}
	if g != nil && g.hosted && req.from > committed {
		// A replica asks for its own head and beyond: it holds events this
		// host does not. Check the claim (recovery.go).
		g.claimBeyond(from, req.from)
	}
	reply := &syncReply{head: head}
	if req.limit == 0 || req.from > head {
		return reply
	}
	recs, err := n.store.Range(req.group, req.from, int(req.limit), maxSyncBytes)
	if err != nil {
		return fail(protocol.Errorf(protocol.CodeInternal, "reading events: %v", err))
	}
	for _, r := range recs {
		if r.Seq > head {
			break
		}
		reply.events = append(reply.events, r.Data)
	}
	return reply
}

// fetch asks peer p for the group's events from seq on, verifies them (shape,
// both signatures, consecutive seqs) and returns them with the peer's head.
func (n *Node) fetch(ctx context.Context, p peer.ID, gid protocol.GroupID, hostKey protocol.UserID, from uint64, limit uint32) ([]*protocol.SignedEvent, uint64, error) {
	req := syncRequest{group: gid, from: from, limit: limit}
	frame, err := n.request(ctx, p, protocol.SyncProtocol, "peer", req.encode(), maxSyncFrame)
	if err != nil {
		return nil, 0, err
	}
	reply, err := decodeSyncReply(frame)
	if err != nil {
		return nil, 0, err
	}
	if reply.code == protocol.CodeHistoryHidden {
		return nil, 0, &hiddenError{base: reply.base, err: &protocol.Error{Code: reply.code, Msg: reply.msg}}
	}
	if reply.code != 0 {
		return nil, 0, &protocol.Error{Code: reply.code, Msg: reply.msg}
	}
	evs := make([]*protocol.SignedEvent, 0, len(reply.events))
	var later error // an event of a later protocol revision ends the answer
	for i, raw := range reply.events {
		ev, err := protocol.DecodeEvent(raw)
		if ev != nil && ev.Group == gid && ev.Seq == from+uint64(i) && errors.Is(err, protocol.ErrUpgradeNeeded) {
			// Held for an upgrade only when the host signed it; anyone
			// could send bytes this node does not understand.
			if verr := ev.VerifyHost(hostKey); verr != nil {
				return nil, 0, verr
			}
			later = &upgradeError{seq: ev.Seq, err: err}
			break
		}
		if err != nil {
			return nil, 0, err
		}
		if ev.Group != gid || ev.Seq != from+uint64(i) {
			return nil, 0, protocol.Errorf(protocol.CodeBrokenChain, "peer %s sent event %d of the wrong group or out of order", p, ev.Seq)
		}
		evs = append(evs, ev)
	}
	if err := verifyEvents(n.loadedGroup(gid), hostKey, evs); err != nil {
		return nil, 0, err
	}
	return evs, reply.head, later
}

// hiddenError is fetch's answer when the peer may not send the events
// asked for: this node may fetch only those after base.
type hiddenError struct {
	base uint64
	err  error
}

func (e *hiddenError) Error() string { return e.err.Error() }
func (e *hiddenError) Unwrap() error { return e.err }

// upgradeError is fetch's answer when the peer sent, after the events
// returned with it, an event of seq that the host signed and this node's
// protocol revision does not know.
type upgradeError struct {
	seq uint64
	err error
}

func (e *upgradeError) Error() string {
	return fmt.Sprintf("event %d: %v", e.seq, e.err)
}

func (e *upgradeError) Unwrap() error { return e.err }
