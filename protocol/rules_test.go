package protocol

import (
	"errors"
	"strings"
	"testing"
)

// TestStateRules: only the owner and admins set rules (since 1.4); the
// refusing rules stop links, words and media from members below admin —
// or, with new_member_days, from new members only — in messages and
// edits, with a RuleError that names the rule; admins are never refused;
// an empty rules body clears them.
func TestStateRules(t *testing.T) {
	strict := &RulesBody{Rules: Rules{RefuseLinks: true, RefuseWords: []string{"casino", "代购"}, RefuseMedia: true, Strikes: 3, Action: ActionMute}}
	withRules := func(b *RulesBody) func(h *harness) {
		return func(h *harness) { h.must(kAdmin, b) }
	}
	photo := []Attachment{{Blob: BlobRef{Hash: Hash{1}, MIME: "image/jpeg", Size: 10, Width: 2, Height: 2}, Name: "a.jpg"}}
	runStateCases(t, []stateCase{
		{name: "member sets rules", by: kMember, body: strict, want: ErrForbidden},
		{name: "bridge sets rules", by: kBridge, body: strict, want: ErrForbidden},
		{name: "admin sets rules", by: kAdmin, body: strict, check: func(t *testing.T, h *harness) {
			if h.st.Rules == nil || !h.st.Rules.RefuseLinks || len(h.st.Rules.RefuseWords) != 2 {
				t.Fatalf("rules: %+v", h.st.Rules)
			}
		}},
		{name: "a link in the text", prep: withRules(strict), by: kMember, body: msg("cheap tea at https://spam.example"), want: ErrForbidden},
		{name: "a link without a scheme, in capitals", prep: withRules(strict), by: kMember, body: msg("visit WWW.SPAM.EXAMPLE"), want: ErrForbidden},
		{name: "a link field", prep: withRules(strict), by: kMember, body: &MessageBody{Text: "look", Link: "https://spam.example/"}, want: ErrForbidden},
		{name: "a refused word in capitals", prep: withRules(strict), by: kMember2, body: msg("CASINO tonight"), want: ErrForbidden},
		{name: "a refused word in Chinese", prep: withRules(strict), by: kMember2, body: msg("专业代购"), want: ErrForbidden},
		{name: "an image", prep: withRules(strict), by: kMember, body: &MessageBody{Attachments: photo}, want: ErrForbidden},
		{name: "a product card", prep: withRules(strict), by: kMember, body: &MessageBody{Product: &Product{ID: "p1", Title: "tea"}}, want: ErrForbidden},
		{name: "a bridge's link", prep: withRules(strict), by: kBridge, body: msg("https://x.example"), want: ErrForbidden},
		{name: "a clean message", prep: withRules(strict), by: kMember, body: msg("is the oolong in stock?")},
		{name: "an admin's link", prep: withRules(strict), by: kAdmin2, body: msg("our shop: https://shop.example")},
		{name: "the owner's image", prep: withRules(strict), by: kOwner, body: &MessageBody{Attachments: photo}},
		{name: "an edit adding a link", prep: withRules(strict), by: kMember, body: func(h *harness) Body {
			return &EditBody{Target: h.msgMember, Text: "now with https://spam.example"}
		}, want: ErrForbidden},
		{name: "rules cleared", prep: func(h *harness) { h.must(kAdmin, strict); h.must(kAdmin, &RulesBody{}) }, by: kMember, body: msg("https://fine.example"), check: func(t *testing.T, h *harness) {
			if h.st.Rules != nil {
				t.Fatal("an empty rules body left rules")
			}
		}},
	})

	// The refusal says which rule, in words.
	h := newGroup(t)
	h.must(kAdmin, strict)
	err := h.apply(h.event(kMember, msg("https://spam.example")))
	var re *RuleError
	if !errors.As(err, &re) || re.Rule != "links" || !strings.Contains(err.Error(), "links are not allowed") || AsError(err).Code != CodeForbidden {
		t.Fatalf("the refusal: %v", err)
	}
	if err := h.apply(h.event(kMember, msg("casino"))); !errors.As(err, &re) || re.Rule != "words" {
		t.Fatalf("the refusal of a word: %v", err)
	}
}

// TestStateRulesNewMembers: with new_member_days, only members who joined
// less than that many days ago are refused, by the host's times.
func TestStateRulesNewMembers(t *testing.T) {
	h := newGroup(t)
	h.must(kAdmin, &RulesBody{Rules: Rules{RefuseLinks: true, NewMemberDays: 3}})
	h.now += 4 * 86_400_000
	h.must(kNew, plainJoin)
	h.must(kMember, msg("old member: https://ok.example"))
	err := h.apply(h.event(kNew, msg("new member: https://spam.example")))
	if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "less than 3 days ago") {
		t.Fatalf("a new member's link: %v", err)
	}
	h.now += 3*86_400_000 + 1
	h.must(kNew, msg("three days later: https://ok.example"))
}

