package node

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// InfoProtocol lets a node preview an invite of a group it does not hold:
// the signed invite token in, a reply (same message as the submit reply)
// whose payload is the InvitePreview as JSON out. Only the holder of a
// registered invite learns anything about a private group.
const InfoProtocol = "/qun/info/1.0.0"

// maxInviteFrame bounds an invite token frame.
const maxInviteFrame = 4096

// errHostUnreachable is the one answer to every failure to reach a
// group's host for a preview: the cause (refused, timed out, not a libp2p
// node, another peer ID) is logged, never told, so that previews cannot
// probe which addresses and ports are open.
var errHostUnreachable = protocol.Errorf(protocol.CodeUnavailable, "the group's host could not be reached")

// Preview describes what an invite leads to, asking the host over
// InfoProtocol when this node does not hold the group. The only peer it
// dials is the invite's host, at the addresses the invite gives; the API
// lets only signed-in users get here.
func (n *Node) Preview(ctx context.Context, inv *protocol.SignedInvite) (*api.InvitePreview, error) {
	if g := n.group(inv.Group); g != nil {
		return g.preview(inv)
	}
	if inv.Host == n.id {
		return nil, protocol.Errorf(protocol.CodeUnknownGroup, "this node does not hold the group of this invite")
	}
	if err := inv.Verify(); err != nil {
		return nil, err
	}
	reply, err := n.askHost(ctx, inv.Host, inv.Multiaddrs(), InfoProtocol, inv.Raw, "preview")
	if err != nil {
		return nil, err
	}
	var p api.InvitePreview
	if err := json.Unmarshal(reply.event, &p); err != nil || p.Group != inv.Group.String() {
		return nil, protocol.Errorf(protocol.CodeMalformed, "the host answered with a malformed preview")
	}
	return &p, nil
}

// askHost sends one request frame to a group's host, dialing it at addrs
// (the only peer it dials), and answers its reply. Every failure to reach
// the host is the one errHostUnreachable; the cause is logged; an error the
// host answers is returned as such. what names the request in the log.
func (n *Node) askHost(ctx context.Context, host protocol.UserID, addrs []multiaddr.Multiaddr, proto string, frame []byte, what string) (*submitReply, error) {
	hostID := host.PeerID()
	if t := withoutP2P(addrs); len(t) > 0 {
		n.host.Peerstore().AddAddrs(hostID, t, time.Hour)
	}
	unreachable := func(step string, err error) (*submitReply, error) {
		n.log.Debug(what+": the group's host could not be reached", "host", hostID, "step", step, "err", err)
		return nil, errHostUnreachable
	}
	ctx, cancel := context.WithTimeout(ctx, streamTimeout)
	defer cancel()
	s, err := n.host.NewStream(ctx, hostID, protocolID(proto))
	if err != nil {
		return unreachable("dial", err)
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(streamTimeout))
	if err := writeFrame(s, frame); err != nil || s.CloseWrite() != nil {
		s.Reset()
		return unreachable("write", err)
	}
	raw, err := readFrame(bufio.NewReader(s), 64<<10)
	if err != nil {
		s.Reset()
		return unreachable("read", err)
	}
	reply, err := decodeSubmitReply(raw)
	if err != nil {
		return unreachable("decode", err)
	}
	if reply.code != 0 {
		return nil, &protocol.Error{Code: reply.code, Msg: reply.msg}
	}
	return reply, nil
}

// preview describes the group for the holder of inv.
func (g *group) preview(inv *protocol.SignedInvite) (*api.InvitePreview, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.state
	reg := st.Invites[inv.ID]
	if reg == nil {
		// Used-up, revoked and expired invites leave the open set: say
		// which, from the token's own fields.
		_, err := st.CheckInvite(inv, nowMS())
		if err == nil || errors.Is(err, protocol.ErrInviteUnknown) {
			return nil, protocol.Errorf(protocol.CodeInviteUnknown, "this invite is not registered with the group")
		}
		var uses uint32
		if errors.Is(err, protocol.ErrInviteUsedUp) {
			uses = inv.MaxUses
		}
		return &api.InvitePreview{
			Group: g.id.String(), Name: st.Name, Description: st.Description, Avatar: st.Avatar,
			Members: len(st.Members), Cap: st.Cap, Policy: st.Policy.String(), Host: g.host.String(),
			Inviter: inv.Inviter.String(), Expires: inv.Expires, MaxUses: inv.MaxUses, Uses: uses,
			Reason: err.Error(),
		}, nil
	}
	p := &api.InvitePreview{
		Group: g.id.String(), Name: st.Name, Description: st.Description, Avatar: st.Avatar,
		Members: len(st.Members), Cap: st.Cap, Policy: st.Policy.String(), Host: g.host.String(),
		Inviter: reg.Inviter.String(), Expires: reg.Expires, MaxUses: reg.MaxUses, Uses: reg.Uses,
		Valid: true,
	}
	if m := st.Members[reg.Inviter]; m != nil {
		p.InviterName = m.Profile.DisplayName()
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
	n.serveRequest(s, "qun-info", maxInviteFrame, func(_ context.Context, _ peer.ID, raw []byte) []byte {
		var reply submitReply
		p, err := n.previewRaw(raw)
		if err == nil {
			reply.event, err = json.Marshal(p)
		}
		if err != nil {
			pe := protocol.AsError(err)
			reply.code, reply.msg = pe.Code, pe.Msg
		}
		return reply.encode()
	})
}

func (n *Node) previewRaw(raw []byte) (*api.InvitePreview, error) {
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
