package protocol

import (
	"strings"
	"testing"
)

// relay is a message kBridge relays for p.
func relay(p *Bridged, text string) *MessageBody { return &MessageBody{Text: text, Bridged: p} }

// TestBridgedPeople: the group's moderation of people of other networks,
// enforced by the rules (so by the host, and by every replica), whatever
// the bridge that relays them does.
func TestBridgedPeople(t *testing.T) {
	h := newGroup(t)
	alice := &Bridged{Network: "irc", User: "alice", Name: "Alice"}
	bob := &Bridged{Network: "matrix", User: "@bob:example.org"}
	carol := &Bridged{Network: "xmpp", User: "carol@example.org"}
	aliceID, bobID, carolID := alice.ID(kBridge.ID()), bob.ID(kBridge.ID()), carol.ID(kBridge.ID())

	// Only a member with the bridge role attributes.
	h.refuse(kMember, relay(alice, "hi"), ErrForbidden)
	h.refuse(kAdmin, relay(alice, "hi"), ErrForbidden)
	first := h.must(kBridge, relay(alice, "hi from IRC")).Seq
	if p := h.st.Bridged[aliceID]; p == nil || p.First != first || p.Name != "Alice" || p.Bridge != kBridge.ID() || p.Network != "irc" || p.User != "alice" {
		t.Fatalf("alice in the state: %+v", p)
	}
	renamed := *alice
	renamed.Name = "Alice W."
	h.must(kBridge, relay(&renamed, "new name"))
	if p := h.st.Bridged[aliceID]; p.First != first || p.Name != "Alice W." {
		t.Fatalf("alice after a new name: %+v", p)
	}
	h.must(kBridge, relay(bob, "hi from Matrix"))

	// Mute: alice is refused, bob is not; unmute lifts it.
	h.must(kAdmin, &MuteBody{Member: aliceID, Until: h.now + 600_000})
	h.refuse(kBridge, relay(alice, "still here"), ErrMuted)
	h.must(kBridge, relay(bob, "bob is fine"))
	h.refuse(kAdmin, NewMemberBody(KindUnmute, bobID, ""), ErrConflict)
	h.must(kAdmin, NewMemberBody(KindUnmute, aliceID, ""))
	h.must(kBridge, relay(alice, "unmuted"))
	h.refuse(kMember, &MuteBody{Member: aliceID}, ErrForbidden) // members do not moderate

	// Kick: removed until an admin approves them again.
	h.must(kAdmin, NewMemberBody(KindKick, aliceID, "spam"))
	h.refuse(kAdmin, NewMemberBody(KindKick, aliceID, ""), ErrConflict)
	h.refuse(kBridge, relay(alice, "let me in"), ErrNotMember)
	h.refuse(kAdmin, NewMemberBody(KindReject, aliceID, ""), ErrNotFound)
	h.must(kAdmin, NewMemberBody(KindApprove, aliceID, ""))
	h.refuse(kAdmin, NewMemberBody(KindApprove, aliceID, ""), ErrConflict)
	h.must(kBridge, relay(alice, "back"))

	// Ban: also before they ever spoke; unban lifts it.
	h.must(kOwner, NewMemberBody(KindBan, carolID, "spam elsewhere"))
	h.refuse(kBridge, relay(carol, "hello"), ErrBanned)
	if h.st.Bridged[carolID] != nil {
		t.Fatal("a refused message admitted carol")
	}
	h.must(kOwner, NewMemberBody(KindUnban, carolID, ""))
	h.must(kBridge, relay(carol, "hello"))

	// The same person through another bridge is another identity: a bridge
	// speaks for its own relays only.
	h.must(kOwner, &RoleBody{Member: kMember2.ID(), Role: RoleBridge})
	h.must(kOwner, NewMemberBody(KindBan, aliceID, ""))
	h.refuse(kBridge, relay(alice, "banned here"), ErrBanned)
	h.must(kMember2, relay(alice, "via the second bridge"))
	if alice.ID(kMember2.ID()) == aliceID {
		t.Fatal("two bridges give one identity")
	}

	// The bridge's own standing covers everyone it relays.
	h.must(kOwner, &MuteBody{Until: h.now + 60_000}) // everyone below admin
	h.refuse(kBridge, relay(bob, "during the mute"), ErrMuted)
	h.must(kOwner, NewMemberBody(KindUnmute, UserID{}, ""))
	h.must(kAdmin, NewMemberBody(KindKick, kBridge.ID(), ""))
	h.refuse(kBridge, relay(bob, "after the bridge left"), ErrNotMember)
}

