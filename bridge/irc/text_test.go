package irc

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNoPing(t *testing.T) {
	for in, want := range map[string]string{
		"":      "",
		"a":     "a\u200b",
		"alice": "a\u200blice",
		"李雷":    "李\u200b雷",
		"👍🏽x":   "👍🏽\u200bx", // a cluster stays whole
	} {
		if got := NoPing(in); got != want {
			t.Errorf("NoPing(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                  "plain",
		"a\r\nQUIT :x":           "a QUIT :x",
		"a\n\n\nb\rc":            "a b c",
		"\x01ACTION fake\x01":    "ACTION fake",
		"n\x00ul":                "nul",
		"bad \xff utf8":          "bad \uFFFD utf8",
		"\x02bold\x02 \x0304red": "\x02bold\x02 \x0304red", // formatting is kept
	} {
		if got := sanitize(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSplit(t *testing.T) {
	texts := []string{
		strings.Repeat("word ", 200),
		strings.Repeat("字", 500),
		strings.Repeat("👨‍👩‍👧‍👦", 100), // 25-byte clusters
		strings.Repeat("x", 1000),
		"e" + strings.Repeat("\u0301", 100), // one cluster of 201 bytes
		"a" + strings.Repeat(" ", 300) + "b",
	}
	for _, max := range []int{4, 7, 50, 100, 400} {
		for _, s := range texts {
			s = strings.TrimRight(s, " ")
			pieces := split(s, max)
			if strings.Join(pieces, "") != s {
				t.Fatalf("split(%.20q, %d) does not add up", s, max)
			}
			for i, p := range pieces {
				if len(p) > max || p == "" || !utf8.ValidString(p) {
					t.Fatalf("split(%.20q, %d) piece %d: %q", s, max, i, p)
				}
				if max >= 50 && strings.HasSuffix(p, " ") && strings.Trim(p, " ") != "" {
					t.Fatalf("split(%.20q, %d) piece %d ends with a space", s, max, i)
				}
			}
		}
	}
	// words are not cut when a space is near
	for _, p := range split(strings.Repeat("hello ", 100), 50)[1:] {
		if !strings.HasPrefix(p, " hello") {
			t.Fatalf("piece %q", p)
		}
	}
	if got := split("short", 100); len(got) != 1 || got[0] != "short" {
		t.Fatal(got)
	}
}

func TestDecode(t *testing.T) {
	if got := decode([]byte("caf\xc3\xa9")); got != "café" {
		t.Fatal(got)
	}
	if got := decode([]byte("caf\xe9 \xff")); got != "café ÿ" || !utf8.ValidString(got) {
		t.Fatal(got)
	}
}

func TestStripFormatting(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                        "plain",
		"\x02bold\x02 \x1dit\x1d":      "bold it",
		"\x0304red\x03 \x034,12bg\x0f": "red bg",
		"\x03,5x":                      ",5x",
		"\x0399":                       "",
		"\x04ff0000hex\x04":            "hex",
		"50\x03, x":                    "50, x",
	} {
		if got := StripFormatting(in); got != want {
			t.Errorf("StripFormatting(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFold(t *testing.T) {
	if fold("Nick[]\\^", true) != "nick{}|~" || fold("Nick[]", false) != "nick[]" {
		t.Fatal(fold("Nick[]\\^", true), fold("Nick[]", false))
	}
}
