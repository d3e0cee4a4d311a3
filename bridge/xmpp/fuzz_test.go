package xmpp

import (
	"strings"
	"testing"
	"unicode/utf8"

	"mellium.im/xmpp/jid"
)

// fuzzRoom is a room in which the connector (nick "bridge") is live, with
// Alice (whose real JID it sees) and Bob (whose it does not), and a few
// messages remembered.
func fuzzRoom() (*roomState, *idTable) {
	r := newRoomState(jid.MustParse("tea@muc.qun.test"), "bridge")
	r.phase = roomJoined
	r.goLive()
	r.occupants["Alice"] = occupant{jid: "alice@qun.test", role: "participant"}
	r.occupants["Bob"] = occupant{role: "participant"}
	ids := newIDTable(8)
	ids.add(&msgRecord{user: "alice@qun.test", nick: "Alice", msgID: "a1", stanzaID: "s1", canonical: "s1"})
	ids.add(&msgRecord{user: selfUser, nick: "bridge", msgID: "qun-e1", stanzaID: "s2", canonical: "s2"})
	return r, ids
}

// FuzzStanza: any bytes the server sends as a stanza decode or fail to,
// never panic; what a room makes of a message or a presence keeps to the
// room, valid UTF-8, a retraction without text, and the connector's own
// messages never come out.
//
//	go test -run '^$' -fuzz FuzzStanza -fuzztime 60s ./bridge/xmpp/
func FuzzStanza(f *testing.F) {
	f.Add([]byte(`<message type='groupchat' from='tea@muc.qun.test/Alice' id='a2'><body>hi</body></message>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, ids := fuzzRoom()
		var m inMessage
		if parseStanza(data, &m) == nil {
			nick := ""
			if j, err := jid.Parse(m.From); err == nil {
				nick = j.Resourcepart()
			}
			in, own, _ := r.groupchat(ids, nick, &m)
			if in != nil {
				if in.Channel != r.key || !utf8.ValidString(in.Text) || (in.Deletes != "" && in.Text != "") || in.User == selfUser {
					t.Fatalf("groupchat %+v", in)
				}
				if nick == "bridge" {
					t.Fatalf("our own message came out: %+v", in)
				}
			}
			if own != "" && nick != "bridge" {
				t.Fatalf("a message of %q taken for ours", nick)
			}
			if in := r.private(nick, &m); in != nil && (!in.Invite || in.Text != "" || in.Channel != r.key) {
				t.Fatalf("private %+v", in)
			}
		}
		var p inPresence
		if parseStanza(data, &p) == nil {
			nick := ""
			if j, err := jid.Parse(p.From); err == nil {
				nick = j.Resourcepart()
			}
			r.presence(nick, &p)
			if r.phase == roomLive {
				select {
				case <-r.liveCh:
				default:
					t.Fatal("live, but liveCh is open")
				}
			}
		}
	})
}

// FuzzStripFallback: whatever the ranges, the result is the body or a
// part of its characters, never a panic.
//
//	go test -run '^$' -fuzz FuzzStripFallback -fuzztime 30s ./bridge/xmpp/
func FuzzStripFallback(f *testing.F) {
	f.Add("> Alice: hi\nhello", "0", "12", "", "")
	f.Add("é😀x", "1", "2", "0", "3")
	f.Add("abc", "-1", "9", "2", "1")
	f.Fuzz(func(t *testing.T, body, s1, e1, s2, e2 string) {
		out := stripFallback(body, [][2]string{{s1, e1}, {s2, e2}})
		if out == body {
			return
		}
		if utf8.ValidString(body) && !utf8.ValidString(out) {
			t.Fatalf("%q → %q: invalid UTF-8", body, out)
		}
		if utf8.RuneCountInString(out) >= utf8.RuneCountInString(body) || out == "" {
			t.Fatalf("%q → %q", body, out)
		}
		rest := []rune(body)
		for _, r := range out {
			i := strings.IndexRune(string(rest), r)
			if i < 0 {
				t.Fatalf("%q → %q: %q is not from the body", body, out, r)
			}
			rest = []rune(string(rest)[i+utf8.RuneLen(r):])
		}
	})
}
