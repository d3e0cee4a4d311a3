package matrix

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/qunchat/qun/bridge"
)

func TestRender(t *testing.T) {
	room := id.RoomID("!r:hs")
	for _, tc := range []struct {
		name       string
		m          bridge.Outbound
		to         *mention
		body, html string
		msgtype    string
		reply      string
	}{
		{name: "plain", m: bridge.Outbound{Author: "Bob", Text: "a < b & c\nnext"},
			body: "Bob: a < b & c\nnext", html: "<strong>Bob</strong>: a &lt; b &amp; c<br>next", msgtype: "m.text"},
		{name: "the bridge's notice", m: bridge.Outbound{Kind: bridge.OutNotice, Text: "pinned"},
			body: "pinned", msgtype: "m.notice"},
		{name: "a quote, not a reply here", m: bridge.Outbound{Author: "Bob", Text: "yes", Quote: &bridge.Quote{Author: "Ann", Text: "tea?\n  now"}},
			body: "> Ann: tea? now\nBob: yes", html: "<blockquote><strong>Ann</strong>: tea? now</blockquote><strong>Bob</strong>: yes", msgtype: "m.text"},
		{name: "a native reply", m: bridge.Outbound{Author: "Bob", Text: "yes", ReplyTo: "$q", Quote: &bridge.Quote{Author: "Ann", Text: "tea?"}},
			body: "> <Ann> tea?\n\nBob: yes", msgtype: "m.text", reply: "$q",
			html: `<mx-reply><blockquote><a href="https://matrix.to/#/!r:hs/$q">In reply to</a> <strong>Ann</strong><br>tea?</blockquote></mx-reply><strong>Bob</strong>: yes`},
		{name: "a correction", m: bridge.Outbound{Kind: bridge.OutCorrection, Author: "Bob", Text: "fixed\ntwice"},
			body: "Bob: (edit) fixed\nBob: (edit) twice", html: "Bob: (edit) fixed<br>Bob: (edit) twice", msgtype: "m.text"},
		{name: "to someone", m: bridge.Outbound{Kind: bridge.OutNotice, Text: "your link"}, to: &mention{user: "@c:hs", name: "C <3"},
			body: "C <3: your link", html: `<a href="https://matrix.to/#/@c:hs">C &lt;3</a>: your link`, msgtype: "m.notice"},
	} {
		c := render(tc.m, room, tc.to)
		if c.Body != tc.body || c.FormattedBody != tc.html || string(c.MsgType) != tc.msgtype || string(c.RelatesTo.GetReplyTo()) != tc.reply {
			t.Errorf("%s: %q %q %s %q", tc.name, c.Body, c.FormattedBody, c.MsgType, c.RelatesTo.GetReplyTo())
		}
		if c.Mentions == nil || (tc.to == nil) != (len(c.Mentions.UserIDs) == 0) {
			t.Errorf("%s: mentions %+v", tc.name, c.Mentions)
		}
	}
	e := renderEdit(bridge.Outbound{Author: "Bob", Text: "new", ReplyTo: "$q", Quote: &bridge.Quote{Author: "A", Text: "q"}}, room, "$m")
	if e.Body != "* Bob: new" || e.NewContent.Body != "Bob: new" || e.NewContent.RelatesTo != nil || e.RelatesTo.GetReplaceID() != "$m" {
		t.Errorf("edit: %+v %+v", e, e.NewContent)
	}
}

func TestInboundText(t *testing.T) {
	for _, tc := range []struct{ raw, text, reply, edits string }{
		{raw: `{"msgtype":"m.text","body":"> <@a:hs> q\n> more\n\nthe answer","m.relates_to":{"m.in_reply_to":{"event_id":"$q"}}}`,
			text: "the answer", reply: "$q"},
		{raw: `{"msgtype":"m.text","body":"> not a fallback","m.relates_to":{"m.in_reply_to":{"event_id":"$q"}}}`,
			text: "> not a fallback", reply: "$q"},
		{raw: `{"msgtype":"m.text","body":"> <@a:hs> q\n\nno reply, so kept"}`, text: "> <@a:hs> q\n\nno reply, so kept"},
		{raw: `{"msgtype":"m.emote","body":"* e","m.new_content":{"msgtype":"m.emote","body":"dances"},"m.relates_to":{"rel_type":"m.replace","event_id":"$e"}}`,
			text: "/me dances", edits: "$e"},
		{raw: `{"msgtype":"m.text","body":"in a thread","m.relates_to":{"rel_type":"m.thread","event_id":"$root","is_falling_back":true,"m.in_reply_to":{"event_id":"$last"}}}`,
			text: "in a thread", reply: "$root"},
		{raw: `{"msgtype":"m.image","body":"cat.png","url":"mxc://hs/x"}`, text: "[image] cat.png"},
		{raw: `{"msgtype":"org.example.custom","body":"its fallback"}`, text: "its fallback"},
	} {
		ev, err := decodeEvent(json.RawMessage(`{"type":"m.room.message","event_id":"$x","sender":"@a:hs","content":` + tc.raw + `}`))
		if err != nil {
			t.Fatal(err)
		}
		m, ok := toInbound("#c:hs", ev)
		if !ok || m.Text != tc.text || m.ReplyTo != tc.reply || m.Edits != tc.edits || m.ID != "$x" || m.User != "@a:hs" {
			t.Errorf("%s: %+v %v", tc.raw, m, ok)
		}
	}
	for _, raw := range []string{
		`{"type":"m.room.message","event_id":"$x","sender":"@a:hs","content":{"msgtype":"m.key.verification.request","body":"verify"}}`,
		`{"type":"m.room.message","event_id":"$x","sender":"@a:hs","content":{},"unsigned":{"redacted_because":{"type":"m.room.redaction"}}}`,
		`{"type":"m.room.message","event_id":"$x","sender":"@a:hs","state_key":"","content":{"msgtype":"m.text","body":"state"}}`,
		`{"type":"m.reaction","event_id":"$x","sender":"@a:hs","content":{}}`,
		`{"type":"m.room.redaction","event_id":"$x","sender":"@a:hs","content":{}}`,
	} {
		ev, _ := decodeEvent(json.RawMessage(raw))
		if m, ok := toInbound("#c:hs", ev); ok {
			t.Errorf("%s came in: %+v", raw, m)
		}
	}
	ev, _ := decodeEvent(json.RawMessage(`{"type":"m.room.redaction","event_id":"$r","sender":"@a:hs","content":{"redacts":"$v11"}}`))
	if m, ok := toInbound("#c:hs", ev); !ok || m.Deletes != "$v11" || m.ID != "$r" {
		t.Errorf("a v11 redaction: %+v", m)
	}
}

