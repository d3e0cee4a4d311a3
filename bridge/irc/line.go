package irc

import (
	"errors"
	"sort"
	"strings"
)

// MaxLineBytes is the longest line, CR LF included, that RFC 1459 lets a
// client or a server send (message tags not counted). ngircd closes the
// connection of a client that sends a longer one.
const MaxLineBytes = 512

// maxTagBytes is the room IRCv3 gives message tags in front of a line,
// the '@' and the space included.
const maxTagBytes = 8191

// maxReadBytes bounds a line read from the server: tags and the line.
const maxReadBytes = maxTagBytes + MaxLineBytes

// Line is one IRC message. The trailing parameter, if any, is the last of
// Params; String adds the ':' it needs.
type Line struct {
	Tags    map[string]string // IRCv3 message tags, unescaped; nil without tags
	Source  string            // the prefix without its ':': "nick!user@host" or a server name
	Command string            // upper case: "PRIVMSG", or three digits: "001"
	Params  []string
}

// ErrMalformed is wrapped by every error of ParseLine.
var ErrMalformed = errors.New("irc: malformed line")

func malformed(why string) error { return &parseError{why} }

type parseError struct{ why string }

func (e *parseError) Error() string        { return "irc: malformed line: " + e.why }
func (e *parseError) Is(target error) bool { return target == ErrMalformed }

// ParseLine parses one IRC line, given without its CR LF:
//
//	[@tags SP] [:source SP] command [SP param]... [SP :trailing]
//
// Runs of spaces between the parts are accepted. It refuses (with an error
// wrapping ErrMalformed) an empty line, a line with a CR, LF or NUL, a tag
// section or a source with nothing after it, and a command that is neither
// letters nor three digits. It does not check UTF-8: the client decodes
// text before parsing (see the package documentation).
func ParseLine(s string) (Line, error) {
	var l Line
	if strings.ContainsAny(s, "\r\n\x00") {
		return l, malformed("CR, LF or NUL inside the line")
	}
	s = strings.TrimLeft(s, " ")
	if strings.HasPrefix(s, "@") {
		tags, rest, ok := strings.Cut(s[1:], " ")
		if !ok {
			return l, malformed("tags without a command")
		}
		l.Tags = parseTags(tags)
		s = strings.TrimLeft(rest, " ")
	}
	if strings.HasPrefix(s, ":") {
		src, rest, ok := strings.Cut(s[1:], " ")
		if !ok {
			return l, malformed("source without a command")
		}
		if src == "" {
			return l, malformed("empty source")
		}
		l.Source = src
		s = strings.TrimLeft(rest, " ")
	}
	cmd, rest, _ := strings.Cut(s, " ")
	if !validCommand(cmd) {
		if cmd == "" {
			return l, malformed("no command")
		}
		return l, malformed("invalid command")
	}
	l.Command = strings.ToUpper(cmd)
	for {
		rest = strings.TrimLeft(rest, " ")
		if rest == "" {
			break
		}
		if rest[0] == ':' {
			l.Params = append(l.Params, rest[1:])
			break
		}
		var p string
		p, rest, _ = strings.Cut(rest, " ")
		l.Params = append(l.Params, p)
	}
	return l, nil
}

func validCommand(c string) bool {
	if c == "" {
		return false
	}
	if c[0] >= '0' && c[0] <= '9' {
		return len(c) == 3 && c[1] >= '0' && c[1] <= '9' && c[2] >= '0' && c[2] <= '9'
	}
	for i := 0; i < len(c); i++ {
		if b := c[i] | 0x20; b < 'a' || b > 'z' {
			return false
		}
	}
	return true
}

// parseTags parses "a=b;c;d=e" and unescapes the values. Entries with an
// empty key are skipped; a key seen twice keeps its last value.
func parseTags(s string) map[string]string {
	var m map[string]string
	for item := range strings.SplitSeq(s, ";") {
		k, v, _ := strings.Cut(item, "=")
		if k == "" {
			continue
		}
		if m == nil {
			m = map[string]string{}
		}
		m[k] = unescapeTag(v)
	}
	return m
}

func unescapeTag(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(v) {
			break // a lone backslash at the end is dropped
		}
		switch v[i] {
		case ':':
			b.WriteByte(';')
		case 's':
			b.WriteByte(' ')
		case 'r':
			b.WriteByte('\r')
		case 'n':
			b.WriteByte('\n')
		default:
			b.WriteByte(v[i]) // "\\" and unknown escapes
		}
	}
	return b.String()
}

var tagEscaper = strings.NewReplacer(`\`, `\\`, ";", `\:`, " ", `\s`, "\r", `\r`, "\n", `\n`)

// String formats the line as it goes on the wire, without CR LF: tags in
// key order, escaped, and the last parameter after a ':' when it is empty,
// has a space or starts with ':'. A Line that ParseLine returned parses
// back to the same Line. String does not check that the other parameters
// are valid; the client builds what it sends with a checked builder.
func (l Line) String() string {
	var b strings.Builder
	if len(l.Tags) > 0 {
		keys := make([]string, 0, len(l.Tags))
		for k := range l.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('@')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(';')
			}
			b.WriteString(k)
			if v := l.Tags[k]; v != "" {
				b.WriteByte('=')
				b.WriteString(tagEscaper.Replace(v))
			}
		}
		b.WriteByte(' ')
	}
	if l.Source != "" {
		b.WriteByte(':')
		b.WriteString(l.Source)
		b.WriteByte(' ')
	}
	b.WriteString(l.Command)
	for i, p := range l.Params {
		b.WriteByte(' ')
		if i == len(l.Params)-1 && (p == "" || p[0] == ':' || strings.Contains(p, " ")) {
			b.WriteByte(':')
		}
		b.WriteString(p)
	}
	return b.String()
}

// Nick is the nick of the source "nick!user@host", or "" when the source
// is a server (no '!' or '@').
func (l Line) Nick() string {
	n, _, _ := l.splitSource()
	return n
}

func (l Line) splitSource() (nick, user, host string) {
	rest, host, okHost := strings.Cut(l.Source, "@")
	nick, user, okUser := strings.Cut(rest, "!")
	if !okHost && !okUser {
		return "", "", ""
	}
	return nick, user, host
}

// Param is the i-th parameter, or "" when there are fewer.
func (l Line) Param(i int) string {
	if i < len(l.Params) {
		return l.Params[i]
	}
	return ""
}

// buildLine formats an outgoing command and refuses parameters that would
// change its meaning: a CR, LF or NUL anywhere; a space, a leading ':' or
// nothing at all in a parameter other than the last. It also refuses a
// line longer than MaxLineBytes with its CR LF.
func buildLine(cmd string, params ...string) (string, error) {
	for i, p := range params {
		if strings.ContainsAny(p, "\r\n\x00") {
			return "", errors.New("irc: CR, LF or NUL in a parameter")
		}
		if i < len(params)-1 && (p == "" || p[0] == ':' || strings.Contains(p, " ")) {
			return "", errors.New("irc: a middle parameter is empty, has a space or starts with ':'")
		}
	}
	s := Line{Command: cmd, Params: params}.String()
	if len(s)+2 > MaxLineBytes {
		return "", errors.New("irc: line longer than 512 bytes")
	}
	return s, nil
}
