package main

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/gdamore/tcell/v2"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
	"github.com/rivo/uniseg"
)

// The state of `qun chat` that the screen shows: the loaded part of a
// group's log, local notices, and the group's header (name, announcement,
// pins). It is owned by the UI's event loop; nothing here does I/O.

// chatItemKind says how an item of the chat is shown.
type chatItemKind int

const (
	itemEvent   chatItemKind = iota // an event of the group
	itemNotice                      // a local line: help, an invite link, a state change
	itemRefusal                     // a local line: an action the node refused
)

// chatItem is one entry of the chat, an event or a local line.
type chatItem struct {
	kind chatItemKind
	ev   api.EventView // itemEvent
	text string        // itemNotice, itemRefusal
}

// chatRow is one screen row of the chat.
type chatRow struct {
	text  string
	style tcell.Style
}

// chatModel is what the chat shows.
type chatModel struct {
	me    string // the user's ID
	now   func() time.Time
	l     *chatLang // the words
	items []chatItem

	lo, hi    uint64            // seqs of the oldest and newest events loaded (0: none)
	hasOlder  bool              // events before lo exist
	recalled  map[uint64]string // recalled messages by seq: who recalled them ("" unknown)
	texts     map[uint64]string // message texts by seq, for pins
	version   int               // bumped on every change, for the row cache
	cacheW    int
	cacheV    int
	cacheRows []chatRow

	name         string
	members      int
	role         string
	announcement string
	pins         []uint64
	mutedUntil   uint64            // unix ms; protocol.Forever for no end; 0 not muted
	names        *names            // how members are shown
	roles        map[string]string // members' roles, for who recalled a message
}

func newChatModel(me string, now func() time.Time, l *chatLang) *chatModel {
	return &chatModel{me: me, now: now, l: l, recalled: map[uint64]string{}, texts: map[uint64]string{}}
}

// setView takes the header's facts from the group's view.
func (m *chatModel) setView(v *api.GroupView) {
	m.name, m.members, m.announcement = v.Name, v.Members, v.Announcement
	m.pins = append([]uint64(nil), v.Pins...)
	m.role, m.mutedUntil = "", 0
	m.names = newNames(v.MemberList, v.BridgedList...)
	m.roles = make(map[string]string, len(v.MemberList))
	for _, mv := range v.MemberList {
		m.roles[mv.User] = mv.Role
		if mv.User == m.me {
			m.role = mv.Role
			if mv.Muted {
				m.mutedUntil = mv.MutedUntil
				if m.mutedUntil == 0 {
					m.mutedUntil = protocol.Forever
				}
			}
		}
	}
	m.version++
}

// prepend adds a page of older events (ascending) before the loaded ones;
// more says whether still older ones exist.
func (m *chatModel) prepend(evs []api.EventView, more bool) {
	var add []chatItem
	for _, ev := range evs {
		if m.lo != 0 && ev.Seq >= m.lo {
			break
		}
		add = append(add, chatItem{kind: itemEvent, ev: ev})
		m.learn(ev, false)
	}
	if len(add) > 0 {
		m.items = append(add, m.items...)
		m.lo = add[0].ev.Seq
		if m.hi == 0 {
			m.hi = add[len(add)-1].ev.Seq
		}
	}
	m.hasOlder = more && m.lo > 1
	m.version++
}

// appendEvent adds a live event after the loaded ones and applies it to
// the header. Events not newer than the newest loaded are ignored.
func (m *chatModel) appendEvent(ev api.EventView) bool {
	if ev.Seq <= m.hi {
		return false
	}
	if m.lo == 0 {
		m.lo = ev.Seq
		m.hasOlder = ev.Seq > 1
	}
	m.hi = ev.Seq
	m.items = append(m.items, chatItem{kind: itemEvent, ev: ev})
	m.learn(ev, true)
	m.version++
	return true
}

