package xmpp

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/dial"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/qunchat/qun/bridge"
)

// errStanzaTooLarge ends a session whose server sent more than
// Connector.maxBytes in one stanza.
var errStanzaTooLarge = errors.New("xmpp: the server sent a stanza over the size limit")

// limitConn is the connection under TLS and the XML decoder: it fails
// the read that takes the bytes read since the last reset over max. The
// session resets it at each stanza, so a stanza cannot grow without
// bound in memory (mellium's decoder has no limit of its own).
type limitConn struct {
	net.Conn
	n   atomic.Int64
	max int64
}

func (l *limitConn) Read(b []byte) (int, error) {
	if l.n.Load() > l.max {
		return 0, errStanzaTooLarge
	}
	n, err := l.Conn.Read(b)
	l.n.Add(int64(n))
	return n, err
}

func (l *limitConn) reset() { l.n.Store(0) }

// session is one connection, from the dial to its end. Its rooms and
// waiters are guarded by the connector's lock.
type session struct {
	c      *Connector
	xs     *xmpp.Session
	conn   *limitConn
	ctx    context.Context // ends with the session
	cancel context.CancelFunc
	done   chan struct{} // closed once the session is over
	queue  chan<- bridge.Inbound

	rooms   map[string]*roomState
	waiters map[string]*waiter // by the id of a message we sent
}

// waiter waits for the room's copy of a message we sent.
type waiter struct {
	op string
	ch chan reflection // buffered 1, written once
}

// session connects, authenticates, joins the rooms and serves the
// connection until it fails or ctx ends. ready says whether it got as far
// as a bound session.
func (c *Connector) session(ctx context.Context, queue chan<- bridge.Inbound) (ready bool, err error) {
	password, err := readPassword(c.pwFile)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	dctx, cancel := context.WithTimeout(ctx, c.timing.dial)
	var raw net.Conn
	if c.server != "" {
		var d net.Dialer
		raw, err = d.DialContext(dctx, "tcp", c.server)
	} else {
		// The xmpp-client service (SRV), else the domain's port 5222
		// (RFC 6120 §3.2.2); StartTLS on either.
		d := dial.Dialer{NoTLS: true}
		raw, err = d.Dial(dctx, "tcp", c.account)
		if err != nil && dctx.Err() == nil {
			var nd net.Dialer
			raw, err = nd.DialContext(dctx, "tcp", net.JoinHostPort(c.account.Domainpart(), "5222"))
		}
	}
	cancel()
	if err != nil {
		return false, fmt.Errorf("connecting: %w", err)
	}
	conn := &limitConn{Conn: raw, max: c.maxBytes}

	auth := xmpp.SASL("", password, sasl.ScramSha256, sasl.ScramSha1, sasl.Plain)
	negotiate := auth.Negotiate
	auth.Negotiate = func(ctx context.Context, s *xmpp.Session, data any) (xmpp.SessionState, io.ReadWriter, error) {
		mask, rw, err := negotiate(ctx, s, data)
		if err != nil && !transient(err) {
			err = &AuthError{Condition: saslCondition(err), Err: err}
		}
		return mask, rw, err
	}
	nctx, cancel := context.WithTimeout(ctx, c.timing.negotiate)
	xs, err := xmpp.NewSession(nctx, c.account.Domain(), c.account, conn, 0, xmpp.NewNegotiator(func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
		return xmpp.StreamConfig{Features: []xmpp.StreamFeature{xmpp.StartTLS(c.tls), auth, xmpp.BindResource()}}
	}))
	cancel()
	if err == nil && xs.State()&(xmpp.Secure|xmpp.Authn) != xmpp.Secure|xmpp.Authn {
		err = errors.New("the server offered no TLS or no authentication") // never talk in the clear
	}
	if err != nil {
		conn.Close()
		var auth *AuthError
		if errors.As(err, &auth) && auth.Condition == "temporary-auth-failure" {
			return false, fmt.Errorf("negotiating: %w", auth.Err)
		}
		return false, fmt.Errorf("negotiating: %w", err)
	}
	conn.reset()

	sctx, stop := context.WithCancel(ctx)
	s := &session{
		c: c, xs: xs, conn: conn, ctx: sctx, cancel: stop,
		done:    make(chan struct{}),
		queue:   queue,
		rooms:   map[string]*roomState{},
		waiters: map[string]*waiter{},
	}
	for _, key := range c.order {
		s.rooms[key] = newRoomState(c.rooms[key], c.nick)
	}
	c.log.Info("xmpp: connected", "jid", xs.LocalAddr(), "server", raw.RemoteAddr())
	c.mu.Lock()
	c.sess = s
	close(c.up)
	c.mu.Unlock()
	c.setStatus(true, nil)

	var wg sync.WaitGroup
	var serveErr error
	wg.Go(func() {
		serveErr = xs.Serve(s)
		stop()
	})
	for _, key := range c.order {
		r := s.rooms[key]
		wg.Go(func() { s.keepJoined(r) })
	}
	wg.Go(s.keepAlive)

	<-sctx.Done()
	if ctx.Err() != nil { // stopping: say goodbye
		conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
		xs.Close()
	}
	conn.Close()
	wg.Wait()

	c.mu.Lock()
	c.sess = nil
	c.up = make(chan struct{})
	c.mu.Unlock()
	close(s.done)
	if serveErr == nil || errors.Is(serveErr, net.ErrClosed) {
		serveErr = errors.New("the connection ended")
	}
	return true, serveErr
}