// TestBridgedLimit: a group holds at most MaxBridged people of other
// networks; the ones it holds go on speaking.
func TestBridgedLimit(t *testing.T) {
	h := newGroup(t)
	known := &Bridged{Network: "irc", User: "known"}
	h.must(kBridge, relay(known, "hi"))
	for i := 0; len(h.st.Bridged) < MaxBridged; i++ {
		p := Bridged{Network: "irc", User: "u" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + itoa(i)}
		h.st.Bridged[p.ID(kBridge.ID())] = &BridgedPerson{Bridge: kBridge.ID(), Network: p.Network, User: p.User, First: 2}
	}
	h.refuse(kBridge, relay(&Bridged{Network: "irc", User: "newcomer"}, "hi"), ErrGroupFull)
	h.must(kBridge, relay(known, "still here"))
}

func itoa(i int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		if i /= 10; i == 0 {
			return string(b)
		}
	}
}

// TestBridgedDecode: the shape of message field 8.
func TestBridgedDecode(t *testing.T) {
	cases := []struct {
		name string
		body []byte
		want *Error
	}{
		{"valid", relay(&Bridged{Network: "matrix", User: "@mei:example.org", Name: "梅"}, "hi").Encode(), nil},
		{"valid without name", relay(&Bridged{Network: "taobao-im", User: "12345"}, "hi").Encode(), nil},
		{"no network", cat(bf(1, []byte("hi")), bf(8, bf(2, []byte("mei")))), ErrInvalid},
		{"no user", cat(bf(1, []byte("hi")), bf(8, bf(1, []byte("irc")))), ErrInvalid},
		{"network in capitals", cat(bf(1, []byte("hi")), bf(8, cat(bf(1, []byte("IRC")), bf(2, []byte("mei"))))), ErrInvalid},
		{"network too long", cat(bf(1, []byte("hi")), bf(8, cat(bf(1, []byte(strings.Repeat("a", MaxNetworkBytes+1))), bf(2, []byte("mei"))))), ErrInvalid},
		{"user too long", cat(bf(1, []byte("hi")), bf(8, cat(bf(1, []byte("irc")), bf(2, []byte(strings.Repeat("m", MaxRemoteUserBytes+1)))))), ErrInvalid},
		{"user with a control character", cat(bf(1, []byte("hi")), bf(8, cat(bf(1, []byte("irc")), bf(2, []byte("me\x07i"))))), ErrInvalid},
		{"user not UTF-8", cat(bf(1, []byte("hi")), bf(8, cat(bf(1, []byte("irc")), bf(2, []byte{0xff})))), ErrInvalid},
		{"name with a leading space", cat(bf(1, []byte("hi")), bf(8, cat(bf(1, []byte("irc")), bf(2, []byte("mei")), bf(3, []byte(" Mei"))))), ErrInvalid},
		{"bridged as a varint", cat(bf(1, []byte("hi")), vf(8, 1)), ErrMalformed},
		{"a later field of Bridged", cat(bf(1, []byte("hi")), bf(8, cat(bf(1, []byte("irc")), bf(2, []byte("mei")), vf(4, 1)))), ErrUpgradeNeeded},
	}
	for _, tc := range cases {
		b, err := DecodeBody(KindMessage, tc.body)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			} else if m := b.(*MessageBody); m.Bridged == nil || string(m.Encode()) != string(tc.body) {
				t.Errorf("%s: not canonical or lost: %+v", tc.name, m.Bridged)
			}
			continue
		}
		if err == nil || AsError(err).Code != tc.want.Code {
			t.Errorf("%s: got %v, want %s", tc.name, err, tc.want.Code)
		}
	}
	if BridgedID(kBridge.ID(), "irc", "alice") == BridgedID(kBridge.ID(), "irc", "alic") ||
		BridgedID(kBridge.ID(), "ir", "calice") == BridgedID(kBridge.ID(), "irc", "alice") {
		t.Fatal("bridged IDs collide across the network/user boundary")
	}
}

// TestBridgedRecall: a bridge recalls what it relayed for a person of
// another network at any time (they deleted it there: a Matrix redaction,
// an XMPP retraction); its own messages keep the recall window, and it
// recalls nobody else's.
func TestBridgedRecall(t *testing.T) {
	h := newGroup(t)
	relayed := h.must(kBridge, relay(&Bridged{Network: "matrix", User: "@mei:example.org"}, "wrong room")).Seq
	own := h.must(kBridge, msg("bridge is up")).Seq
	h.now += uint64(RecallWindow.Milliseconds()) + 1
	h.refuse(kBridge, NewTargetBody(KindRecall, own), ErrRecallWindow)
	h.refuse(kBridge, NewTargetBody(KindRecall, h.msgMember), ErrForbidden)
	h.must(kBridge, NewTargetBody(KindRecall, relayed))
	// A member who is no longer a bridge has the window again.
	late := h.must(kBridge, relay(&Bridged{Network: "irc", User: "alice"}, "hi")).Seq
	h.must(kOwner, &RoleBody{Member: kBridge.ID(), Role: RoleMember})
	h.now += uint64(RecallWindow.Milliseconds()) + 1
	h.refuse(kBridge, NewTargetBody(KindRecall, late), ErrRecallWindow)
}