// learn notes what an event says about other events; live events also
// change the header.
func (m *chatModel) learn(ev api.EventView, live bool) {
	switch ev.Kind {
	case "message":
		m.texts[ev.Seq] = ev.Text
		if ev.Recalled != nil { // the node sends a recalled message as a tombstone
			m.recalled[ev.Seq] = ev.Recalled.By
		}
	case "recall":
		m.recalled[ev.Target] = ev.Author
	}
	if !live {
		return
	}
	switch ev.Kind {
	case "profile":
		if m.names == nil {
			m.names = newNames(nil)
		}
		m.names.learn(ev)
	case "announce":
		m.announcement = ev.Text
	case "pin":
		m.pins = append(m.pins, ev.Target)
	case "unpin":
		for i, p := range m.pins {
			if p == ev.Target {
				m.pins = append(m.pins[:i:i], m.pins[i+1:]...)
				break
			}
		}
	case "update", "create":
		if ev.Name != "" {
			m.name = ev.Name
		}
	case "mute":
		if ev.Member == m.me {
			m.mutedUntil = ev.Until
			if m.mutedUntil == 0 {
				m.mutedUntil = protocol.Forever
			}
		}
	case "unmute":
		if ev.Member == m.me {
			m.mutedUntil = 0
		}
	}
}

// notice adds a local line.
func (m *chatModel) notice(kind chatItemKind, text string) {
	m.items = append(m.items, chatItem{kind: kind, text: text})
	m.version++
}

// who names a user for the chat: "you", or their name in the group.
func (m *chatModel) who(user string) string {
	if user == m.me {
		return m.l.t("you")
	}
	return m.names.of(user)
}

// authorOf is who wrote a message: the person of another network a bridge
// relayed it for, else its author.
func (m *chatModel) authorOf(ev api.EventView) string {
	if ev.Bridged != nil {
		return bridgedLabel(*ev.Bridged)
	}
	return m.who(ev.Author)
}

// clock renders a host time: the time of day, with the date when it is
// not today.
func (m *chatModel) clock(ms uint64) string {
	t := time.UnixMilli(int64(ms)).Local()
	now := m.now().Local()
	if t.Year() == now.Year() && t.YearDay() == now.YearDay() {
		return t.Format("15:04")
	}
	return t.Format("01-02 15:04")
}

// line renders an item as text (possibly of several lines) and a style.
func (m *chatModel) line(it chatItem) (string, tcell.Style) {
	st := tcell.StyleDefault
	switch it.kind {
	case itemNotice:
		return it.text, st.Foreground(tcell.ColorYellow)
	case itemRefusal:
		return it.text, st.Foreground(tcell.ColorRed).Bold(true)
	}
	ev := it.ev
	prefix := fmt.Sprintf("#%d %s ", ev.Seq, m.clock(ev.Time))
	if ev.Kind == "message" {
		if ev.Author == m.me {
			st = st.Foreground(tcell.ColorGreen)
		}
		if by, ok := m.recalled[ev.Seq]; ok || ev.Recalled != nil {
			return prefix + m.tombstone(ev, by), st.Dim(true)
		}
		return prefix + m.message(ev), st
	}
	return prefix + m.describe(ev), st.Foreground(tcell.ColorGray)
}

// tombstone renders a recalled message: "Mei recalled a message", or "the
// owner recalled a member's message" when someone else recalled it.
func (m *chatModel) tombstone(ev api.EventView, by string) string {
	if by == "" && ev.Recalled != nil {
		by = ev.Recalled.By
	}
	if by == "" || by == ev.Author {
		return m.l.t("msg.recalled", "a", m.who(ev.Author))
	}
	who := m.who(by)
	switch {
	case by == m.me:
	case m.roles[by] == "owner":
		who = m.l.t("msg.recalledByOwner")
	case m.roles[by] == "admin":
		who = m.l.t("msg.recalledByAdmin")
	}
	return m.l.t("msg.recalledByOther", "by", who)
}

// message renders a message: its text, "(edited)", its images and files
// with the command that saves them.
func (m *chatModel) message(ev api.EventView) string {
	text := indent(ev.Text)
	if ev.Edited != nil {
		text += " " + m.l.t("msg.edited")
	}
	for _, a := range ev.Attachments {
		if text != "" {
			text += " "
		}
		text += m.attachment(a)
	}
	if len(ev.Attachments) > 0 {
		text += m.l.t("msg.save", "n", fmt.Sprint(ev.Seq))
	}
	if ev.Target != 0 {
		return m.l.t("msg.reply", "a", m.authorOf(ev), "n", fmt.Sprint(ev.Target), "text", text)
	}
	return m.l.t("msg.text", "a", m.authorOf(ev), "text", text)
}