// transient says whether an error of the SASL exchange is the
// connection's rather than the server's answer.
func transient(err error) bool {
	var ne net.Error
	var se *xml.SyntaxError
	return errors.As(err, &ne) || errors.As(err, &se) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, errStanzaTooLarge)
}

// saslCondition is the condition of a SASL failure ("not-authorized"),
// "" if err is not one. mellium's type for it is internal: its exported
// Condition field is read by reflection.
func saslCondition(err error) string {
	v := reflect.ValueOf(err)
	if v.Kind() != reflect.Struct || !strings.HasSuffix(v.Type().PkgPath(), "/saslerr") {
		return ""
	}
	f := v.FieldByName("Condition")
	if !f.IsValid() || !f.CanInterface() {
		return ""
	}
	if s, ok := f.Interface().(fmt.Stringer); ok {
		return s.String()
	}
	return ""
}

// write sends one stanza, bounded by ctx and the write timeout.
func (s *session) write(ctx context.Context, v any) error {
	ctx, cancel := context.WithTimeout(ctx, s.c.timing.write)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel) // the session ends: the write too
	defer stop()
	if err := s.xs.Encode(ctx, v); err != nil {
		return fmt.Errorf("xmpp: writing: %w", err)
	}
	return nil
}

// sendReflected sends msg to a room and waits for the room's copy, with
// its stanza-id: a zero reflection if it does not come in time; the
// room's refusal as a *RefusedError; ErrNotConfirmed if the session ends
// first.
func (s *session) sendReflected(ctx context.Context, msg *outMessage, op string) (reflection, error) {
	c := s.c
	w := &waiter{op: op, ch: make(chan reflection, 1)}
	c.mu.Lock()
	s.waiters[msg.ID] = w
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if s.waiters[msg.ID] == w {
			delete(s.waiters, msg.ID)
		}
		c.mu.Unlock()
	}()
	if err := s.write(ctx, msg); err != nil {
		return reflection{}, err
	}
	t := time.NewTimer(c.timing.reflect)
	defer t.Stop()
	select {
	case refl := <-w.ch:
		return refl, refl.err
	case <-t.C:
		c.log.Debug("xmpp: the room did not send our message back in time", "room", msg.To, "id", msg.ID)
		return reflection{}, nil
	case <-s.done:
		return reflection{}, ErrNotConfirmed
	case <-ctx.Done():
		return reflection{}, fmt.Errorf("%w: %w", ErrNotConfirmed, ctx.Err())
	}
}

// admin sends a MUC admin request to room and returns the room's
// refusal, if any.
func (s *session) admin(ctx context.Context, room jid.JID, op string, q *outAdmin) error {
	ctx, cancel := context.WithTimeout(ctx, s.c.timing.write)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	return s.iq(ctx, op, stanza.IQ{Type: stanza.SetIQ, To: room}, q)
}

