package main

import (
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
	"github.com/rivo/uniseg"
)

func TestParseChatLine(t *testing.T) {
	for line, want := range map[string]chatCmd{
		"":                      {},
		"   ":                   {},
		"hello world":           {name: "message", text: "hello world"},
		"  indented  ":          {name: "message", text: "  indented"},
		"//etc/hosts is a path": {name: "message", text: "/etc/hosts is a path"},
		"/reply #12 thanks!":    {name: "reply", seq: 12, text: "thanks!"},
		"/announce Sale today":  {name: "announce", text: "Sale today"},
		"/announce -":           {name: "announce"},
		"/pin 5":                {name: "pin", seq: 5},
		"/UNPIN #5":             {name: "unpin", seq: 5},
		"/recall 9":             {name: "recall", seq: 9},
		"/mute YmPxGPTJ":        {name: "mute", user: "YmPxGPTJ"},
		"/mute …YmPxGPTJ 10m":   {name: "mute", user: "…YmPxGPTJ", dur: 10 * time.Minute},
		"/mute x 1d":            {name: "mute", user: "x", dur: 24 * time.Hour},
		"/unmute x":             {name: "unmute", user: "x"},
		"/kick x":               {name: "kick", user: "x"},
		"/ban x":                {name: "ban", user: "x"},
		"/invite":               {name: "invite", ttl: defaultInviteTTL},
		"/invite 5":             {name: "invite", uses: 5, ttl: defaultInviteTTL},
		"/invite 0 2h":          {name: "invite", ttl: 2 * time.Hour},
		"/members":              {name: "members"},
		"/help":                 {name: "help"},
		"/quit":                 {name: "quit"},
		"/exit":                 {name: "quit"},
	} {
		got, err := parseChatLine(line)
		if err != nil {
			t.Errorf("%q: %v", line, err)
			continue
		}
		got.usage = ""
		if got != want {
			t.Errorf("%q: %+v, want %+v", line, got, want)
		}
	}
	for line, wantErr := range map[string]string{
		"/frob":          "unknown command /frob; /help lists the commands",
		"/pin":           "missing SEQ; usage: /pin SEQ",
		"/pin x":         `"x" is not a message number; usage: /pin SEQ`,
		"/pin 0":         `"0" is not a message number`,
		"/pin 1 2":       "one SEQ only",
		"/reply 3":       "missing TEXT; usage: /reply SEQ TEXT",
		"/announce":      "missing TEXT",
		"/mute":          "missing USER; usage: /mute USER [DURATION]",
		"/mute x soon":   `"soon" is not a duration`,
		"/kick x 10m":    `unexpected "10m"`,
		"/invite -1":     `USES "-1" is not a number`,
		"/invite 1 soon": `TTL "soon" is not a duration`,
		"/invite 1 2 3":  `unexpected "3"`,
		"/help me":       `unexpected "me"`,
	} {
		_, err := parseChatLine(line)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%q: %v, want %q", line, err, wantErr)
		}
	}
}

func TestResolveUser(t *testing.T) {
	keys := make([]*protocol.Key, 3)
	var members []api.MemberView
	for i := range keys {
		keys[i], _ = protocol.NewKey()
		members = append(members, api.MemberView{User: keys[i].ID().String()})
	}
	me := members[0].User
	id := func(i int) protocol.UserID { return keys[i].ID() }
	for arg, want := range map[string]protocol.UserID{
		members[1].User:              id(1),
		shortID(members[1].User):     id(1), // as the chat shows it
		members[2].User[len(me)-8:]:  id(2),
		"..." + members[2].User[40:]: id(2),
		"you":                        id(0),
		"me":                         id(0),
	} {
		got, err := resolveUser(arg, me, members)
		if err != nil || got != want {
			t.Errorf("%q: %s, %v; want %s", arg, got, err, want)
		}
	}
	for arg, wantErr := range map[string]string{
		"abc":       "too short",
		"zzzzzzzz":  "no member's ID ends in",
		"12D3KooW!": "no member's ID ends in",
	} {
		if _, err := resolveUser(arg, me, members); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%q: %v, want %q", arg, err, wantErr)
		}
	}
	// Two members with the same ending.
	dup := []api.MemberView{{User: "12D3KooWaaaaXYZW"}, {User: "12D3KooWbbbbXYZW"}}
	if _, err := resolveUser("XYZW", me, dup); err == nil || !strings.Contains(err.Error(), "matches 2 members") {
		t.Errorf("ambiguous: %v", err)
	}
}