// attachment renders an image or a file: [image 1024×768 tea.jpg] or
// [file receipt.pdf 12 KB].
func (m *chatModel) attachment(a api.AttachmentView) string {
	name := a.Name
	if name != "" {
		name = " " + name
	}
	if protocol.IsImageMIME(a.MIME) {
		return m.l.t("msg.image", "w", fmt.Sprint(a.Width), "h", fmt.Sprint(a.Height), "name", name)
	}
	return m.l.t("msg.file", "name", name, "size", byteSize(a.Size))
}

// describe renders an event that is not a message, its author first.
func (m *chatModel) describe(ev api.EventView) string {
	t := m.l.t
	a, member := m.who(ev.Author), m.who(ev.Member)
	reason := ""
	if ev.Text != "" {
		reason = t("ev.reason", "text", indent(ev.Text))
	}
	n := fmt.Sprint(ev.Target)
	switch ev.Kind {
	case "create":
		return t("ev.create", "a", a, "name", ev.Name)
	case "update":
		if ev.Name != "" {
			return t("ev.rename", "a", a, "name", ev.Name)
		}
		return t("ev.update", "a", a)
	case "announce":
		if ev.Text == "" {
			return t("ev.unannounce", "a", a)
		}
		return t("ev.announce", "a", a, "text", indent(ev.Text))
	case "pin":
		return t("ev.pin", "a", a, "n", n)
	case "unpin":
		return t("ev.unpin", "a", a, "n", n)
	case "recall":
		return t("ev.recall", "a", a, "n", n)
	case "reaction":
		if ev.Remove {
			return t("ev.unreact", "a", a, "emoji", ev.Emoji, "n", n)
		}
		return t("ev.react", "a", a, "emoji", ev.Emoji, "n", n)
	case "edit":
		return t("ev.edit", "a", a, "n", n, "text", indent(ev.Text))
	case "role":
		return t("ev.role", "a", a, "m", member, "role", m.l.role(ev.Role))
	case "invite_create":
		return t("ev.inviteCreate", "a", a)
	case "invite_revoke":
		return t("ev.inviteRevoke", "a", a)
	case "profile":
		if s := displayName(ev.Nick, ev.Name); s != "" {
			return t("ev.profile", "a", a, "name", s)
		}
		return t("ev.profileCleared", "a", a)
	case "close":
		return t("ev.close", "a", a, "reason", reason)
	case "rules":
		return t("ev.rules", "a", a)
	case "confirm":
		return t("ev.confirm", "a", a)
	case "join":
		return t("ev.join", "a", a)
	case "join_request":
		if ev.Text != "" {
			return t("ev.joinRequestNote", "a", a, "text", indent(ev.Text))
		}
		return t("ev.joinRequest", "a", a)
	case "approve":
		return t("ev.approve", "a", a, "m", member)
	case "reject":
		return t("ev.reject", "a", a, "m", member, "reason", reason)
	case "leave":
		return t("ev.leave", "a", a)
	case "kick":
		return t("ev.kick", "a", a, "m", member, "reason", reason)
	case "ban":
		return t("ev.ban", "a", a, "m", member, "reason", reason)
	case "unban":
		return t("ev.unban", "a", a, "m", member)
	case "mute":
		key := "ev.mute"
		if ev.Member == "" {
			key = "ev.muteAll"
		}
		if ev.Until != 0 && ev.Until != protocol.Forever {
			return t(key+"Until", "a", a, "m", member, "time", m.clock(ev.Until), "reason", reason)
		}
		return t(key, "a", a, "m", member, "reason", reason)
	case "unmute":
		if ev.Member == "" {
			return t("ev.unmuteAll", "a", a)
		}
		return t("ev.unmute", "a", a, "m", member)
	}
	return t("ev.other", "a", a, "kind", ev.Kind, "reason", reason)
}

// rows renders every item for a screen width, continuation rows indented.
func (m *chatModel) rows(width int) []chatRow {
	if width == m.cacheW && m.version == m.cacheV && m.cacheRows != nil {
		return m.cacheRows
	}
	var out []chatRow
	for _, it := range m.items {
		text, st := m.line(it)
		indent := 4 // continuation rows of an event
		if it.kind != itemEvent {
			indent = 0 // local lines: a link wraps without spaces in it
		}
		for _, r := range wrapText(sanitize(text), width, indent) {
			out = append(out, chatRow{text: r, style: st})
		}
	}
	m.cacheW, m.cacheV, m.cacheRows = width, m.version, out
	return out
}

