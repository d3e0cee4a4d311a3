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
	items []chatItem

	lo, hi    uint64 // seqs of the oldest and newest events loaded (0: none)
	hasOlder  bool   // events before lo exist
	recalled  map[uint64]bool
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
	mutedUntil   uint64 // unix ms; protocol.Forever for no end; 0 not muted
	names        *names // how members are shown
}

func newChatModel(me string, now func() time.Time) *chatModel {
	return &chatModel{me: me, now: now, recalled: map[uint64]bool{}, texts: map[uint64]string{}}
}

// setView takes the header's facts from the group's view.
func (m *chatModel) setView(v *api.GroupView) {
	m.name, m.members, m.announcement = v.Name, v.Members, v.Announcement
	m.pins = append([]uint64(nil), v.Pins...)
	m.role, m.mutedUntil = "", 0
	m.names = newNames(v.MemberList)
	for _, mv := range v.MemberList {
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
			m.recalled[ev.Seq] = true
		}
	case "recall":
		m.recalled[ev.Target] = true
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
		return "you"
	}
	return m.names.of(user)
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
	prefix := fmt.Sprintf("#%d %s %s", ev.Seq, m.clock(ev.Time), m.who(ev.Author))
	if ev.Kind == "message" {
		if ev.Author == m.me {
			st = st.Foreground(tcell.ColorGreen)
		}
		if m.recalled[ev.Seq] {
			return prefix + ": (recalled)", st.Dim(true)
		}
		return prefix + describeEvent(ev, m.names), st
	}
	nm := &names{shown: map[string]string{m.me: "you"}}
	if m.names != nil {
		for u, s := range m.names.shown {
			if u != m.me {
				nm.shown[u] = s
			}
		}
	}
	return prefix + describeEvent(ev, nm), st.Foreground(tcell.ColorGray)
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
	switch {
	case m.recalled[seq]:
		t = "(recalled)"
	case !ok:
		t = "…"
	}
	return fmt.Sprintf("#%d %s", seq, strings.Join(strings.Fields(t), " "))
}

// header returns the three header rows: the group line, the announcement
// and the pins.
func (m *chatModel) header(connected bool) [3]string {
	var h [3]string
	parts := []string{m.name, fmt.Sprintf("%d members", m.members)}
	if m.role != "" {
		parts = append(parts, "you: "+m.role)
	}
	if m.mutedUntil != 0 && (m.mutedUntil == protocol.Forever || m.mutedUntil > uint64(m.now().UnixMilli())) {
		if m.mutedUntil == protocol.Forever {
			parts = append(parts, "muted until unmuted")
		} else {
			parts = append(parts, "muted until "+m.clock(m.mutedUntil))
		}
	}
	if connected {
		parts = append(parts, "live")
	} else {
		parts = append(parts, "reconnecting…")
	}
	h[0] = strings.Join(parts, " · ")
	if a := strings.Join(strings.Fields(m.announcement), " "); a != "" {
		h[1] = "Announcement: " + a
	} else {
		h[1] = "No announcement"
	}
	if len(m.pins) == 0 {
		h[2] = "No pinned messages"
	} else {
		ps := make([]string, len(m.pins))
		for i, p := range m.pins {
			ps[i] = m.pinText(p)
		}
		h[2] = "Pinned: " + strings.Join(ps, " | ")
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
