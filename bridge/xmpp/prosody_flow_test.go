package xmpp

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/bridge"
)

// stanzaIDOf is the room's stanza-id in a message someone got.
func stanzaIDOf(t *testing.T, g got, room string) string {
	t.Helper()
	id := g.msg.stanzaID(room)
	if id == "" {
		t.Fatalf("no stanza-id by %s in %s", room, g.raw)
	}
	return id
}

// TestMessages: messages both ways with their IDs, replies, corrections
// and retractions both ways; the connector's own messages never come
// back, a retried Send is not posted twice, and nobody corrects or
// retracts another's message.
func TestMessages(t *testing.T) {
	p := startProsody(t)
	room := newRoom("tea")
	c := p.connector("bridge", room) // first in: the owner, who sees real JIDs
	c.live(room)
	alice := p.user("alice")
	alice.join(room, "Alice", "")
	bob := p.user("bob")
	bob.join(room, "Bob", "")
	ctx := ctxT(t)

	// In: the room's stanza-id, the real JID, the nick.
	alice.say(room, "a1", "hello ✓", "")
	aliceCopy := alice.message(room, "hello")
	in := c.nextText("hello ✓")
	if want := stanzaIDOf(t, aliceCopy, room); in.ID != want || in.Channel != room || in.User != "alice@qun.test" || in.Name != "Alice" {
		t.Fatalf("got %+v, want ID %s from alice@qun.test (Alice) in %s", in, want, room)
	}
	helloID := in.ID

	// Out: "Author: text" with origin-id from the event; the ID returned
	// is the room's stanza-id as others see it; our copy is not delivered.
	id, err := c.Send(ctx, room, bridge.Outbound{Event: "ev1", Author: "Zoë (irc.libera)", Text: "hi\nthere"})
	if err != nil {
		t.Fatal(err)
	}
	g := alice.message(room, "Zoë")
	if g.msg.body() != "Zoë (irc.libera): hi\nthere" || g.msg.originID() != "qun-ev1" || g.msg.ID != "qun-ev1" || stanzaIDOf(t, g, room) != id {
		t.Fatalf("Send returned %q; Alice got %s", id, g.raw)
	}
	// A retry is not posted again, and returns the same ID.
	again, err := c.Send(ctx, room, bridge.Outbound{Event: "ev1", Author: "Zoë (irc.libera)", Text: "hi\nthere"})
	if err != nil || again != id {
		t.Fatalf("the retry returned %q, %v; want %q", again, err, id)
	}

	// A reply to our message, with its fallback quote: ReplyTo is our ID,
	// the quote is gone from the text.
	quote := "> Zoë (irc.libera): hi\n"
	alice.say(room, "a2", quote+"welcome", `<reply xmlns='urn:xmpp:reply:0' to='`+room+`/bridge' id='`+id+`'/>`+
		`<fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:reply:0'><body start='0' end='`+strconv.Itoa(len([]rune(quote)))+`'/></fallback>`)
	in = c.nextText("welcome") // not our own copy of ev1, not the retry: this
	if in.ReplyTo != id {
		t.Fatalf("got %+v, want ReplyTo %s", in, id)
	}
	welcomeID := in.ID

	// Our reply: XEP-0461 to Alice's message, the quote as its fallback.
	_, err = c.Send(ctx, room, bridge.Outbound{Event: "ev2", Author: "Bob", Text: "thanks", ReplyTo: welcomeID, Quote: &bridge.Quote{Author: "Alice", Text: "welcome"}})
	if err != nil {
		t.Fatal(err)
	}
	g = alice.message(room, "thanks")
	if g.msg.body() != "> Alice: welcome\nBob: thanks" || len(g.msg.Reply) != 1 || g.msg.Reply[0].ID != welcomeID || g.msg.Reply[0].To != room+"/Alice" ||
		len(g.msg.Fallbacks) != 1 || g.msg.Fallbacks[0].For != nsReply || len(g.msg.Fallbacks[0].Ranges) != 1 ||
		g.msg.Fallbacks[0].Ranges[0].Start != "0" || g.msg.Fallbacks[0].Ranges[0].End != "17" {
		t.Fatalf("Alice got %s", g.raw)
	}

	// Alice corrects her message by its id attribute: Edits is its ID.
	alice.say(room, "a3", "hello, all", `<replace xmlns='urn:xmpp:message-correct:0' id='a1'/>`)
	in = c.nextText("hello, all")
	if in.Edits != helloID {
		t.Fatalf("got %+v, want Edits %s", in, helloID)
	}
	// and again, correcting the correction's id (some clients do)
	alice.say(room, "a4", "hello, everyone", `<replace xmlns='urn:xmpp:message-correct:0' id='a3'/>`)
	if in = c.nextText("hello, everyone"); in.Edits != helloID {
		t.Fatalf("got %+v, want Edits %s", in, helloID)
	}

	// We correct ours: XEP-0308 naming its id attribute.
	if err := c.Edit(ctx, room, id, bridge.Outbound{Event: "ev3", Author: "Zoë (irc.libera)", Text: "hi, corrected"}); err != nil {
		t.Fatal(err)
	}
	g = alice.message(room, "hi, corrected")
	if len(g.msg.Replace) != 1 || g.msg.Replace[0].ID != "qun-ev1" {
		t.Fatalf("Alice got %s", g.raw)
	}
	// After a restart the table is empty: the original's event names the
	// id Send gave it.
	c.mu.Lock()
	kept := c.ids[room]
	c.ids[room] = newIDTable(maxRemembered)
	c.mu.Unlock()
	if err := c.Edit(ctx, room, id, bridge.Outbound{Event: "ev3b", Original: "ev1", Author: "Zoë (irc.libera)", Text: "hi, corrected again"}); err != nil {
		t.Fatal(err)
	}
	g = alice.message(room, "hi, corrected again")
	if len(g.msg.Replace) != 1 || g.msg.Replace[0].ID != "qun-ev1" {
		t.Fatalf("after a restart Alice got %s", g.raw)
	}
	c.mu.Lock()
	c.ids[room] = kept
	c.mu.Unlock()

	// Bob cannot correct or retract Alice's message; Alice retracts it
	// (XEP-0424, the room's stanza-id): Deletes is its ID.
	bob.say(room, "b1", "forged", `<replace xmlns='urn:xmpp:message-correct:0' id='a1'/>`)
	bob.send(`<message type='groupchat' to='%s' id='b2'><retract xmlns='urn:xmpp:message-retract:1' id='%s'/><body>forged retraction</body></message>`, room, helloID)
	bob.send(`<message type='groupchat' to='%s' id='b3'><apply-to xmlns='urn:xmpp:fasten:0' id='a1'><retract xmlns='urn:xmpp:message-retract:0'/></apply-to></message>`, room)
	alice.send(`<message type='groupchat' to='%s' id='a5'><retract xmlns='urn:xmpp:message-retract:1' id='%s'/><fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:message-retract:1'/><body>retracted</body></message>`, room, helloID)
	in = c.next()
	if in.Deletes != helloID || in.Text != "" || in.User != "alice@qun.test" {
		t.Fatalf("got %+v, want Deletes %s from Alice", in, helloID)
	}
	// the earlier form (XEP-0422 apply-to, the origin-id)
	alice.send(`<message type='groupchat' to='%s' id='a6'><apply-to xmlns='urn:xmpp:fasten:0' id='a2'><retract xmlns='urn:xmpp:message-retract:0'/></apply-to><body>retracted</body></message>`, room)
	if in = c.next(); in.Deletes != welcomeID {
		t.Fatalf("got %+v, want Deletes %s", in, welcomeID)
	}

	// We retract ours: both forms, and the fallback body.
	if err := c.Delete(ctx, room, id); err != nil {
		t.Fatal(err)
	}
	g = alice.message(room, "[message recalled]")
	for _, want := range []string{
		`<retract xmlns="urn:xmpp:message-retract:1" id="` + id + `">`,
		`<apply-to xmlns="urn:xmpp:fasten:0" id="qun-ev1"><retract xmlns="urn:xmpp:message-retract:0">`,
		`<fallback xmlns="urn:xmpp:fallback:0" for="urn:xmpp:message-retract:1">`,
		`<store xmlns="urn:xmpp:hints">`,
	} {
		if !strings.Contains(g.raw, want) {
			t.Errorf("Alice got %s\nwithout %s", g.raw, want)
		}
	}

	// Nothing else came: not our own copies, not the forgeries.
	bob.say(room, "b4", "the end", "")
	c.nextText("the end")
}

