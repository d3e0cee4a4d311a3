package client

import (
	"context"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// ConversationCap is the member cap of the conversations OfferConversation
// creates: its creator and the most people one offer goes to.
const ConversationCap = protocol.MaxContactTargets + 1

// ConversationTTL is how long an offer's invite stays valid.
const ConversationTTL = 7 * 24 * time.Hour

// RequestConversation asks people of a group for a private conversation
// (docs/API.md, "Private conversations"): to must be the group's owner or
// admins (the shop's staff). One of them accepts by offering a
// conversation, which arrives in Contacts. It returns the request's ID.
func (c *Client) RequestConversation(ctx context.Context, gid protocol.GroupID, to []protocol.UserID, note string) (string, error) {
	return c.sendContact(ctx, protocol.Contact{Group: gid, To: to, Note: note})
}

// OfferConversation creates a conversation (a private, invite-only group
// named name, hosted by the client's node, which only the node's admins
// may do), registers an invite into it for the people to and hands it to
// them; one side must be staff of the group gid. It returns the
// conversation's group ID and the offer's ID. When the offer cannot be
// delivered the conversation exists nonetheless: the error says so, and
// the offer may be sent again with SendContact.
func (c *Client) OfferConversation(ctx context.Context, gid protocol.GroupID, to []protocol.UserID, name, note string) (protocol.GroupID, string, error) {
	if c.key == nil {
		return protocol.GroupID{}, "", ErrNoKey
	}
	if len(to) == 0 || len(to) > protocol.MaxContactTargets {
		return protocol.GroupID{}, "", fmt.Errorf("client: a conversation is offered to 1 to %d people", protocol.MaxContactTargets)
	}
	info, err := c.Node(ctx)
	if err != nil {
		return protocol.GroupID{}, "", err
	}
	host, err := protocol.ParseUserID(info.PeerID)
	if err != nil {
		return protocol.GroupID{}, "", fmt.Errorf("the qun node at %s names itself %q: %w", c.base, info.PeerID, err)
	}
	policy, public, cap := protocol.PolicyInvite, false, uint32(ConversationCap)
	pid, _, err := c.CreateGroup(ctx, host, protocol.Settings{Name: &name, Policy: &policy, Public: &public, Cap: &cap})
	if err != nil {
		return protocol.GroupID{}, "", fmt.Errorf("creating the conversation: %w", err)
	}
	// The conversation shows its creator by the name kept on the node, as
	// their other groups do (a courtesy: it works without).
	if kept, err := c.MyProfile(ctx); err == nil && (kept.Name != "" || kept.Bio != "") {
		_ = c.shareIn(ctx, pid, kept)
	}
	inv, _, err := c.CreateInvite(ctx, pid, uint32(len(to)), ConversationTTL, "")
	if err != nil {
		return pid, "", fmt.Errorf("the conversation %s exists, but its invite was not made: %w", pid, err)
	}
	id, err := c.sendContact(ctx, protocol.Contact{Group: gid, To: to, Invite: inv.Raw, Note: note})
	if err != nil {
		return pid, "", fmt.Errorf("the conversation %s exists, but the offer was not delivered: %w", pid, err)
	}
	return pid, id, nil
}

func (c *Client) sendContact(ctx context.Context, ct protocol.Contact) (string, error) {
	if c.key == nil {
		return "", ErrNoKey
	}
	ct.From = c.key.ID()
	signed, err := ct.Sign(c.key)
	if err != nil {
		return "", err
	}
	return c.SendContact(ctx, signed.Raw)
}

// SendContact sends a signed contact (a request or an offer) through the
// client's node and returns its ID once everyone it names has it. Sending
// one again is safe.
func (c *Client) SendContact(ctx context.Context, raw []byte) (string, error) {
	var sent api.ContactSent
	err := c.do(ctx, "POST", "/api/v1/contacts", withSession, api.ContactRequest{Offer: base64.StdEncoding.EncodeToString(raw)}, &sent)
	return sent.ID, err
}

// Contacts lists the requests and offers of private conversations kept for
// the user on the client's node, newest first. Accept an offer with Join
// (its Token) and a request with OfferConversation; then, or to decline,
// DismissContact.
func (c *Client) Contacts(ctx context.Context) ([]api.ContactView, error) {
	var list api.ContactList
	if err := c.do(ctx, "GET", "/api/v1/me/contacts", withSession, nil, &list); err != nil {
		return nil, err
	}
	return list.Contacts, nil
}

// DismissContact drops a request or offer kept for the user.
func (c *Client) DismissContact(ctx context.Context, id string) error {
	var gone api.ContactSent
	return c.do(ctx, "DELETE", "/api/v1/me/contacts/"+id, withSession, nil, &gone)
}
