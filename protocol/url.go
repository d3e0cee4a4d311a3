package protocol

import "strings"

// CheckURL reports whether s is a URL of Qun's own grammar (docs/PROTOCOL.md,
// "URLs"): the avatar of a group, the link of a message, the URL and image of
// a product card. The grammar is a strict subset of what Go's net/url and the
// WHATWG URL parser of browsers both accept and read the same way, so that
// every implementation, whatever its URL library, accepts the same events.
// It is checked byte by byte here, not with a URL library.
//
//	url      = ("http" / "https") "://" host [":" port] path ["?" query] ["#" fragment]
//	           (a fragment is not empty)
//	host     = name / ipv4
//	port     = 1 to 65535, no leading zero
//	path     = *("/" segment), a segment is *pchar but not a dot segment
//	query    = *(pchar / "/" / "?") without "'"
//	fragment = 1*(pchar / "/" / "?")
//	pchar    = ALPHA / DIGIT / "-._~" / "!$&'()*+,;=" / ":" / "@" / "%" HEX HEX
func CheckURL(s string) error {
	bad := func(why string) error { return invalid("%q is not a valid URL: %s", clip(s, 80), why) }
	if s == "" {
		return bad("it is empty")
	}
	if len(s) > MaxURLBytes {
		return invalid("a URL is at most %d bytes; this one has %d", MaxURLBytes, len(s))
	}
	var rest string
	switch {
	case strings.HasPrefix(s, "https://"):
		rest = s[len("https://"):]
	case strings.HasPrefix(s, "http://"):
		rest = s[len("http://"):]
	default:
		return bad(`it must start with "https://" or "http://" (lower case)`)
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, rest := rest[:end], rest[end:]
	host, port, hasPort := strings.Cut(authority, ":")
	if err := checkHost(host); err != "" {
		return bad(err)
	}
	if hasPort {
		if err := checkPort(port); err != "" {
			return bad(err)
		}
	}
	path, rest := cutAt(rest, "?#")
	for seg := range strings.SplitSeq(path, "/") {
		if err := checkChars(seg, "path", ""); err != "" {
			return bad(err)
		}
		if dotSegment(seg) {
			return bad(`the path has a "." or ".." segment`)
		}
	}
	if strings.HasPrefix(rest, "?") {
		var query string
		query, rest = cutAt(rest[1:], "#")
		if err := checkChars(query, "query", "/?"); err != "" {
			return bad(err)
		}
		if strings.Contains(query, "'") {
			return bad(`the query has a "'" (write it as %27)`)
		}
	}
	if strings.HasPrefix(rest, "#") {
		if rest == "#" {
			// Go's net/url drops an empty fragment, browsers keep the "#".
			return bad(`it ends with an empty fragment "#"`)
		}
		if err := checkChars(rest[1:], "fragment", "/?"); err != "" {
			return bad(err)
		}
	}
	return nil
}

// cutAt splits s before the first byte of any of chars.
func cutAt(s, chars string) (string, string) {
	if i := strings.IndexAny(s, chars); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

// clip shortens s for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// checkHost checks a host name of LDH labels or a dotted-quad IPv4 address;
// it returns what is wrong, or "".
func checkHost(h string) string {
	if h == "" {
		return "it has no host"
	}
	if len(h) > 253 {
		return "the host name is longer than 253 characters"
	}
	if ipv4Like(h) {
		return checkIPv4(h)
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		switch {
		case l == "":
			return "the host name has an empty label (two dots, or a dot at an end)"
		case len(l) > 63:
			return "a label of the host name is longer than 63 characters"
		case l[0] == '-' || l[len(l)-1] == '-':
			return `a label of the host name starts or ends with "-"`
		case strings.HasPrefix(l, "xn--"):
			return `internationalized host names ("xn--" labels) are not accepted`
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "the host name may hold only lower-case letters a-z, digits, \"-\" and \".\""
			}
		}
	}
	if last := labels[len(labels)-1]; last[0] < 'a' || last[0] > 'z' {
		// Browsers read a name whose last label is a number as an IPv4 address.
		return "the last label of the host name must start with a letter"
	}
	return ""
}

// ipv4Like reports whether h holds only digits and dots, as an IPv4 address does.
func ipv4Like(h string) bool {
	for i := 0; i < len(h); i++ {
		if c := h[i]; c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func checkIPv4(h string) string {
	parts := strings.Split(h, ".")
	if len(parts) != 4 {
		return "an IPv4 address has four numbers"
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 || (len(p) > 1 && p[0] == '0') {
			return "each number of an IPv4 address is 0 to 255, without leading zeros"
		}
		if n := atoiDigits(p); n > 255 {
			return "each number of an IPv4 address is 0 to 255, without leading zeros"
		}
	}
	return ""
}

// atoiDigits converts a short string of ASCII digits.
func atoiDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func checkPort(p string) string {
	const why = "the port must be a number from 1 to 65535 without leading zeros"
	if p == "" || len(p) > 5 || p[0] == '0' {
		return why
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return why
		}
	}
	if atoiDigits(p) > 65535 {
		return why
	}
	return ""
}

// pchar reports whether c may appear as is in a path segment (percent
// escapes aside).
func pchar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0
}

// checkChars checks that s is made of pchar, the bytes of extra and
// well-formed percent escapes; part names the URL part for the message.
func checkChars(s, part, extra string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "the " + part + ` has a "%" that is not followed by two hex digits`
			}
			i += 2
		case pchar(c) || strings.IndexByte(extra, c) >= 0:
		case c >= 0x80:
			return "the " + part + " has a non-ASCII character (percent-encode its UTF-8 bytes)"
		default:
			return "the " + part + " has a character that must be percent-encoded: " + quoteByte(c)
		}
	}
	return ""
}

func quoteByte(c byte) string {
	if c < 0x20 || c == 0x7f {
		return "a control character"
	}
	if c == ' ' {
		return "a space"
	}
	return `"` + string(rune(c)) + `"`
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// dotSegment reports whether a path segment is "." or "..", which browsers
// remove from the path, also when written with %2e.
func dotSegment(seg string) bool {
	switch strings.ToLower(seg) {
	case ".", "..", "%2e", ".%2e", "%2e.", "%2e%2e":
		return true
	}
	return false
}