// FuzzToInbound: no event, however it is made, makes the conversion
// panic, and what comes in is UTF-8 (encoding/json replaces what is not).
func FuzzToInbound(f *testing.F) {
	for _, s := range []string{
		`{"type":"m.room.message","event_id":"$x","sender":"@a:hs","content":{"msgtype":"m.text","body":"hi"}}`,
		`{"type":"m.room.message","event_id":"$x","sender":"@a:hs","content":{"msgtype":"m.text","body":"> <@b:hs> q\n\na","m.relates_to":{"m.in_reply_to":{"event_id":"$q"}}}}`,
		`{"type":"m.room.message","event_id":"$x","sender":"@a:hs","content":{"m.new_content":{"body":7},"m.relates_to":{"rel_type":"m.replace","event_id":"$e"}}}`,
		`{"type":"m.room.redaction","event_id":"$x","sender":"@a:hs","redacts":"$y","content":{}}`,
		`{"type":"m.room.member","event_id":"$x","sender":"@a:hs","state_key":"@a:hs","content":{"membership":"join","displayname":"A"},"unsigned":{"prev_content":{"membership":"invite"}}}`,
		"{\"type\":\"m.room.message\",\"event_id\":\"$x\",\"sender\":\"@a:hs\",\"content\":{\"body\":\"\xff\"}}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := decodeEvent(raw)
		if err != nil {
			return
		}
		memberUpdate(ev)
		membershipOf(ev, "@a:hs")
		if m, ok := toInbound("#c:hs", ev); ok {
			for _, s := range []string{m.Text, m.ID, m.User, m.ReplyTo, m.Edits, m.Deletes} {
				if !utf8.ValidString(s) {
					t.Fatalf("not UTF-8: %q", s)
				}
			}
		}
	})
}

func TestState(t *testing.T) {
	dir := t.TempDir()
	if st, err := loadState(dir); err != nil || st.NextBatch != "" {
		t.Fatalf("a first start: %+v %v", st, err)
	}
	want := state{User: "@b:hs", NextBatch: "s1", Rooms: map[string]seen{"!r:hs": {ID: "$e", TS: 5}}}
	if err := saveState(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := loadState(dir)
	if err != nil || got.NextBatch != "s1" || got.Rooms["!r:hs"] != want.Rooms["!r:hs"] {
		t.Fatalf("%+v %v", got, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("files left: %v", ents)
	}
	os.WriteFile(filepath.Join(dir, stateFile), []byte(`{"next_batch":`), 0o600)
	if _, err := loadState(dir); err == nil {
		t.Fatal("a damaged state read")
	}
}

func TestErrors(t *testing.T) {
	resp := func(code int) *http.Response { return &http.Response{StatusCode: code} }
	forbiddenErr := mautrix.HTTPError{Response: resp(403), RespError: &mautrix.RespError{ErrCode: "M_FORBIDDEN", StatusCode: 403}}
	tooLarge := mautrix.HTTPError{Response: resp(413), RespError: &mautrix.RespError{ErrCode: "M_TOO_LARGE", StatusCode: 413}}
	busy := mautrix.HTTPError{Response: resp(502)}
	c := &Connector{}
	if err := c.actionError("kicking", forbiddenErr); !errors.Is(err, bridge.ErrUnsupported) || !errors.Is(err, mautrix.MForbidden) {
		t.Errorf("403: %v", err)
	}
	if err := c.actionError("kicking", busy); errors.Is(err, bridge.ErrUnsupported) {
		t.Errorf("502: %v", err)
	}
	if err := c.sendError("sending", tooLarge); !errors.Is(err, bridge.ErrRefused) {
		t.Errorf("413: %v", err)
	}
	if err := c.sendError("sending", busy); errors.Is(err, bridge.ErrRefused) || errors.Is(err, bridge.ErrUnsupported) {
		t.Errorf("502: %v", err)
	}
}
