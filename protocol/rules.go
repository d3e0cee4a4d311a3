package protocol

import (
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// Automation rules of a group (kind rules, since 1.4): what the host
// refuses before sequencing — links, words, images and cards from members
// below admin, or only from new ones — and what the group's service
// answers by itself (a welcome, keyword replies, an action after repeated
// refusals). The refusing part is a rule of the state machine: every
// replica checks each message again, so all agree. The answering part is
// done by the host's node, as group events signed by its service key.
//
//	message Rules {
//	  string welcome = 1;                  // posted for each new member
//	  repeated AutoReply replies = 2;      // ≤ MaxAutoReplies
//	  uint32 refuse_links = 3;             // 1: refuse links
//	  repeated string refuse_words = 4;    // ≤ MaxRefusedWords
//	  uint32 refuse_media = 5;             // 1: refuse attachments and product cards
//	  uint32 new_member_days = 6;          // 0: every member below admin
//	  uint32 strikes = 7;                  // refusals before the action; 0: none
//	  uint32 action = 8;                   // 1 warn, 2 mute, 3 kick
//	  uint32 mute_minutes = 9;             // for action mute; 0: 60
//	}
//	message AutoReply { string keyword = 1; string text = 2; }
type Rules struct {
	Welcome       string
	Replies       []AutoReply
	RefuseLinks   bool
	RefuseWords   []string
	RefuseMedia   bool
	NewMemberDays uint32
	Strikes       uint32
	Action        RuleAction
	MuteMinutes   uint32
	// SlowSeconds (since 1.5; 慢速模式): a member below admin writes at
	// most one message in this many seconds (0: no slow mode).
	SlowSeconds uint32
}

// AutoReply answers a message holding Keyword with Text.
type AutoReply struct {
	Keyword string
	Text    string
}

// RuleAction is what the service does to a member after Strikes refusals.
type RuleAction uint32

// Rule actions.
const (
	ActionWarn RuleAction = 1 // a message naming the member and the rule
	ActionMute RuleAction = 2 // a mute of MuteMinutes
	ActionKick RuleAction = 3 // a kick
)

// String names the action as the API spells it.
func (a RuleAction) String() string {
	switch a {
	case ActionWarn:
		return "warn"
	case ActionMute:
		return "mute"
	case ActionKick:
		return "kick"
	}
	return ""
}

// ParseRuleAction is the inverse of String ("" is no action).
func ParseRuleAction(s string) (RuleAction, bool) {
	switch s {
	case "":
		return 0, true
	case "warn":
		return ActionWarn, true
	case "mute":
		return ActionMute, true
	case "kick":
		return ActionKick, true
	}
	return 0, false
}

// Limits of rules.
const (
	MaxAutoReplies   = 20
	MaxRefusedWords  = 50
	MaxKeywordRunes  = 32
	MaxNewMemberDays = 365
	// MaxSlowSeconds bounds slow mode's pause between two messages of a
	// member (since 1.5).
	MaxSlowSeconds = 3600
	MaxStrikes     = 20
	MaxMuteMinutes = 30 * 24 * 60
)

// RulesBody is the body of kind rules (since 1.4): the group's rules, as a
// whole (an empty body clears them).
type RulesBody struct {
	Rules Rules
}

// Kind implements Body.
func (*RulesBody) Kind() Kind { return KindRules }

// Encode implements Body.
func (b *RulesBody) Encode() []byte { return b.Rules.encode() }

func (r *Rules) encode() []byte {
	var e, sub encoder
	e.string(1, r.Welcome)
	for _, a := range r.Replies {
		sub.b = sub.b[:0]
		sub.string(1, a.Keyword)
		sub.string(2, a.Text)
		e.bytesAlways(2, sub.b)
	}
	e.bool(3, r.RefuseLinks)
	for _, w := range r.RefuseWords {
		e.string(4, w)
	}
	e.bool(5, r.RefuseMedia)
	e.varint(6, uint64(r.NewMemberDays))
	e.varint(7, uint64(r.Strikes))
	e.varint(8, uint64(r.Action))
	e.varint(9, uint64(r.MuteMinutes))
	e.varint(10, uint64(r.SlowSeconds))
	return e.b
}

func (b *RulesBody) decode(data []byte) error { return b.Rules.decode(data) }

func (r *Rules) decode(data []byte) error {
	boolField := func(f field, dst *bool) error {
		if err := wantVarint(f); err != nil {
			return err
		}
		if f.u != 1 {
			return malformed("field %d is a bool", f.num)
		}
		*dst = true
		return nil
	}
	bounded := func(f field, max uint32, what string) (uint32, error) {
		v, err := u32(f)
		if err == nil && v > max {
			err = invalid("%s is at most %d, not %d", what, max, v)
		}
		return v, err
	}
	err := walk(data, []protowire.Number{2, 4}, nil, func(f field) error {
		var err error
		switch f.num {
		case 1:
			r.Welcome, err = text(f, MaxTextRunes, "the welcome")
		case 2:
			if len(r.Replies) >= MaxAutoReplies {
				return invalid("a group has at most %d keyword replies", MaxAutoReplies)
			}
			if err = wantBytes(f); err != nil {
				return err
			}
			var a AutoReply
			err = walk(f.b, nil, nil, func(f field) error {
				var err error
				switch f.num {
				case 1:
					a.Keyword, err = keyword(f, "a reply's keyword")
				case 2:
					a.Text, err = text(f, MaxTextRunes, "a reply's text")
				default:
					err = unknownField(f)
				}
				return err
			})
			if err == nil && (a.Keyword == "" || a.Text == "") {
				err = invalid("a keyword reply has a keyword and a text")
			}
			r.Replies = append(r.Replies, a)
		case 3:
			err = boolField(f, &r.RefuseLinks)
		case 4:
			if len(r.RefuseWords) >= MaxRefusedWords {
				return invalid("a group refuses at most %d words", MaxRefusedWords)
			}
			var w string
			if w, err = keyword(f, "a refused word"); err == nil {
				r.RefuseWords = append(r.RefuseWords, w)
			}
		case 5:
			err = boolField(f, &r.RefuseMedia)
		case 6:
			r.NewMemberDays, err = bounded(f, MaxNewMemberDays, "new_member_days")
		case 7:
			r.Strikes, err = bounded(f, MaxStrikes, "strikes")
		case 8:
			var v uint32
			if v, err = bounded(f, uint32(ActionKick), "the action"); err == nil {
				r.Action = RuleAction(v)
			}
		case 9:
			r.MuteMinutes, err = bounded(f, MaxMuteMinutes, "mute_minutes")
		case 10:
			r.SlowSeconds, err = bounded(f, MaxSlowSeconds, "slow_seconds")
		default:
			err = unknownField(f)
		}
		return err
	})
	if err == nil && (r.Strikes == 0) != (r.Action == 0) {
		err = invalid("strikes and the action go together: both or neither")
	}
	return err
}

// keyword decodes a keyword or refused word: 1 to MaxKeywordRunes
// characters, no control characters, no white space at its ends.
func keyword(f field, what string) (string, error) {
	s, err := text(f, MaxKeywordRunes, what)
	if err != nil {
		return "", err
	}
	if s == "" || strings.TrimSpace(s) != s || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", invalid("%s is 1 to %d characters without control characters or white space at its ends", what, MaxKeywordRunes)
	}
	return s, nil
}

