package node

import (
	"bufio"
	"context"
	"encoding/json"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/qunchat/qun/protocol"
)

// InfoProtocol lets a node preview an invite of a group it does not hold:
// the signed invite token in, a reply (same message as the submit reply)
// whose payload is the InvitePreview as JSON out. Only the holder of a
// registered invite learns anything about a private group.
const InfoProtocol = "/qun/info/1.0.0"

// maxInviteFrame bounds an invite token frame.
const maxInviteFrame = 4096

// Preview describes what an invite leads to, asking the host when this node
// does not hold the group.
func (n *Node) Preview(ctx context.Context, inv *protocol.SignedInvite) (*protocol.InvitePreview, error) {
	if g := n.group(inv.Group); g != nil {
		return g.preview(inv)
	}
	if inv.Host == n.id {
		return nil, protocol.Errorf(protocol.CodeUnknownGroup, "this node does not hold the group of this invite")
	}
	hostID := inv.Host.PeerID()
	if t := withoutP2P(inv.Multiaddrs()); len(t) > 0 {
		n.host.Peerstore().AddAddrs(hostID, t, time.Hour)
	}
	ctx, cancel := context.WithTimeout(ctx, streamTimeout)
	defer cancel()
	s, err := n.host.NewStream(ctx, hostID, protocolID(InfoProtocol))
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeUnavailable, "the group's host %s cannot be reached: %v", hostID, err)
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(streamTimeout))
	if err := writeFrame(s, inv.Raw); err != nil || s.CloseWrite() != nil {
		s.Reset()
		return nil, protocol.Errorf(protocol.CodeUnavailable, "asking the host failed: %v", err)
	}
	frame, err := readFrame(bufio.NewReader(s), 64<<10)
	if err != nil {
		s.Reset()
		return nil, protocol.Errorf(protocol.CodeUnavailable, "the host did not answer: %v", err)
	}
	reply, err := decodeSubmitReply(frame)
	if err != nil {
		return nil, err
	}
	if reply.code != 0 {
		return nil, &protocol.Error{Code: reply.code, Msg: reply.msg}
	}
	var p protocol.InvitePreview
	if err := json.Unmarshal(reply.event, &p); err != nil || p.Group != inv.Group.String() {
		return nil, protocol.Errorf(protocol.CodeMalformed, "the host answered with a malformed preview")
	}
	return &p, nil
}

// preview describes the group for the holder of inv.
func (g *group) preview(inv *protocol.SignedInvite) (*protocol.InvitePreview, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.state
	reg := st.Invites[inv.ID]
	if reg == nil {
		return nil, protocol.Errorf(protocol.CodeInviteUnknown, "this invite is not registered with the group")
	}
	p := &protocol.InvitePreview{
		Group: g.id.String(), Name: st.Name, Description: st.Description, Avatar: st.Avatar,
		Members: len(st.Members), Cap: st.Cap, Policy: st.Policy.String(), Host: g.host.String(),
		Inviter: reg.Inviter.String(), Expires: reg.Expires, MaxUses: reg.MaxUses, Uses: reg.Uses, Ref: reg.Ref,
		Valid: true,
	}
	if _, err := st.CheckInvite(inv, nowMS()); err != nil {
		p.Valid, p.Reason = false, err.Error()
	} else if uint32(len(st.Members)) >= st.Cap {
		p.Valid, p.Reason = false, "the group is full"
	}
	return p, nil
}

// handleInfo serves InfoProtocol for the groups this node holds.
func (n *Node) handleInfo(s network.Stream) {
	defer s.Close()
	if err := s.Scope().SetService("qun-info"); err != nil {
		s.Reset()
		return
	}
	_ = s.SetDeadline(time.Now().Add(streamTimeout))
	raw, err := readFrame(bufio.NewReader(s), maxInviteFrame)
	if err != nil {
		s.Reset()
		return
	}
	var reply submitReply
	p, err := n.previewRaw(raw)
	if err == nil {
		reply.event, err = json.Marshal(p)
	}
	if err != nil {
		pe := protocol.AsError(err)
		reply.code, reply.msg = pe.Code, pe.Msg
	}
	if err := writeFrame(s, reply.encode()); err != nil {
		s.Reset()
	}
}

func (n *Node) previewRaw(raw []byte) (*protocol.InvitePreview, error) {
	inv, err := protocol.DecodeInvite(raw)
	if err != nil {
		return nil, err
	}
	if err := inv.Verify(); err != nil {
		return nil, err
	}
	g := n.group(inv.Group)
	if g == nil {
		return nil, protocol.Errorf(protocol.CodeUnknownGroup, "this node does not hold the group of this invite")
	}
	return g.preview(inv)
}
