package matrix

import (
	"html"
	"strings"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/qunchat/qun/bridge"
)

// The gateway → Matrix: how an Outbound reads in a room.

// nick is how an author shows before their text in a plain body.
func nick(author string) string { return author + ":" }

// mention is the person an Outbound.To names.
type mention struct {
	user id.UserID
	name string // their display name in the room, or the user ID
}

// render is the m.room.message content of m in room: a plain body
// ("Author: text", a quote line for an answer to a message not relayed
// here, the mention of m.To first) and the same as HTML, with the author
// in bold. A native reply (m.ReplyTo) carries the quote fallback that
// clients without replies show. m.mentions is set, empty unless m.To, so
// that no name in a relayed text pings anyone.
func render(m bridge.Outbound, room id.RoomID, to *mention) *event.MessageEventContent {
	c := &event.MessageEventContent{MsgType: event.MsgText, Mentions: &event.Mentions{}}
	if m.Kind == bridge.OutNotice {
		c.MsgType = event.MsgNotice
	}
	var body, h strings.Builder
	if m.ReplyTo != "" {
		c.RelatesTo = (&event.RelatesTo{}).SetReplyTo(id.EventID(m.ReplyTo))
		if m.Quote != nil {
			q := shortQuote(m.Quote.Text)
			body.WriteString("> <" + m.Quote.Author + "> " + q + "\n\n")
			h.WriteString(`<mx-reply><blockquote><a href="https://matrix.to/#/` + string(room) + "/" + m.ReplyTo + `">In reply to</a> <strong>` +
				html.EscapeString(m.Quote.Author) + "</strong><br>" + html.EscapeString(q) + "</blockquote></mx-reply>")
		}
	}
	if to != nil {
		c.Mentions.UserIDs = []id.UserID{to.user}
		body.WriteString(to.name + ": ")
		h.WriteString(`<a href="https://matrix.to/#/` + string(to.user) + `">` + html.EscapeString(to.name) + "</a>: ")
	}
	if m.Kind == bridge.OutCorrection {
		lines := m.Plain(nick)
		body.WriteString(strings.Join(lines, "\n"))
		for i, l := range lines {
			if i > 0 {
				h.WriteString("<br>")
			}
			h.WriteString(html.EscapeString(l))
		}
	} else {
		if m.ReplyTo == "" && m.Quote != nil {
			q := shortQuote(m.Quote.Text)
			body.WriteString("> " + m.Quote.Author + ": " + q + "\n")
			h.WriteString("<blockquote><strong>" + html.EscapeString(m.Quote.Author) + "</strong>: " + html.EscapeString(q) + "</blockquote>")
		}
		text := strings.Trim(m.Text, "\n")
		if m.Author != "" {
			body.WriteString(nick(m.Author) + " ")
			h.WriteString("<strong>" + html.EscapeString(m.Author) + "</strong>: ")
		}
		body.WriteString(text)
		h.WriteString(strings.ReplaceAll(html.EscapeString(text), "\n", "<br>"))
	}
	c.Body = body.String()
	if m.Author != "" || to != nil || m.Quote != nil {
		c.Format, c.FormattedBody = event.FormatHTML, h.String()
	}
	return c
}

// renderEdit is the m.replace content that changes event target to m.
func renderEdit(m bridge.Outbound, room id.RoomID, target id.EventID) *event.MessageEventContent {
	m.ReplyTo, m.Quote, m.To = "", nil, ""
	nc := render(m, room, nil)
	c := &event.MessageEventContent{
		MsgType:    nc.MsgType,
		Body:       "* " + nc.Body,
		NewContent: nc,
		RelatesTo:  (&event.RelatesTo{}).SetReplace(target),
		Mentions:   &event.Mentions{},
	}
	if nc.Format != "" {
		c.Format, c.FormattedBody = nc.Format, "* "+nc.FormattedBody
	}
	return c
}

// shortQuote is a quoted text on one line, at most 80 characters (as
// bridge.Outbound.Plain quotes).
func shortQuote(s string) string {
	q := strings.Join(strings.Fields(s), " ")
	if r := []rune(q); len(r) > 80 {
		q = string(r[:79]) + "…"
	}
	return q
}
