package matrix

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/qunchat/qun/bridge"
)

// TestMessagesBothWays: what people write comes in with its event ID,
// sender and display name (a change of name followed), emotes and
// notices, !invite as is; what the gateway sends goes out as "Author:
// text" with HTML, a notice as m.notice, a private answer with a mention,
// a picture as an m.image; the bot's own events never come back. The
// room is configured by its alias.
func TestMessagesBothWays(t *testing.T) {
	e := newEnv(t)
	c := e.connector(t.TempDir(), e.alias)
	r := run(t, c)
	r.connected()
	ctx := ctxT(t)

	// In.
	eid := e.alice.text("hello from matrix")
	m := r.next()
	if m.Channel != e.alias || m.ID != string(eid) || m.User != string(e.alice.id) || m.Name != "Alice A." ||
		m.Text != "hello from matrix" || m.ReplyTo != "" || m.Edits != "" || m.Deletes != "" {
		t.Fatalf("in: %+v", m)
	}
	e.carol.send(&event.MessageEventContent{MsgType: event.MsgEmote, Body: "waves"})
	if m := r.next(); m.Text != "/me waves" || m.User != string(e.carol.id) || m.Name != "carol" {
		t.Fatalf("emote: %+v", m)
	}
	e.alice.send(&event.MessageEventContent{MsgType: event.MsgNotice, Body: "a notice"})
	if m := r.next(); m.Text != "a notice" {
		t.Fatalf("notice: %+v", m)
	}
	e.alice.text("!invite")
	if m := r.next(); m.Text != "!invite" || m.User != string(e.alice.id) {
		t.Fatalf("!invite: %+v", m)
	}
	if err := e.carol.cli.SetDisplayName(ctx, "Carol C."); err != nil {
		t.Fatal(err)
	}
	e.carol.text("renamed")
	if m := r.next(); m.Text != "renamed" || m.Name != "Carol C." {
		t.Fatalf("after a new display name: %+v", m)
	}

	// Out.
	sid, err := c.Send(ctx, e.alias, bridge.Outbound{Event: "ev1", Author: "Bob", Text: "hi <all>\nsecond line"})
	if err != nil {
		t.Fatal(err)
	}
	ev := e.alice.event(id.EventID(sid))
	if ev.Sender != e.bot.id || ev.Content.Raw["msgtype"] != "m.text" || ev.Content.Raw["body"] != "Bob: hi <all>\nsecond line" ||
		ev.Content.Raw["formatted_body"] != "<strong>Bob</strong>: hi &lt;all&gt;<br>second line" {
		t.Fatalf("out: %s %v", ev.Sender, ev.Content.Raw)
	}
	// A retry of the same Qun event is the same Matrix event.
	again, err := c.Send(ctx, e.alias, bridge.Outbound{Event: "ev1", Author: "Bob", Text: "hi <all>\nsecond line"})
	if err != nil || again != sid {
		t.Fatalf("a retry: %q, %v; want %q", again, err, sid)
	}
	nid, err := c.Send(ctx, e.alias, bridge.Outbound{Event: "ev2", Kind: bridge.OutNotice, Text: "Bob pinned a message"})
	if err != nil {
		t.Fatal(err)
	}
	if ev := e.alice.event(id.EventID(nid)); ev.Content.Raw["msgtype"] != "m.notice" || ev.Content.Raw["body"] != "Bob pinned a message" {
		t.Fatalf("notice out: %v", ev.Content.Raw)
	}
	cid, err := c.Send(ctx, e.alias, bridge.Outbound{Event: "ev3", Kind: bridge.OutCorrection, Author: "Bob", Text: "fixed"})
	if err != nil {
		t.Fatal(err)
	}
	if ev := e.alice.event(id.EventID(cid)); ev.Content.Raw["body"] != "Bob: (edit) fixed" {
		t.Fatalf("correction out: %v", ev.Content.Raw)
	}
	var img bytes.Buffer
	pic := image.NewGray(image.Rect(0, 0, 21, 21))
	pic.Set(3, 3, color.White)
	png.Encode(&img, pic)
	pid, err := c.Send(ctx, e.alias, bridge.Outbound{Event: "ev4", Kind: bridge.OutNotice, To: string(e.carol.id),
		Text: "your invite: https://qun.example/join#x", Image: &bridge.Image{Name: "invite.png", Mime: "image/png", Data: img.Bytes()}})
	if err != nil {
		t.Fatal(err)
	}
	ev = e.alice.event(id.EventID(pid))
	if body, _ := ev.Content.Raw["body"].(string); body != "Carol C.: your invite: https://qun.example/join#x" {
		t.Fatalf("to carol: %v", ev.Content.Raw)
	}
	if ms, _ := ev.Content.Raw["m.mentions"].(map[string]any); fmt.Sprint(ms["user_ids"]) != "["+string(e.carol.id)+"]" {
		t.Fatalf("to carol: mentions %v", ev.Content.Raw["m.mentions"])
	}
	var picture *event.Event
	waitFor(t, "the picture", func() bool {
		msgs, err := e.alice.cli.Messages(ctx, e.room, "", "", mautrix.DirectionBackward, nil, 10)
		if err != nil {
			return false
		}
		for _, ev := range msgs.Chunk {
			if ev.Content.Raw["msgtype"] == "m.image" {
				picture = ev
				return true
			}
		}
		return false
	})
	url, _ := picture.Content.Raw["url"].(string)
	mxc, err := id.ParseContentURI(url)
	if err != nil {
		t.Fatalf("picture: %v: %v", picture.Content.Raw, err)
	}
	got, err := e.alice.cli.DownloadBytes(ctx, mxc)
	if err != nil || !bytes.Equal(got, img.Bytes()) {
		t.Fatalf("the picture downloaded: %d bytes, %v; want %d", len(got), err, img.Len())
	}

	// The bot's own events (also from another client of the bot) never
	// come in: the next is alice's.
	e.bot.text("the bot's own, from elsewhere")
	e.alice.text("after the bot")
	if m := r.next(); m.Text != "after the bot" {
		t.Fatalf("after the bot's messages: %+v", m)
	}
	if st := c.Status(); !st.Connected || st.Since.IsZero() || st.LastError != "" {
		t.Fatalf("status: %+v", st)
	}
}

