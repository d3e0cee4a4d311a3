package xmpp

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/qunchat/qun/bridge"
)

func TestRender(t *testing.T) {
	long := strings.Repeat("é", maxBodyBytes)
	cases := []struct {
		name  string
		m     bridge.Outbound
		body  string
		quote int
	}{
		{"plain", bridge.Outbound{Author: "Bob", Text: "hi"}, "Bob: hi", 0},
		{"no author", bridge.Outbound{Kind: bridge.OutNotice, Text: "  pinned  "}, "pinned", 0},
		{"lines", bridge.Outbound{Author: "Zoë (irc.libera)", Text: "one\r\ntwo\rthree"}, "Zoë (irc.libera): one\ntwo\nthree", 0},
		{"correction", bridge.Outbound{Kind: bridge.OutCorrection, Author: "Bob", Text: "fixed"}, "Bob: (edit) fixed", 0},
		{"quote", bridge.Outbound{Author: "Bob", Text: "yes", Quote: &bridge.Quote{Author: "Alice", Text: "tea\n  or coffee?"}}, "> Alice: tea or coffee?\nBob: yes", 24},
		{"long quote", bridge.Outbound{Text: "ok", Quote: &bridge.Quote{Author: "A", Text: strings.Repeat("x", 100)}}, "> A: " + strings.Repeat("x", 79) + "…\nok", 5 + 80 + 1},
		{"control characters", bridge.Outbound{Author: "B\x00ob\n", Text: "a\x01b\x7fc\u0085d\ufffee\tf"}, "Bob: abcde\tf", 0},
		{"invalid UTF-8", bridge.Outbound{Text: "caf\xe9"}, "caf\ufffd", 0},
	}
	for _, tc := range cases {
		body, quote := render(tc.m)
		if body != tc.body || quote != tc.quote {
			t.Errorf("%s: got %q, %d; want %q, %d", tc.name, body, quote, tc.body, tc.quote)
		}
	}
	body, _ := render(bridge.Outbound{Text: long})
	if len(body) > maxBodyBytes || !utf8.ValidString(body) || !strings.HasSuffix(body, "…") {
		t.Errorf("a long text: %d bytes, valid %v", len(body), utf8.ValidString(body))
	}
}

func TestStripFallback(t *testing.T) {
	cases := []struct {
		body   string
		ranges [][2]string
		want   string
	}{
		{"> Alice: hi\nhello", [][2]string{{"0", "12"}}, "hello"},
		{"> é😀\nok", [][2]string{{"0", "5"}}, "ok"}, // code points, not bytes
		{"keep", nil, "keep"},
		{"keep", [][2]string{{"2", "1"}, {"-1", "2"}, {"0", "9"}, {"x", "1"}}, "keep"},
		{"all", [][2]string{{"0", "3"}}, "all"}, // nothing would be left
		{"a b c", [][2]string{{"0", "2"}, {"1", "4"}}, "c"},
	}
	for _, tc := range cases {
		if got := stripFallback(tc.body, tc.ranges); got != tc.want {
			t.Errorf("%q %v: got %q, want %q", tc.body, tc.ranges, got, tc.want)
		}
	}
}

func TestStanzaIDFor(t *testing.T) {
	if got := stanzaIDFor("3aff23"); got != "qun-3aff23" {
		t.Errorf("got %q", got)
	}
	a, b := stanzaIDFor("e", "edit", "x", "one"), stanzaIDFor("e", "edit", "x", "two")
	if a == b || a != stanzaIDFor("e", "edit", "x", "one") || !plainIDRE.MatchString(strings.TrimPrefix(a, "qun-")) {
		t.Errorf("edit ids %q %q", a, b)
	}
	if got := stanzaIDFor("with space <and> quotes'\""); !plainIDRE.MatchString(got) {
		t.Errorf("got %q", got)
	}
}

func TestValidNick(t *testing.T) {
	for nick, want := range map[string]bool{
		"bridge": true, "Qun bridge 茶": true, "": false, " x": false, "x ": false,
		"a\nb": false, "a\x00b": false, strings.Repeat("n", 64): true, strings.Repeat("n", 65): false,
	} {
		if validNick(nick) != want {
			t.Errorf("validNick(%q) = %v", nick, !want)
		}
	}
}
