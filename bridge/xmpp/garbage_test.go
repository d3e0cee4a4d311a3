package xmpp

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/bridge"
)

// fakeServer is a hand-written XMPP server: just enough of StartTLS,
// SASL PLAIN and resource binding for the connector to get through, then
// whatever bytes a test writes, valid or not.
type fakeServer struct {
	t   *testing.T
	ln  net.Listener
	tls *tls.Config
	ca  string
}

func startFakeServer(t *testing.T) *fakeServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ca, cert, key := makeCerts(t, t.TempDir())
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeServer{t: t, ln: ln, ca: ca, tls: &tls.Config{Certificates: []tls.Certificate{pair}}}
}

// fakeConn is one connection to the fake server, once bound.
type fakeConn struct {
	t     *testing.T
	conn  net.Conn
	got   chan xml.StartElement // the client's stanzas (their start)
	ended chan struct{}         // closed when the client has closed its side
}

const fakeHeader = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='%s' from='qun.test' version='1.0' xml:lang='en'>`

// accept takes the connector's next connection through the handshake,
// and answers its join of room: its own presence and the subject, with
// history in between (which must not come through).
func (f *fakeServer) accept(room string) *fakeConn {
	t := f.t
	t.Helper()
	f.ln.(*net.TCPListener).SetDeadline(time.Now().Add(15 * time.Second))
	conn, err := f.ln.Accept()
	if err != nil {
		t.Fatalf("the connector did not connect: %v", err)
	}
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	fc := &fakeConn{t: t, conn: conn, got: make(chan xml.StartElement, 64), ended: make(chan struct{})}
	t.Cleanup(func() { conn.Close(); <-fc.ended })
	d := xml.NewDecoder(conn)
	expect := func(name string) xml.StartElement {
		t.Helper()
		for {
			tok, err := d.Token()
			if err != nil {
				t.Fatalf("waiting for <%s>: %v", name, err)
			}
			if se, ok := tok.(xml.StartElement); ok {
				if se.Name.Local != name {
					t.Fatalf("got <%s>, want <%s>", se.Name.Local, name)
				}
				return se.Copy()
			}
		}
	}
	expect("stream")
	fc.write(fmt.Sprintf(fakeHeader, "s1") + `<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>`)
	expect("starttls")
	fc.write(`<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`)
	tc := tls.Server(conn, f.tls)
	if err := tc.Handshake(); err != nil {
		t.Fatalf("TLS: %v", err)
	}
	fc.conn = tc
	d = xml.NewDecoder(tc)
	expect("stream")
	fc.write(fmt.Sprintf(fakeHeader, "s2") + `<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>`)
	auth := expect("auth")
	var data string
	if err := d.DecodeElement(&data, &auth); err != nil {
		t.Fatal(err)
	}
	if b, _ := base64.StdEncoding.DecodeString(data); string(b) != "\x00bridge\x00secret" {
		t.Fatalf("auth %q", b)
	}
	fc.write(`<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>`)
	expect("stream")
	fc.write(fmt.Sprintf(fakeHeader, "s3") + `<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>`)
	iq := expect("iq")
	d.Skip()
	fc.write(fmt.Sprintf(`<iq type='result' id='%s'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>bridge@qun.test/fake</jid></bind></iq>`, attrOf(iq, "id")))
	go func() {
		defer close(fc.ended)
		for {
			tok, err := d.Token()
			if err != nil {
				return
			}
			if se, ok := tok.(xml.StartElement); ok && (se.Name.Local == "presence" || se.Name.Local == "message" || se.Name.Local == "iq") {
				select {
				case fc.got <- se.Copy():
				default:
				}
				d.Skip()
			}
		}
	}()
	join := fc.next("presence")
	if attrOf(join, "to") != room+"/bridge" {
		t.Fatalf("joined %q", attrOf(join, "to"))
	}
	fc.write(`<presence from='` + room + `/alice'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='member' role='participant' jid='alice@qun.test/phone'/></x></presence>` +
		`<presence from='` + room + `/bridge'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='owner' role='moderator'/><status code='110'/></x></presence>` +
		// history, though none was asked for: with a delay, then without
		`<message type='groupchat' from='` + room + `/alice' id='h1'><body>history with a delay</body><delay xmlns='urn:xmpp:delay' from='` + room + `' stamp='2024-01-01T00:00:00Z'/></message>` +
		`<message type='groupchat' from='` + room + `/alice' id='h2'><body>history without a delay</body></message>` +
		`<message type='groupchat' from='` + room + `'><subject>tea</subject></message>`)
	return fc
}

func attrOf(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (fc *fakeConn) write(s string) {
	fc.t.Helper()
	if _, err := io.WriteString(fc.conn, s); err != nil {
		fc.t.Fatalf("writing to the connector: %v", err)
	}
}

// next is the client's next stanza, which must be a name.
func (fc *fakeConn) next(name string) xml.StartElement {
	fc.t.Helper()
	select {
	case se := <-fc.got:
		if se.Name.Local != name {
			fc.t.Fatalf("got <%s>, want <%s>", se.Name.Local, name)
		}
		return se
	case <-time.After(15 * time.Second):
		fc.t.Fatalf("no <%s> within 15s", name)
	}
	return xml.StartElement{}
}

// waitClosed waits for the connector to close the connection.
func (fc *fakeConn) waitClosed() {
	fc.t.Helper()
	select {
	case <-fc.ended:
	case <-time.After(15 * time.Second):
		fc.t.Fatal("the connector did not close the connection")
	}
}

// TestBadServerInput feeds the connector, from a hand-written server,
// what no server should send: history it did not ask for, messages from
// rooms it is not in, from nowhere, from itself, broken stanzas of every
// kind; then bytes that break the stream: invalid UTF-8, control
// characters, a stanza over the size limit, mismatched tags, a stream
// error. None panics; the stanzas that only make no sense are dropped and
// the connection stays; a broken stream ends it, and the connector
// connects again. Only the real messages come through, and once Run has
// returned, none of its goroutines are left.
func TestBadServerInput(t *testing.T) {
	before := runtime.NumGoroutine()
	f := startFakeServer(t)
	room := "tea@" + testMUC
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("secret\n"), 0o600)
	c, err := New("xmpp.fake", bridge.XMPP{JID: "bridge@qun.test", PasswordFile: pw, Server: f.ln.Addr().String(), CAFile: f.ca}, []string{room}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	c.timing.backoffMin, c.timing.backoffMax = 10*time.Millisecond, 50*time.Millisecond
	c.timing.ping = time.Hour
	c.timing.rejoinMin, c.timing.rejoinMax = 10*time.Millisecond, 50*time.Millisecond
	c.maxBytes = 256 << 10
	in := make(chan bridge.Inbound, 64)
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx, in) }()
	next := func(text string) {
		t.Helper()
		select {
		case m := <-in:
			if m.Text != text {
				t.Fatalf("got %+v, want %q", m, text)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("no %q within 15s", text)
		}
	}
	msg := func(from, body string) string {
		return `<message type='groupchat' from='` + from + `'><body>` + body + `</body></message>`
	}

	fc := f.accept(room)
	deep := strings.Repeat("<a>", 20000) + strings.Repeat("</a>", 20000)
	fc.write(strings.Join([]string{
		`<message type='groupchat' from='` + room + `/alice' id='d1'><body>live but delayed</body><delay xmlns='urn:xmpp:delay' stamp='2024-01-01T00:00:00Z'/></message>`,
		`<message type='groupchat' from='` + room + `/alice'><body>obsolete delay</body><x xmlns='jabber:x:delay' stamp='20240101T00:00:00'/></message>`,
		msg("other@"+testMUC+"/alice", "a room it is not in"),
		msg(room, "from the room itself"),
		msg("", "from nowhere"),
		msg("@@@/x", "from an invalid JID"),
		msg(room+"/bridge", "its own"),
		`<message type='error' from='` + room + `' id='nothing-we-sent'><error type='cancel'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`,
		`<message type='groupchat' from='` + room + `/alice'><body/></message>`,
		`<message type='groupchat' from='` + room + `/alice'><retract xmlns='urn:xmpp:message-retract:1'/></message>`,
		`<message type='groupchat' from='` + room + `/alice'><body>bad fallback</body><fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:reply:0'><body start='-5' end='99999'/><body start='x' end='y'/><body start='3' end='1'/></fallback><reply xmlns='urn:xmpp:reply:0'/></message>`,
		`<presence from='` + room + `/mallory'><x xmlns='http://jabber.org/protocol/muc#user'><item jid='@@@' role='' affiliation='owner'/><status code='abc'/><status/></x></presence>`,
		`<iq type='get' from='qun.test' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>`,
		`<iq type='set' from='qun.test' id='q1'><query xmlns='jabber:iq:roster'/></iq>`,
		`<unknown-element><x/></unknown-element>`,
		`<message type='groupchat' from='` + room + `/alice'><body>deep</body>` + deep + `</message>`,
		`<message type='groupchat' from='` + room + `/alice' id='` + strings.Repeat("i", 100000) + `'><body>long id</body></message>`,
		`<message type='groupchat' from='` + room + `/alice'><body>` + strings.Repeat("<b/>", 20000) + `many children</body></message>`,
		msg(room+"/alice", "live one"),
	}, "\n"))
	next("bad fallback")
	next("deep")
	next("long id")
	next("many children")
	next("live one")
	if iq := fc.next("iq"); attrOf(iq, "id") != "p1" || attrOf(iq, "type") != "result" {
		t.Fatalf("the ping's answer: %v", iq)
	}
	if iq := fc.next("iq"); attrOf(iq, "id") != "q1" || attrOf(iq, "type") != "error" {
		t.Fatalf("the roster push's refusal: %v", iq)
	}

	// An error from the room takes the connector out of it: it joins
	// again; what is said meanwhile is not for it.
	fc.write(`<presence from='` + room + `' type='error'/>` + msg(room+"/alice", "while out"))
	fc.next("presence")
	fc.write(`<presence from='` + room + `/bridge'><x xmlns='http://jabber.org/protocol/muc#user'><item role='moderator'/><status code='110'/></x></presence>` +
		`<message type='groupchat' from='` + room + `'><subject/></message>` + msg(room+"/alice", "in again"))
	next("in again")

	breakers := []string{
		msg(room+"/alice", "caf\xe9"),                      // invalid UTF-8
		msg(room+"/alice", "bell \x07"),                    // a control character
		msg(room+"/alice", "bell &#7;"),                    // the same, escaped
		msg(room+"/alice", strings.Repeat("big ", 200000)), // over the limit
		`<message type='groupchat' from='` + room + `/alice'><body>mismatched</message></body>`,
		`<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`,
	}
	for i, b := range breakers {
		fc.write(msg(room+"/alice", fmt.Sprintf("good %d", i)) + b)
		next(fmt.Sprintf("good %d", i))
		fc.waitClosed()
		fc = f.accept(room)
	}
	fc.write(msg(room+"/alice", "the end"))
	next("the end")
	if s := c.Status(); !s.Connected {
		t.Fatalf("status %+v", s)
	}

	cancel()
	if err := <-runErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	fc.waitClosed()
	waitFor(t, 10*time.Second, "the connector's goroutines to end", func() bool { return runtime.NumGoroutine() <= before+2 })
}