// TestRepliesEditsRedactions: replies, edits and redactions both ways.
func TestRepliesEditsRedactions(t *testing.T) {
	e := newEnv(t)
	c := e.connector(t.TempDir(), string(e.room))
	r := run(t, c)
	r.connected()
	ctx := ctxT(t)
	ch := string(e.room)

	q := e.alice.text("a question")
	if m := r.next(); m.ID != string(q) || m.Channel != ch {
		t.Fatalf("in: %+v", m)
	}
	// Out: a native reply with the quote fallback.
	aid, err := c.Send(ctx, ch, bridge.Outbound{Event: "a1", Author: "Bob", Text: "the answer", ReplyTo: string(q),
		Quote: &bridge.Quote{Author: "Alice A.", Text: "a question"}})
	if err != nil {
		t.Fatal(err)
	}
	ev := e.alice.event(id.EventID(aid))
	var content event.MessageEventContent
	if err := ev.Content.ParseRaw(ev.Type); err != nil {
		t.Fatal(err)
	}
	content = *ev.Content.AsMessage()
	if content.RelatesTo.GetReplyTo() != q || content.Body != "> <Alice A.> a question\n\nBob: the answer" ||
		!strings.HasPrefix(content.FormattedBody, "<mx-reply><blockquote>") {
		t.Fatalf("reply out: %+v %q %q", content.RelatesTo, content.Body, content.FormattedBody)
	}
	// In: a reply to the bot's message, with its fallback.
	reply := &event.MessageEventContent{MsgType: event.MsgText, Body: "> <@bot:localhost> Bob: the answer\n\nthanks",
		Format: event.FormatHTML, FormattedBody: "<mx-reply><blockquote>Bob: the answer</blockquote></mx-reply>thanks"}
	reply.RelatesTo = (&event.RelatesTo{}).SetReplyTo(id.EventID(aid))
	rid := e.alice.send(reply)
	if m := r.next(); m.ID != string(rid) || m.Text != "thanks" || m.ReplyTo != aid {
		t.Fatalf("reply in: %+v", m)
	}

	// In: an edit.
	edit := &event.MessageEventContent{MsgType: event.MsgText, Body: "* a better question",
		NewContent: &event.MessageEventContent{MsgType: event.MsgText, Body: "a better question"}}
	edit.RelatesTo = (&event.RelatesTo{}).SetReplace(q)
	xid := e.alice.send(edit)
	if m := r.next(); m.ID != string(xid) || m.Edits != string(q) || m.Text != "a better question" || m.ReplyTo != "" {
		t.Fatalf("edit in: %+v", m)
	}
	// Out: an edit.
	if err := c.Edit(ctx, ch, aid, bridge.Outbound{Event: "a1e", Author: "Bob", Text: "a better answer"}); err != nil {
		t.Fatal(err)
	}
	var replaced *event.Event
	waitFor(t, "the edit", func() bool {
		msgs, err := e.alice.cli.Messages(ctx, e.room, "", "", mautrix.DirectionBackward, nil, 5)
		if err != nil {
			return false
		}
		for _, ev := range msgs.Chunk {
			if rel, _ := ev.Content.Raw["m.relates_to"].(map[string]any); rel != nil && rel["rel_type"] == "m.replace" && rel["event_id"] == aid {
				replaced = ev
				return true
			}
		}
		return false
	})
	if nc, _ := replaced.Content.Raw["m.new_content"].(map[string]any); replaced.Sender != e.bot.id || nc["body"] != "Bob: a better answer" ||
		replaced.Content.Raw["body"] != "* Bob: a better answer" {
		t.Fatalf("edit out: %v", replaced.Content.Raw)
	}

	// In: a redaction.
	gone := e.alice.text("regret")
	r.until(withText("regret"))
	red, err := e.alice.cli.RedactEvent(ctx, e.room, gone)
	if err != nil {
		t.Fatal(err)
	}
	if m := r.next(); m.Deletes != string(gone) || m.ID != string(red.EventID) || m.User != string(e.alice.id) || m.Text != "" {
		t.Fatalf("redaction in: %+v", m)
	}
	// Out: a redaction.
	if err := c.Delete(ctx, ch, aid); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, ch, aid); err != nil { // a retry
		t.Fatal(err)
	}
	waitFor(t, "the redaction", func() bool {
		ev, err := e.alice.cli.GetEvent(ctx, e.room, id.EventID(aid))
		return err == nil && ev.Unsigned.RedactedBecause != nil && ev.Content.Raw["body"] == nil
	})
	// None of the bot's own events (its edit, its redaction) came in.
	e.alice.text("end")
	if m := r.next(); m.Text != "end" {
		t.Fatalf("after the bot's edit and redaction: %+v", m)
	}
}

