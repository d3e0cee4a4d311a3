package client

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/multiformats/go-multiaddr"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// CreateGroup creates a group hosted by the node host (usually the node's
// own ID, from Node) with the client's key as its owner. The group ID is
// the hash of the signed create submission; it is returned parsed, and as
// resp.Group.
func (c *Client) CreateGroup(ctx context.Context, host protocol.UserID, settings protocol.Settings) (protocol.GroupID, *api.SubmitResponse, error) {
	if host.IsZero() {
		return protocol.GroupID{}, nil, fmt.Errorf("client: creating a group needs the host node's ID")
	}
	s, err := c.Sign(protocol.KindCreate, protocol.GroupID{}, &protocol.CreateBody{Settings: settings, Host: host})
	if err != nil {
		return protocol.GroupID{}, nil, err
	}
	resp, err := c.SubmitSigned(ctx, s.Raw, nil)
	if err != nil {
		return protocol.GroupID{}, nil, err
	}
	gid := s.GroupID()
	if resp.Group != gid.String() {
		return protocol.GroupID{}, nil, fmt.Errorf("the qun node at %s created group %s, not %s", c.base, resp.Group, gid)
	}
	return gid, resp, nil
}

// Update changes a group's settings; nil fields stay as they are.
func (c *Client) Update(ctx context.Context, gid protocol.GroupID, settings protocol.Settings) (*api.SubmitResponse, error) {
	return c.Submit(ctx, protocol.KindUpdate, gid, &protocol.UpdateBody{Settings: settings})
}

// Send posts a message to a group.
func (c *Client) Send(ctx context.Context, gid protocol.GroupID, msg protocol.MessageBody) (*api.SubmitResponse, error) {
	return c.Submit(ctx, protocol.KindMessage, gid, &msg)
}

// Announce sets the group's announcement; an empty text clears it.
func (c *Client) Announce(ctx context.Context, gid protocol.GroupID, text string) (*api.SubmitResponse, error) {
	return c.Submit(ctx, protocol.KindAnnounce, gid, &protocol.AnnounceBody{Text: text})
}

// Pin pins the message with seq.
func (c *Client) Pin(ctx context.Context, gid protocol.GroupID, seq uint64) (*api.SubmitResponse, error) {
	return c.Submit(ctx, protocol.KindPin, gid, protocol.NewTargetBody(protocol.KindPin, seq))
}

// Unpin unpins the message with seq.
func (c *Client) Unpin(ctx context.Context, gid protocol.GroupID, seq uint64) (*api.SubmitResponse, error) {
	return c.Submit(ctx, protocol.KindUnpin, gid, protocol.NewTargetBody(protocol.KindUnpin, seq))
}

// Recall recalls the message with seq (one's own within
// protocol.RecallWindow; admins any).
func (c *Client) Recall(ctx context.Context, gid protocol.GroupID, seq uint64) (*api.SubmitResponse, error) {
	return c.Submit(ctx, protocol.KindRecall, gid, protocol.NewTargetBody(protocol.KindRecall, seq))
}

// SetRole gives member a role. Granting RoleOwner transfers ownership.
func (c *Client) SetRole(ctx context.Context, gid protocol.GroupID, member protocol.UserID, role protocol.Role) (*api.SubmitResponse, error) {
	return c.Submit(ctx, protocol.KindRole, gid, &protocol.RoleBody{Member: member, Role: role})
}