// IsEmpty reports whether r has no rule at all.
func (r *Rules) IsEmpty() bool { return len(r.encode()) == 0 }

// foldASCII lowers the ASCII letters of s, and only those: the matching
// of keywords is part of the protocol, so it must not depend on a Unicode
// version.
func foldASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

// HasKeyword reports whether text holds keyword, ASCII letters compared
// without case.
func HasKeyword(text, keyword string) bool {
	return strings.Contains(foldASCII(text), foldASCII(keyword))
}

// linkMarkers are what makes a text hold a link, compared without ASCII
// case: a scheme or a "www." host.
var linkMarkers = []string{"http://", "https://", "www."}

// HasLink reports whether a text holds a link by the protocol's rule.
func HasLink(text string) bool {
	t := foldASCII(text)
	for _, m := range linkMarkers {
		if strings.Contains(t, m) {
			return true
		}
	}
	return false
}

// RuleError is a refusal by one of the group's rules: the host counts it
// as a strike of the author.
type RuleError struct {
	Err  *Error // CodeForbidden, with the rule in words
	Rule string // "links", "words", "media", "slow"
}

func (e *RuleError) Error() string { return e.Err.Error() }

// Unwrap makes errors.Is and errors.As see the Error.
func (e *RuleError) Unwrap() error { return e.Err }

// checkRules applies the group's refusing rules to a message or an edit
// by author at now: a member below admin, new if the rules say so.
func (s *State) checkRules(author UserID, me *Member, text string, link bool, media bool, now uint64, look Lookup) error {
	r := s.Rules
	if r == nil || me == nil || me.Role.rank() >= RoleAdmin.rank() {
		return nil
	}
	if r.NewMemberDays > 0 {
		info, ok := look(me.Joined)
		if !ok {
			return nil // admitted before this replica's checkpoint: the host decided
		}
		if now >= info.Time && now-info.Time >= uint64(r.NewMemberDays)*86_400_000 {
			return nil
		}
	}
	refuse := func(rule, format string, args ...any) error {
		return &RuleError{Err: Errorf(CodeForbidden, format, args...), Rule: rule}
	}
	newOnly := ""
	if r.NewMemberDays > 0 {
		newOnly = " from members who joined less than " + dayText(r.NewMemberDays) + " ago"
	}
	if r.RefuseLinks && (link || HasLink(text)) {
		return refuse("links", "links are not allowed in this group%s", newOnly)
	}
	for _, w := range r.RefuseWords {
		if HasKeyword(text, w) {
			return refuse("words", "the word %q is not allowed in this group", w)
		}
	}
	if r.RefuseMedia && media {
		return refuse("media", "images, files and product cards are not allowed in this group%s", newOnly)
	}
	return nil
}

// checkSlow applies slow mode to a message of me at now: a member below
// admin (and no bridge, which relays many people) waits SlowSeconds after
// their last message. The refusal is a strike, like the other rules'.
func (s *State) checkSlow(me *Member, now uint64) error {
	r := s.Rules
	if r == nil || r.SlowSeconds == 0 || me.Role.rank() >= RoleAdmin.rank() || me.Role == RoleBridge || me.LastMessage == 0 {
		return nil
	}
	next := me.LastMessage + uint64(r.SlowSeconds)*1000
	if now >= next {
		return nil
	}
	wait := (next - now + 999) / 1000
	return &RuleError{Err: Errorf(CodeForbidden, "slow mode: one message every %d s in this group; wait %d s", r.SlowSeconds, wait), Rule: "slow"}
}

func dayText(n uint32) string {
	if n == 1 {
		return "1 day"
	}
	return strconv.FormatUint(uint64(n), 10) + " days"
}

// clone returns a deep copy of r.
func (r *Rules) clone() *Rules {
	c := *r
	c.Replies = append([]AutoReply(nil), r.Replies...)
	c.RefuseWords = append([]string(nil), r.RefuseWords...)
	return &c
}
