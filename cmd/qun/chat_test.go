package main

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/client"
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
		"/save 7":               {name: "save", seq: 7},
		"/save #7 /tmp/x":       {name: "save", seq: 7, text: "/tmp/x"},
		"/help":                 {name: "help"},
		"/quit":                 {name: "quit"},
		"/exit":                 {name: "quit"},
	} {
		got, err := parseChatLine(line, chatEN)
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
		"/save":          "missing SEQ; usage: /save SEQ [DIR]",
		"/save 1 a b":    `unexpected "b"`,
	} {
		_, err := parseChatLine(line, chatEN)
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
		got, err := resolveUser(arg, me, members, chatEN)
		if err != nil || got != want {
			t.Errorf("%q: %s, %v; want %s", arg, got, err, want)
		}
	}
	for arg, wantErr := range map[string]string{
		"abc":       "too short",
		"zzzzzzzz":  "no member's ID ends in",
		"12D3KooW!": "no member's ID ends in",
	} {
		if _, err := resolveUser(arg, me, members, chatEN); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%q: %v, want %q", arg, err, wantErr)
		}
	}
	// Two members with the same ending.
	dup := []api.MemberView{{User: "12D3KooWaaaaXYZW"}, {User: "12D3KooWbbbbXYZW"}}
	if _, err := resolveUser("XYZW", me, dup, chatEN); err == nil || !strings.Contains(err.Error(), "matches 2 members") {
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
	m := newChatModel(me, func() time.Time { return now }, chatEN)
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
		"#3 " + clock + " you recalled a message",
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

// TestChatCatalogue: both languages have every key, with the same
// placeholders; every command has a usage line, every code of the
// protocol a sentence; /help fits 80 columns.
func TestChatCatalogue(t *testing.T) {
	placeholder := regexp.MustCompile(`\{[a-z]+\}`)
	names := func(s string) string {
		p := placeholder.FindAllString(s, -1)
		slices.Sort(p)
		return strings.Join(slices.Compact(p), " ")
	}
	langs := []*chatLang{chatEN, chatZH}
	for _, l := range langs {
		for _, other := range langs {
			for k, v := range l.words {
				w, ok := other.words[k]
				if !ok {
					t.Errorf("%q is in %s but not in %s", k, l.code, other.code)
					continue
				}
				if names(v) != names(w) {
					t.Errorf("%q: %s has placeholders %q, %s %q", k, l.code, names(v), other.code, names(w))
				}
			}
		}
		for name := range chatCommands {
			if _, ok := l.words["usage."+name]; !ok {
				t.Errorf("%s: /%s has no usage line", l.code, name)
			}
		}
		for c := protocol.Code(1); !strings.HasPrefix(c.String(), "code_"); c++ {
			if _, ok := l.words["err."+c.String()]; !ok {
				t.Errorf("%s: the code %s has no sentence", l.code, c)
			}
		}
		for _, line := range l.lines("help") {
			if w := uniseg.StringWidth(line); w > 80 {
				t.Errorf("%s: a /help line is %d columns wide: %q", l.code, w, line)
			}
		}
	}
	if got := chatZH.t("ev.mute", "a", "你", "m", "{a}", "reason", ""); got != "你 禁言了 {a}，直到管理员解除" {
		t.Errorf("filling placeholders: %q", got) // a value is not filled again
	}
}

// TestChatLangFromLocale: LC_ALL wins over LC_MESSAGES, which wins over
// LANG; "zh…" is Chinese, anything else (C, en_US, POSIX) English; --lang
// wins over all.
func TestChatLangFromLocale(t *testing.T) {
	for _, c := range []struct {
		all, messages, lang string
		want                string
	}{
		{"", "", "", "en"},
		{"", "", "zh_CN.UTF-8", "zh"},
		{"", "", "zh_TW", "zh"},
		{"", "", "C.UTF-8", "en"},
		{"", "", "en_US.UTF-8", "en"},
		{"", "zh_CN.UTF-8", "en_US.UTF-8", "zh"},
		{"", "C", "zh_CN.UTF-8", "en"},
		{"zh_CN.UTF-8", "en_US.UTF-8", "en_US.UTF-8", "zh"},
		{"C", "zh_CN.UTF-8", "zh_CN.UTF-8", "en"},
		{"POSIX", "", "zh_CN.UTF-8", "en"},
	} {
		env := map[string]string{"LC_ALL": c.all, "LC_MESSAGES": c.messages, "LANG": c.lang}
		getenv := func(k string) string { return env[k] }
		if got := chatLangFromLocale(getenv).code; got != c.want {
			t.Errorf("LC_ALL=%q LC_MESSAGES=%q LANG=%q: %s, want %s", c.all, c.messages, c.lang, got, c.want)
		}
		for flag, want := range map[string]string{"zh": "zh", "en": "en", "": c.want} {
			if l, err := parseChatLang(flag, getenv); err != nil || l.code != want {
				t.Errorf("--lang %q with LANG=%q: %v; want %s", flag, c.lang, err, want)
			}
		}
	}
	if _, err := parseChatLang("fr", func(string) string { return "" }); err == nil {
		t.Error("--lang fr was accepted")
	}
}

// TestChatModelChinese renders a group's chat in Chinese: names, system
// lines, tombstones, "(已编辑)", attachments with the command that saves
// them, the header in local time, and a refusal of the node.
func TestChatModelChinese(t *testing.T) {
	me, owner, mei, li := "12D3KooWmeeeeeeeeeeeeMEMEMEME", "12D3KooWownerrrrrrrrrOWNEROWN", "12D3KooWmeiiiiiiiiiiiMEIMEIME", "12D3KooWliiiiiiiiiiiiiLILILILI"
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.Local)
	at := uint64(now.Add(-time.Minute).UnixMilli())
	clock := time.UnixMilli(int64(at)).Format("15:04")
	m := newChatModel(me, func() time.Time { return now }, chatZH)
	m.setView(&api.GroupView{
		GroupSummary: api.GroupSummary{Name: "茶馆", Members: 4},
		Announcement: "周五前可预订", Pins: []uint64{4},
		MemberList: []api.MemberView{
			{User: me, Role: "admin"}, {User: owner, Role: "owner", Name: "店主"}, {User: mei, Role: "member", Name: "王小明"},
			{User: li, Role: "admin", Name: "小李"},
		},
	})
	m.prepend([]api.EventView{
		{Seq: 1, Time: at, Author: owner, Kind: "create", Name: "茶馆"},
		{Seq: 2, Time: at, Author: mei, Kind: "join"},
		{Seq: 3, Time: at, Author: mei, Kind: "message", Text: "你好", Edited: &api.EditedView{}},
		{Seq: 4, Time: at, Author: mei, Kind: "message", Recalled: &api.RecalledView{Seq: 9, By: mei}},
		{Seq: 5, Time: at, Author: mei, Kind: "message", Recalled: &api.RecalledView{Seq: 10, By: owner}},
		{Seq: 6, Time: at, Author: mei, Kind: "message", Text: "看图", Attachments: []api.AttachmentView{
			{BlobRefView: api.BlobRefView{MIME: "image/jpeg", Width: 1024, Height: 768}, Name: "tea.jpg"},
			{BlobRefView: api.BlobRefView{MIME: "application/pdf", Size: 12 << 10}, Name: "receipt.pdf"},
		}},
		{Seq: 7, Time: at, Author: mei, Kind: "message", Text: "好的", Target: 3},
	}, false)
	for _, ev := range []api.EventView{
		{Seq: 8, Time: at, Author: me, Kind: "mute", Member: mei, Until: uint64(now.Add(time.Hour).UnixMilli())},
		{Seq: 9, Time: at, Author: owner, Kind: "mute", Member: me},
		{Seq: 10, Time: at, Author: owner, Kind: "kick", Member: mei, Text: "广告"},
		{Seq: 11, Time: at, Author: me, Kind: "message", Text: "我撤回了", Target: 0},
		{Seq: 12, Time: at, Author: me, Kind: "recall", Target: 11},
		{Seq: 13, Time: at, Author: owner, Kind: "role", Member: me, Role: "admin"},
		{Seq: 14, Time: at, Author: mei, Kind: "message", Text: "x"},
		{Seq: 15, Time: at, Author: me, Kind: "recall", Target: 14},
		{Seq: 16, Time: at, Author: mei, Kind: "message", Text: "y"},
		{Seq: 17, Time: at, Author: li, Kind: "recall", Target: 16},
	} {
		if !m.appendEvent(ev) {
			t.Fatalf("event %d not added", ev.Seq)
		}
	}
	m.notice(itemRefusal, chatZH.refusal(protocol.Errorf(protocol.CodeForbidden, "only the owner and admins can pin")))
	m.notice(itemRefusal, chatZH.refusal(&client.UnreachableError{URL: "http://127.0.0.1:7780", Err: errors.New("connection refused")}))
	var rows []string
	for _, r := range m.rows(200) {
		rows = append(rows, r.text)
	}
	want := []string{
		"#1 " + clock + " 店主 创建了群“茶馆”",
		"#2 " + clock + " 王小明 加入了群聊",
		"#3 " + clock + " 王小明：你好 (已编辑)",
		"#4 " + clock + " 王小明 撤回了一条消息",
		"#5 " + clock + " 群主撤回了一条成员消息",
		"#6 " + clock + " 王小明：看图 [图片 1024×768 tea.jpg] [文件 receipt.pdf 12 KB]（/save 6 保存）",
		"#7 " + clock + " 王小明（回复 #3）：好的",
		"#8 " + clock + " 你 禁言了 王小明，直到 13:00",
		"#9 " + clock + " 店主 禁言了 你，直到管理员解除",
		"#10 " + clock + " 店主 将 王小明 移出了群（广告）",
		"#11 " + clock + " 你 撤回了一条消息",
		"#12 " + clock + " 你 撤回了 #11",
		"#13 " + clock + " 店主 将 你 设为管理员",
		"#14 " + clock + " 你撤回了一条成员消息",
		"#15 " + clock + " 你 撤回了 #14",
		"#16 " + clock + " 管理员撤回了一条成员消息",
		"#17 " + clock + " 小李 撤回了 #16",
		"被拒绝：你的角色无权这样做。",
		"失败：无法连接你的节点 http://127.0.0.1:7780，请检查网络后重试。",
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("the Chinese chat:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	h := m.header(true)
	if want := "茶馆 · 4 位成员 · 我是管理员 · 已禁言，直到管理员解除 · 已连接"; h[0] != want {
		t.Errorf("header %q, want %q", h[0], want)
	}
	if h[1] != "群公告：周五前可预订" || h[2] != "置顶：#4 消息已撤回" {
		t.Errorf("header %q", h)
	}
	// Mistyped commands, in Chinese.
	for line, wantErr := range map[string]string{
		"/pin x": `"x" 不是消息序号；用法：/pin 序号`,
		"/frob":  "没有 /frob 这个命令；/help 列出所有命令",
	} {
		if _, err := parseChatLine(line, chatZH); err == nil || err.Error() != wantErr {
			t.Errorf("%q: %v, want %q", line, err, wantErr)
		}
	}
}

// TestChatStartErrorsInLanguage: what stops the chat before its screen
// opens (no terminal here, or a group the node does not know) is said in
// the chat's language, with the same exit status.
func TestChatStartErrorsInLanguage(t *testing.T) {
	e := newEnv(t)
	unknown := strings.Repeat("0", 64)
	for _, tc := range []struct {
		lang string
		want []string // one of them
	}{
		{"zh_CN.UTF-8", []string{chatZH.t("err.noTerminal"), chatZH.t("err.unknown_group")}},
		{"en_US.UTF-8", []string{"the chat needs a terminal", "does not know group"}},
	} {
		e.vars["LANG"] = tc.lang
		r := e.run("chat", unknown)
		if r.code == 0 {
			t.Fatalf("LANG=%s: qun chat of an unknown group exited 0", tc.lang)
		}
		found := false
		for _, w := range tc.want {
			found = found || strings.Contains(r.stderr, w)
		}
		if !found {
			t.Errorf("LANG=%s: stderr %q, want one of %q", tc.lang, r.stderr, tc.want)
		}
		if tc.lang[:2] == "zh" && strings.Contains(r.stderr, "the chat needs") {
			t.Errorf("LANG=%s: an English sentence: %q", tc.lang, r.stderr)
		}
	}
}
