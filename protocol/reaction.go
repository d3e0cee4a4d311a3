package protocol

import (
	"unicode"
	"unicode/utf8"
)

// ReactionBody reacts to a message with an emoji (kind 22, since 1.1):
// target (field 1), emoji (field 2), remove (field 3: takes the author's
// reaction back). A member has at most one reaction of each emoji on a
// message; clients count them from the events (the state keeps none).
type ReactionBody struct {
	Target uint64
	Emoji  string
	Remove bool
}

// Kind implements Body.
func (*ReactionBody) Kind() Kind { return KindReaction }

// Encode implements Body.
func (b *ReactionBody) Encode() []byte {
	var e encoder
	e.varint(1, b.Target)
	e.string(2, b.Emoji)
	e.bool(3, b.Remove)
	return e.b
}

func (b *ReactionBody) decode(data []byte) error {
	err := walk(data, nil, nil, func(f field) error {
		var err error
		switch f.num {
		case 1:
			b.Target = f.u
			err = wantVarint(f)
		case 2:
			if err = wantBytes(f); err == nil {
				b.Emoji = string(f.b)
				err = checkEmoji(b.Emoji)
			}
		case 3:
			if err = wantVarint(f); err == nil && f.u != 1 {
				err = malformed("field 3 is a bool")
			}
			b.Remove = true
		default:
			err = unknownField(f)
		}
		return err
	})
	switch {
	case err != nil:
		return err
	case b.Target == 0:
		return invalid("a reaction needs the seq of the message it reacts to")
	case b.Emoji == "":
		return invalid("a reaction needs its emoji")
	}
	return nil
}

// checkEmoji: 1 to MaxReactionBytes bytes of UTF-8, at most
// MaxReactionRunes characters, none of them a control character or white
// space. Which emoji (or text) is the client's choice.
func checkEmoji(s string) error {
	switch {
	case len(s) > MaxReactionBytes || !utf8.ValidString(s):
		return invalid("a reaction is at most %d bytes of UTF-8", MaxReactionBytes)
	case utf8.RuneCountInString(s) > MaxReactionRunes:
		return invalid("a reaction is at most %d characters", MaxReactionRunes)
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return invalid("a reaction has no control characters or spaces")
		}
	}
	return nil
}

// EditBody replaces the text of the author's own message (kind 23, since
// 1.1): target (field 1), text (field 2). The message and every earlier
// edit stay in the log; the state records the latest edit of each message.
type EditBody struct {
	Target uint64
	Text   string
}

// Kind implements Body.
func (*EditBody) Kind() Kind { return KindEdit }

// Encode implements Body.
func (b *EditBody) Encode() []byte {
	var e encoder
	e.varint(1, b.Target)
	e.string(2, b.Text)
	return e.b
}

func (b *EditBody) decode(data []byte) error {
	err := walk(data, nil, nil, func(f field) error {
		var err error
		switch f.num {
		case 1:
			b.Target = f.u
			err = wantVarint(f)
		case 2:
			b.Text, err = text(f, MaxTextRunes, "the new text")
		default:
			err = unknownField(f)
		}
		return err
	})
	switch {
	case err != nil:
		return err
	case b.Target == 0:
		return invalid("an edit needs the seq of the message it changes")
	case b.Text == "":
		return invalid("an edit needs the new text")
	}
	return nil
}

// react is the rule of a reaction: a member who may post, on a message
// that is not recalled.
func (s *State) react(author UserID, b *ReactionBody, seq, now uint64, look Lookup) (func(), error) {
	if muted, until := s.Muted(author, now); muted {
		return nil, Errorf(CodeMuted, "you are muted in this group %s", untilText(until))
	}
	if _, _, err := s.target(b.Target, seq, look); err != nil {
		return nil, err
	}
	if _, gone := s.Recalled[b.Target]; gone {
		return nil, Errorf(CodeNotFound, "message %d was recalled", b.Target)
	}
	return func() {}, nil
}

// edit is the rule of an edit: the author's own message, not recalled,
// within EditWindow of its sending (host times).
func (s *State) edit(author UserID, b *EditBody, seq, now uint64, look Lookup) (func(), error) {
	if muted, until := s.Muted(author, now); muted {
		return nil, Errorf(CodeMuted, "you are muted in this group %s", untilText(until))
	}
	info, known, err := s.target(b.Target, seq, look)
	if err != nil {
		return nil, err
	}
	if _, gone := s.Recalled[b.Target]; gone {
		return nil, Errorf(CodeNotFound, "message %d was recalled", b.Target)
	}
	if !known {
		if err := s.checkRules(author, s.Members[author], b.Text, false, false, now, look); err != nil {
			return nil, err
		}
		return func() { s.Edited[b.Target] = seq }, nil
	}
	if info.Author != author {
		return nil, Errorf(CodeForbidden, "only the author of a message can edit it")
	}
	if now > info.Time+uint64(EditWindow.Milliseconds()) {
		return nil, Errorf(CodeRecallWindow, "a message can be edited only within %s of sending; message %d was sent at %s",
			EditWindow, b.Target, FormatTime(info.Time))
	}
	if err := s.checkRules(author, s.Members[author], b.Text, false, false, now, look); err != nil {
		return nil, err
	}
	return func() { s.Edited[b.Target] = seq }, nil
}
