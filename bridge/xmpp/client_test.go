package xmpp

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"

	"github.com/qunchat/qun/bridge"
)

// user is a plain XMPP client of a test (mellium), that records every
// message and presence it gets, as decoded and as XML.
type user struct {
	t    *testing.T
	name string
	jid  jid.JID // full, once bound
	xs   *xmpp.Session
	got  chan got
	done chan struct{}
}

// got is a stanza a user got.
type got struct {
	raw string // re-encoded: namespaces as xmlns="…" on each element
	msg *inMessage
	pre *inPresence
}

// user registers name@qun.test and connects it.
func (p *prosody) user(name string) *user {
	p.t.Helper()
	p.Register(name, "pw-"+name)
	return p.connect(name)
}

// connect connects name@qun.test, registered before.
func (p *prosody) connect(name string) *user {
	t := p.t
	t.Helper()
	conn, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	account := jid.MustParse(name + "@" + testDomain)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	xs, err := xmpp.NewSession(ctx, account.Domain(), account, conn, 0, xmpp.NewNegotiator(func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
		return xmpp.StreamConfig{Features: []xmpp.StreamFeature{xmpp.StartTLS(p.ClientTLS()), xmpp.SASL("", "pw-"+name, sasl.ScramSha1, sasl.Plain), xmpp.BindResource()}}
	}))
	if err != nil {
		conn.Close()
		t.Fatalf("%s connecting: %v", name, err)
	}
	u := &user{t: t, name: name, jid: xs.LocalAddr(), xs: xs, got: make(chan got, 1024), done: make(chan struct{})}
	go func() {
		defer close(u.done)
		xs.Serve(xmpp.HandlerFunc(u.handle))
	}()
	t.Cleanup(u.close)
	return u
}

func (u *user) close() {
	u.xs.Conn().Close()
	<-u.done
}

func (u *user) handle(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	r := xmlstream.MultiReader(xmlstream.Token(*start), t)
	for {
		tok, err := r.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err // the stream broke: nothing more to read
		}
		if se, ok := tok.(xml.StartElement); ok {
			attrs := se.Attr[:0:0]
			for _, a := range se.Attr {
				if a.Name.Local != "xmlns" && a.Name.Space != "xmlns" {
					attrs = append(attrs, a)
				}
			}
			se.Attr = attrs
			tok = se
		}
		if err := enc.EncodeToken(xml.CopyToken(tok)); err != nil {
			return err
		}
	}
	enc.Flush()
	g := got{raw: buf.String()}
	switch start.Name.Local {
	case "message":
		g.msg = &inMessage{}
		if err := parseStanza(buf.Bytes(), g.msg); err != nil {
			u.t.Errorf("%s: %v decoding %s", u.name, err, g.raw)
		}
	case "presence":
		g.pre = &inPresence{}
		if err := parseStanza(buf.Bytes(), g.pre); err != nil {
			u.t.Errorf("%s: %v decoding %s", u.name, err, g.raw)
		}
	default:
		return nil
	}
	select {
	case u.got <- g:
	default:
		u.t.Errorf("%s: too many stanzas", u.name)
	}
	return nil
}

// send sends one stanza written in XML (in jabber:client by default).
func (u *user) send(format string, a ...any) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := u.xs.Send(ctx, xml.NewDecoder(strings.NewReader(fmt.Sprintf(format, a...)))); err != nil {
		u.t.Fatalf("%s sending: %v", u.name, err)
	}
}

// raw writes bytes as they are on the stream, whatever they are.
func (u *user) raw(s string) error {
	w := u.xs.TokenWriter()
	defer w.Close()
	_, err := u.xs.Conn().Write([]byte(s))
	return err
}

// wait returns the first stanza that matches, within 15s.
func (u *user) wait(what string, match func(got) bool) got {
	u.t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case g := <-u.got:
			if match(g) {
				return g
			}
		case <-u.done:
			u.t.Fatalf("%s: disconnected, waiting for %s", u.name, what)
		case <-timeout:
			u.t.Fatalf("%s: no %s within 15s", u.name, what)
		}
	}
}

