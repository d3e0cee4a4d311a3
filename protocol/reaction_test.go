package protocol

import (
	"errors"
	"strings"
	"testing"
)

func TestReactionAndEditBodies(t *testing.T) {
	for _, c := range []struct {
		name string
		body Body
		want error
	}{
		{"a thumbs-up", &ReactionBody{Target: 3, Emoji: "👍"}, nil},
		{"a family emoji of 7 code points", &ReactionBody{Target: 3, Emoji: "👨‍👩‍👧‍👦"}, nil},
		{"a removal", &ReactionBody{Target: 3, Emoji: "❤️", Remove: true}, nil},
		{"no target", &ReactionBody{Emoji: "👍"}, ErrInvalid},
		{"no emoji", &ReactionBody{Target: 3}, ErrInvalid},
		{"a space", &ReactionBody{Target: 3, Emoji: "a b"}, ErrInvalid},
		{"a control character", &ReactionBody{Target: 3, Emoji: "\x07"}, ErrInvalid},
		{"9 characters", &ReactionBody{Target: 3, Emoji: "123456789"}, ErrInvalid},
		{"33 bytes", &ReactionBody{Target: 3, Emoji: strings.Repeat("é", 16) + "x"}, ErrInvalid},
		{"an edit", &EditBody{Target: 3, Text: "typo fixed"}, nil},
		{"an edit without text", &EditBody{Target: 3}, ErrInvalid},
		{"an edit of 4,001 characters", &EditBody{Target: 3, Text: strings.Repeat("x", MaxTextRunes+1)}, ErrInvalid},
		{"an edit without target", &EditBody{Text: "x"}, ErrInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeBody(c.body.Kind(), c.body.Encode())
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func reactTo(seq func(h *harness) uint64, emoji string) func(h *harness) Body {
	return func(h *harness) Body { return &ReactionBody{Target: seq(h), Emoji: emoji} }
}

func editOf(seq func(h *harness) uint64, text string) func(h *harness) Body {
	return func(h *harness) Body { return &EditBody{Target: seq(h), Text: text} }
}

func TestStateReactionsAndEdits(t *testing.T) {
	window := uint64(EditWindow.Milliseconds())
	last := func(h *harness) uint64 { return h.last }
	muteMember := func(h *harness) { h.must(kAdmin, &MuteBody{Member: kMember.ID(), Until: h.now + 60_000}) }
	recalled := func(h *harness) { h.must(kAdmin, NewTargetBody(KindRecall, h.msgMember)) }
	runStateCases(t, []stateCase{
		{name: "a member reacts to another's message", by: kMember2, body: reactTo(seqMember, "👍")},
		{name: "the author reacts to their own message", by: kMember, body: reactTo(seqMember, "🍵")},
		{name: "a non-member reacts", by: kOut, body: reactTo(seqMember, "👍"), want: ErrNotMember},
		{name: "a muted member reacts", by: kMember, body: reactTo(seqMember2, "👍"), prep: muteMember, want: ErrMuted},
		{name: "a reaction to an event that is not a message", by: kMember, body: &ReactionBody{Target: 2, Emoji: "👍"}, want: ErrNotFound},
		{name: "a reaction to a future event", by: kMember, body: reactTo(func(h *harness) uint64 { return h.st.Head + 1 }, "👍"), want: ErrNotFound},
		{name: "a reaction to a recalled message", by: kMember2, body: reactTo(seqMember, "👍"), prep: recalled, want: ErrNotFound},
		{
			name: "the author edits at once", by: kMember, body: editOf(last, "fixed"), prep: postThen(kMember, 0),
			check: func(t *testing.T, h *harness) {
				if h.st.Edited[h.last] != h.st.Head {
					t.Fatalf("edited %v, want %d -> %d", h.st.Edited, h.last, h.st.Head)
				}
			},
		},
		{name: "the author edits at 24 h", by: kMember, body: editOf(last, "fixed"), prep: postThen(kMember, window)},
		{name: "the author edits after 24 h", by: kMember, body: editOf(last, "fixed"), prep: postThen(kMember, window+1), want: ErrRecallWindow},
		{name: "an admin edits a member's message", by: kAdmin, body: editOf(seqMember, "no"), want: ErrForbidden},
		{name: "the owner edits a member's message", by: kOwner, body: editOf(seqMember, "no"), want: ErrForbidden},
		{name: "a muted author edits", by: kMember, body: editOf(seqMember, "x"), prep: muteMember, want: ErrMuted},
		{name: "an edit of a recalled message", by: kMember, body: editOf(seqMember, "x"), prep: recalled, want: ErrNotFound},
		{name: "an edit of an event that is not a message", by: kOwner, body: &EditBody{Target: 2, Text: "x"}, want: ErrNotFound},
		{
			name: "a second edit replaces the first", by: kMember, body: editOf(seqMember, "third"),
			prep: func(h *harness) { h.must(kMember, &EditBody{Target: h.msgMember, Text: "second"}) },
			check: func(t *testing.T, h *harness) {
				if h.st.Edited[h.msgMember] != h.st.Head {
					t.Fatalf("edited %v, want the latest edit %d", h.st.Edited, h.st.Head)
				}
			},
		},
	})
}