// iq sends an IQ and returns its error reply as a *RefusedError.
func (s *session) iq(ctx context.Context, op string, iq stanza.IQ, payload any) error {
	resp, err := s.xs.EncodeIQElement(ctx, payload, iq)
	if err != nil {
		return fmt.Errorf("xmpp: %s: %w", op, err)
	}
	defer resp.Close()
	var reply struct {
		Type  string    `xml:"type,attr"`
		Error []inError `xml:"error"`
	}
	if err, streamErr := decodeStanza(resp, &reply); streamErr != nil || err != nil {
		return fmt.Errorf("xmpp: %s: reading the answer: %w", op, errors.Join(err, streamErr))
	}
	if reply.Type == "error" {
		return refusal(op, reply.Error)
	}
	return nil
}

func refusal(op string, errs []inError) *RefusedError {
	e := &RefusedError{Op: op, Condition: "undefined-condition"}
	if len(errs) > 0 {
		e.Condition, e.Text = errs[0].condition()
	}
	return e
}

// keepJoined joins room r, and joins it again whenever the session is
// out of it (kicked, refused, the room gone), after a backoff, until the
// session ends.
func (s *session) keepJoined(r *roomState) {
	c := s.c
	delay := c.timing.rejoinMin
	conflicts := 0
	for {
		left, err := s.join(r)
		if s.ctx.Err() != nil {
			return
		}
		if err == nil {
			delay, conflicts = c.timing.rejoinMin, 0
			select {
			case <-left:
			case <-s.ctx.Done():
				return
			}
		} else {
			var re *RefusedError
			if errors.As(err, &re) && re.Condition == "conflict" && conflicts < 4 {
				conflicts++
				c.mu.Lock()
				r.nick += "_" // our nick is someone else's there
				c.mu.Unlock()
				continue
			}
			c.log.Warn("xmpp: cannot join", "room", r.key, "err", err)
		}
		wait := delay - rand.N(delay/2+1)
		delay = min(2*delay, c.timing.rejoinMax)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return
		}
	}
}

// join joins r, asking for no history, and waits for the room's answer,
// then for the subject that ends the history (or a while). left is
// closed when the session is out of the room again.
func (s *session) join(r *roomState) (left <-chan struct{}, err error) {
	c := s.c
	c.mu.Lock()
	joined, left := r.startJoin()
	to, live := r.key+"/"+r.nick, r.liveCh
	c.mu.Unlock()
	p := outJoin{ID: randomID(), To: to} // maxstanzas 0: no history
	if err := s.write(s.ctx, &p); err != nil {
		return nil, err
	}
	t := time.NewTimer(c.timing.join)
	defer t.Stop()
	select {
	case err := <-joined:
		if err != nil {
			return nil, err
		}
	case <-t.C:
		c.mu.Lock()
		r.joined = nil
		c.mu.Unlock()
		return nil, fmt.Errorf("no answer to the join within %v", c.timing.join)
	case <-s.ctx.Done():
		return nil, s.ctx.Err()
	}
	t.Reset(c.timing.subject)
	select {
	case <-live:
	case <-left:
	case <-t.C:
		c.log.Warn("xmpp: the room sent no subject; taking it as live", "room", r.key)
		c.mu.Lock()
		if r.phase == roomJoined {
			r.goLive()
		}
		c.mu.Unlock()
	case <-s.ctx.Done():
		return nil, s.ctx.Err()
	}
	c.log.Info("xmpp: in the room", "room", r.key, "nick", r.nick)
	return left, nil
}

// keepAlive pings the server and, in each room, ourselves (XEP-0410),
// every timing.ping: a server that does not answer ends the session, a
// room that no longer knows us is joined again.
func (s *session) keepAlive() {
	c := s.c
	t := time.NewTicker(c.timing.ping)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-s.ctx.Done():
			return
		}
		ctx, cancel := context.WithTimeout(s.ctx, c.timing.pong)
		err := s.iq(ctx, "ping", stanza.IQ{Type: stanza.GetIQ, To: c.account.Domain()}, outPing{})
		cancel()
		var re *RefusedError
		if err != nil && !errors.As(err, &re) {
			if s.ctx.Err() == nil {
				c.log.Warn("xmpp: the server does not answer pings", "err", err)
			}
			s.cancel()
			return
		}
		s.conn.reset()
		for _, key := range c.order {
			c.mu.Lock()
			r := s.rooms[key]
			me, phase := r.key+"/"+r.nick, r.phase
			c.mu.Unlock()
			if phase != roomLive {
				continue
			}
			to, err := jid.Parse(me)
			if err != nil {
				continue
			}
			ctx, cancel := context.WithTimeout(s.ctx, c.timing.pong)
			err = s.iq(ctx, "self-ping", stanza.IQ{Type: stanza.GetIQ, To: to}, outPing{})
			cancel()
			if err == nil {
				c.selfPings.Add(1)
			}
			if errors.As(err, &re) && re.Condition != "service-unavailable" && re.Condition != "feature-not-implemented" &&
				!strings.HasPrefix(re.Condition, "remote-server-") {
				c.log.Warn("xmpp: the room no longer knows us", "room", key, "err", err)
				c.mu.Lock()
				if s.rooms[key] == r {
					r.out("")
				}
				c.mu.Unlock()
			}
			s.conn.reset()
		}
	}
}

