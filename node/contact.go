package node

// Private conversations (docs/PROTOCOL.md, "Private conversations"), so
// that an address or a phone number never goes into a group: a member asks
// the group's staff for a conversation (a request), and a staff member
// opens one (a group of their own, invite only, usually on the shop's
// node) and offers it (an offer: an invite into it) to the member, who
// joins. Staff may offer one to a member without a request. Both travel
// from the sender's home node to the group's host, which checks them
// against the group's state and hands them to the home node of each
// person they are for; that node keeps them until they are dismissed or
// lapse, and pushes them to the person's open WebSockets at once.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"slices"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
	"github.com/qunchat/qun/storage"
)

// ContactProtocol carries contact offers: from the sender's home node to
// the group's host, and from the host to the home nodes of the people an
// offer is for. The request frame is the signed offer; the reply is
// message ContactReply { uint32 code = 1; string message = 2; }.
const ContactProtocol = "/qun/contact/1.0.0"

// MaxPendingContacts bounds the contacts a node keeps for one user; a new
// one from a sender replaces that sender's older ones in the same group.
const MaxPendingContacts = 100

// metaContact starts the node-scope meta key
// "contact/RECIPIENT/OFFERID" (both in hex) of an offer kept for a user;
// the value is the time it arrived (8 bytes, unix ms) and the signed offer.
const metaContact = "contact/"

func contactPrefix(u protocol.UserID) string { return metaContact + hex.EncodeToString(u[:]) + "/" }

// SendContact sends a private-conversation request or offer signed by user (a light
// client of this node) through the group's host to the people it is for.
// It returns once the host has handed it to their home nodes.
func (n *Node) SendContact(ctx context.Context, user protocol.UserID, raw []byte) (*protocol.SignedContact, error) {
	c, err := protocol.DecodeContact(raw)
	if err != nil {
		return nil, err
	}
	if c.From != user {
		return nil, protocol.Errorf(protocol.CodeForbidden, "an offer is sent by the user who signed it")
	}
	if err := c.Verify(); err != nil {
		return nil, err
	}
	g := n.group(c.Group)
	if g == nil {
		return nil, protocol.Errorf(protocol.CodeUnknownGroup, "this node does not know group %s", c.Group)
	}
	if err := n.checkContact(g, c); err != nil {
		return nil, err
	}
	if g.hosted {
		return c, n.routeContact(ctx, g, c)
	}
	g.n.ensureHostAddrs(g.id, g.host)
	frame, err := n.request(ctx, g.host.PeerID(), ContactProtocol, "the group's host", raw, maxStatusReply)
	if err != nil {
		return nil, err
	}
	if err := decodeStatusReply(frame, "contact reply"); err != nil {
		return nil, err
	}
	return c, nil
}

// checkContact checks an offer against the group's current state here.
func (n *Node) checkContact(g *group, c *protocol.SignedContact) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state.CheckContact(c, n.clock.nowMS())
}

