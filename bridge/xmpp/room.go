package xmpp

import (
	"strings"

	"mellium.im/xmpp/jid"

	"github.com/qunchat/qun/bridge"
)

// roomPhase is where a room's join is.
type roomPhase int

const (
	// roomOut: not in the room (not yet, or no longer); a join may be on
	// its way.
	roomOut roomPhase = iota
	// roomJoined: the room has sent our own presence; the history it
	// replays comes next, then the subject.
	roomJoined
	// roomLive: the subject has come: what follows is live.
	roomLive
)

// roomState is one room on one session. The connector's lock guards it.
type roomState struct {
	jid  jid.JID
	key  string // jid's string
	nick string // ours: as asked, then as the room says

	phase  roomPhase
	liveCh chan struct{} // closed when phase becomes roomLive; a new one after leaving
	joined chan error    // the answer to the join on its way (buffered 1), nil if none
	leftCh chan struct{} // closed when we leave the room after a join, nil before

	occupants map[string]occupant // by nick
	role      string              // ours
}

type occupant struct {
	jid         string // their real bare JID, "" when the room hides it
	role        string
	affiliation string
}

func newRoomState(room jid.JID, nick string) *roomState {
	return &roomState{jid: room, key: room.String(), nick: nick, liveCh: make(chan struct{}), occupants: map[string]occupant{}}
}

// startJoin prepares for the answer to a join presence.
func (r *roomState) startJoin() (joined <-chan error, left <-chan struct{}) {
	r.out("")
	r.joined = make(chan error, 1)
	r.leftCh = make(chan struct{})
	clear(r.occupants)
	return r.joined, r.leftCh
}

func (r *roomState) answerJoin(err error) {
	if r.joined != nil {
		r.joined <- err
		r.joined = nil
	}
}

// goLive marks the end of the history.
func (r *roomState) goLive() {
	if r.phase != roomLive {
		r.phase = roomLive
		close(r.liveCh)
	}
}

// out marks the room as left, for why (a stanza error's condition, "" if
// none, a status code); a join on its way is answered with a refusal.
func (r *roomState) out(why string) {
	if r.phase == roomLive {
		r.liveCh = make(chan struct{})
	}
	r.phase = roomOut
	if r.leftCh != nil {
		close(r.leftCh)
		r.leftCh = nil
	}
	if why != "" {
		r.answerJoin(&RefusedError{Op: "join " + r.key, Condition: why})
	}
}

// userOf is the Inbound.User of the occupant nick: their real JID when
// the room shows it, else the nick.
func (r *roomState) userOf(nick string) string {
	if o, ok := r.occupants[nick]; ok && o.jid != "" {
		return o.jid
	}
	return nick
}

// occupant finds who user (an Inbound.User: a real JID or a nick) is in
// the room: their nick ("" if not there) and real JID ("" if hidden).
func (r *roomState) occupant(user string) (nick, real string) {
	if j, err := jid.Parse(user); err == nil && j.Localpart() != "" {
		bare := j.Bare().String()
		for n, o := range r.occupants {
			if o.jid != "" && strings.EqualFold(o.jid, bare) {
				return n, o.jid
			}
		}
	}
	if o, ok := r.occupants[user]; ok {
		return user, o.jid
	}
	return "", ""
}

// presence takes in a presence from nick of the room (nick is "" for the
// room itself). It returns what to log, if anything.
func (r *roomState) presence(nick string, p *inPresence) (note string) {
	var codes []string
	var item struct{ jid, nick, role, affiliation string }
	destroyed := false
	for _, x := range p.MUCUser {
		for _, s := range x.Status {
			codes = append(codes, s.Code)
		}
		if len(x.Items) > 0 && item.role == "" && item.affiliation == "" {
			it := x.Items[0]
			item.jid, item.nick, item.role, item.affiliation = it.JID, it.Nick, it.Role, it.Affiliation
		}
		destroyed = destroyed || len(x.Destroy) > 0
	}
	has := func(code string) bool {
		for _, c := range codes {
			if c == code {
				return true
			}
		}
		return false
	}
	self := nick != "" && (has("110") || nick == r.nick)

	switch p.Type {
	case "error":
		cond := "undefined-condition"
		if len(p.Error) > 0 {
			cond, _ = p.Error[0].condition()
		}
		if nick == "" || nick == r.nick || r.joined != nil {
			r.out(cond)
			return "the room refused us: " + cond
		}
	case "unavailable":
		if !self {
			delete(r.occupants, nick)
			return ""
		}
		if has("303") && item.nick != "" { // our nick changed: a new presence follows
			r.nick = item.nick
			return ""
		}
		why := "left"
		switch {
		case has("301"):
			why = "banned"
		case has("307"):
			why = "kicked"
		case has("321"), has("322"):
			why = "removed (affiliation)"
		case has("332"):
			why = "the service shuts down"
		case destroyed:
			why = "the room was destroyed"
		}
		r.out(why)
		return "out of the room: " + why
	case "":
		if nick == "" {
			return ""
		}
		if !self {
			o := occupant{role: item.role, affiliation: item.affiliation}
			if j, err := jid.Parse(item.jid); err == nil && j.Localpart() != "" {
				o.jid = j.Bare().String()
			}
			r.occupants[nick] = o
			return ""
		}
		r.nick, r.role = nick, item.role
		if r.phase == roomOut {
			r.phase = roomJoined
			r.answerJoin(nil)
			return "joined as " + nick
		}
	}
	return ""
}

