package node

// The profile a user keeps on their home node (GET/PUT /api/v1/me/profile).
// The node stores it and hands it to the user's clients; it signs nothing:
// a client puts it into the profile event it signs for each group (kind
// 21), after a change and after every join, so the name reaches every
// group without the node holding the user's key.

import (
	"encoding/json"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
	"github.com/qunchat/qun/storage"
)

// profileKeyPrefix starts the node-scope meta key of a user's profile.
const profileKeyPrefix = "profile/"

func profileKey(u protocol.UserID) string { return profileKeyPrefix + string(u[:]) }

func (n *Node) myProfile(u protocol.UserID) (api.MyProfile, error) {
	var p api.MyProfile
	raw, ok, err := n.store.Meta(storage.NodeScope, profileKey(u))
	if err != nil {
		return p, protocol.Errorf(protocol.CodeInternal, "reading your profile: %v", err)
	}
	if ok {
		if err := json.Unmarshal(raw, &p); err != nil {
			return p, protocol.Errorf(protocol.CodeInternal, "your stored profile is unreadable: %v", err)
		}
	}
	p.Shown = nil
	for _, s := range p.Groups {
		gid, err := protocol.ParseGroupID(s)
		if err != nil {
			continue
		}
		if g, ok := n.shownGroup(gid); ok {
			p.Shown = append(p.Shown, api.NewShownGroupView(g))
		}
	}
	return p, nil
}

// shownGroup is what a profile shows of gid, a group this node holds: its
// host and the host's addresses (this node's when it hosts the group).
func (n *Node) shownGroup(gid protocol.GroupID) (protocol.ShownGroup, bool) {
	g := n.group(gid)
	if g == nil {
		return protocol.ShownGroup{}, false
	}
	sg := protocol.ShownGroup{Group: gid, Host: g.host}
	addrs := n.host.Addrs()
	if !g.hosted {
		addrs = n.host.Peerstore().Addrs(g.host.PeerID())
	}
	sg.Addrs = protocol.InviteAddrs(addrs)
	return sg, true
}

// setMyProfile stores the profile after the protocol's checks of a
// profile event, so that every group accepts what the client builds from
// it.
func (n *Node) setMyProfile(u protocol.UserID, p api.MyProfile) error {
	if len(p.Groups) > protocol.MaxShownGroups {
		return protocol.Errorf(protocol.CodeInvalid, "a profile shows at most %d groups, not %d", protocol.MaxShownGroups, len(p.Groups))
	}
	prof := protocol.Profile{Name: p.Name, Bio: p.Bio}
	for i, s := range p.Groups {
		gid, err := protocol.ParseGroupID(s)
		if err != nil {
			return protocol.Errorf(protocol.CodeInvalid, "shown group %d: %s", i+1, protocol.AsError(err).Msg)
		}
		if !n.isMember(gid, u) {
			return protocol.Errorf(protocol.CodeNotMember, "you can show only groups you are in; you are not a member of group %s here", gid)
		}
		sg, _ := n.shownGroup(gid)
		prof.Groups = append(prof.Groups, sg)
		p.Groups[i] = gid.String()
	}
	if p.Avatar != nil {
		ref, err := p.Avatar.Ref()
		if err != nil {
			return protocol.Errorf(protocol.CodeInvalid, "avatar: %v", protocol.AsError(err).Msg)
		}
		prof.Avatar = ref
	}
	if err := protocol.NewProfileBody(prof).Check(); err != nil {
		return err
	}
	// Members' nodes fetch an avatar from the node its profile event came
	// through: this one must hold it.
	if prof.Avatar != nil && !n.blobs.has(prof.Avatar.Hash) {
		return protocol.Errorf(protocol.CodeInvalid, "upload the avatar to this node first (POST /api/v1/blobs?for=avatar)")
	}
	p.Shown = nil
	raw, _ := json.Marshal(p)
	if err := n.store.SetMeta(storage.NodeScope, profileKey(u), raw); err != nil {
		return storeError(err)
	}
	return nil
}

// isMember reports whether u is a member of gid, a group held here.
func (n *Node) isMember(gid protocol.GroupID, u protocol.UserID) bool {
	member := false
	n.withState(gid, func(g *group) { member = g.state.Members[u] != nil })
	return member
}
