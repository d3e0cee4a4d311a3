package xmpp

import (
	"fmt"
	"testing"

	"mellium.im/xmpp/jid"
)

const testRoom = "tea@muc.qun.test"

func mustParse(t *testing.T, v any, xml string) {
	t.Helper()
	if err := parseStanza([]byte(xml), v); err != nil {
		t.Fatalf("%v: %s", err, xml)
	}
}

func groupchat(t *testing.T, r *roomState, ids *idTable, nick, xml string) (text, id, own string, deliver bool) {
	t.Helper()
	var m inMessage
	mustParse(t, &m, xml)
	in, own, _ := r.groupchat(ids, nick, &m)
	if in == nil {
		return "", "", own, false
	}
	return in.Text, in.ID, own, true
}

func presence(t *testing.T, r *roomState, nick, xml string) string {
	t.Helper()
	var p inPresence
	mustParse(t, &p, xml)
	return r.presence(nick, &p)
}

// TestJoinPhases: nothing comes through before our own presence and the
// subject; after, live messages do, but not delayed ones or our own; a
// kick takes the room out again.
func TestJoinPhases(t *testing.T) {
	r := newRoomState(jid.MustParse(testRoom), "bridge")
	ids := newIDTable(16)
	joined, left := r.startJoin()
	msg := func(id, body string) string {
		return fmt.Sprintf(`<message type='groupchat' id='%s'><body>%s</body></message>`, id, body)
	}
	if _, _, _, ok := groupchat(t, r, ids, "alice", msg("1", "before joining")); ok {
		t.Fatal("delivered before joining")
	}
	presence(t, r, "alice", `<presence><x xmlns='http://jabber.org/protocol/muc#user'><item jid='alice@qun.test/phone' role='participant'/></x></presence>`)
	if note := presence(t, r, "bridge_x", `<presence><x xmlns='http://jabber.org/protocol/muc#user'><item role='moderator'/><status code='110'/><status code='210'/></x></presence>`); note == "" {
		t.Fatal("no note of the join")
	}
	if err := <-joined; err != nil || r.nick != "bridge_x" || r.phase != roomJoined {
		t.Fatalf("join: %v, nick %q, phase %v", err, r.nick, r.phase)
	}
	if _, _, _, ok := groupchat(t, r, ids, "alice", msg("2", "history without delay")); ok {
		t.Fatal("history delivered")
	}
	groupchat(t, r, ids, "", `<message type='groupchat'><subject/></message>`)
	select {
	case <-r.liveCh:
	default:
		t.Fatal("not live after the subject")
	}
	if text, id, _, ok := groupchat(t, r, ids, "alice", msg("3", "live")); !ok || text != "live" || id != "3" {
		t.Fatalf("live: %q %q %v", text, id, ok)
	}
	if _, _, _, ok := groupchat(t, r, ids, "alice", `<message type='groupchat' id='4'><body>late</body><delay xmlns='urn:xmpp:delay' stamp='2024-01-01T00:00:00Z'/></message>`); ok {
		t.Fatal("a delayed message delivered")
	}
	if _, _, own, ok := groupchat(t, r, ids, "bridge_x", `<message type='groupchat' id='qun-1'><body>ours</body><origin-id xmlns='urn:xmpp:sid:0' id='qun-1'/></message>`); ok || own != "qun-1" {
		t.Fatalf("our own: delivered %v, own %q", ok, own)
	}
	if r.userOf("alice") != "alice@qun.test" {
		t.Fatalf("userOf %q", r.userOf("alice"))
	}
	if nick, real := r.occupant("alice@qun.test/other"); nick != "alice" || real != "alice@qun.test" {
		t.Fatalf("occupant %q %q", nick, real)
	}

	presence(t, r, "bridge_x", `<presence type='unavailable'><x xmlns='http://jabber.org/protocol/muc#user'><item role='none'/><status code='307'/><status code='110'/></x></presence>`)
	select {
	case <-left:
	default:
		t.Fatal("not out after the kick")
	}
	if r.phase != roomOut {
		t.Fatalf("phase %v", r.phase)
	}
	if _, _, _, ok := groupchat(t, r, ids, "alice", msg("5", "after the kick")); ok {
		t.Fatal("delivered after the kick")
	}

	joined, _ = r.startJoin()
	presence(t, r, "bridge_x", `<presence type='error'><error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`)
	if err, ok := (<-joined).(*RefusedError); !ok || err.Condition != "conflict" {
		t.Fatalf("join error %v", err)
	}
}

// TestIDTable: corrections and retractions resolve to the ID the gateway
// knows, only for their own sender; unknown ids pass as they are; the
// oldest are forgotten.
func TestIDTable(t *testing.T) {
	ids := newIDTable(3)
	ids.add(&msgRecord{user: "alice", nick: "Alice", msgID: "a1", stanzaID: "s1", canonical: "s1"})
	ids.add(&msgRecord{user: "bob", nick: "Bob", msgID: "a1", canonical: "a1"}) // the same id, chosen by another client
	ids.add(&msgRecord{user: selfUser, nick: "bridge", msgID: "qun-1", stanzaID: "s3", canonical: "s3"})
	for _, tc := range []struct {
		id, user    string
		stanzaFirst bool
		want        string
		ok          bool
	}{
		{"a1", "alice", false, "s1", true},
		{"a1", "bob", false, "a1", true},
		{"s1", "alice", true, "s1", true},
		{"s1", "bob", true, "", false},
		{"a1", "carol", false, "", false},
		{"unknown", "carol", true, "unknown", true},
		{"", "alice", true, "", false},
	} {
		got, ok := ids.resolve(tc.id, tc.user, tc.stanzaFirst)
		if got != tc.want || ok != tc.ok {
			t.Errorf("resolve(%q, %q) = %q, %v; want %q, %v", tc.id, tc.user, got, ok, tc.want, tc.ok)
		}
	}
	if got := ids.reference("a1", "Bob"); got != "a1" {
		t.Errorf("reference %q", got)
	}
	if r := ids.own("s3"); r == nil || r.msgID != "qun-1" {
		t.Errorf("own %+v", r)
	}
	if r := ids.own("s1"); r != nil {
		t.Errorf("own of Alice's: %+v", r)
	}
	ids.add(&msgRecord{user: "dan", msgID: "d1", canonical: "d1"}) // forgets Alice's
	if _, ok := ids.byStanza["s1"]; ok || len(ids.byMsg["a1"]) != 1 {
		t.Errorf("not forgotten: %v %v", ids.byStanza, ids.byMsg["a1"])
	}
	if got, ok := ids.resolve("s1", "bob", true); got != "s1" || !ok {
		t.Errorf("after forgetting: %q %v", got, ok)
	}
}