// routeContact is the host's part: it keeps the offer for the people homed
// here and hands it to the home node of each other one. Every home node
// must take it (an offer sent again is the same offer), so that the sender
// learns of a failure and may retry.
func (n *Node) routeContact(ctx context.Context, g *group, c *protocol.SignedContact) error {
	g.mu.Lock()
	var local []protocol.UserID
	var homes []protocol.UserID
	for _, u := range c.To {
		home := g.state.Members[u].Home // CheckContact: every one is a member
		switch {
		case home == n.id:
			local = append(local, u)
		case !slices.Contains(homes, home):
			homes = append(homes, home)
		}
	}
	g.mu.Unlock()
	if err := n.keepContact(g, c, local); err != nil {
		return err
	}
	var errs []error
	for _, home := range homes {
		frame, err := n.request(ctx, home.PeerID(), ContactProtocol, "the home node", c.Raw, maxStatusReply)
		if err == nil {
			err = decodeStatusReply(frame, "contact reply")
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		pe := protocol.AsError(errs[0])
		return protocol.Errorf(pe.Code, "the offer reached %d of %d home nodes: %s", len(homes)-len(errs), len(homes), pe.Msg)
	}
	return nil
}

func (n *Node) handleContact(s network.Stream) {
	n.serveRequest(s, "qun-contact", protocol.MaxContactSize, func(ctx context.Context, remote peer.ID, frame []byte) []byte {
		var code protocol.Code
		var msg string
		if err := n.serveContact(ctx, remote, frame); err != nil {
			pe := protocol.AsError(err)
			code, msg = pe.Code, pe.Msg
		}
		return appendStatus(nil, code, msg)
	})
}

// serveContact takes an offer from another node: on the group's host, from
// the sender's home node; on a home node, from the group's host.
func (n *Node) serveContact(ctx context.Context, remote peer.ID, raw []byte) error {
	c, err := protocol.DecodeContact(raw)
	if err != nil {
		return err
	}
	if err := c.Verify(); err != nil {
		return err
	}
	g := n.group(c.Group)
	if g == nil {
		return protocol.Errorf(protocol.CodeUnknownGroup, "this node does not hold group %s", c.Group)
	}
	if err := n.checkContact(g, c); err != nil {
		return err
	}
	if g.hosted {
		g.mu.Lock()
		home := g.state.Members[c.From].Home
		g.mu.Unlock()
		if home.PeerID() != remote {
			return protocol.Errorf(protocol.CodeForbidden, "an offer comes from its sender's home node")
		}
		return n.routeContact(ctx, g, c)
	}
	if g.host.PeerID() != remote {
		return protocol.Errorf(protocol.CodeNotHost, "offers reach a home node from the group's host")
	}
	g.mu.Lock()
	var local []protocol.UserID
	for _, u := range c.To {
		if g.state.Members[u].Home == n.id {
			local = append(local, u)
		}
	}
	g.mu.Unlock()
	if len(local) == 0 {
		return protocol.Errorf(protocol.CodeNotMember, "none of the people the offer is for has this node as home")
	}
	return n.keepContact(g, c, local)
}

// keepContact stores the contact for each of users and pushes it to their
// WebSockets. A contact already kept is kept once; the sender's older
// contacts to the same user in the same group are dropped, and so are lapsed ones and the
// requests an offer answers.
func (n *Node) keepContact(g *group, c *protocol.SignedContact, users []protocol.UserID) error {
	now := n.clock.nowMS()
	for _, u := range users {
		kept, err := n.contactsOf(u)
		if err != nil {
			return err
		}
		open := 0
		fresh := true
		for _, k := range kept {
			switch {
			case k.offer.ID == c.ID:
				fresh = false
				open++
			case k.offer.Lapses(k.received) <= now || k.offer.From == c.From && k.offer.Group == c.Group || answers(c, k.offer):
				if err := n.store.SetMeta(storage.NodeScope, k.key, nil); err != nil {
					return storeError(err)
				}
			default:
				open++
			}
		}
		if !fresh {
			continue
		}
		if open >= MaxPendingContacts {
			return protocol.Errorf(protocol.CodeRateLimited, "%s has %d open conversation requests; try again later", u.Short(), open)
		}
		val := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(c.Raw)), now)
		if err := n.store.SetMeta(storage.NodeScope, contactPrefix(u)+hex.EncodeToString(c.ID[:]), append(val, c.Raw...)); err != nil {
			return storeError(err)
		}
		if n.light != nil {
			view := n.contactView(g, c, now)
			if msg, err := json.Marshal(api.WSServerMessage{Type: "contact", Contact: &view}); err == nil {
				n.light.Push(u, msg)
			}
		}
	}
	return nil
}

// answers reports whether offer c answers request r: an offer in the same
// group to r's sender (a staff member opened the conversation r asked
// for, and offered it to the other staff r went to as well: their copies
// of r are done).
func answers(c, r *protocol.SignedContact) bool {
	return !c.IsRequest() && r.IsRequest() && c.Group == r.Group && slices.Contains(c.To, r.From)
}

// keptContact is an offer kept for a user.
type keptContact struct {
	key      string
	received uint64
	offer    *protocol.SignedContact
}

