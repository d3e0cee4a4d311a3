package node

// About a group (/qun/about/1.0.0, since 1.5): what someone who saw a group
// on a member's profile may learn of it before applying — its name,
// members, cap and join policy — asked of the group's host by the person's
// home node. Only groups that take requests or joins without an invite
// (open, by approval) are described; an invite-only group says only that.

import (
	"context"
	"encoding/json"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// AboutProtocol describes a group to a node that does not hold it.
const AboutProtocol = "/qun/about/1.0.0"

// maxAboutFrame bounds an about request frame.
const maxAboutFrame = 64

// encodeAboutRequest is the request frame for gid: {bytes group = 1}.
func encodeAboutRequest(gid protocol.GroupID) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), gid[:])
}

// decodeAboutRequest reads a request frame; anything but one canonical
// 32-byte group field is malformed.
func decodeAboutRequest(b []byte) (protocol.GroupID, error) {
	var gid protocol.GroupID
	seen := false
	err := protocol.Walk(b, nil, nil, func(f protocol.Field) error {
		if f.Num != 1 || f.Type != protowire.BytesType || len(f.Bytes) != len(gid) {
			return protocol.Errorf(protocol.CodeMalformed, "an about request holds one 32-byte group field")
		}
		copy(gid[:], f.Bytes)
		seen = true
		return nil
	})
	if err == nil && (!seen || gid.IsZero()) {
		err = protocol.Errorf(protocol.CodeMalformed, "an about request names a group")
	}
	return gid, err
}

// handleAbout serves AboutProtocol for the groups this node hosts.
func (n *Node) handleAbout(s network.Stream) {
	n.serveRequest(s, "qun-about", maxAboutFrame, func(_ context.Context, _ peer.ID, raw []byte) []byte {
		var reply submitReply
		d, err := n.aboutRequest(raw)
		if err == nil {
			reply.event, err = json.Marshal(d)
		}
		if err != nil {
			pe := protocol.AsError(err)
			reply.code, reply.msg = pe.Code, pe.Msg
		}
		return reply.encode()
	})
}

func (n *Node) aboutRequest(raw []byte) (*api.DirectoryGroup, error) {
	gid, err := decodeAboutRequest(raw)
	if err != nil {
		return nil, err
	}
	g := n.group(gid)
	if g == nil || !g.hosted {
		return nil, protocol.Errorf(protocol.CodeUnknownGroup, "this node does not host group %s", gid)
	}
	return g.about()
}

// about describes the group to someone who may apply: open or approval
// groups that are not closed.
func (g *group) about() (*api.DirectoryGroup, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.state
	switch {
	case st.Policy == protocol.PolicyInvite:
		return nil, protocol.Errorf(protocol.CodeInviteRequired, "this group admits members by invite only")
	case st.ClosedAt != 0:
		return nil, protocol.Errorf(protocol.CodeConflict, "this group is closed: it takes no new members")
	}
	return &api.DirectoryGroup{
		Group: g.id.String(), Name: st.Name, Description: st.Description, Avatar: st.Avatar,
		Members: len(st.Members), Cap: st.Cap, Policy: st.Policy.String(),
		Full: uint32(len(st.Members)) >= st.Cap,
	}, nil
}

// About describes a group shown on someone's profile: from this node when
// it holds the group, else from its host, dialed at addrs (the only peer
// dialed; the API lets only signed-in users get here).
func (n *Node) About(ctx context.Context, gid protocol.GroupID, host protocol.UserID, addrs []multiaddr.Multiaddr) (*api.DirectoryGroup, error) {
	if g := n.group(gid); g != nil {
		return g.about()
	}
	if host == n.id || host.IsZero() {
		return nil, protocol.Errorf(protocol.CodeUnknownGroup, "this node does not hold group %s", gid)
	}
	reply, err := n.askHost(ctx, host, addrs, AboutProtocol, encodeAboutRequest(gid), "about")
	if err != nil {
		return nil, err
	}
	var d api.DirectoryGroup
	if err := json.Unmarshal(reply.event, &d); err != nil || d.Group != gid.String() || d.Token != "" {
		return nil, protocol.Errorf(protocol.CodeMalformed, "the host answered with a malformed description of the group")
	}
	return &d, nil
}
