package irc

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Timeouts of a connection. Variables so that tests can shorten them.
var (
	dialTimeout     = 20 * time.Second
	registerTimeout = 30 * time.Second // from connecting to the welcome (001)
	joinWait        = 10 * time.Second // the longest sending waits for the joins' answers
	idlePing        = 90 * time.Second // silence after which the client pings the server
	writeTimeout    = 30 * time.Second // one line
	rejoinDelay     = 1 * time.Second  // after a kick
	quitTimeout     = 2 * time.Second  // to say QUIT when stopping
	maxSilence      = 2 * idlePing     // then the connection is taken as dead
)

// session is one connection. The goroutine running Client.session (the
// reader) owns the fields below mu's; sendQueue runs in a second one,
// and a third closes the connection when the session's context ends.
type session struct {
	c    *Client
	conn net.Conn
	r    *bufio.Reader

	wmu sync.Mutex // one line at a time
	w   *textproto.Writer

	down chan struct{} // closed when the session ends

	// owned by the reader
	registered  bool
	nick        string
	rfc1459     bool              // CASEMAPPING
	joined      map[string]string // folded channel → channel
	pendingJoin map[string]bool   // folded channels asked for, not answered
	ready       chan struct{}     // closed when no join is pending
	readyOnce   sync.Once
	partial     []byte // a line cut by a read timeout

	mu      sync.Mutex
	waiters []*waiter
	pings   int
}

// waiter waits for the answer to a moderation command.
type waiter struct {
	token    string // of the PING after the command
	channel  string // folded
	target   string // folded
	refusals map[string]bool
	result   chan error // buffered 1, written once
}

// session connects, registers and serves one connection until it fails
// or ctx ends. registered says whether the server welcomed the client.
func (c *Client) session(ctx context.Context) (registered bool, err error) {
	d := net.Dialer{Timeout: dialTimeout}
	conn, err := d.DialContext(ctx, "tcp", c.cfg.Addr)
	if err != nil {
		return false, fmt.Errorf("connecting: %w", err)
	}
	if c.cfg.TLS != nil {
		tc := c.cfg.TLS.Clone()
		if tc.ServerName == "" {
			tc.ServerName, _, _ = net.SplitHostPort(c.cfg.Addr)
		}
		tconn := tls.Client(conn, tc)
		hctx, cancel := context.WithTimeout(ctx, dialTimeout)
		err := tconn.HandshakeContext(hctx)
		cancel()
		if err != nil {
			conn.Close()
			return false, fmt.Errorf("TLS handshake: %w", err)
		}
		conn = tconn
	}
	c.log.Info("irc: connected", "remote", conn.RemoteAddr())
	s := &session{
		c:           c,
		conn:        conn,
		r:           bufio.NewReaderSize(conn, maxReadBytes+2),
		w:           textproto.NewWriter(bufio.NewWriter(conn)),
		down:        make(chan struct{}),
		rfc1459:     true,
		joined:      map[string]string{},
		pendingJoin: map[string]bool{},
		ready:       make(chan struct{}),
	}
	sctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		c.mu.Lock()
		if c.sess == s {
			c.sess = nil
		}
		c.mu.Unlock()
		close(s.down)
		why := "stopped"
		if err != nil {
			why = err.Error()
		}
		c.event(Event{Kind: EventDisconnected, Text: why})
	}()
	wg.Go(func() {
		<-sctx.Done()
		if ctx.Err() != nil && s.wmu.TryLock() { // stopping: say goodbye
			conn.SetWriteDeadline(time.Now().Add(quitTimeout))
			s.w.PrintfLine("QUIT :%s", "bridge stopping")
			s.wmu.Unlock()
		}
		conn.Close()
	})

	if c.cfg.Password != "" {
		s.send("PASS " + c.cfg.Password)
	}
	s.nick = c.cfg.Nick
	s.send("NICK " + s.nick)
	s.send("USER " + c.cfg.User + " 0 * :" + c.cfg.RealName)

	start := time.Now()
	lastRead := start
	pinged := false
	for {
		deadline := start.Add(registerTimeout)
		if s.registered {
			deadline = lastRead.Add(idlePing)
			if pinged {
				deadline = lastRead.Add(maxSilence)
			}
		}
		conn.SetReadDeadline(deadline)
		raw, err := s.readLine()
		if err != nil {
			var ne net.Error
			switch {
			case sctx.Err() != nil:
				return s.registered, sctx.Err()
			case errors.As(err, &ne) && ne.Timeout() && !s.registered:
				return false, fmt.Errorf("no welcome from the server within %v", registerTimeout)
			case errors.As(err, &ne) && ne.Timeout() && !pinged:
				pinged = true
				s.send("PING :keepalive")
				continue
			case errors.As(err, &ne) && ne.Timeout():
				return true, fmt.Errorf("the server is silent for %v", maxSilence)
			}
			return s.registered, fmt.Errorf("reading: %w", err)
		}
		lastRead, pinged = time.Now(), false
		if raw == nil {
			continue // overlong, logged
		}
		text := decode(raw)
		l, err := ParseLine(text)
		if err != nil {
			c.log.Warn("irc: unreadable line from the server", "err", err, "line", truncate(text, 200))
			continue
		}
		c.log.Debug("irc: <-", "line", truncate(text, 600))
		if err := s.handle(sctx, l, &wg); err != nil {
			return s.registered, err
		}
	}
}