// TestNoHistory: on a first start nothing written before comes in, in a
// room the bot was in already and in one it is invited to.
func TestNoHistory(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	e.alice.text("before the bot joined")
	// A second room that the bot is already in.
	other, err := e.alice.cli.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.bot.cli.JoinRoom(ctx, string(other.RoomID), nil); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := e.alice.cli.SendText(ctx, other.RoomID, fmt.Sprint("old ", i)); err != nil {
			t.Fatal(err)
		}
	}
	c, err := New("matrix.hs", bridge.Matrix{Homeserver: e.d.URL(), User: string(e.bot.id), TokenFile: e.token},
		[]string{e.alias, string(other.RoomID)}, t.TempDir(), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	c.tune.pollTimeout = 5 * time.Second
	r := run(t, c)
	r.connected()
	e.alice.text("now in tea")
	if _, err := e.alice.cli.SendText(ctx, other.RoomID, "now in the other"); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for len(seen) < 2 {
		m := r.next()
		if m.Text != "now in tea" && m.Text != "now in the other" {
			t.Fatalf("history came in: %+v", m)
		}
		seen[m.Channel] = true
	}
	if !seen[e.alias] || !seen[string(other.RoomID)] {
		t.Fatalf("channels: %v", seen)
	}
}

// TestInviteLater: a room the bot is not invited to yet is joined as
// soon as the invite comes.
func TestInviteLater(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	later, err := e.alice.cli.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", RoomAliasName: "later"})
	if err != nil {
		t.Fatal(err)
	}
	c := e.connector(t.TempDir(), "#later:localhost")
	c.tune.rejoinEvery = time.Hour // the invite, not a retry, makes it join
	r := run(t, c)
	r.connected()
	if _, err := e.alice.cli.SendText(ctx, later.RoomID, "before the invite"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.alice.cli.InviteUser(ctx, later.RoomID, &mautrix.ReqInviteUser{UserID: e.bot.id}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the bot joined", func() bool {
		m, err := e.alice.cli.JoinedMembers(ctx, later.RoomID)
		_, in := m.Joined[e.bot.id]
		return err == nil && in
	})
	if _, err := e.alice.cli.SendText(ctx, later.RoomID, "after the invite"); err != nil {
		t.Fatal(err)
	}
	if m := r.next(); m.Text != "after the invite" || m.Channel != "#later:localhost" {
		t.Fatalf("in: %+v", m)
	}
}