// CreateInvite makes an invite token for a group, signed by the client's
// key, and registers it with the group. uses bounds how many people it
// admits (0: unlimited), ttl how long it is valid (0: forever), ref is an
// optional external reference such as an order number: it is not put into
// the token (everyone given the token could read it) but kept by the host
// for the group's admins (SetInviteRef), so the client must talk to the
// host's node for it. The token carries the host's addresses from the
// node's view of the group, so a node that does not know the group yet can
// find the host.
func (c *Client) CreateInvite(ctx context.Context, gid protocol.GroupID, uses uint32, ttl time.Duration, ref string) (*protocol.SignedInvite, *api.SubmitResponse, error) {
	if c.key == nil {
		return nil, nil, ErrNoKey
	}
	if ttl < 0 {
		return nil, nil, fmt.Errorf("client: invite lifetime %s is negative", ttl)
	}
	view, err := c.Group(ctx, gid)
	if err != nil {
		return nil, nil, err
	}
	host, err := protocol.ParseUserID(view.Host)
	if err != nil {
		return nil, nil, fmt.Errorf("the qun node at %s names the group's host as %q: %w", c.base, view.Host, err)
	}
	nonce := make([]byte, NonceBytes)
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, fmt.Errorf("making a nonce: %w", err)
	}
	inv := protocol.Invite{
		Group:   gid,
		Host:    host,
		Addrs:   inviteAddrs(view.HostAddrs),
		Inviter: c.key.ID(),
		MaxUses: uses,
		Nonce:   nonce,
	}
	if ttl > 0 {
		inv.Expires = uint64(c.now().Add(ttl).UnixMilli())
	}
	signed, err := inv.Sign(c.key)
	if err != nil {
		return nil, nil, fmt.Errorf("signing the invite: %w", err)
	}
	resp, err := c.Submit(ctx, protocol.KindInviteCreate, gid, &protocol.InviteCreateBody{Token: signed.Raw})
	if err != nil {
		return nil, nil, err
	}
	if ref != "" {
		if err := c.SetInviteRef(ctx, gid, signed.ID, ref); err != nil {
			return signed, resp, fmt.Errorf("the invite is registered, but its reference was not kept: %w", err)
		}
	}
	return signed, resp, nil
}

// SetInviteRef keeps the reference (an order number) of a registered
// invite on the group's host, shown to the group's admins only ("" clears
// it). The client's node must be the host.
func (c *Client) SetInviteRef(ctx context.Context, gid protocol.GroupID, id protocol.InviteID, ref string) error {
	var kept api.InviteRefRequest
	return c.do(ctx, "PUT", "/api/v1/groups/"+gid.String()+"/invites/"+id.String()+"/ref", withSession, api.InviteRefRequest{Ref: ref}, &kept)
}

// inviteAddrs converts the host's multiaddr strings to the binary form an
// invite carries (protocol.InviteAddrs), skipping any that do not parse.
func inviteAddrs(addrs []string) [][]byte {
	var ms []multiaddr.Multiaddr
	for _, s := range addrs {
		if m, err := multiaddr.NewMultiaddr(s); err == nil {
			ms = append(ms, m)
		}
	}
	return protocol.InviteAddrs(ms)
}

// RevokeInvite revokes an invite of a group.
func (c *Client) RevokeInvite(ctx context.Context, gid protocol.GroupID, id protocol.InviteID) (*api.SubmitResponse, error) {
	return c.Submit(ctx, protocol.KindInviteRevoke, gid, &protocol.InviteRevokeBody{Invite: id})
}

// Join joins the group of an invite token (or of a link that ends in one).
// The answer's Group is the group joined.
func (c *Client) Join(ctx context.Context, token string) (*api.SubmitResponse, error) {
	return c.join(ctx, protocol.KindJoin, token, "")
}

// RequestJoin asks to join the group of an invite token with a note to its
// admins: for groups that admit members after approval. It is answered
// with the join request's event; an admin's approve admits the user later.
func (c *Client) RequestJoin(ctx context.Context, token, note string) (*api.SubmitResponse, error) {
	return c.join(ctx, protocol.KindJoinRequest, token, note)
}

func (c *Client) join(ctx context.Context, kind protocol.Kind, token, note string) (*api.SubmitResponse, error) {
	inv, err := protocol.ParseToken(token)
	if err != nil {
		if e := protocol.AsError(err); e.Code == protocol.CodeMalformed {
			return nil, &protocol.Error{Code: e.Code, Msg: "this is not a qun invite token (" + e.Msg + ")"}
		}
		return nil, err
	}
	s, err := c.Sign(kind, inv.Group, protocol.NewJoinBody(kind, inv.Raw, note))
	if err != nil {
		return nil, err
	}
	return c.SubmitSigned(ctx, s.Raw, HostAddrs(inv))
}