// readLine reads one line without its CR LF. An overlong line is
// discarded and logged, and returned as nil with no error.
func (s *session) readLine() ([]byte, error) {
	overlong := false
	for {
		b, err := s.r.ReadSlice('\n')
		switch {
		case err == bufio.ErrBufferFull:
			overlong = true
			s.partial = s.partial[:0]
			continue
		case err != nil:
			if !overlong && len(b) > 0 && len(s.partial)+len(b) <= maxReadBytes+2 {
				s.partial = append(s.partial, b...) // a read timeout cut it
			}
			return nil, err
		case overlong || len(s.partial)+len(b) > maxReadBytes+2:
			s.partial = s.partial[:0]
			s.c.log.Warn("irc: dropped an overlong line from the server", "max_bytes", maxReadBytes)
			return nil, nil
		}
		if len(s.partial) > 0 {
			b = append(s.partial, b...)
			s.partial = nil
		}
		b = b[:len(b)-1]
		if len(b) > 0 && b[len(b)-1] == '\r' {
			b = b[:len(b)-1]
		}
		return b, nil
	}
}

// send writes one line and its CR LF. Its caller built the line.
func (s *session) send(line string) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := s.w.PrintfLine("%s", line); err != nil {
		return fmt.Errorf("writing: %w", err)
	}
	if cmd, _, _ := strings.Cut(line, " "); cmd == "PASS" {
		line = "PASS ***"
	}
	s.c.log.Debug("irc: ->", "line", line)
	return nil
}

func (s *session) is(a, b string) bool { return fold(a, s.rfc1459) == fold(b, s.rfc1459) }

// handle acts on one line from the server; an error ends the session.
func (s *session) handle(ctx context.Context, l Line, wg *sync.WaitGroup) error {
	c := s.c
	s.answerWaiters(l)
	nick, _, _ := l.splitSource()
	self := nick != "" && s.is(nick, s.nick)
	switch l.Command {
	case "PING":
		return s.send(Line{Command: "PONG", Params: l.Params}.String())
	case "ERROR":
		return fmt.Errorf("the server closed the connection: %s", l.Param(0))
	case "001":
		s.registered = true
		if n := l.Param(0); n != "" {
			s.nick = n
		}
		c.mu.Lock()
		c.sess, c.nick, c.self = s, s.nick, ""
		c.mu.Unlock()
		c.log.Info("irc: registered", "nick", s.nick)
		for _, ch := range c.cfg.Channels {
			s.pendingJoin[fold(ch, s.rfc1459)] = true
			s.send("JOIN " + ch)
		}
		s.checkReady()
		wg.Go(func() {
			t := time.NewTimer(joinWait)
			defer t.Stop()
			select {
			case <-s.ready:
			case <-t.C:
				c.log.Warn("irc: some channels did not answer the join; sending anyway")
			case <-ctx.Done():
				return
			}
			c.event(Event{Kind: EventConnected, Nick: s.Nick()})
			if err := c.sendQueue(ctx, s); err != nil && ctx.Err() == nil {
				c.log.Warn("irc: sending failed", "err", err)
				s.conn.Close() // the reader sees it and the session ends
			}
		})
	case "005":
		for _, p := range l.Params {
			if v, ok := strings.CutPrefix(p, "CASEMAPPING="); ok {
				s.rfc1459 = v != "ascii"
			}
		}
	case "433", "436": // nick in use, nick collision
		if !s.registered {
			s.nick = l.Param(1) + "_"
			if l.Param(1) == "" {
				s.nick += "_"
			}
			c.log.Info("irc: nick in use, trying another", "nick", s.nick)
			return s.send("NICK " + s.nick)
		}
	case "432":
		if !s.registered {
			return fmt.Errorf("the server refuses the nick %q: %s", l.Param(1), l.Param(2))
		}
	case "464", "465":
		c.log.Error("irc: the server refuses the client", "reply", strings.Join(l.Params, " "))
	case "403", "405", "437", "471", "473", "474", "475", "476", "477":
		ch := fold(l.Param(1), s.rfc1459)
		if s.pendingJoin[ch] {
			delete(s.pendingJoin, ch)
			c.log.Warn("irc: cannot join", "channel", l.Param(1), "reply", l.Command+" "+l.Param(2))
			s.checkReady()
		}
	case "JOIN":
		ch := l.Param(0)
		if self {
			s.joined[fold(ch, s.rfc1459)] = ch
			delete(s.pendingJoin, fold(ch, s.rfc1459))
			c.mu.Lock()
			c.self = l.Source
			c.mu.Unlock()
			c.log.Info("irc: joined", "channel", ch)
			s.checkReady()
		} else if nick != "" {
			c.event(Event{Kind: EventJoin, Channel: ch, Nick: nick})
		}
	case "PART":
		ch := l.Param(0)
		if self {
			delete(s.joined, fold(ch, s.rfc1459))
			s.rejoin(ctx, ch, wg)
		} else if nick != "" {
			c.event(Event{Kind: EventPart, Channel: ch, Nick: nick, Text: l.Param(1)})
		}
	case "KICK":
		ch, who := l.Param(0), l.Param(1)
		c.event(Event{Kind: EventKick, Channel: ch, Nick: nick, Target: who, Text: l.Param(2)})
		if s.is(who, s.nick) {
			delete(s.joined, fold(ch, s.rfc1459))
			c.log.Warn("irc: kicked, rejoining", "channel", ch, "by", nick, "reason", l.Param(2))
			s.rejoin(ctx, ch, wg)
		}
	case "NICK":
		if self {
			s.nick = l.Param(0)
			c.mu.Lock()
			c.nick = s.nick
			if _, uh, ok := strings.Cut(l.Source, "!"); ok {
				c.self = s.nick + "!" + uh
			}
			c.mu.Unlock()
		} else if nick != "" {
			c.event(Event{Kind: EventNick, Nick: nick, Target: l.Param(0)})
		}
	case "QUIT":
		if nick != "" && !self {
			c.event(Event{Kind: EventQuit, Nick: nick, Text: l.Param(0)})
		}
	case "PRIVMSG", "NOTICE":
		return s.deliver(ctx, l)
	}
	return nil
}