// HandleXMPP is the session's handler of what the server sends, called
// by Serve for each stanza but the answers to our IQs. It decodes the
// stanza; one that does not decode is dropped (logged), an error of the
// stream ends the session. It must not wait on the server: Serve reads
// nothing until it returns.
func (s *session) HandleXMPP(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	s.conn.reset()
	r := xmlstream.MultiReader(xmlstream.Token(*start), t)
	var v any
	switch start.Name.Local {
	case "message":
		v = &inMessage{}
	case "presence":
		v = &inPresence{}
	case "iq":
		v = &inIQ{}
	default:
		return nil
	}
	if err, streamErr := decodeStanza(r, v); streamErr != nil {
		return streamErr
	} else if err != nil {
		s.c.log.Debug("xmpp: dropped a stanza that does not decode", "stanza", start.Name.Local, "err", err)
		return nil
	}
	switch v := v.(type) {
	case *inMessage:
		s.onMessage(v)
	case *inPresence:
		s.onPresence(v)
	case *inIQ:
		if v.Type == "get" && len(v.Ping) > 0 { // XEP-0199, and the rooms' self-ping
			res := xml.StartElement{Name: xml.Name{Local: "iq"}, Attr: []xml.Attr{
				{Name: xml.Name{Local: "type"}, Value: "result"},
				{Name: xml.Name{Local: "id"}, Value: v.ID},
			}}
			if v.From != "" {
				res.Attr = append(res.Attr, xml.Attr{Name: xml.Name{Local: "to"}, Value: v.From})
			}
			if err := t.EncodeToken(res); err != nil {
				return err
			}
			return t.EncodeToken(res.End())
		}
	}
	return nil
}

// sender splits a stanza's from into the room it came through (nil if
// not one of ours) and the nick.
func (s *session) sender(from string) (*roomState, string) {
	j, err := jid.Parse(from)
	if err != nil {
		return nil, ""
	}
	return s.rooms[j.Bare().String()], j.Resourcepart()
}

func (s *session) onPresence(p *inPresence) {
	c := s.c
	c.mu.Lock()
	r, nick := s.sender(p.From)
	note := ""
	if r != nil {
		note = r.presence(nick, p)
	}
	c.mu.Unlock()
	if note != "" {
		c.log.Info("xmpp: "+note, "room", r.key)
	}
}

func (s *session) onMessage(m *inMessage) {
	c := s.c
	var in *bridge.Inbound
	c.mu.Lock()
	if m.Type == "error" {
		if w := s.waiters[m.ID]; w != nil {
			w.ch <- reflection{err: refusal(w.op, m.Error)}
			delete(s.waiters, m.ID)
		}
		c.mu.Unlock()
		return
	}
	r, nick := s.sender(m.From)
	switch {
	case r == nil:
	case m.Type == "groupchat":
		var own string
		var refl reflection
		in, own, refl = r.groupchat(c.ids[r.key], nick, m)
		if w := s.waiters[own]; own != "" && w != nil {
			w.ch <- refl
			delete(s.waiters, own)
		}
	case m.Type == "chat" || m.Type == "normal" || m.Type == "":
		in = r.private(nick, m)
	}
	c.mu.Unlock()
	if in == nil {
		return
	}
	c.log.Debug("xmpp: in", "room", in.Channel, "from", in.Name, "id", in.ID)
	select {
	case s.queue <- *in:
	case <-s.ctx.Done():
	}
}
