package main

// Private conversations from the command line (docs/API.md, "Private
// conversations"): ask a group's staff, offer a conversation, list what
// arrived, accept or dismiss it.

import (
	"flag"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// runContactAsk asks the staff of a group (all of them, or the ones named)
// for a private conversation.
func runContactAsk(x *cli, args []string) error {
	fs := x.flags()
	note := fs.String("note", "", "what it is about, `TEXT` (an order number)")
	gid, to, err := x.groupAndUsers(fs, args, 1)
	if err != nil {
		return err
	}
	c, err := x.client()
	if err != nil {
		return err
	}
	if len(to) == 0 {
		if to, err = groupStaff(x, c, gid); err != nil {
			return err
		}
	}
	id, err := c.RequestConversation(x.ctx, gid, to, *note)
	if err != nil {
		return err
	}
	return x.emit(api.ContactSent{ID: id}, fmt.Sprintf("asked %d of the group's staff for a private conversation (request %s); their offer will show in qun contacts", len(to), id[:12]))
}

// groupStaff returns the owner and admins of a group, at most
// protocol.MaxContactTargets of them, the owner first.
func groupStaff(x *cli, c *client.Client, gid protocol.GroupID) ([]protocol.UserID, error) {
	v, err := c.Group(x.ctx, gid)
	if err != nil {
		return nil, err
	}
	var to []protocol.UserID
	for _, role := range []string{"owner", "admin"} {
		for _, m := range v.MemberList {
			if m.Role != role || len(to) == protocol.MaxContactTargets || m.User == c.Key().ID().String() {
				continue
			}
			if u, err := protocol.ParseUserID(m.User); err == nil {
				to = append(to, u)
			}
		}
	}
	if len(to) == 0 {
		return nil, fmt.Errorf("group %s has no owner or admin to ask but you", gid)
	}
	return to, nil
}

// runContactOffer creates a conversation on the node and offers it to
// members of a group.
func runContactOffer(x *cli, args []string) error {
	fs := x.flags()
	name := fs.String("name", "", "the conversation's `NAME` (default: the group's name and the first person's)")
	note := fs.String("note", "", "what it is about, `TEXT`")
	gid, to, err := x.groupAndUsers(fs, args, 2)
	if err != nil {
		return err
	}
	c, err := x.client()
	if err != nil {
		return err
	}
	if *name == "" {
		*name = conversationName(x, c, gid, to[0].String(), "")
	}
	return offer(x, c, gid, to, *name, *note)
}

// offer makes the conversation and the offer, and says what happened.
func offer(x *cli, c *client.Client, gid protocol.GroupID, to []protocol.UserID, name, note string) error {
	pid, id, err := c.OfferConversation(x.ctx, gid, to, name, note)
	if err != nil {
		return err
	}
	out := struct {
		Conversation string `json:"conversation"`
		Name         string `json:"name"`
		ID           string `json:"id"`
	}{pid.String(), name, id}
	return x.emit(out, fmt.Sprintf("opened the conversation %q (%s) and offered it to %d people (offer %s); write in it with qun send %s TEXT", name, pid, len(to), id[:12], pid))
}

// conversationName is "<person> · <group>", cut to a group name's limit.
func conversationName(x *cli, c *client.Client, gid protocol.GroupID, user, name string) string {
	group := gid.String()[:8]
	if v, err := c.Group(x.ctx, gid); err == nil {
		group = v.Name
		for _, m := range v.MemberList {
			if m.User == user && name == "" {
				name = m.Nick
				if name == "" {
					name = m.Name
				}
			}
		}
	}
	if name == "" {
		name = shortID(user)
	}
	s := name + " · " + group
	for utf8.RuneCountInString(s) > protocol.MaxNameRunes {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return strings.TrimSpace(s)
}

// runContacts lists the requests and offers that arrived for the user.
func runContacts(x *cli, args []string) error {
	fs := x.flags()
	if _, err := x.parse(fs, args, 0, false); err != nil {
		return err
	}
	c, err := x.client()
	if err != nil {
		return err
	}
	list, err := c.Contacts(x.ctx)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return x.emit(api.ContactList{Contacts: list}, "no requests or offers of private conversations")
	}
	var b strings.Builder
	for i, ct := range list {
		if i > 0 {
			b.WriteByte('\n')
		}
		who := ct.FromName
		if who == "" {
			who = shortID(ct.From)
		}
		what := "asks for a private conversation"
		if ct.Kind == "offer" {
			what = "offers a private conversation"
		}
		fmt.Fprintf(&b, "%s  %s (%s) in %q %s", ct.ID, who, orDash(ct.FromRole), ct.GroupName, what)
		if ct.Note != "" {
			fmt.Fprintf(&b, ": %q", ct.Note)
		}
		fmt.Fprintf(&b, " (until %s)", time.UnixMilli(int64(ct.Expires)).UTC().Format("2006-01-02 15:04 UTC"))
	}
	b.WriteString("\naccept with qun contact accept ID, or drop with qun contact dismiss ID")
	return x.emit(api.ContactList{Contacts: list}, b.String())
}

// runContactAccept accepts a request (offers the sender a conversation) or
// an offer (joins it), then drops it from the list.
func runContactAccept(x *cli, args []string) error {
	fs := x.flags()
	name := fs.String("name", "", "for a request: the conversation's `NAME` (default: the person's and the group's)")
	pos, err := x.parse(fs, args, 1, false, "ID")
	if err != nil {
		return err
	}
	c, err := x.client()
	if err != nil {
		return err
	}
	ct, err := findContact(x, c, pos[0])
	if err != nil {
		return err
	}
	gid, err := protocol.ParseGroupID(ct.Group)
	if err != nil {
		return err
	}
	if ct.Kind == "offer" {
		resp, err := c.Join(x.ctx, ct.Token)
		if err != nil {
			return err
		}
		if err := c.DismissContact(x.ctx, ct.ID); err != nil {
			return err
		}
		return x.emit(resp, fmt.Sprintf("joined the private conversation %s; write in it with qun send %s TEXT", resp.Group, resp.Group))
	}
	from, err := protocol.ParseUserID(ct.From)
	if err != nil {
		return err
	}
	if *name == "" {
		*name = conversationName(x, c, gid, ct.From, ct.FromName)
	}
	note := ""
	if ct.Note != "" {
		note = "re: " + ct.Note
		if utf8.RuneCountInString(note) > protocol.MaxReasonRunes {
			note = ct.Note
		}
	}
	// The conversation goes to the sender and to the other staff the
	// request went to: their copies of it are answered.
	to := []protocol.UserID{from}
	for _, s := range ct.To {
		if u, err := protocol.ParseUserID(s); err == nil && u != c.Key().ID() && u != from {
			to = append(to, u)
		}
	}
	if err := offer(x, c, gid, to, *name, note); err != nil {
		return err
	}
	return c.DismissContact(x.ctx, ct.ID)
}

// runContactDismiss drops a request or offer.
func runContactDismiss(x *cli, args []string) error {
	fs := x.flags()
	pos, err := x.parse(fs, args, 1, false, "ID")
	if err != nil {
		return err
	}
	c, err := x.client()
	if err != nil {
		return err
	}
	ct, err := findContact(x, c, pos[0])
	if err != nil {
		return err
	}
	if err := c.DismissContact(x.ctx, ct.ID); err != nil {
		return err
	}
	return x.emit(api.ContactSent{ID: ct.ID}, "dismissed "+ct.ID[:12])
}

// findContact finds a kept contact by its ID or a unique prefix of it.
func findContact(x *cli, c *client.Client, id string) (api.ContactView, error) {
	list, err := c.Contacts(x.ctx)
	if err != nil {
		return api.ContactView{}, err
	}
	var found []api.ContactView
	for _, ct := range list {
		if id != "" && strings.HasPrefix(ct.ID, strings.ToLower(id)) {
			found = append(found, ct)
		}
	}
	switch len(found) {
	case 0:
		return api.ContactView{}, fmt.Errorf("no request or offer %s: qun contacts lists them", id)
	case 1:
		return found[0], nil
	}
	return api.ContactView{}, fmt.Errorf("%d requests and offers start with %s: give more of the ID", len(found), id)
}

// groupAndUsers parses the arguments GID USERID…, at least required of
// them.
func (x *cli) groupAndUsers(fs *flag.FlagSet, args []string, required int) (protocol.GroupID, []protocol.UserID, error) {
	pos, err := x.parse(fs, args, required, true, "GID", "USERID")
	if err != nil {
		return protocol.GroupID{}, nil, err
	}
	gid, err := parseGID(pos[0])
	if err != nil {
		return protocol.GroupID{}, nil, err
	}
	to := make([]protocol.UserID, 0, len(pos)-1)
	for _, a := range pos[1:] {
		u, err := parseUser(a)
		if err != nil {
			return protocol.GroupID{}, nil, err
		}
		to = append(to, u)
	}
	return gid, to, nil
}
