package bridge

import (
	"testing"
	"unicode/utf8"

	"github.com/qunchat/qun/protocol"
)

// FuzzInboundCheck: whatever a remote side sends, the gateway's check
// never panics, and what it lets through becomes a message body that every
// replica accepts, with the person's name cleaned into a profile string
// (or, where it cannot be, none).
func FuzzInboundCheck(f *testing.F) {
	f.Add("alice", "Alice", "hello", "m1", "", false)
	f.Add("alice", " \u200dAlice\u00ad\n", "line one\nline two\t", "", "m0", false)
	f.Add("@carol:hs", "\x00\x7f", "\x01", "", "", false)
	f.Add("bob", "鲍勃 🍵🍵🍵🍵🍵🍵🍵🍵🍵🍵🍵🍵🍵🍵🍵🍵🍵🍵🍵🍵🍵🍵🍵🍵🍵🍵🍵🍵🍵🍵🍵🍵🍵", "  ", "", "", true)
	f.Add("", "", "!invite", "", "", false)
	f.Add("x\xff", "\xff", "\xff", "\xff", "", false)
	f.Fuzz(func(t *testing.T, user, name, text, id, replyTo string, invite bool) {
		m := &Inbound{Channel: "#tea", ID: id, User: user, Name: name, Text: text, ReplyTo: replyTo, Invite: invite}
		clean := cleanName(name)
		if !utf8.ValidString(clean) || utf8.RuneCountInString(clean) > protocol.MaxDisplayNameRunes {
			t.Fatalf("cleanName(%q) = %q", name, clean)
		}
		if err := m.check(); err != nil {
			if _, ok := err.(*InputError); !ok || err.Error() == "" {
				t.Fatalf("check refused with %T %v, want an InputError with a reason", err, err)
			}
			return
		}
		for _, r := range text {
			if r < 0x20 && r != '\n' && r != '\t' || r >= 0x7f && r <= 0x9f {
				t.Fatalf("check let through the control character U+%04X in %q", r, text)
			}
		}
		if invite || isInviteCommand(text) {
			return
		}
		body := &protocol.MessageBody{Text: text, Bridged: &protocol.Bridged{Network: "irc.libera", User: user, Name: clean}}
		if _, err := protocol.DecodeBody(protocol.KindMessage, body.Encode()); err != nil {
			t.Fatalf("check let through %+v, which replicas refuse: %v", m, err)
		}
	})
}
