package node

// Invite references (an order number): kept by the group's host, shown to
// the group's admins, never to the person invited. An invite token is read
// by everyone it is sent to, and the log by every member, so neither
// carries the reference (since 1.1; field 9 of an invite is left empty):
// an admin sets it on the host after registering the invite (PUT
// /api/v1/groups/{gid}/invites/{invite}/ref), the host keeps it in the
// group's meta, and the admins' view of the group shows it on the invite
// and on each member who joined with it.

import (
	"strings"
	"unicode/utf8"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// metaInviteRef starts the group-scope meta key "ref/INVITEID" of an
// invite's reference.
const metaInviteRef = "ref/"

// setInviteRef stores the reference of a registered invite, for an admin
// of the group (or of the node) on the group's host.
func (n *Node) setInviteRef(user protocol.UserID, gid protocol.GroupID, id protocol.InviteID, ref string) error {
	if len(ref) > protocol.MaxRefBytes || !utf8.ValidString(ref) || strings.ContainsAny(ref, "\x00\r\n\t") {
		return protocol.Errorf(protocol.CodeInvalid, "a reference is at most %d bytes of text on one line", protocol.MaxRefBytes)
	}
	g := n.group(gid)
	if g == nil {
		return protocol.Errorf(protocol.CodeUnknownGroup, "this node does not know group %s", gid)
	}
	if !g.hosted {
		return protocol.Errorf(protocol.CodeNotHost, "references are kept by the group's host; this node is not the host of group %s", gid)
	}
	g.mu.Lock()
	admin := n.admins[user] || g.state.IsAdmin(user)
	_, open := g.state.Invites[id]
	_, closed := g.state.Closed[id]
	g.mu.Unlock()
	switch {
	case !admin:
		return protocol.Errorf(protocol.CodeForbidden, "only the group's admins can set an invite's reference")
	case !open && !closed:
		return protocol.Errorf(protocol.CodeInviteUnknown, "invite %s is not registered with the group (register it first)", id)
	}
	var val []byte // nil deletes
	if ref != "" {
		val = []byte(ref)
	}
	if err := n.store.SetMeta(gid, metaInviteRef+id.String(), val); err != nil {
		return storeError(err)
	}
	return nil
}

// inviteRefs returns the references of the group's invites kept here.
func (n *Node) inviteRefs(gid protocol.GroupID) (map[string]string, error) {
	keys, err := n.store.MetaKeys(gid, metaInviteRef)
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		v, ok, err := n.store.Meta(gid, k)
		if err != nil {
			return nil, err
		}
		if ok {
			out[strings.TrimPrefix(k, metaInviteRef)] = string(v)
		}
	}
	return out, nil
}

// addRefs fills an admin's view with the references kept here: on each
// invite, and on each member who joined with an invite that has one (read
// from the member's join event; only groups with references pay for it).
func (n *Node) addRefs(g *group, v *api.GroupView) {
	refs, err := n.inviteRefs(g.id)
	if err != nil || len(refs) == 0 {
		return
	}
	for i := range v.Invites {
		if r, ok := refs[v.Invites[i].ID]; ok {
			v.Invites[i].Ref = r
		}
	}
	for i := range v.MemberList {
		m := &v.MemberList[i]
		ev, err := g.storedEvent(m.Joined)
		if err != nil {
			continue
		}
		if b, ok := ev.Sub.DecodedBody().(*protocol.JoinBody); ok && b.Invite != nil {
			m.Ref = refs[b.Invite.ID.String()]
		}
	}
}

// tokenRefError refuses an invite registration whose token carries a
// reference: anyone holding the token could read it.
func tokenRefError(sub *protocol.SignedSubmission) error {
	if sub.Kind != protocol.KindInviteCreate {
		return nil
	}
	b, ok := sub.DecodedBody().(*protocol.InviteCreateBody)
	if !ok || b.Invite == nil || b.Invite.Ref == "" {
		return nil
	}
	return protocol.Errorf(protocol.CodeInvalid, "the invite token carries a reference, which everyone given the token could read: leave it out and set it on the host (PUT /api/v1/groups/GID/invites/ID/ref)")
}