// TestNoHistory: what was said before the connector joined never comes
// through, though the room keeps it (a client asking for it gets it).
func TestNoHistory(t *testing.T) {
	p := startProsody(t)
	room := newRoom("history")
	alice := p.user("alice")
	alice.join(room, "Alice", "")
	for _, text := range []string{"old one", "old two", "old three"} {
		alice.say(room, "", text, "")
		alice.message(room, text)
	}
	bob := p.user("bob")
	bob.join(room, "Bob", "<history maxstanzas='10'/>")
	bob.message(room, "old three") // the room replays it to whoever asks

	c := p.connector("bridge", room)
	c.live(room)
	alice.say(room, "", "new", "")
	in := c.nextText("new")
	if in.User != "Alice" { // not an owner here: the room hides real JIDs
		t.Fatalf("got %+v, want the nick as User", in)
	}
}

// TestKick: the owner kicks (role none) and bans (affiliation outcast);
// a participant is refused with ErrForbidden; someone not there is
// ErrNoOccupant.
func TestKick(t *testing.T) {
	p := startProsody(t)
	room := newRoom("kick")
	c := p.connector("bridge", room)
	c.live(room)
	alice := p.user("alice")
	alice.join(room, "Alice", "")
	bob := p.user("bob")
	bob.join(room, "Bob", "")
	ctx := ctxT(t)
	// the connector has seen them both: the nick as User works, and the JID
	alice.say(room, "", "alice here", "")
	c.nextText("alice here")
	bob.say(room, "", "bob here", "")
	c.nextText("bob here")

	if err := c.Kick(ctx, room, "alice@qun.test", "spam", false); err != nil {
		t.Fatal(err)
	}
	g := alice.wait("kick", func(g got) bool { return g.pre != nil && g.pre.Type == "unavailable" && g.pre.From == room+"/Alice" })
	if !strings.Contains(g.raw, `code="307"`) || !strings.Contains(g.raw, "spam") {
		t.Fatalf("Alice got %s", g.raw)
	}
	if err := c.Kick(ctx, room, "Bob", "", true); err != nil {
		t.Fatal(err)
	}
	g = bob.wait("ban", func(g got) bool { return g.pre != nil && g.pre.Type == "unavailable" && g.pre.From == room+"/Bob" })
	if !strings.Contains(g.raw, `code="301"`) {
		t.Fatalf("Bob got %s", g.raw)
	}
	bob.send(`<presence to='%s/Bob'><x xmlns='http://jabber.org/protocol/muc'/></presence>`, room)
	g = bob.wait("refusal", func(g got) bool { return g.pre != nil && g.pre.Type == "error" })
	if !strings.Contains(g.raw, "forbidden") {
		t.Fatalf("Bob got %s", g.raw)
	}
	if err := c.Kick(ctx, room, "Nobody", "", false); !errors.Is(err, ErrNoOccupant) {
		t.Fatalf("kicking nobody: %v", err)
	}

	// In Carol's room, the connector is a participant.
	carol := p.user("carol")
	other := newRoom("carol")
	carol.join(other, "Carol", "")
	c2 := p.connector("bridge2", other)
	c2.live(other)
	carol.say(other, "", "my room", "")
	if in := c2.nextText("my room"); in.User != "Carol" {
		t.Fatalf("got %+v", in)
	}
	err := c2.Kick(ctx, other, "Carol", "", false)
	var re *RefusedError
	if !errors.Is(err, ErrForbidden) || !errors.As(err, &re) || re.Op != "kick" {
		t.Fatalf("kicking the owner as a participant: %v", err)
	}
	if err := c2.Kick(ctx, other, "Carol", "", true); !errors.Is(err, bridge.ErrUnsupported) {
		t.Fatalf("banning without the address: %v", err)
	}
	if err := c2.Kick(ctx, other, "carol@qun.test", "", true); !errors.Is(err, ErrForbidden) {
		t.Fatalf("banning as a participant: %v", err)
	}
}