// TestRestartConnector: a new connector on the same folder relays what
// was written while it was stopped, once, in order, and nothing it
// relayed before; with a timeline shorter than the gap, the gap is
// fetched.
func TestRestartConnector(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	ids := map[string]bool{}
	take := func(m bridge.Inbound) {
		t.Helper()
		if ids[m.ID] {
			t.Fatalf("came in twice: %+v", m)
		}
		ids[m.ID] = true
	}
	r1 := run(t, e.connector(dir, e.alias))
	r1.connected()
	for i := range 3 {
		e.alice.text(fmt.Sprint("first ", i))
	}
	for i := range 3 {
		if m := r1.next(); m.Text != fmt.Sprint("first ", i) {
			t.Fatalf("first run: %+v", m)
		}
	}
	for _, m := range r1.got {
		take(m)
	}
	r1.end()

	for i := range 4 {
		e.alice.text(fmt.Sprint("while stopped ", i))
	}
	r2 := run(t, e.connector(dir, e.alias))
	for i := range 4 {
		m := r2.next()
		take(m)
		if m.Text != fmt.Sprint("while stopped ", i) {
			t.Fatalf("second run: %+v", m)
		}
	}
	e.alice.text("live")
	if m := r2.next(); m.Text != "live" {
		t.Fatalf("second run, live: %+v", m)
	}
	r2.end()

	// A gap longer than the timeline: 25 messages, a timeline of 4.
	for i := range 25 {
		e.alice.text(fmt.Sprint("gap ", i))
	}
	c3 := e.connector(dir, e.alias)
	c3.tune.timelineLimit = 4
	r3 := run(t, c3)
	for i := range 25 {
		m := r3.next()
		take(m)
		if m.Text != fmt.Sprint("gap ", i) {
			t.Fatalf("after the gap, %d: %+v", i, m)
		}
	}
	e.alice.text("after the gap")
	if m := r3.next(); m.Text != "after the gap" {
		t.Fatalf("after the gap: %+v", m)
	}
}

// TestDendriteRestart: the homeserver restarts while alice writes: the
// connector connects again and nothing she wrote is missing or doubled;
// a Send during the outage succeeds when retried.
func TestDendriteRestart(t *testing.T) {
	e := newEnv(t)
	c := e.connector(t.TempDir(), e.alias)
	r := run(t, c)
	r.connected()
	const n = 30
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := range n {
			e.alice.text(fmt.Sprint("m ", i))
		}
	}()
	// Take the first few, then restart the server under the stream. A
	// message whose answer the restart cut off is sent again, and
	// Dendrite, which keeps transaction IDs in memory only, may make a
	// second event of it: a text may come twice, an event never.
	got := map[string]bool{} // texts
	ids := map[string]bool{}
	take := func(m bridge.Inbound) {
		if ids[m.ID] {
			t.Errorf("%s (%q) came in twice", m.ID, m.Text)
		}
		ids[m.ID], got[m.Text] = true, true
	}
	for range 5 {
		take(r.next())
	}
	e.d.Restart()
	for len(got) < n {
		take(r.next())
	}
	<-sent
	for i := range n {
		if !got[fmt.Sprint("m ", i)] {
			t.Errorf("m %d is missing", i)
		}
	}
	waitFor(t, "connected again", func() bool { return c.Status().Connected })

	// A Send while the server is down fails; retried (as the gateway
	// does) once it is back, it posts one message.
	e.d.Stop()
	ctx := ctxT(t)
	if _, err := c.Send(ctx, e.alias, bridge.Outbound{Event: "down", Author: "Bob", Text: "while down"}); err == nil {
		t.Fatal("a Send with the server down succeeded")
	}
	waitFor(t, "disconnected", func() bool { return !c.Status().Connected })
	if st := c.Status(); st.LastError == "" {
		t.Fatalf("status while down: %+v", st)
	}
	e.d.Start()
	var sid string
	waitFor(t, "the Send retried", func() bool {
		var err error
		sid, err = c.Send(ctx, e.alias, bridge.Outbound{Event: "down", Author: "Bob", Text: "while down"})
		return err == nil
	})
	if ev := e.alice.event(id.EventID(sid)); ev.Content.Raw["body"] != "Bob: while down" {
		t.Fatalf("after the outage: %v", ev.Content.Raw)
	}
	e.alice.text("after")
	r.until(withText("after"))
}