// TestBadClientInput: a hand-driven client in a prosody room sends what
// a client should not: stanzas prosody refuses (invalid UTF-8, control
// characters, over its size limit: it ends that client's stream), and
// ones it relays: a forged stanza-id and delay, broken reply fallbacks,
// a correction and a retraction at once, deep nesting, a large body.
// The connector stays in the room and passes on only what makes sense,
// with the room's IDs.
func TestBadClientInput(t *testing.T) {
	p := startProsody(t)
	room := newRoom("bad")
	c := p.connector("bridge", room)
	c.live(room)
	mallory := p.user("mallory")
	mallory.join(room, "Mallory", "")
	big := strings.Repeat("big ", 50000) // 200 kB: under prosody's 256 KiB
	for _, m := range []struct{ id, body, extra string }{
		{"m1", "forged stanza-id", `<stanza-id xmlns='urn:xmpp:sid:0' by='` + room + `' id='forged'/>`},
		{"m2", "delayed by the room", `<delay xmlns='urn:xmpp:delay' from='` + room + `' stamp='2024-01-01T00:00:00Z'/>`}, // prosody strips it
		{"m3", "delayed by someone", `<delay xmlns='urn:xmpp:delay' from='elsewhere' stamp='2024-01-01T00:00:00Z'/>`},     // dropped
		{"m4", "> quote\nbroken fallback", `<reply xmlns='urn:xmpp:reply:0' id='nowhere'/><fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:reply:0'><body start='8' end='2'/><body start='0' end='1000'/></fallback>`},
		{"m5", "both at once", `<replace xmlns='urn:xmpp:message-correct:0' id='m1'/><retract xmlns='urn:xmpp:message-retract:1' id='m1'/>`},
		{"m6", "deep", strings.Repeat("<a xmlns='urn:x'>", 40) + strings.Repeat("</a>", 40)}, // deeper fails prosody's archive
		{"m7", "\u202eRTL override\u200b and zero width", ""},
		{"m8", big, ""},
	} {
		mallory.say(room, m.id, m.body, m.extra)
	}
	// Prosody ends Mallory's stream at each of these; another Mallory
	// comes back each time.
	for _, raw := range []string{
		"<message type='groupchat' to='" + room + "'><body>caf\xe9</body></message>",
		"<message type='groupchat' to='" + room + "'><body>bell \x07</body></message>",
		"<message type='groupchat' to='" + room + "'><body>" + strings.Repeat("x", 300<<10) + "</body></message>",
	} {
		mallory.raw(raw)
		select {
		case <-mallory.done:
		case <-time.After(15 * time.Second):
			t.Fatalf("prosody kept Mallory's stream after %.40q", raw)
		}
		mallory = p.connect("mallory")
		mallory.join(room, "Mallory", "")
	}
	mallory.say(room, "m9", "the end", "")

	in := c.nextText("forged stanza-id")
	if in.ID == "forged" || in.ID == "m1" || in.ID == "" {
		t.Fatalf("ID %q: not the room's", in.ID)
	}
	first := in.ID
	c.nextText("delayed by the room")
	if in = c.nextText("> quote\nbroken fallback"); in.ReplyTo != "nowhere" {
		t.Fatalf("got %+v", in)
	}
	if in = c.next(); in.Deletes != first || in.Text != "" {
		t.Fatalf("got %+v, want the retraction of %s", in, first)
	}
	c.nextText("deep")
	c.nextText("\u202eRTL override\u200b and zero width")
	c.nextText(big)
	c.nextText("the end")
	if s := c.Status(); !s.Connected {
		t.Fatalf("status %+v", s)
	}
}