func TestWrapText(t *testing.T) {
	for _, c := range []struct {
		text   string
		width  int
		indent int
		want   []string
	}{
		{"hello world", 80, 4, []string{"hello world"}},
		{"hello world", 8, 2, []string{"hello", "  world"}},
		{"aaaaaaaaaaaa", 5, 1, []string{"aaaaa", " aaaa", " aaa"}},
		{"one\n    two", 20, 4, []string{"one", "    two"}},
		{"a bb ccc dddd", 6, 0, []string{"a bb", "ccc", "dddd"}},
		{"群聊群聊群聊", 5, 0, []string{"群聊", "群聊", "群聊"}},
		{"", 10, 2, []string{""}},
	} {
		got := wrapText(c.text, c.width, c.indent)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("wrap(%q, %d, %d) = %q, want %q", c.text, c.width, c.indent, got, c.want)
		}
	}
	// Nothing is wider than the width, and nothing is lost.
	text := strings.Repeat("word longerword x ", 40) + strings.Repeat("y", 200)
	for w := 1; w < 90; w++ {
		rows := wrapText(text, w, 4)
		for _, r := range rows {
			if uniseg.StringWidth(r) > w {
				t.Fatalf("width %d: row %q is wider", w, r)
			}
		}
		if got := strings.Join(strings.Fields(strings.Join(rows, " ")), ""); got != strings.Join(strings.Fields(text), "") {
			t.Fatalf("width %d: text changed", w)
		}
	}
	if got := fit("hello world", 6); got != "hello…" {
		t.Errorf("fit: %q", got)
	}
	if got := fit("short", 10); got != "short" {
		t.Errorf("fit: %q", got)
	}
}

func TestSanitize(t *testing.T) {
	in := "hi\x1b]0;pwned\x07 there\tyou\nnext\r"
	got := sanitize(in)
	if strings.ContainsAny(got, "\x1b\x07\r\t") || !strings.Contains(got, "\n") || !strings.Contains(got, "there you") {
		t.Errorf("sanitize(%q) = %q", in, got)
	}
}

func TestChatModel(t *testing.T) {
	me, other := "12D3KooWmeeeeeeeeeeeeMEMEMEME", "12D3KooWotherrrrrrrrrOTHEROTH"
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.Local)
	m := newChatModel(me, func() time.Time { return now })
	at := uint64(now.Add(-time.Minute).UnixMilli())
	m.setView(&api.GroupView{
		GroupSummary: api.GroupSummary{Name: "Tea shop", Members: 2},
		Announcement: "Sale", Pins: []uint64{2},
		MemberList: []api.MemberView{{User: me, Role: "member"}, {User: other, Role: "owner"}},
	})
	m.prepend([]api.EventView{
		{Seq: 2, Time: at, Author: other, Kind: "message", Text: "welcome"},
		{Seq: 3, Time: at, Author: me, Kind: "message", Text: "hi"},
	}, true)
	if m.lo != 2 || m.hi != 3 || !m.hasOlder {
		t.Fatalf("after the first page: lo %d hi %d older %v", m.lo, m.hi, m.hasOlder)
	}
	m.prepend([]api.EventView{{Seq: 1, Time: at, Author: other, Kind: "create", Name: "Tea shop"}}, false)
	if m.lo != 1 || m.hasOlder {
		t.Errorf("after the oldest page: lo %d older %v", m.lo, m.hasOlder)
	}
	if m.appendEvent(api.EventView{Seq: 3, Kind: "message"}) {
		t.Error("an event already shown was added again")
	}
	for _, ev := range []api.EventView{
		{Seq: 4, Time: at, Author: other, Kind: "mute", Member: me, Until: uint64(now.Add(time.Hour).UnixMilli())},
		{Seq: 5, Time: at, Author: other, Kind: "announce", Text: "New teas"},
		{Seq: 6, Time: at, Author: me, Kind: "recall", Target: 3},
		{Seq: 7, Time: at, Author: other, Kind: "pin", Target: 3},
		{Seq: 8, Time: at, Author: other, Kind: "unpin", Target: 2},
	} {
		if !m.appendEvent(ev) {
			t.Fatalf("event %d not added", ev.Seq)
		}
	}
	m.notice(itemRefusal, "refused: you are muted")
	var texts []string
	for _, r := range m.rows(80) {
		texts = append(texts, r.text)
	}
	got := strings.Join(texts, "\n")
	clock := time.UnixMilli(int64(at)).Format("15:04")
	for _, want := range []string{
		`#1 ` + clock + ` …OTHEROTH created the group "Tea shop"`,
		"#2 " + clock + " …OTHEROTH: welcome",
		"#3 " + clock + " you: (recalled)",
		"#4 " + clock + " …OTHEROTH muted you until",
		"#6 " + clock + " you recalled #3",
		"refused: you are muted",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("rows lack %q:\n%s", want, got)
		}
	}
	h := m.header(false)
	if h[0] != "Tea shop · 2 members · you: member · muted until 13:00 · reconnecting…" {
		t.Errorf("header %q", h[0])
	}
	if h[1] != "Announcement: New teas" || h[2] != "Pinned: #3 (recalled)" {
		t.Errorf("header %q", h)
	}
	m.appendEvent(api.EventView{Seq: 9, Time: at, Author: other, Kind: "unmute", Member: me})
	if h := m.header(true); strings.Contains(h[0], "muted") || !strings.HasSuffix(h[0], "live") {
		t.Errorf("header after unmute %q", h[0])
	}
	// The row cache follows changes and widths.
	if len(m.rows(20)) <= len(m.rows(80)) {
		t.Error("narrower rows are not more")
	}
	n := len(m.rows(80))
	m.notice(itemNotice, "one more")
	if len(m.rows(80)) != n+1 {
		t.Error("the row cache missed a notice")
	}
}
