package node

import (
	"bufio"
	"context"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/qunchat/qun/protocol"
)

// maxSyncRequest bounds a sync request frame.
const maxSyncRequest = 128

// handleSync serves /qun/sync/1.0.0: any replica answers for the groups it
// holds, to the nodes the privacy rule allows.
func (n *Node) handleSync(s network.Stream) {
	defer s.Close()
	if err := s.Scope().SetService("qun-sync"); err != nil {
		s.Reset()
		return
	}
	_ = s.SetDeadline(time.Now().Add(streamTimeout))
	frame, err := readFrame(bufio.NewReader(s), maxSyncRequest)
	if err != nil {
		s.Reset()
		return
	}
	reply := n.serveSync(s.Conn().RemotePeer(), frame)
	if err := writeFrame(s, reply.encode()); err != nil {
		s.Reset()
	}
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
	g := n.group(req.group)
	if g == nil {
		return fail(protocol.Errorf(protocol.CodeUnknownGroup, "this node does not hold group %s", req.group))
	}
	limit, ok := g.syncLimit(from)
	if !ok || (limit < req.from && !g.allowsPeer(from)) {
		return fail(protocol.Errorf(protocol.CodePrivate, "group %s is private to its members' nodes", req.group))
	}
	head := min(g.committedHead(), limit)
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
	s, err := n.host.NewStream(ctx, p, protocolID(protocol.SyncProtocol))
	if err != nil {
		return nil, 0, protocol.Errorf(protocol.CodeUnavailable, "cannot reach %s: %v", p, err)
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(streamTimeout))
	req := syncRequest{group: gid, from: from, limit: limit}
	if err := writeFrame(s, req.encode()); err != nil {
		s.Reset()
		return nil, 0, err
	}
	if err := s.CloseWrite(); err != nil {
		s.Reset()
		return nil, 0, err
	}
	frame, err := readFrame(bufio.NewReader(s), maxSyncFrame)
	if err != nil {
		s.Reset()
		return nil, 0, err
	}
	reply, err := decodeSyncReply(frame)
	if err != nil {
		return nil, 0, err
	}
	if reply.code != 0 {
		return nil, 0, &protocol.Error{Code: reply.code, Msg: reply.msg}
	}
	evs := make([]*protocol.SignedEvent, 0, len(reply.events))
	for i, raw := range reply.events {
		ev, err := protocol.DecodeEvent(raw)
		if err != nil {
			return nil, 0, err
		}
		if ev.Group != gid || ev.Seq != from+uint64(i) {
			return nil, 0, protocol.Errorf(protocol.CodeBrokenChain, "peer %s sent event %d of the wrong group or out of order", p, ev.Seq)
		}
		evs = append(evs, ev)
	}
	if err := verifyEvents(n.group(gid), hostKey, evs); err != nil {
		return nil, 0, err
	}
	return evs, reply.head, nil
}