// reflection is the room's answer to a message we sent: its copy back to
// us with its stanza-id, or an error.
type reflection struct {
	stanzaID string
	err      error
}

// groupchat takes in a groupchat message from nick of the room and
// returns what it is for the gateway, if anything (in); or, when it is
// the room's copy of our own message, its origin-id (own). ids remembers
// the messages, for later corrections, retractions and replies.
func (r *roomState) groupchat(ids *idTable, nick string, m *inMessage) (in *bridge.Inbound, own string, refl reflection) {
	body := m.body()
	if len(m.Subjects) > 0 && body == "" {
		if r.phase == roomJoined {
			r.goLive() // the subject ends the history
		}
		return nil, "", reflection{}
	}
	if nick == "" || r.phase != roomLive || m.delayed() {
		return nil, "", reflection{} // the room's own notes, the history
	}
	sid := m.stanzaID(r.key)
	user, msgID := r.userOf(nick), m.ID
	isOwn := nick == r.nick
	if isOwn {
		user, msgID = selfUser, m.originID()
		own, refl.stanzaID = msgID, sid
	}
	canonical := sid
	if canonical == "" {
		canonical = msgID
	}
	if target, v1, ok := m.retraction(); ok {
		deletes, allowed := ids.resolve(target, user, v1)
		if isOwn || !allowed {
			return nil, own, refl
		}
		return &bridge.Inbound{Channel: r.key, ID: canonical, User: user, Name: nick, Deletes: deletes}, "", refl
	}
	if strings.TrimSpace(body) == "" {
		return nil, own, refl
	}
	in = &bridge.Inbound{Channel: r.key, ID: canonical, User: user, Name: nick, Text: body}
	rec := &msgRecord{user: user, nick: nick, msgID: msgID, stanzaID: sid, canonical: canonical}
	for _, c := range m.Replace {
		if c.ID == "" {
			continue
		}
		edits, allowed := ids.resolve(c.ID, user, false)
		if !allowed {
			return nil, own, refl
		}
		in.Edits, rec.canonical = edits, edits
		break
	}
	for _, reply := range m.Reply {
		if reply.ID == "" {
			continue
		}
		toNick := ""
		if j, err := jid.Parse(reply.To); err == nil && j.Bare().Equal(r.jid) {
			toNick = j.Resourcepart()
		}
		in.ReplyTo = ids.reference(reply.ID, toNick)
		break
	}
	var ranges [][2]string
	for _, f := range m.Fallbacks {
		if f.For == nsReply {
			for _, rg := range f.Ranges {
				ranges = append(ranges, [2]string{rg.Start, rg.End})
			}
		}
	}
	in.Text = stripFallback(body, ranges)
	ids.add(rec)
	if isOwn {
		return nil, own, refl
	}
	return in, "", refl
}

// private takes in a private message from the occupant nick: an !invite
// is a request for an invite, anything else is not for the gateway.
func (r *roomState) private(nick string, m *inMessage) *bridge.Inbound {
	if nick == "" || nick == r.nick || r.phase == roomOut || m.delayed() {
		return nil
	}
	f := strings.Fields(m.body())
	if len(f) == 0 || !strings.EqualFold(f[0], "!invite") {
		return nil
	}
	return &bridge.Inbound{Channel: r.key, User: r.userOf(nick), Name: nick, Invite: true}
}