// TestStateSlowMode: with slow_seconds (since 1.5), a member below admin
// writes one message per that many seconds, by the host's times; admins,
// bridges and edits are not held; the refusal is a "slow" strike; the time
// of a member's last message goes through a checkpoint.
func TestStateSlowMode(t *testing.T) {
	h := newGroup(t)
	h.must(kAdmin, &RulesBody{Rules: Rules{SlowSeconds: 30}})
	h.now += 60_000 // the harness's own messages are a minute old
	first := h.now
	h.must(kMember, msg("first")) // the clock moves 1 s on after each
	err := h.apply(h.event(kMember, msg("second, a second later")))
	var re *RuleError
	if !errors.As(err, &re) || re.Rule != "slow" || !strings.Contains(err.Error(), "one message every 30 s") || !strings.Contains(err.Error(), "wait 29 s") {
		t.Fatalf("a second message at once: %v", err)
	}
	h.must(kMember2, msg("another member is not held by the first"))
	h.must(kAdmin, msg("admins are not held"))
	h.must(kAdmin, msg("not at all"))
	h.must(kBridge, msg("bridges relay many people"))
	h.must(kBridge, msg("and are not held"))
	h.now = first + 29_999
	if err := h.apply(h.event(kMember, msg("29.999 s later"))); !errors.As(err, &re) || !strings.Contains(err.Error(), "wait 1 s") {
		t.Fatalf("29.999 s later: %v", err)
	}
	h.now = first + 30_000
	later := h.must(kMember, msg("30 s later"))
	h.must(kMember, &EditBody{Target: later.Seq, Text: "30 s later, edited at once"})
	if got := h.member(kMember).LastMessage; got != first+30_000 {
		t.Fatalf("last message at %d, want %d", got, first+30_000)
	}
	// Through a checkpoint, the member is held the same.
	st := mustDecodeCheckpoint(t, SignCheckpoint(kHost, h.st)).State
	if got := st.Members[kMember.ID()].LastMessage; got != first+30_000 {
		t.Fatalf("after a checkpoint: last message at %d, want %d", got, first+30_000)
	}
	// Slow mode off: no pause.
	h.must(kAdmin, &RulesBody{Rules: Rules{RefuseLinks: true}})
	h.must(kMember, msg("right after"))
}

// TestRulesDecode: the shape rules of a rules body.
func TestRulesDecode(t *testing.T) {
	good := Rules{Welcome: "hi", Replies: []AutoReply{{Keyword: "price", Text: "pinned"}}, RefuseWords: []string{"x"}, Strikes: 2, Action: ActionKick}
	if _, err := DecodeBody(KindRules, (&RulesBody{Rules: good}).Encode()); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]Rules{
		"strikes without an action":  {Strikes: 3},
		"an action without strikes":  {Action: ActionWarn},
		"an unknown action":          {Strikes: 1, Action: 4},
		"a keyword with spaces":      {Replies: []AutoReply{{Keyword: " price", Text: "x"}}},
		"a reply without text":       {Replies: []AutoReply{{Keyword: "price"}}},
		"a long word":                {RefuseWords: []string{strings.Repeat("x", MaxKeywordRunes+1)}},
		"too many words":             {RefuseWords: strings.Split(strings.Repeat("w,", MaxRefusedWords+1)[:2*(MaxRefusedWords+1)-1], ",")},
		"too many strikes":           {Strikes: MaxStrikes + 1, Action: ActionWarn},
		"a year and more of newness": {NewMemberDays: MaxNewMemberDays + 1},
		"slow mode over an hour":     {SlowSeconds: MaxSlowSeconds + 1},
		"a word with a line break":   {RefuseWords: []string{"a\nb"}},
	} {
		if _, err := DecodeBody(KindRules, (&RulesBody{Rules: r}).Encode()); !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	for text, want := range map[string]bool{"see http://x": true, "HTTPS://X": true, "www.shop": true, "wwwshop": false, "http:/x": false, "tea": false} {
		if HasLink(text) != want {
			t.Errorf("HasLink(%q) = %v", text, !want)
		}
	}
	if !HasKeyword("What's the PRICE?", "price") || HasKeyword("priced", "Price ") || !HasKeyword("发货了吗", "发货") {
		t.Error("HasKeyword")
	}
}

// TestStateConfirm: members confirm reading the current announcement
// (since 1.4), once each, muted or not; a new announcement starts over; an
// old or absent one cannot be confirmed.
func TestStateConfirm(t *testing.T) {
	h := newGroup(t)
	h.refuse(kMember, NewTargetBody(KindConfirm, 1), ErrNotFound) // no announcement yet
	first := h.must(kAdmin, &AnnounceBody{Text: "sale on Friday"}).Seq
	if h.st.AnnouncedAt != first {
		t.Fatalf("AnnouncedAt %d, want %d", h.st.AnnouncedAt, first)
	}
	h.must(kMember, NewTargetBody(KindConfirm, first))
	h.refuse(kMember, NewTargetBody(KindConfirm, first), ErrConflict)
	h.must(kAdmin, &MuteBody{Member: kMember2.ID()})
	h.must(kMember2, NewTargetBody(KindConfirm, first)) // muted: still confirms
	h.refuse(kOut, NewTargetBody(KindConfirm, first), ErrNotMember)
	if len(h.st.Confirmed) != 2 {
		t.Fatalf("confirmed: %v", h.st.Confirmed)
	}
	second := h.must(kOwner, &AnnounceBody{Text: "sale moved to Saturday"}).Seq
	if len(h.st.Confirmed) != 0 {
		t.Fatal("a new announcement kept the confirmations of the old one")
	}
	h.refuse(kMember, NewTargetBody(KindConfirm, first), ErrNotFound)
	h.must(kMember, NewTargetBody(KindConfirm, second))
	h.must(kMember, &LeaveBody{})
	if _, ok := h.st.Confirmed[kMember.ID()]; ok {
		t.Fatal("a member who left still counts as confirmed")
	}
	h.must(kOwner, &AnnounceBody{})
	if h.st.AnnouncedAt != 0 {
		t.Fatal("a cleared announcement can still be confirmed")
	}
	h.refuse(kAdmin, NewTargetBody(KindConfirm, second), ErrNotFound)
}