// TestKickBan: without the power level, kick and ban are refused with
// ErrUnsupported; with it, they kick and ban.
func TestKickBan(t *testing.T) {
	e := newEnv(t)
	c := e.connector(t.TempDir(), e.alias)
	r := run(t, c)
	r.connected()
	ctx := ctxT(t)
	membership := func(u id.UserID) string {
		var m event.MemberEventContent
		if err := e.alice.cli.StateEvent(ctx, e.room, event.StateMember, string(u), &m); err != nil {
			return ""
		}
		return string(m.Membership)
	}
	waitFor(t, "the bot in the room", func() bool { return membership(e.bot.id) == "join" })
	for _, ban := range []bool{false, true} {
		err := c.Kick(ctx, e.alias, string(e.carol.id), "spam", ban)
		if !errors.Is(err, bridge.ErrUnsupported) {
			t.Fatalf("ban=%v without the power level: %v", ban, err)
		}
	}
	if membership(e.carol.id) != "join" {
		t.Fatal("carol left")
	}
	if err := c.Kick(ctx, e.alias, "not a user", "", false); !errors.Is(err, bridge.ErrUnsupported) {
		t.Fatalf("kick of a bad user ID: %v", err)
	}
	// Alice gives the bot the moderator's level.
	var pl event.PowerLevelsEventContent
	if err := e.alice.cli.StateEvent(ctx, e.room, event.StatePowerLevels, "", &pl); err != nil {
		t.Fatal(err)
	}
	pl.SetUserLevel(e.bot.id, 50)
	if _, err := e.alice.cli.SendStateEvent(ctx, e.room, event.StatePowerLevels, "", &pl); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the kick", func() bool {
		err := c.Kick(ctx, e.alias, string(e.carol.id), "spam", false)
		return err == nil
	})
	if got := membership(e.carol.id); got != "leave" {
		t.Fatalf("carol after the kick: %q", got)
	}
	if _, err := e.carol.cli.JoinRoom(ctx, e.alias, nil); err != nil {
		t.Fatalf("carol joining again: %v", err)
	}
	if err := c.Kick(ctx, e.alias, string(e.carol.id), "spam again", true); err != nil {
		t.Fatalf("ban: %v", err)
	}
	if got := membership(e.carol.id); got != "ban" {
		t.Fatalf("carol after the ban: %q", got)
	}
	if _, err := e.carol.cli.JoinRoom(ctx, e.alias, nil); err == nil {
		t.Fatal("carol joined after the ban")
	}
	// The bot cannot kick alice, of a higher level: refused.
	if err := c.Kick(ctx, e.alias, string(e.alice.id), "", false); !errors.Is(err, bridge.ErrUnsupported) {
		t.Fatalf("kick of the room's admin: %v", err)
	}
	// Kicked itself, the bot joins again (the room is public) and goes on.
	if _, err := e.alice.cli.KickUser(ctx, e.room, &mautrix.ReqKickUser{UserID: e.bot.id, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the bot back in the room", func() bool { return membership(e.bot.id) == "join" })
	e.alice.text("after the bot's kick")
	if _, m := r.until(withText("after the bot's kick")); m.User != string(e.alice.id) {
		t.Fatalf("after the bot's kick: %+v", m)
	}
}

// TestBadInput: a client that sends what it likes (huge bodies, control
// characters, lone surrogates, fields of the wrong types) neither stops
// nor holds up the connector; what decodes is handed on as is, for the
// gateway to judge.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	c := e.connector(t.TempDir(), e.alias)
	r := run(t, c)
	r.connected()
	huge := strings.Repeat("x", 60000)
	bad := []string{
		`{"msgtype":"m.text","body":"nul \u0000 esc \u001b[31m bell \u0007"}`,
		`{"msgtype":"m.text","body":"lone \ud800 surrogate"}`,
		`{"msgtype":"m.text","body":"` + huge + `"}`,
		`{"msgtype":"m.text","body":5}`,
		`{"msgtype":7,"body":"a number for a type"}`,
		`{"msgtype":"m.text","body":"relates to a string","m.relates_to":"x"}`,
		`{"msgtype":"m.text","body":"reply to a string","m.relates_to":{"m.in_reply_to":"x"}}`,
		`{"msgtype":"m.text","body":"* edit","m.relates_to":{"rel_type":"m.replace","event_id":"$x"},"m.new_content":7}`,
		`{"msgtype":"m.text","body":"* edit of nothing","m.relates_to":{"rel_type":"m.replace"}}`,
		`{"msgtype":"m.text"}`,
		`{}`,
		`{"msgtype":"m.text","body":"deep","x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
		"{\"msgtype\":\"m.text\",\"body\":\"invalid \xff\xfe UTF-8\"}",
	}
	for _, b := range bad {
		status, out := e.alice.rawPut(e.d, "m.room.message", b)
		t.Logf("%.60q: %d %.100s", b, status, out)
	}
	for _, b := range []string{`{}`, `{"redacts":5}`, `{"redacts":"$nothing:localhost"}`} {
		status, out := e.alice.rawPut(e.d, "m.room.redaction", b)
		t.Logf("redaction %s: %d %.100s", b, status, out)
	}
	e.alice.text("after the bad input")
	// All of it, in any order: Dendrite 0.13.8 may put the message after
	// such events before them in its sync.
	wants := []string{"nul \x00 esc \x1b[31m bell \x07", "lone \ufffd surrogate", huge, "* edit of nothing", "deep", "after the bad input"}
	r.collect(func(all []bridge.Inbound) bool {
		for _, w := range wants {
			if !slices.ContainsFunc(all, func(m bridge.Inbound) bool { return m.Text == w }) {
				return false
			}
		}
		return true
	})
	if st := c.Status(); !st.Connected {
		t.Fatalf("status: %+v", st)
	}
	// A display name with control characters comes in as is too.
	if err := e.carol.cli.SetDisplayName(ctxT(t), "Carol\u0000\u202e"); err != nil {
		t.Logf("a display name with control characters: %v", err)
	}
	e.carol.text("named oddly")
	if _, m := r.until(withText("named oddly")); m.User != string(e.carol.id) {
		t.Fatalf("%+v", m)
	}
}

// TestBadToken: a token the server does not know stops Run with an
// error; New refuses what cannot work.
func TestBadToken(t *testing.T) {
	e := newEnv(t)
	if err := os.WriteFile(e.token, []byte("not-a-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := e.connector(t.TempDir(), e.alias)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	err := c.Run(ctx, make(chan bridge.Inbound))
	if err == nil || ctx.Err() != nil || !errors.Is(err, mautrix.MUnknownToken) {
		t.Fatalf("Run with a bad token: %v", err)
	}
	if st := c.Status(); st.Connected || st.LastError == "" {
		t.Fatalf("status: %+v", st)
	}
	// Another user's token.
	if err := os.WriteFile(e.token, []byte(e.alice.tok), 0o600); err != nil {
		t.Fatal(err)
	}
	c = e.connector(t.TempDir(), e.alias)
	if err := c.Run(ctx, make(chan bridge.Inbound)); err == nil || !strings.Contains(err.Error(), string(e.alice.id)) {
		t.Fatalf("Run with alice's token: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	for _, cfg := range []bridge.Matrix{
		{Homeserver: e.d.URL(), User: "bot", TokenFile: e.token},
		{Homeserver: "ftp://x", User: string(e.bot.id), TokenFile: e.token},
		{Homeserver: e.d.URL(), User: string(e.bot.id), TokenFile: empty},
		{Homeserver: e.d.URL(), User: string(e.bot.id), TokenFile: filepath.Join(t.TempDir(), "missing")},
	} {
		if _, err := New("matrix.hs", cfg, []string{e.alias}, t.TempDir(), nil); err == nil {
			t.Errorf("New(%+v) made a connector", cfg)
		}
	}
	if _, err := New("matrix.hs", bridge.Matrix{Homeserver: e.d.URL(), User: string(e.bot.id), TokenFile: e.token},
		[]string{"tea"}, t.TempDir(), nil); err == nil {
		t.Error("New with the channel \"tea\" made a connector")
	}
}