// HostAddrs returns the host addresses of an invite as multiaddr strings
// that end in /p2p/ and the host's peer ID, as SubmitRequest.HostAddrs wants.
func HostAddrs(inv *protocol.SignedInvite) []string {
	host := inv.Host.String()
	var out []string
	for _, m := range inv.Multiaddrs() {
		s := m.String()
		if !strings.HasSuffix(s, "/p2p/"+host) {
			if _, last := multiaddr.SplitLast(m); last != nil && last.Code() == multiaddr.P_P2P {
				continue // an address of another peer
			}
			s += "/p2p/" + host
		}
		out = append(out, s)
	}
	return out
}

// Leave leaves a group.
func (c *Client) Leave(ctx context.Context, gid protocol.GroupID) (*api.SubmitResponse, error) {
	return c.Submit(ctx, protocol.KindLeave, gid, &protocol.LeaveBody{})
}

// Approve admits a user whose join request is open.
func (c *Client) Approve(ctx context.Context, gid protocol.GroupID, user protocol.UserID) (*api.SubmitResponse, error) {
	return c.member(ctx, protocol.KindApprove, gid, user, "")
}

// Reject refuses a user's open join request.
func (c *Client) Reject(ctx context.Context, gid protocol.GroupID, user protocol.UserID, reason string) (*api.SubmitResponse, error) {
	return c.member(ctx, protocol.KindReject, gid, user, reason)
}

// Kick removes a member; they may join again.
func (c *Client) Kick(ctx context.Context, gid protocol.GroupID, user protocol.UserID, reason string) (*api.SubmitResponse, error) {
	return c.member(ctx, protocol.KindKick, gid, user, reason)
}

// Ban removes a user (member or not) and refuses them until unbanned.
func (c *Client) Ban(ctx context.Context, gid protocol.GroupID, user protocol.UserID, reason string) (*api.SubmitResponse, error) {
	return c.member(ctx, protocol.KindBan, gid, user, reason)
}

// Unban lifts a ban.
func (c *Client) Unban(ctx context.Context, gid protocol.GroupID, user protocol.UserID) (*api.SubmitResponse, error) {
	return c.member(ctx, protocol.KindUnban, gid, user, "")
}

// Mute mutes a member, or everyone below admin if user is the zero UserID,
// for d (0: until unmuted).
func (c *Client) Mute(ctx context.Context, gid protocol.GroupID, user protocol.UserID, d time.Duration, reason string) (*api.SubmitResponse, error) {
	if d < 0 {
		return nil, fmt.Errorf("client: mute duration %s is negative", d)
	}
	b := &protocol.MuteBody{Member: user, Reason: reason}
	if d > 0 {
		b.Until = uint64(c.now().Add(d).UnixMilli())
	}
	return c.Submit(ctx, protocol.KindMute, gid, b)
}

// Unmute lifts a member's mute, or the mute of everyone if user is the zero
// UserID.
func (c *Client) Unmute(ctx context.Context, gid protocol.GroupID, user protocol.UserID) (*api.SubmitResponse, error) {
	return c.member(ctx, protocol.KindUnmute, gid, user, "")
}

func (c *Client) member(ctx context.Context, kind protocol.Kind, gid protocol.GroupID, user protocol.UserID, reason string) (*api.SubmitResponse, error) {
	return c.Submit(ctx, kind, gid, protocol.NewMemberBody(kind, user, reason))
}

// React reacts to the message with seq with an emoji; remove takes the
// user's reaction with that emoji back.
func (c *Client) React(ctx context.Context, gid protocol.GroupID, seq uint64, emoji string, remove bool) (*api.SubmitResponse, error) {
	return c.Submit(ctx, protocol.KindReaction, gid, &protocol.ReactionBody{Target: seq, Emoji: emoji, Remove: remove})
}

// Edit replaces the text of the user's own message with seq (within
// protocol.EditWindow of sending).
func (c *Client) Edit(ctx context.Context, gid protocol.GroupID, seq uint64, text string) (*api.SubmitResponse, error) {
	return c.Submit(ctx, protocol.KindEdit, gid, &protocol.EditBody{Target: seq, Text: text})
}
