package protocol

import (
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// urlCases is the table of docs/PROTOCOL.md, "URLs": what the grammar accepts
// and refuses, including the cases where URL libraries disagree.
var urlCases = []struct {
	url string
	ok  bool
	why string // for people: why the case is in the table
}{
	{"https://shop.example", true, "no path"},
	{"https://shop.example/", true, ""},
	{"http://localhost:8080/x", true, "single label, port"},
	{"https://shop.example:443/", true, "the default port"},
	{"https://shop.example:65535/", true, "the largest port"},
	{"https://192.0.2.1/p", true, "IPv4"},
	{"https://0.0.0.0/", true, "IPv4 zeros"},
	{"https://a-b.c9.example/x_y~z", true, "hyphen and digits in labels"},
	{"https://ab--cd.example/", true, "double hyphen inside a label"},
	{"https://shop.example/p/q;r=1,2/%E4%BD%A0%2F?q=a&b=%27c%27/?#frag/x?y", true, "every character class"},
	{"https://shop.example/!$&'()*+,;=:@", true, "sub-delims, : and @ in the path"},
	{"https://shop.example?q", true, "query without path"},
	{"https://shop.example#top", true, "fragment without path"},
	{"https://shop.example/?", true, "empty query"},
	{"https://shop.example/a/.b/..c", true, "dots inside segments"},
	{"https://s.example/" + strings.Repeat("a", MaxURLBytes-len("https://s.example/")), true, "exactly MaxURLBytes"},

	{"", false, "empty"},
	{"https://s.example/" + strings.Repeat("a", MaxURLBytes-len("https://s.example/")+1), false, "over MaxURLBytes"},
	{"https://shop.example:99999/", false, "Go's net/url accepts the port, browsers refuse it"},
	{"https://shop.example:65536/", false, "port out of range"},
	{"https://shop.example:0/", false, "port 0"},
	{"https://shop.example:080/", false, "browsers read port 80, Go keeps 080"},
	{"https://shop.example:/", false, "empty port (browsers drop it)"},
	{"https://shop.example:8a/", false, "port not a number"},
	{"HTTPS://shop.example/", false, "upper-case scheme (browsers lower it)"},
	{"https://Shop.example/", false, "upper-case host (browsers lower it, Go keeps it)"},
	{"ftp://shop.example/", false, "scheme"},
	{"javascript:alert(1)", false, "scheme"},
	{"//shop.example/", false, "scheme-relative"},
	{"https:/shop.example/", false, "one slash (browsers repair it)"},
	{"https:\\\\shop.example/", false, "backslashes (browsers read them as slashes)"},
	{"https://shop.example\\path", false, "backslash in the path"},
	{"https://ex_ample.com/", false, "underscore in the host (Python and browsers accept it)"},
	{"https://shop.example/a b", false, "space (Python accepts it, browsers encode it)"},
	{"https://shop.ex\tample/", false, "tab (browsers remove it)"},
	{"https://shop.example/%zz", false, "bad percent escape (Python and browsers accept it, Go refuses it)"},
	{"https://shop.example/%4", false, "short percent escape"},
	{"https://shop.example/%", false, "lone percent"},
	{"https://shop.example/你好", false, "non-ASCII path (browsers encode it)"},
	{"https://商店.example/", false, "non-ASCII host"},
	{"https://xn--fiqs8s.example/", false, "punycode: validity depends on IDNA tables"},
	{"https://user@shop.example/", false, "user info"},
	{"https://user:pw@shop.example/", false, "user info"},
	{"https://[::1]/", false, "IPv6"},
	{"https://1.2.3/", false, "browsers read 1.2.3 as the IPv4 1.2.0.3"},
	{"https://1.2.3.4.5/", false, "five numbers"},
	{"https://01.2.3.4/", false, "browsers read 01 as octal"},
	{"https://256.1.1.1/", false, "IPv4 number over 255"},
	{"https://0x7f.0.0.1/", false, "browsers read hex IPv4 numbers"},
	{"https://shop.123/", false, "browsers read a numeric last label as IPv4"},
	{"https://shop.example./", false, "trailing dot"},
	{"https://shop..example/", false, "empty label"},
	{"https://-shop.example/", false, "label starts with a hyphen"},
	{"https://shop-.example/", false, "label ends with a hyphen"},
	{"https://" + strings.Repeat("a", 64) + ".example/", false, "label over 63"},
	{"https://" + strings.Repeat("a.", 127) + "example/", false, "host over 253"},
	{"https://shop.example/a/../b", false, "dot segment (browsers remove it)"},
	{"https://shop.example/./b", false, "dot segment"},
	{"https://shop.example/a/%2E%2e/b", false, "encoded dot segment (browsers remove it too)"},
	{"https://shop.example/a/.%2e", false, "encoded dot segment"},
	{"https://shop.example/?q='x'", false, "apostrophe in the query (browsers encode it)"},
	{"https://shop.example/a\"b", false, "quote (browsers encode it)"},
	{"https://shop.example/a<b>", false, "angle brackets"},
	{"https://shop.example/a{b}", false, "braces (browsers encode them in the path)"},
	{"https://shop.example/a^b", false, "caret"},
	{"https://shop.example/a`b", false, "backtick"},
	{"https://shop.example/a|b", false, "pipe"},
	{"https://shop.example/a[b]", false, "brackets"},
	{"https://shop.example/#a#b", false, "second #"},
	{"https://shop.example/#", false, "empty fragment (Go drops the #, browsers keep it)"},
	{"http://a///#", false, "empty fragment (found by FuzzCheckURL)"},
	{"https://shop.example///x//", true, "empty path segments"},
	{"https://shop.example/a\x00", false, "NUL"},
	{"https://shop.example/a\x7f", false, "DEL"},
	{" https://shop.example/", false, "leading space (browsers trim it)"},
	{"https://shop.example/\n", false, "newline"},
}

func TestCheckURL(t *testing.T) {
	for _, c := range urlCases {
		err := CheckURL(c.url)
		if (err == nil) != c.ok {
			t.Errorf("CheckURL(%q) = %v; want ok=%v (%s)", clip(c.url, 60), err, c.ok, c.why)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "URL") {
				t.Errorf("CheckURL(%q): refusal %v is not an invalid-URL error", clip(c.url, 60), err)
			}
			continue
		}
		if msg := goAgrees(c.url); msg != "" {
			t.Errorf("%q: %s", c.url, msg)
		}
	}
}