// pinText renders a pin for the header.
func (m *chatModel) pinText(seq uint64) string {
	t, ok := m.texts[seq]
	_, recalled := m.recalled[seq]
	switch {
	case recalled:
		t = m.l.t("head.pinRecalled")
	case !ok:
		t = "…"
	}
	return fmt.Sprintf("#%d %s", seq, strings.Join(strings.Fields(t), " "))
}

// header returns the three header rows: the group line, the announcement
// and the pins.
func (m *chatModel) header(connected bool) [3]string {
	var h [3]string
	t := m.l.t
	members := t("head.members", "n", fmt.Sprint(m.members))
	if m.members == 1 {
		members = t("head.member1")
	}
	parts := []string{m.name, members}
	if m.role != "" {
		parts = append(parts, t("head.role", "role", m.l.role(m.role)))
	}
	if m.mutedUntil != 0 && (m.mutedUntil == protocol.Forever || m.mutedUntil > uint64(m.now().UnixMilli())) {
		if m.mutedUntil == protocol.Forever {
			parts = append(parts, t("head.mutedForever"))
		} else {
			parts = append(parts, t("head.mutedUntil", "time", m.clock(m.mutedUntil)))
		}
	}
	if connected {
		parts = append(parts, t("head.live"))
	} else {
		parts = append(parts, t("head.reconnecting"))
	}
	h[0] = strings.Join(parts, " · ")
	if a := strings.Join(strings.Fields(m.announcement), " "); a != "" {
		h[1] = t("head.announcement", "text", a)
	} else {
		h[1] = t("head.noAnnouncement")
	}
	if len(m.pins) == 0 {
		h[2] = t("head.noPins")
	} else {
		ps := make([]string, len(m.pins))
		for i, p := range m.pins {
			ps[i] = m.pinText(p)
		}
		h[2] = t("head.pinned", "pins", strings.Join(ps, " | "))
	}
	for i := range h {
		h[i] = sanitize(h[i])
	}
	return h
}

// sanitize makes text safe for the terminal: control characters (escape
// sequences a member could send) become U+FFFD, tabs spaces; newlines stay.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\t':
			return ' '
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			return '\uFFFD'
		}
		return r
	}, s)
}

// wrapText breaks text into rows of at most width cells, at spaces where it
// can and anywhere it must; newlines break too. Rows that continue a
// wrapped line are indented by indent spaces.
func wrapText(text string, width, indent int) []string {
	if width < 1 {
		width = 1
	}
	if width <= indent+1 {
		indent = 0
	}
	pad := strings.Repeat(" ", indent)
	var out []string
	for _, para := range strings.Split(text, "\n") {
		line, lw := "", 0
		lastSpace := -1 // byte offset in line of the last space after some text
		for rest := para; rest != ""; {
			var cl string
			var w int
			cl, rest, w, _ = uniseg.FirstGraphemeClusterInString(rest, -1)
			if lw+w > width && strings.TrimSpace(line) != "" {
				tail := ""
				if lastSpace > 0 {
					tail = line[lastSpace+1:]
				}
				if lastSpace > 0 && indent+uniseg.StringWidth(tail)+w <= width {
					out = append(out, line[:lastSpace])
					line = pad + tail
				} else {
					out = append(out, line)
					line = pad
				}
				lw, lastSpace = uniseg.StringWidth(line), -1
				if cl == " " && strings.TrimSpace(line) == "" {
					continue // no leading space on a continuation row
				}
			}
			if cl == " " && strings.TrimSpace(line) != "" {
				lastSpace = len(line)
			}
			line += cl
			lw += w
		}
		out = append(out, line)
	}
	return out
}

// fit cuts s to width cells, ending in "…" if cut.
func fit(s string, width int) string {
	if uniseg.StringWidth(s) <= width {
		return s
	}
	if width <= 1 {
		return strings.Repeat("…", max(width, 0))
	}
	var b strings.Builder
	w := 0
	for rest := s; rest != ""; {
		var cl string
		var cw int
		cl, rest, cw, _ = uniseg.FirstGraphemeClusterInString(rest, -1)
		if w+cw > width-1 {
			break
		}
		b.WriteString(cl)
		w += cw
	}
	return b.String() + "…"
}
