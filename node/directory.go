package node

// The merchant's public profile and its directory of groups (展示我的粉丝群):
// set through the merchant API, served to anyone at GET /api/v1/profile with
// each group's name, members and join policy as they are now. Open groups
// come with an invite of the service key, so that joins through the profile
// count as coming from the directory; approval groups take a join request.

import (
	"context"
	"strconv"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

const (
	// MaxDirectoryGroups bounds the groups a profile lists.
	MaxDirectoryGroups = 50
	// metaShopProfile is the node-scope meta key of the profile.
	metaShopProfile = "shopprofile"
	// directoryRef is the reference the host keeps for the directory's
	// invites; joins with them have the source "directory".
	directoryRef = "directory"
	// directoryPeriod is how long one directory invite is handed out; it
	// stays valid for two periods, so a profile read just before a
	// change of invite still works.
	directoryPeriod = 60 * 24 * time.Hour
)

// shopProfile reads the profile's settings (the service's name by default).
func (n *Node) shopProfile() (api.ShopProfileSettings, error) {
	p, ok, err := loadRecord[api.ShopProfileSettings](n, metaShopProfile, "the shop's profile")
	if err != nil {
		return api.ShopProfileSettings{}, err
	}
	if !ok {
		return api.ShopProfileSettings{Name: n.cfg.ServiceName, Groups: []string{}}, nil
	}
	if p.Groups == nil {
		p.Groups = []string{}
	}
	return *p, nil
}

// ProfileSettings answers the profile's settings.
func (b merchantBackend) ProfileSettings() (api.ShopProfileSettings, error) {
	return b.n.shopProfile()
}

// SetProfile checks and stores the profile's settings: nothing is stored
// when any part is refused.
func (b merchantBackend) SetProfile(_ context.Context, p api.ShopProfileSettings) (api.ShopProfileSettings, error) {
	n := b.n
	if p.Name == "" {
		return p, protocol.Errorf(protocol.CodeInvalid, "the profile needs a name")
	}
	upd := &protocol.UpdateBody{Settings: protocol.Settings{Name: &p.Name, Description: &p.Description}}
	if _, err := protocol.DecodeBody(protocol.KindUpdate, upd.Encode()); err != nil {
		return p, protocol.Errorf(protocol.CodeInvalid, "profile: %s", protocol.AsError(err).Msg)
	}
	if p.Avatar != nil {
		ref, err := p.Avatar.Ref()
		if err != nil {
			return p, protocol.Errorf(protocol.CodeInvalid, "avatar: %s", protocol.AsError(err).Msg)
		}
		if err := protocol.NewProfileBody(protocol.Profile{Avatar: ref}).Check(); err != nil {
			return p, protocol.Errorf(protocol.CodeInvalid, "avatar: %s", protocol.AsError(err).Msg)
		}
		if !n.blobs.has(ref.Hash) {
			return p, protocol.Errorf(protocol.CodeInvalid, "upload the avatar to this node first (POST /api/v1/blobs?for=avatar)")
		}
	}
	if len(p.Groups) > MaxDirectoryGroups {
		return p, protocol.Errorf(protocol.CodeInvalid, "a profile lists at most %d groups, not %d", MaxDirectoryGroups, len(p.Groups))
	}
	seen := map[protocol.GroupID]bool{}
	for i, s := range p.Groups {
		gid, err := protocol.ParseGroupID(s)
		if err != nil {
			return p, protocol.Errorf(protocol.CodeInvalid, "group %d: %s", i+1, protocol.AsError(err).Msg)
		}
		if seen[gid] {
			return p, protocol.Errorf(protocol.CodeInvalid, "group %s is listed twice", gid)
		}
		seen[gid] = true
		if err := n.listable(gid); err != nil {
			return p, err
		}
		p.Groups[i] = gid.String()
	}
	if p.Groups == nil {
		p.Groups = []string{}
	}
	return p, saveRecord(n, metaShopProfile, p)
}

// listable says why gid cannot be in the profile, if it cannot: it must be
// hosted here, open or by approval, and not closed.
func (n *Node) listable(gid protocol.GroupID) error {
	g := n.group(gid)
	if g == nil {
		return protocol.Errorf(protocol.CodeUnknownGroup, "this node does not know group %s", gid)
	}
	if !g.hosted {
		return protocol.Errorf(protocol.CodeNotHost, "group %s is hosted by another node: a profile lists the groups hosted here", gid)
	}
	g.mu.Lock()
	policy, closed := g.state.Policy, g.state.ClosedAt != 0
	g.mu.Unlock()
	switch {
	case closed:
		return protocol.Errorf(protocol.CodeInvalid, "group %s is closed", gid)
	case policy == protocol.PolicyInvite:
		return protocol.Errorf(protocol.CodeInvalid, "group %s admits by invite only: make it open or by approval to list it", gid)
	}
	return nil
}

// Profile is the public profile: the groups listed that can still be
// joined or applied to (one made invite-only or closed since drops out),
// as they are now.
func (b merchantBackend) Profile(ctx context.Context) (api.ShopProfile, error) {
	n := b.n
	set, err := n.shopProfile()
	if err != nil {
		return api.ShopProfile{}, err
	}
	out := api.ShopProfile{
		Name: set.Name, Description: set.Description, Node: n.host.ID().String(),
		HostAddrs: []string{}, Groups: []api.DirectoryGroup{},
	}
	for _, a := range n.Addrs() {
		out.HostAddrs = append(out.HostAddrs, a.String())
	}
	if set.Avatar != nil {
		out.Avatar = "/api/v1/profile/avatar"
	}
	for _, s := range set.Groups {
		gid, err := protocol.ParseGroupID(s)
		if err != nil {
			continue
		}
		g := n.group(gid)
		if g == nil || !g.hosted {
			continue
		}
		d, err := g.about() // refuses what became invite-only or closed
		if err != nil {
			continue
		}
		g.mu.Lock()
		admin := g.state.IsAdmin(n.service.ID())
		g.mu.Unlock()
		if d.Policy == protocol.PolicyOpen.String() && admin && !d.Full {
			if d.Token, err = n.directoryToken(ctx, gid); err != nil {
				n.log.Warn("directory: no invite for an open group; it is listed without one", "group", gid, "err", err)
			}
		}
		out.Groups = append(out.Groups, *d)
	}
	return out, nil
}

// directoryToken is the directory's invite of an open group for the
// current period (made on first use, unlimited uses).
func (n *Node) directoryToken(ctx context.Context, gid protocol.GroupID) (string, error) {
	period := time.Now().UnixMilli() / directoryPeriod.Milliseconds()
	key := "directory/" + strconv.FormatInt(period, 10)
	inv, _, _, err := n.keyedSignedInvite(ctx, gid, key, "", directoryRef, 0, 2*directoryPeriod)
	if err != nil {
		return "", err
	}
	return inv.Token(), nil
}

// ProfileAvatar answers the profile's avatar image and its media type.
func (b merchantBackend) ProfileAvatar() ([]byte, string, error) {
	set, err := b.n.shopProfile()
	if err != nil {
		return nil, "", err
	}
	if set.Avatar == nil {
		return nil, "", protocol.Errorf(protocol.CodeNotFound, "the profile has no avatar")
	}
	ref, err := set.Avatar.Ref()
	if err != nil {
		return nil, "", err
	}
	data, err := b.n.blobs.read(ref.Hash)
	if err != nil {
		return nil, "", protocol.Errorf(protocol.CodeNotFound, "the profile's avatar is not on this node any more")
	}
	return data, ref.MIME, nil
}
