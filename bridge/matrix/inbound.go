package matrix

import (
	"encoding/json"
	"strings"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/qunchat/qun/bridge"
)

// Matrix → the gateway: what a room's timeline event becomes.

// decodeEvent decodes one event of a sync or of /messages. An event that
// does not decode (a field of the wrong type) is dropped by the caller,
// alone: it does not hold up the rest of the batch.
func decodeEvent(raw json.RawMessage) (*event.Event, error) {
	var ev event.Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	return &ev, nil
}

// toInbound makes the Inbound of a timeline event of channel (Name is
// left for the caller, who knows the room's members); false for what is
// not relayed: other event types, state, redacted or undecodable
// messages, verification requests. It never panics on what a server or a
// person sends; the gateway checks the text.
func toInbound(channel string, ev *event.Event) (bridge.Inbound, bool) {
	if ev == nil || ev.ID == "" || ev.Sender == "" || ev.StateKey != nil {
		return bridge.Inbound{}, false
	}
	ib := bridge.Inbound{Channel: channel, ID: string(ev.ID), User: string(ev.Sender)}
	switch ev.Type.Type {
	case event.EventRedaction.Type:
		target := ev.Redacts
		if target == "" { // room v11: in the content
			if s, ok := ev.Content.Raw["redacts"].(string); ok {
				target = id.EventID(s)
			}
		}
		if target == "" {
			return bridge.Inbound{}, false
		}
		ib.Deletes = string(target)
		return ib, true
	case event.EventMessage.Type, event.EventSticker.Type:
	default:
		return bridge.Inbound{}, false
	}
	if ev.Unsigned.RedactedBecause != nil {
		return bridge.Inbound{}, false // redacted before we saw it: nothing left
	}
	var c event.MessageEventContent
	if err := json.Unmarshal(ev.Content.VeryRaw, &c); err != nil {
		return bridge.Inbound{}, false
	}
	if ev.Type.Type == event.EventSticker.Type {
		c.MsgType = "m.sticker"
	}
	if target := c.RelatesTo.GetReplaceID(); target != "" {
		ib.Edits = string(target)
		if nc := c.NewContent; nc != nil {
			ib.Text = textOf(nc.MsgType, nc.Body)
		} else {
			ib.Text = textOf(c.MsgType, strings.TrimPrefix(c.Body, "* "))
		}
		return ib, true
	}
	if c.MsgType == event.MsgVerificationRequest {
		return bridge.Inbound{}, false
	}
	body := c.Body
	if c.RelatesTo.GetReplyTo() != "" {
		body = event.TrimReplyFallbackText(body)
	}
	ib.Text = textOf(c.MsgType, body)
	if r := c.RelatesTo.GetNonFallbackReplyTo(); r != "" {
		ib.ReplyTo = string(r)
	} else if root := c.RelatesTo.GetThreadParent(); root != "" {
		ib.ReplyTo = string(root) // in a thread: an answer to its first message
	}
	return ib, true
}

// textOf is the text of a message of type t with body: an emote as
// "/me …", media as a line that names them.
func textOf(t event.MessageType, body string) string {
	switch t {
	case event.MsgEmote:
		return "/me " + body
	case event.MsgImage:
		return "[image] " + body
	case event.MsgVideo:
		return "[video] " + body
	case event.MsgAudio:
		return "[audio] " + body
	case event.MsgFile:
		return "[file] " + body
	case event.MsgLocation:
		return "[location] " + body
	case "m.sticker":
		return "[sticker] " + body
	}
	return body // m.text, m.notice, and what is unknown (its body is its fallback)
}

// memberUpdate is what an m.room.member event says of a member's name:
// ok false when it is not one (or does not decode); present false when
// they left or were banned.
func memberUpdate(ev *event.Event) (user id.UserID, name string, present, ok bool) {
	if ev == nil || ev.Type.Type != event.StateMember.Type || ev.StateKey == nil {
		return "", "", false, false
	}
	var m event.MemberEventContent
	if err := json.Unmarshal(ev.Content.VeryRaw, &m); err != nil {
		return "", "", false, false
	}
	user = id.UserID(*ev.StateKey)
	switch m.Membership {
	case event.MembershipJoin, event.MembershipInvite:
		return user, m.Displayname, true, true
	default:
		return user, "", false, true
	}
}

// membershipOf is the membership an m.room.member event gives user, and
// the one it replaces ("" when not given).
func membershipOf(ev *event.Event, user id.UserID) (now, before event.Membership, ok bool) {
	if ev == nil || ev.Type.Type != event.StateMember.Type || ev.StateKey == nil || id.UserID(*ev.StateKey) != user {
		return "", "", false
	}
	m, _ := ev.Content.Raw["membership"].(string)
	if ev.Unsigned.PrevContent != nil {
		p, _ := ev.Unsigned.PrevContent.Raw["membership"].(string)
		before = event.Membership(p)
	}
	return event.Membership(m), before, true
}