// goAgrees checks that Go's net/url reads an accepted URL exactly as the
// grammar does: same scheme and host, a port in range, nothing rewritten.
func goAgrees(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "net/url refuses it: " + err.Error()
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Opaque != "" || u.User != nil || u.Host == "" {
		return "net/url reads another shape: " + u.Scheme + " " + u.Opaque + " " + u.Host
	}
	if u.String() != s {
		return "net/url writes it back as " + u.String()
	}
	if u.Hostname() != strings.ToLower(u.Hostname()) {
		return "net/url keeps an upper-case host"
	}
	return ""
}

// whatwgHref is what a browser's URL parser writes back for an accepted URL:
// the same text, with "/" for an empty path and without a default port.
func whatwgHref(s string) string {
	scheme, rest, _ := strings.Cut(s, "://")
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	auth, tail := rest[:end], rest[end:]
	if (scheme == "http" && strings.HasSuffix(auth, ":80")) || (scheme == "https" && strings.HasSuffix(auth, ":443")) {
		auth = auth[:strings.LastIndexByte(auth, ':')]
	}
	if !strings.HasPrefix(tail, "/") {
		tail = "/" + tail
	}
	return scheme + "://" + auth + tail
}

// TestCheckURLWHATWG runs the table through Node.js's URL class, an
// implementation of the WHATWG URL standard that browsers follow: every
// accepted URL parses there and is written back as whatwgHref says.
func TestCheckURLWHATWG(t *testing.T) {
	nodejs, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("QUN_CI") == "1" {
			t.Fatal("node (Node.js) is needed for the WHATWG URL check")
		}
		t.Skip("node (Node.js) not found: skipping the WHATWG URL check (QUN_CI=1 makes it fail)")
	}
	var accepted []string
	for _, c := range urlCases {
		if c.ok {
			accepted = append(accepted, c.url)
		}
	}
	in, _ := json.Marshal(accepted)
	script := `const out = JSON.parse(require("fs").readFileSync(0, "utf8")).map((s) => {
  try { return new URL(s).href; } catch (e) { return "refused: " + e.message; } });
process.stdout.write(JSON.stringify(out));`
	cmd := exec.Command(nodejs, "-e", script)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var hrefs []string
	if err := json.Unmarshal(out, &hrefs); err != nil || len(hrefs) != len(accepted) {
		t.Fatalf("node answered %q (%v)", out, err)
	}
	for i, s := range accepted {
		if want := whatwgHref(s); hrefs[i] != want {
			t.Errorf("%q: the WHATWG parser gives %q, want %q", clip(s, 60), clip(hrefs[i], 60), clip(want, 60))
		}
	}
}

func FuzzCheckURL(f *testing.F) {
	for _, c := range urlCases {
		f.Add(c.url)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := CheckURL(s)
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Code != CodeInvalid || e.Msg == "" {
				t.Fatalf("refusal %T %v", err, err)
			}
			return
		}
		if msg := goAgrees(s); msg != "" {
			t.Fatalf("%q accepted, but %s", s, msg)
		}
	})
}

// TestURLFields checks that every URL field of a body follows the grammar.
func TestURLFields(t *testing.T) {
	bodies := map[string]func(u string) Body{
		"link":          func(u string) Body { return &MessageBody{Link: u} },
		"product url":   func(u string) Body { return &MessageBody{Product: &Product{Title: "t", URL: u}} },
		"product image": func(u string) Body { return &MessageBody{Product: &Product{Title: "t", Image: u}} },
		"avatar":        func(u string) Body { return &UpdateBody{Settings{Avatar: &u}} },
	}
	for name, mk := range bodies {
		for _, c := range urlCases {
			if c.url == "" {
				continue
			}
			b := mk(c.url)
			_, err := DecodeBody(b.Kind(), b.Encode())
			if (err == nil) != c.ok {
				t.Errorf("%s %q: %v; want ok=%v (%s)", name, clip(c.url, 60), err, c.ok, c.why)
			}
		}
	}
}
