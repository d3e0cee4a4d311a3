package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// MyProfile returns the profile the user keeps on the node (name and bio).
func (c *Client) MyProfile(ctx context.Context) (api.MyProfile, error) {
	var p api.MyProfile
	err := c.do(ctx, http.MethodGet, "/api/v1/me/profile", withSession, nil, &p)
	return p, err
}

// SetMyProfile stores the user's profile on the node, with the groups they
// show (Groups). It signs nothing: ShareProfile puts it into the user's
// groups.
func (c *Client) SetMyProfile(ctx context.Context, p api.MyProfile) (api.MyProfile, error) {
	if err := protocol.NewProfileBody(protocol.Profile{Name: p.Name, Bio: p.Bio}).Check(); err != nil {
		return api.MyProfile{}, err
	}
	var out api.MyProfile
	err := c.do(ctx, http.MethodPut, "/api/v1/me/profile", withSession, p, &out)
	return out, err
}

// SetProfile signs and submits the user's whole profile in one group (a
// profile event replaces the previous one: fields left empty are cleared).
func (c *Client) SetProfile(ctx context.Context, gid protocol.GroupID, p protocol.Profile) (*api.SubmitResponse, error) {
	body := protocol.NewProfileBody(p)
	if err := body.Check(); err != nil {
		return nil, err
	}
	return c.Submit(ctx, protocol.KindProfile, gid, body)
}

// ProfileIn returns the user's current profile in a group, as its members
// see it (zero when none is set).
func (c *Client) ProfileIn(ctx context.Context, gid protocol.GroupID) (protocol.Profile, error) {
	v, err := c.Group(ctx, gid)
	if err != nil {
		return protocol.Profile{}, err
	}
	me := c.key.ID().String()
	for _, m := range v.MemberList {
		if m.User == me {
			return m.Profile()
		}
	}
	return protocol.Profile{}, protocol.Errorf(protocol.CodeNotMember, "you are not a member of group %s", gid)
}

// Shared is the outcome of ShareProfile in one group.
type Shared struct {
	Group protocol.GroupID
	Name  string // the group's name
	Err   error  // nil: the group has the profile now
}

// ShareProfile puts the profile kept on the node into every group where the
// user is a member, keeping each group's nickname and avatar, and skipping
// groups that already show it. progress, when not nil, is called after each
// group.
func (c *Client) ShareProfile(ctx context.Context, progress func(done, total int)) ([]Shared, error) {
	kept, err := c.MyProfile(ctx)
	if err != nil {
		return nil, err
	}
	groups, err := c.MyGroups(ctx)
	if err != nil {
		return nil, err
	}
	var member []api.MyGroup
	for _, g := range groups {
		if !g.Pending {
			member = append(member, g)
		}
	}
	out := make([]Shared, 0, len(member))
	for i, g := range member {
		gid, err := protocol.ParseGroupID(g.Group)
		if err == nil {
			err = c.shareIn(ctx, gid, kept)
		}
		out = append(out, Shared{Group: gid, Name: g.Name, Err: err})
		if progress != nil {
			progress(i+1, len(member))
		}
	}
	return out, nil
}

func (c *Client) shareIn(ctx context.Context, gid protocol.GroupID, kept api.MyProfile) error {
	cur, err := c.ProfileIn(ctx, gid)
	if err != nil {
		return err
	}
	want := cur
	want.Name, want.Bio, want.Groups = kept.Name, kept.Bio, nil
	for _, v := range kept.Shown {
		g, err := v.ShownGroup()
		if err != nil {
			return fmt.Errorf("shown group %s: %w", v.Group, err)
		}
		want.Groups = append(want.Groups, g)
	}
	if want.Equal(cur) {
		return nil
	}
	cur = want
	if _, err := c.SetProfile(ctx, gid, cur); err != nil {
		return fmt.Errorf("group %s: %w", gid, err)
	}
	return nil
}