// TestRestart: prosody stops mid-stream and starts again; the connector
// reconnects, joins again, and what is said after comes through; a Send
// while it is down waits for it to be back.
func TestRestart(t *testing.T) {
	p := startProsody(t)
	room := newRoom("restart")
	c := p.connector("bridge", room)
	c.live(room)
	alice := p.user("alice")
	alice.join(room, "Alice", "")
	alice.say(room, "", "before", "")
	c.nextText("before")

	p.Stop()
	waitFor(t, 15*time.Second, "the connector to notice", func() bool { return !c.Status().Connected })
	down := c.Status().Since
	sent := make(chan error, 1)
	go func() {
		_, err := c.Send(ctxT(t), room, bridge.Outbound{Event: "after", Text: "back"})
		sent <- err
	}()
	p.StartAgain()
	waitFor(t, 15*time.Second, "the connector to connect again", func() bool {
		s := c.Status()
		return s.Connected && s.Since.After(down) && s.LastError == ""
	})
	c.live(room)
	alice = p.connect("alice")
	alice.join(room, "Alice", "")
	select {
	case err := <-sent:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the Send made while down did not return")
	}
	alice.say(room, "", "after", "")
	c.nextText("after")
}

// TestInvite: !invite privately to the connector's occupant is an
// Invite for that person in that room, and the answer goes back
// privately; a direct message to the account is not.
func TestInvite(t *testing.T) {
	p := startProsody(t)
	room := newRoom("invite")
	c := p.connector("bridge", room)
	c.live(room)
	alice := p.user("alice")
	alice.join(room, "Alice", "")
	alice.send(`<message type='chat' to='bridge@qun.test'><body>!invite</body></message>`)
	alice.send(`<message type='chat' to='%s/bridge'><body>hello there</body><x xmlns='http://jabber.org/protocol/muc#user'/></message>`, room)
	alice.send(`<message type='chat' to='%s/bridge'><body> !INVITE please</body><x xmlns='http://jabber.org/protocol/muc#user'/></message>`, room)
	in := c.next()
	if !in.Invite || in.Channel != room || in.User != "alice@qun.test" || in.Name != "Alice" {
		t.Fatalf("got %+v", in)
	}
	id, err := c.Send(ctxT(t), room, bridge.Outbound{Kind: bridge.OutNotice, Text: "https://qun.example/join#token", To: in.User})
	if err != nil || id != "" {
		t.Fatalf("Send: %q, %v", id, err)
	}
	g := alice.wait("the answer", func(g got) bool { return g.msg != nil && g.msg.Type == "chat" })
	if g.msg.From != room+"/bridge" || g.msg.body() != "https://qun.example/join#token" {
		t.Fatalf("Alice got %s", g.raw)
	}
	if _, err := c.Send(ctxT(t), room, bridge.Outbound{Text: "x", To: "nobody@qun.test"}); !errors.Is(err, ErrNoOccupant) {
		t.Fatalf("to nobody: %v", err)
	}
	alice.say(room, "", "marker", "")
	c.nextText("marker")
}