// Nick is the session's nick, for the goroutines that are not the reader.
func (s *session) Nick() string {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.c.nick
}

// checkReady closes ready once no join is pending.
func (s *session) checkReady() {
	if s.registered && len(s.pendingJoin) == 0 {
		s.readyOnce.Do(func() { close(s.ready) })
	}
}

// rejoin joins ch again after rejoinDelay, if it is one of the channels
// of the config.
func (s *session) rejoin(ctx context.Context, ch string, wg *sync.WaitGroup) {
	for _, want := range s.c.cfg.Channels {
		if s.is(want, ch) {
			wg.Go(func() {
				t := time.NewTimer(rejoinDelay)
				defer t.Stop()
				select {
				case <-t.C:
					s.send("JOIN " + want)
				case <-ctx.Done():
				}
			})
			return
		}
	}
}

// deliver passes a PRIVMSG or NOTICE to a joined channel on to Messages.
func (s *session) deliver(ctx context.Context, l Line) error {
	nick, user, host := l.splitSource()
	if nick == "" || s.is(nick, s.nick) || len(l.Params) < 2 {
		return nil // from a server, from us, or empty
	}
	name, ok := s.joined[fold(l.Params[0], s.rfc1459)]
	if !ok {
		return nil // not a channel we are in (a private message, …)
	}
	m := Message{Channel: name, Nick: nick, User: user, Host: host, Text: l.Params[1], Notice: l.Command == "NOTICE", Time: time.Now()}
	if t, err := time.Parse(time.RFC3339Nano, l.Tags["time"]); err == nil {
		m.Time = t
	}
	if strings.HasPrefix(m.Text, "\x01") {
		body := strings.TrimSuffix(m.Text[1:], "\x01")
		cmd, arg, _ := strings.Cut(body, " ")
		if cmd != "ACTION" {
			s.c.log.Debug("irc: ignored a CTCP", "ctcp", truncate(cmd, 20), "from", nick)
			return nil
		}
		m.Text, m.Action = arg, true
	}
	select {
	case s.c.msgs <- m:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

func (s *session) addWaiter(channel, target string, refusals map[string]bool) *waiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pings++
	w := &waiter{
		token:    "qun-" + strconv.Itoa(s.pings),
		channel:  channel,
		target:   target,
		refusals: refusals,
		result:   make(chan error, 1),
	}
	s.waiters = append(s.waiters, w)
	return w
}

func (s *session) removeWaiter(w *waiter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.waiters {
		if x == w {
			s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
			return
		}
	}
}

// answerWaiters gives a refusal or the PONG to the moderation command
// waiting for it.
func (s *session) answerWaiters(l Line) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < len(s.waiters); i++ {
		w := s.waiters[i]
		var res error
		switch {
		case l.Command == "PONG" && l.Param(len(l.Params)-1) == w.token:
		case w.refusals[l.Command] && (s.is(l.Param(1), w.channel) || s.is(l.Param(1), w.target)):
			res = &ServerError{Code: l.Command, Params: l.Params[1:]}
		default:
			continue
		}
		w.result <- res
		s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
		i--
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
