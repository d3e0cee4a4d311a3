package irc

import (
	"strings"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// zeroWidthSpace is U+200B ZERO WIDTH SPACE, 3 bytes in UTF-8.
const zeroWidthSpace = "\u200b"

// NoPing returns nick with a zero-width space (U+200B) after its first
// character (its first grapheme cluster), so that relaying "alice: hi" as
// "<a\u200blice> hi" does not highlight the IRC user alice, whose client
// matches her nick as a whole word. The text looks the same in clients
// that render U+200B as nothing, which most do; a few show a small box.
// It adds 3 bytes. An empty nick stays empty.
func NoPing(nick string) string {
	if nick == "" {
		return ""
	}
	first, rest, _, _ := uniseg.FirstGraphemeClusterInString(nick, -1)
	return first + zeroWidthSpace + rest
}

// sanitize makes a text safe to put in the trailing parameter of one IRC
// line: invalid UTF-8 becomes U+FFFD, each run of CR and LF becomes one
// space (a relayed text can never end a line and start a command), NUL is
// dropped, and so is \x01, which would start or end a CTCP request (a
// relayed text can never become a CTCP query or a fake /me).
func sanitize(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if !strings.ContainsAny(s, "\r\n\x00\x01") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	newline := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\r', '\n':
			if !newline {
				b.WriteByte(' ')
			}
			newline = true
		case 0, 1:
		default:
			newline = false
			b.WriteByte(c)
		}
	}
	return b.String()
}

// split cuts a valid UTF-8 text into pieces of at most max bytes whose
// concatenation is the text. It cuts between grapheme clusters, before a
// run of spaces when there is one in the second half of the piece, and
// only cuts inside a cluster (between runes, never inside a UTF-8
// sequence) when a single cluster is longer than max. A piece never ends
// with a space unless the text does: IRC servers strip trailing spaces
// (ngircd does), and the pieces would no longer add up to the text.
// max must be at least 4.
func split(s string, max int) []string {
	var out []string
	for len(s) > max {
		cut, lastSpace := 0, 0
		state := -1
		rest := s
		prevSpace := false
		for rest != "" {
			var c string
			c, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
			if cut+len(c) > max {
				break
			}
			space := c[0] == ' '
			if space && !prevSpace {
				lastSpace = cut
			}
			prevSpace = space
			cut += len(c)
		}
		switch {
		case lastSpace > max/2:
			cut = lastSpace
		case cut == 0: // one cluster longer than max: cut between its runes
			for {
				_, n := utf8.DecodeRuneInString(s[cut:])
				if cut+n > max {
					break
				}
				cut += n
			}
		}
		for cut > 1 && s[cut-1] == ' ' {
			cut-- // a space at the end would be lost: it starts the next piece
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

// decode turns a line from the server into valid UTF-8. A line that is
// valid UTF-8 is kept; any other is read as Latin-1 (ISO 8859-1), the
// encoding of most old IRC clients that do not send UTF-8: each byte is
// the code point of the same value, so nothing is lost and a Western
// European text stays readable.
func decode(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// fold maps a nick or channel name to its canonical form for comparison,
// by the server's CASEMAPPING: "ascii" folds A-Z only, "rfc1459" (the
// default of the RFC) also []\^ to {}|~.
func fold(s string, rfc1459 bool) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		case rfc1459 && c >= '[' && c <= '^':
			b[i] = c + '{' - '['
		}
	}
	return string(b)
}

// StripFormatting removes mIRC formatting codes from an incoming text:
// bold (\x02), colours (\x03 with up to two digits, a comma and two more),
// hex colours (\x04 and six hex digits), italics, underline, strike-through,
// monospace, reverse and reset. A bridge relaying to a network without
// these codes shows the plain text.
func StripFormatting(s string) string {
	if !strings.ContainsAny(s, "\x02\x03\x04\x0f\x11\x16\x1d\x1e\x1f") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 0x02, 0x0f, 0x11, 0x16, 0x1d, 0x1e, 0x1f:
		case 0x03:
			i = skipColour(s, i, isDigit, 2)
		case 0x04:
			i = skipColour(s, i, isHex, 6)
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// skipColour skips the "fg[,bg]" after a colour code at i and returns the
// index of its last byte.
func skipColour(s string, i int, ok func(byte) bool, n int) int {
	j := skipN(s, i+1, ok, n)
	if j == i+1 {
		return i // a bare code resets the colours
	}
	if j < len(s) && s[j] == ',' {
		if k := skipN(s, j+1, ok, n); k > j+1 {
			j = k
		}
	}
	return j - 1
}

func skipN(s string, i int, ok func(byte) bool, n int) int {
	for k := 0; k < n && i < len(s) && ok(s[i]); k++ {
		i++
	}
	return i
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool {
	return isDigit(c) || (c|0x20) >= 'a' && (c|0x20) <= 'f'
}