// TestAuth: wrong credentials end Run with an *AuthError; an untrusted
// certificate is retried (it may be renewed), with the reason in Status.
func TestAuth(t *testing.T) {
	p := startProsody(t)
	p.Register("bridge", "right")
	c, err := New("xmpp.test", p.config("bridge", "wrong"), []string{newRoom("auth")}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	err = c.Run(ctx, make(chan bridge.Inbound))
	var ae *AuthError
	if !errors.As(err, &ae) || ae.Condition != "not-authorized" {
		t.Fatalf("Run: %v", err)
	}
	if s := c.Status(); s.Connected || !strings.Contains(s.LastError, "not-authorized") {
		t.Fatalf("status %+v", s)
	}

	cfg := p.config("bridge", "right")
	cfg.CAFile = ""
	c, err = New("xmpp.test", cfg, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	c.timing.backoffMin, c.timing.backoffMax = 20*time.Millisecond, 100*time.Millisecond
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(rctx, make(chan bridge.Inbound)) }()
	waitFor(t, 15*time.Second, "a certificate error", func() bool {
		return regexp.MustCompile(`certificate|x509`).MatchString(c.Status().LastError)
	})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
}

// TestKeepAlive: the connector pings the server and itself in each room
// (XEP-0410) when quiet; prosody passes the self-ping to the connector,
// which answers, so it stays in the room without joining again.
func TestKeepAlive(t *testing.T) {
	p := startProsody(t)
	room := newRoom("alive")
	p.Register("bridge", "pw-bridge")
	alice := p.user("alice")
	alice.join(room, "Alice", "")
	c, err := New("xmpp.test", p.config("bridge", "pw-bridge"), []string{room}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	c.timing.ping = 20 * time.Millisecond
	in := make(chan bridge.Inbound, 16)
	ctx, cancel := context.WithCancel(ctxT(t))
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, in) }()
	defer func() { cancel(); <-done }()
	alice.wait("the connector's join", func(g got) bool { return g.pre != nil && g.pre.From == room+"/bridge" })
	waitFor(t, 15*time.Second, "5 self-pings answered", func() bool { return c.selfPings.Load() >= 5 })
	alice.say(room, "", "still there?", "")
	select {
	case m := <-in:
		if m.Text != "still there?" {
			t.Fatalf("got %+v", m)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("nothing came")
	}
	for {
		select {
		case g := <-alice.got:
			if g.pre != nil && g.pre.From == room+"/bridge" {
				t.Fatalf("the connector joined again: %s", g.raw)
			}
			continue
		default:
		}
		break
	}
	if s := c.Status(); !s.Connected {
		t.Fatalf("status %+v", s)
	}
}