// contactsOf reads the offers kept for u, newest first; an entry that no
// longer decodes (a later version wrote it) is skipped.
func (n *Node) contactsOf(u protocol.UserID) ([]keptContact, error) {
	keys, err := n.store.MetaKeys(storage.NodeScope, contactPrefix(u))
	if err != nil {
		return nil, storeError(err)
	}
	out := make([]keptContact, 0, len(keys))
	for _, k := range keys {
		v, ok, err := n.store.Meta(storage.NodeScope, k)
		if err != nil {
			return nil, storeError(err)
		}
		if !ok || len(v) < 8 {
			continue
		}
		c, err := protocol.DecodeContact(v[8:])
		if err != nil {
			continue
		}
		out = append(out, keptContact{key: k, received: binary.BigEndian.Uint64(v), offer: c})
	}
	slices.SortFunc(out, func(a, b keptContact) int {
		if c := cmp.Compare(b.received, a.received); c != 0 {
			return c
		}
		return bytes.Compare(a.offer.ID[:], b.offer.ID[:])
	})
	return out, nil
}

// Contacts lists the open offers kept for user, newest first: those whose
// invite has not expired, in groups the user is still a member of here.
func (n *Node) Contacts(user protocol.UserID) ([]api.ContactView, error) {
	kept, err := n.contactsOf(user)
	if err != nil {
		return nil, err
	}
	now := n.clock.nowMS()
	out := []api.ContactView{}
	for _, k := range kept {
		if k.offer.Lapses(k.received) <= now {
			continue
		}
		g := n.group(k.offer.Group)
		if g == nil {
			continue
		}
		g.mu.Lock()
		member := g.state.Members[user] != nil
		g.mu.Unlock()
		if member {
			out = append(out, n.contactView(g, k.offer, k.received))
		}
	}
	return out, nil
}

// DismissContact drops an offer kept for user (declined, or accepted and
// joined).
func (n *Node) DismissContact(user protocol.UserID, id string) error {
	raw, err := hex.DecodeString(id)
	if err != nil || len(raw) != 32 {
		return protocol.Errorf(protocol.CodeInvalid, "%q is not an offer ID (64 hex digits)", id)
	}
	key := contactPrefix(user) + id
	if _, ok, err := n.store.Meta(storage.NodeScope, key); err != nil {
		return storeError(err)
	} else if !ok {
		return protocol.Errorf(protocol.CodeNotFound, "there is no such conversation request")
	}
	if err := n.store.SetMeta(storage.NodeScope, key, nil); err != nil {
		return storeError(err)
	}
	return nil
}

// contactView renders an offer for the person it is for, with the names
// the sender has in the group they share.
func (n *Node) contactView(g *group, c *protocol.SignedContact, received uint64) api.ContactView {
	v := api.ContactView{
		ID:       hex.EncodeToString(c.ID[:]),
		Kind:     "offer",
		Group:    c.Group.String(),
		From:     c.From.String(),
		Note:     c.Note,
		Received: received,
		Expires:  c.Lapses(received),
	}
	for _, u := range c.To {
		v.To = append(v.To, u.String())
	}
	if c.IsRequest() {
		v.Kind = "request"
	} else {
		v.Token = c.Conversation.Token()
		v.Conversation = c.Conversation.Group.String()
	}
	g.mu.Lock()
	v.GroupName = g.state.Name
	if m := g.state.Members[c.From]; m != nil {
		v.FromName = m.Profile.Nick
		if v.FromName == "" {
			v.FromName = m.Profile.Name
		}
		v.FromRole = m.Role.String()
	}
	g.mu.Unlock()
	return v
}

// maxStatusReply bounds a reply of only a code and a message.
const maxStatusReply = 4096

// decodeStatusReply decodes message { uint32 code = 1; string message = 2; }
// and returns the error it carries, if any.
func decodeStatusReply(b []byte, what string) error {
	var code protocol.Code
	var msg string
	err := protocol.Walk(b, nil, nil, func(f protocol.Field) error {
		var err error
		switch f.Num {
		case 1:
			code, err = replyCode(f)
		case 2:
			var d []byte
			d, err = f.Data()
			msg = string(d)
		default:
			err = f.Unknown()
		}
		return err
	})
	if err != nil {
		return protocol.Errorf(protocol.CodeMalformed, "malformed %s: %v", what, err)
	}
	if code != 0 {
		return &protocol.Error{Code: code, Msg: msg}
	}
	return nil
}
