package main

import (
	"github.com/qunchat/qun/protocol/api"
)

// names shows people in a group by their profile: the group nickname, else
// the display name, else the short ID. Names are display data: when two
// members show the same name, each gets the end of its ID after it.
type names struct {
	shown map[string]string // user → what to show
}

// newNames builds the names of a group's members, and of the people of
// other networks bridges relay (by their bridged identity, which moderation
// events name).
func newNames(members []api.MemberView, bridged ...api.BridgedPersonView) *names {
	n := &names{shown: map[string]string{}}
	count := map[string]int{}
	for _, m := range members {
		if s := displayName(m.Nick, m.Name); s != "" {
			n.shown[m.User] = s
			count[s]++
		}
	}
	for u, s := range n.shown {
		if count[s] > 1 {
			n.shown[u] = s + " (" + shortID(u) + ")"
		}
	}
	for _, p := range bridged {
		n.shown[p.ID] = bridgedLabel(p.BridgedView)
	}
	return n
}

// bridgedLabel shows a person of another network: "Alice (irc)", with
// their ID there when they have no name.
func bridgedLabel(b api.BridgedView) string {
	who := b.Name
	if who == "" {
		who = b.User
	}
	return who + " (" + b.Network + ")"
}

// author returns what to show as the author of ev: the person a bridge
// relayed it for, else the member who signed it.
func (n *names) author(ev api.EventView) string {
	if ev.Bridged != nil {
		return bridgedLabel(*ev.Bridged)
	}
	return n.of(ev.Author)
}

func displayName(nick, name string) string {
	if nick != "" {
		return nick
	}
	return name
}

// of returns what to show for user (a nil names shows short IDs).
func (n *names) of(user string) string {
	if n != nil {
		if s, ok := n.shown[user]; ok {
			return s
		}
	}
	return shortID(user)
}

// learn takes a profile event into account (live updates in the chat);
// it reports whether anything changed. A name that clashes with another
// member's gets the end of the ID.
func (n *names) learn(ev api.EventView) bool {
	if ev.Kind != "profile" || n == nil {
		return false
	}
	s := displayName(ev.Nick, ev.Name)
	old, had := n.shown[ev.Author]
	if s == "" {
		delete(n.shown, ev.Author)
		return had
	}
	for u, other := range n.shown {
		if u != ev.Author && (other == s || other == s+" ("+shortID(u)+")") {
			n.shown[u] = s + " (" + shortID(u) + ")"
			s += " (" + shortID(ev.Author) + ")"
			break
		}
	}
	n.shown[ev.Author] = s
	return !had || old != s
}
