package xmpp

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/qunchat/qun/bridge"
)

// maxBodyBytes bounds the text of a message the connector sends: servers
// refuse stanzas much larger (prosody: 256 KiB).
const maxBodyBytes = 32 << 10

// render is the body of m for a room: the quote of the answered message,
// if any, on a line of its own, then "Author: text". quoteRunes is the
// length of the quote line with its newline, in characters, for the reply
// fallback (XEP-0428 counts code points); 0 without a quote.
func render(m bridge.Outbound) (body string, quoteRunes int) {
	var b strings.Builder
	if m.Quote != nil {
		// Plain without an author is just the quote line (and the text's).
		if q := (bridge.Outbound{Quote: m.Quote}).Plain(nil); len(q) > 0 {
			line := clean(q[0]) + "\n"
			b.WriteString(line)
			quoteRunes = utf8.RuneCountInString(line)
		}
	}
	if a := clean(strings.Join(strings.Fields(m.Author), " ")); a != "" {
		b.WriteString(a + ": ")
	}
	if m.Kind == bridge.OutCorrection {
		b.WriteString("(edit) ")
	}
	b.WriteString(strings.TrimSpace(clean(m.Text)))
	return cut(b.String(), maxBodyBytes), quoteRunes
}

// clean makes s fit for an XML body: valid UTF-8, CR LF and lone CRs as
// LF, no control character but LF and tab, none of the code points XML
// forbids.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\r':
			return '\n'
		case r == '\n' || r == '\t':
			return r
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return -1
		case r == 0xfffe || r == 0xffff || (r >= 0xd800 && r < 0xe000):
			return -1
		}
		return r
	}, s)
}

// cut shortens s to at most n bytes, between characters, with an ellipsis
// when it had to.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n - len("…")
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// stripFallback removes from body the ranges that a XEP-0428 fallback
// marks (start, end in code points, end exclusive), and what white space
// that leaves at the ends. Ranges that are not numbers, out of the body,
// reversed or overlapping are ignored; when nothing is left, the body is
// returned whole.
func stripFallback(body string, ranges [][2]string) string {
	if len(ranges) == 0 {
		return body
	}
	runes := []rune(body)
	drop := make([]bool, len(runes))
	marked := false
	for _, rg := range ranges {
		start, err1 := strconv.Atoi(rg[0])
		end, err2 := strconv.Atoi(rg[1])
		if err1 != nil || err2 != nil || start < 0 || end > len(runes) || start >= end {
			continue
		}
		for i := start; i < end; i++ {
			drop[i] = true
		}
		marked = true
	}
	if !marked {
		return body
	}
	var b strings.Builder
	for i, r := range runes {
		if !drop[i] {
			b.WriteRune(r)
		}
	}
	if out := strings.TrimSpace(b.String()); out != "" {
		return out
	}
	return body
}

var plainIDRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// stanzaIDFor derives a stanza's id (and origin-id) from the Qun event it
// carries and what else makes it one of its kind, so that a retry sends
// the same id: "qun-" and the event when that is short and plain, else a
// hash.
func stanzaIDFor(event string, more ...string) string {
	if len(more) == 0 && plainIDRE.MatchString(event) {
		return "qun-" + event
	}
	h := sha256.New()
	h.Write([]byte(event))
	for _, m := range more {
		h.Write([]byte{0})
		h.Write([]byte(m))
	}
	return "qun-" + hex.EncodeToString(h.Sum(nil)[:16])
}