// join joins room with nick, and waits for the room's own presence.
// history, if not "", is the <history/> element to ask with.
func (u *user) join(room, nick, history string) {
	u.t.Helper()
	u.send(`<presence to='%s/%s'><x xmlns='http://jabber.org/protocol/muc'>%s</x></presence>`, room, nick, history)
	u.wait("self-presence in "+room, func(g got) bool {
		if g.pre == nil || g.pre.From != room+"/"+nick {
			return false
		}
		if g.pre.Type == "error" {
			u.t.Fatalf("%s cannot join %s: %s", u.name, room, g.raw)
		}
		return true
	})
}

// say posts body in room with id, and extra elements after the body.
func (u *user) say(room, id, body, extra string) {
	u.t.Helper()
	var b strings.Builder
	xml.EscapeText(&b, []byte(body))
	u.send(`<message type='groupchat' to='%s' id='%s'><body>%s</body>%s</message>`, room, id, b.String(), extra)
}

// message waits for a groupchat message in room whose body contains
// text.
func (u *user) message(room, text string) got {
	u.t.Helper()
	return u.wait(fmt.Sprintf("%q in %s", text, room), func(g got) bool {
		return g.msg != nil && strings.HasPrefix(g.msg.From, room+"/") && strings.Contains(g.msg.body(), text)
	})
}

// testConnector is a Connector run by a test.
type testConnector struct {
	*Connector
	t      *testing.T
	in     chan bridge.Inbound
	runErr chan error
}

// connector makes and runs a connector for the account name (registered
// here) in rooms.
func (p *prosody) connector(name string, rooms ...string) *testConnector {
	p.t.Helper()
	p.Register(name, "pw-"+name)
	return p.runConnector(p.config(name, "pw-"+name), rooms...)
}

// config is a connector's configuration for name@qun.test with password.
func (p *prosody) config(name, password string) bridge.XMPP {
	file := filepath.Join(p.Dir, name+".password")
	if err := os.WriteFile(file, []byte(password+"\n"), 0o600); err != nil {
		p.t.Fatal(err)
	}
	return bridge.XMPP{JID: name + "@" + testDomain, PasswordFile: file, Server: p.Addr(), CAFile: p.CAFile}
}

func (p *prosody) runConnector(cfg bridge.XMPP, rooms ...string) *testConnector {
	t := p.t
	t.Helper()
	c, err := New("xmpp.test", cfg, rooms, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	c.timing.backoffMin, c.timing.backoffMax = 50*time.Millisecond, 400*time.Millisecond
	c.timing.rejoinMin, c.timing.rejoinMax = 100*time.Millisecond, time.Second
	c.timing.ping, c.timing.pong = 3*time.Second, 5*time.Second
	tc := &testConnector{Connector: c, t: t, in: make(chan bridge.Inbound, 1024), runErr: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { tc.runErr <- c.Run(ctx, tc.in) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-tc.runErr:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v, want context.Canceled", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("Run did not return within 15s of its context's end")
		}
	})
	return tc
}

// live waits until the connector is in room.
func (tc *testConnector) live(room string) {
	tc.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, _, err := tc.Connector.live(ctx, room); err != nil {
		tc.t.Fatal(err)
	}
}

// next is the next Inbound, within 15s.
func (tc *testConnector) next() bridge.Inbound {
	tc.t.Helper()
	select {
	case m := <-tc.in:
		return m
	case err := <-tc.runErr:
		tc.t.Fatalf("Run returned %v", err)
	case <-time.After(15 * time.Second):
		tc.t.Fatal("no Inbound within 15s")
	}
	return bridge.Inbound{}
}

// nextText is the next Inbound, which must have text.
func (tc *testConnector) nextText(text string) bridge.Inbound {
	tc.t.Helper()
	m := tc.next()
	if m.Text != text {
		tc.t.Fatalf("got %+v, want the text %q", m, text)
	}
	return m
}

var roomSeq struct {
	sync.Mutex
	n int
}

// newRoom is a room name of its own for a test.
func newRoom(prefix string) string {
	roomSeq.Lock()
	defer roomSeq.Unlock()
	roomSeq.n++
	return fmt.Sprintf("%s%d@%s", prefix, roomSeq.n, testMUC)
}
