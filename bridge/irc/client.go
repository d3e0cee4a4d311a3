package irc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Errors callers branch on.
var (
	// ErrQueueFull: the text does not fit in the queue of lines waiting
	// to be sent (Config.QueueLines); nothing of it was queued.
	ErrQueueFull = errors.New("irc: send queue full")
	// ErrClosed: the client was closed, or its Run has returned.
	ErrClosed = errors.New("irc: client closed")
	// ErrNotConnected: a moderation command needs a live connection.
	ErrNotConnected = errors.New("irc: not connected")
	// ErrEmptyText: nothing is left to send once the text is cleaned.
	ErrEmptyText = errors.New("irc: empty text")
	// ErrInvalidName: a channel, nick or mask that would change the
	// meaning of the IRC line it goes in.
	ErrInvalidName = errors.New("irc: invalid channel, nick or mask")
	// ErrNotOperator: the server refused a kick or ban because the
	// client is not an operator of the channel (numeric 482). Matched by
	// errors.Is on a *ServerError.
	ErrNotOperator = errors.New("irc: not a channel operator")
)

// ServerError is a refusal by the server, a numeric reply in 400–599.
type ServerError struct {
	Code   string   // "482"
	Params []string // the reply's parameters after the client's nick
}

func (e *ServerError) Error() string {
	return "irc: the server refused: " + e.Code + " " + strings.Join(e.Params, " ")
}

// Is makes errors.Is(err, ErrNotOperator) true for a 482.
func (e *ServerError) Is(target error) bool {
	return target == ErrNotOperator && e.Code == "482"
}

// Message is a PRIVMSG or NOTICE to a channel the client has joined, sent
// by someone else.
type Message struct {
	Channel string // as the server wrote it
	Nick    string
	User    string
	Host    string
	Text    string // valid UTF-8 (see the package documentation); for an action, without "ACTION "
	Action  bool   // a CTCP ACTION (/me)
	Notice  bool   // a NOTICE rather than a PRIVMSG
	Time    time.Time
}

// EventKind says what an Event is.
type EventKind int

const (
	// EventConnected: registered and the channels joined (or refused);
	// Nick is the client's nick on this connection.
	EventConnected EventKind = iota + 1
	// EventDisconnected: the connection ended; Text says why.
	EventDisconnected
	// EventJoin: Nick joined Channel.
	EventJoin
	// EventPart: Nick left Channel, Text is the part message.
	EventPart
	// EventQuit: Nick left the network, Text is the quit message.
	EventQuit
	// EventKick: Nick kicked Target from Channel, Text is the reason.
	EventKick
	// EventNick: Nick is now known as Target.
	EventNick
)

var kindNames = [...]string{"", "connected", "disconnected", "join", "part", "quit", "kick", "nick"}

func (k EventKind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is a change of the connection or of a joined channel's members.
// Events of other people than the client itself, except for kicks of it.
type Event struct {
	Kind    EventKind
	Channel string
	Nick    string
	Target  string
	Text    string
	Time    time.Time
}

// Client is a connection to one IRC server that stays up: see Run. Its
// methods are safe for concurrent use.
type Client struct {
	cfg    Config
	cfgErr error
	log    *slog.Logger
	lim    *rate.Limiter
	msgs   chan Message
	events chan Event
	wake   chan struct{} // a line was queued
	modMu  sync.Mutex    // one moderation command at a time
	finish sync.Once

	mu      sync.Mutex
	queue   []*outgoing
	queued  int      // lines not yet sent in queue
	sess    *session // the registered session, nil while down
	nick    string   // the nick the server knows us by (or the one we want)
	self    string   // nick!user@host as the server shows it, "" until known
	started bool
	closed  bool
	stop    context.CancelFunc
	done    chan struct{} // closed when Run returns
}

// outgoing is one text waiting to be sent, cut into lines.
type outgoing struct {
	lines   []string
	sent    int
	dropped bool          // withdrawn or dropped: not in the queue any more
	err     error         // why it was dropped
	done    chan struct{} // closed when every line is sent or it is dropped
}

// New returns a client for cfg; Run connects it. An unusable cfg is
// reported by Run.
func New(cfg Config) *Client {
	cfg, err := cfg.withDefaults()
	c := &Client{
		cfg:    cfg,
		cfgErr: err,
		log:    cfg.Logger.With("irc", cfg.Addr),
		msgs:   make(chan Message, 256),
		events: make(chan Event, 64),
		wake:   make(chan struct{}, 1),
		nick:   cfg.Nick,
		done:   make(chan struct{}),
	}
	if cfg.MessagesPerSecond < 0 {
		c.lim = rate.NewLimiter(rate.Inf, cfg.Burst)
	} else {
		c.lim = rate.NewLimiter(rate.Limit(cfg.MessagesPerSecond), cfg.Burst)
	}
	return c
}

// Messages delivers the messages of others in the joined channels, in the
// order the server sent them. It must be drained: while it is full the
// client stops reading from the server (and a server waiting for an
// answer to its PING disconnects it after a while). It is closed when Run
// returns.
func (c *Client) Messages() <-chan Message { return c.msgs }

// Events delivers connection changes and the joins, parts, quits, kicks
// and nick changes seen in the joined channels. Reading it is optional:
// an event that finds it full (64) is dropped. It is closed when Run
// returns.
func (c *Client) Events() <-chan Event { return c.events }

// Nick is the client's current nick.
func (c *Client) Nick() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nick
}

// Connected says whether the client is registered with the server now.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess != nil
}

// Run connects to the server, registers, joins the channels and relays
// messages both ways; when the connection fails or ends, it reconnects
// after a backoff (Config.ReconnectMin…ReconnectMax, with jitter), until
// ctx ends or Close is called. Then it sends QUIT, closes the connection,
// drops the unsent lines (their Say returns ErrClosed), closes Messages
// and Events, and returns nil. It returns an error wrapping ErrConfig,
// straight away, for an unusable Config, and ErrClosed if called twice or
// after Close.
func (c *Client) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.started || c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.started = true
	ctx, c.stop = context.WithCancel(ctx)
	c.mu.Unlock()
	defer close(c.done)
	defer c.finishOnce()
	if c.cfgErr != nil {
		return c.cfgErr
	}
	backoff := c.cfg.ReconnectMin
	for {
		registered, err := c.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if registered {
			backoff = c.cfg.ReconnectMin
		}
		wait := backoff - rand.N(backoff/2+1) // jitter: ½…1 of the backoff
		backoff = min(2*backoff, c.cfg.ReconnectMax)
		c.log.Warn("irc: disconnected, reconnecting", "err", err, "in", wait.Round(time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
	}
}

// Close stops Run and waits for it to return. It is safe to call more
// than once, and before or without Run.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	stop, started := c.stop, c.started
	c.mu.Unlock()
	if stop != nil {
		stop()
	}
	if started {
		<-c.done
	} else {
		c.finishOnce()
	}
	return nil
}

// finishOnce drops what is queued and closes the channels; after it, no
// goroutine of the client runs.
func (c *Client) finishOnce() {
	c.finish.Do(func() {
		c.mu.Lock()
		c.closed = true
		for _, m := range c.queue {
			m.dropped, m.err = true, ErrClosed
			close(m.done)
		}
		c.queue, c.queued = nil, 0
		c.mu.Unlock()
		close(c.msgs)
		close(c.events)
	})
}

// event sends e if Events has room.
func (c *Client) event(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	select {
	case c.events <- e:
	default:
		c.log.Debug("irc: events full, dropped one", "kind", e.Kind)
	}
}

// Say sends text to channel (or a nick) as PRIVMSG; see send.
func (c *Client) Say(ctx context.Context, channel, text string) error {
	return c.send(ctx, "PRIVMSG", channel, text, false)
}

// Notice sends text to channel as NOTICE, which by convention nobody
// answers automatically (announcements, bot replies); see Say.
func (c *Client) Notice(ctx context.Context, channel, text string) error {
	return c.send(ctx, "NOTICE", channel, text, false)
}

// Action sends text to channel as a CTCP ACTION, shown as "* nick text"
// (/me); see Say.
func (c *Client) Action(ctx context.Context, channel, text string) error {
	return c.send(ctx, "PRIVMSG", channel, text, true)
}

// send cleans text (see sanitize: CR and LF become spaces, NUL and \x01
// go, invalid UTF-8 becomes U+FFFD; trailing spaces go too, as servers
// strip them), cuts it into as many lines as needed
// so that each fits in 512 bytes as the server relays it, with the
// client's nick!user@host in front (never inside a UTF-8 sequence,
// preferably at a space), and queues the lines. They are sent in order,
// at the pace of flood control, once the client is connected and has
// joined its channels; the queue holds Config.QueueLines lines and a text
// that does not fit is refused with ErrQueueFull.
//
// It returns nil once every line is written to the connection (which does
// not prove that the server got it: IRC has no acknowledgement). If ctx
// ends first, the lines not yet written are withdrawn and it returns an
// error wrapping ctx.Err(); the lines already written stay sent. A text
// whose write failed with the connection is sent again after the
// reconnection, from the line that failed.
func (c *Client) send(ctx context.Context, cmd, target, text string, action bool) error {
	if !validTarget(target) {
		return fmt.Errorf("%w: target %q", ErrInvalidName, target)
	}
	text = strings.TrimRight(sanitize(text), " ") // servers strip them anyway
	if strings.TrimSpace(text) == "" {
		return ErrEmptyText
	}
	c.mu.Lock()
	room := c.budgetLocked(cmd, target)
	c.mu.Unlock()
	if action {
		room -= len("\x01ACTION \x01")
	}
	if room < 32 {
		return fmt.Errorf("%w: target %q leaves no room for text", ErrInvalidName, target)
	}
	pieces := split(text, room)
	m := &outgoing{lines: make([]string, len(pieces)), done: make(chan struct{})}
	for i, p := range pieces {
		if action {
			p = "\x01ACTION " + p + "\x01"
		}
		line, err := buildLine(cmd, target, p)
		if err != nil {
			return err // cannot happen: the target and the text are clean
		}
		m.lines[i] = line
	}

	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return ErrClosed
	case c.queued+len(m.lines) > c.cfg.QueueLines:
		queued := c.queued
		c.mu.Unlock()
		return fmt.Errorf("%w: %d lines waiting, %d more do not fit in %d", ErrQueueFull, queued, len(m.lines), c.cfg.QueueLines)
	}
	c.queue = append(c.queue, m)
	c.queued += len(m.lines)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}

	select {
	case <-m.done:
		return m.err
	case <-ctx.Done():
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.sent == len(m.lines) {
		return nil
	}
	if !m.dropped {
		m.dropped = true
		c.queued -= len(m.lines) - m.sent
		for i, q := range c.queue {
			if q == m {
				c.queue = append(c.queue[:i], c.queue[i+1:]...)
				break
			}
		}
		close(m.done)
	}
	return fmt.Errorf("irc: %d of %d lines sent when the context ended: %w", m.sent, len(m.lines), ctx.Err())
}

// budgetLocked is the room for the text of a "cmd target :text" line
// that the server relays with our prefix in front, within 512 bytes.
func (c *Client) budgetLocked(cmd, target string) int {
	prefix := len(c.self)
	if c.self == "" {
		// nick!~user@host, the host at its longest (63)
		prefix = len(c.nick) + 2 + 1 + len(c.cfg.User) + 1 + 63
	}
	const nickSlack = 4 // the nick may grow by a few '_' before the line goes
	return MaxLineBytes - len("\r\n") - len(":"+" ") - prefix - nickSlack - len(cmd+" "+target+" :")
}

// next waits for the first queued line; nil if ctx ends first.
func (c *Client) next(ctx context.Context) (*outgoing, string) {
	for {
		c.mu.Lock()
		if len(c.queue) > 0 {
			m := c.queue[0]
			c.mu.Unlock()
			return m, m.lines[m.sent]
		}
		c.mu.Unlock()
		select {
		case <-c.wake:
		case <-ctx.Done():
			return nil, ""
		}
	}
}

// sendQueue writes the queued lines to s, at the pace of flood control,
// until ctx ends or a write fails.
func (c *Client) sendQueue(ctx context.Context, s *session) error {
	for {
		m, line := c.next(ctx)
		if m == nil {
			return ctx.Err()
		}
		if err := c.lim.Wait(ctx); err != nil {
			return err
		}
		c.mu.Lock()
		withdrawn := m.dropped
		c.mu.Unlock()
		if withdrawn {
			continue
		}
		if err := s.send(line); err != nil {
			return err
		}
		c.mu.Lock()
		if !m.dropped { // else withdrawn during the write: already counted
			m.sent++
			c.queued--
			if m.sent == len(m.lines) {
				c.queue = c.queue[1:]
				m.dropped = true
				close(m.done)
			}
		}
		c.mu.Unlock()
	}
}

// Kick kicks nick from channel with reason (cleaned like a text, cut to
// fit), through flood control. It needs the client to be a channel
// operator and returns the server's refusal (a *ServerError; errors.Is
// ErrNotOperator for the usual one), ErrNotConnected while disconnected,
// or nil once the server has processed the kick without a complaint.
func (c *Client) Kick(ctx context.Context, channel, nick, reason string) error {
	if !validChannel(channel) || !validTarget(nick) {
		return fmt.Errorf("%w: kick %q from %q", ErrInvalidName, nick, channel)
	}
	reason = sanitize(reason)
	if reason == "" {
		reason = "kicked"
	}
	reason = split(reason, 300)[0]
	line, err := buildLine("KICK", channel, nick, reason)
	if err != nil {
		return err
	}
	return c.moderate(ctx, line, channel, nick, kickRefusals)
}

// Ban sets a ban on mask in channel (MODE channel +b mask); a bare nick is
// banned as nick!*@*. Like Kick, it needs operator rights and reports the
// server's refusal. A ban does not remove the person: Kick does.
func (c *Client) Ban(ctx context.Context, channel, mask string) error {
	if !validChannel(channel) || !validTarget(mask) {
		return fmt.Errorf("%w: ban %q in %q", ErrInvalidName, mask, channel)
	}
	if !strings.ContainsAny(mask, "!@") {
		mask += "!*@*"
	}
	line, err := buildLine("MODE", channel, "+b", mask)
	if err != nil {
		return err
	}
	return c.moderate(ctx, line, channel, mask, banRefusals)
}

// The numerics that refuse a KICK or a MODE +b, with the parameter (after
// the nick) that names the channel or the person.
var (
	kickRefusals = map[string]bool{"401": true, "403": true, "441": true, "442": true, "476": true, "482": true}
	banRefusals  = map[string]bool{"403": true, "442": true, "472": true, "476": true, "478": true, "482": true}
)

// moderate sends line followed by a PING: the server handles a client's
// commands in order, so a refusal arrives before the PONG, and the PONG
// alone means the command went through.
func (c *Client) moderate(ctx context.Context, line, channel, target string, refusals map[string]bool) error {
	c.modMu.Lock()
	defer c.modMu.Unlock()
	c.mu.Lock()
	s := c.sess
	c.mu.Unlock()
	if s == nil {
		return ErrNotConnected
	}
	w := s.addWaiter(channel, target, refusals)
	defer s.removeWaiter(w)
	if err := c.lim.Wait(ctx); err != nil {
		return err
	}
	if err := s.send(line); err != nil {
		return fmt.Errorf("%w: %v", ErrNotConnected, err)
	}
	if err := s.send("PING :" + w.token); err != nil {
		return fmt.Errorf("%w: %v", ErrNotConnected, err)
	}
	select {
	case err := <-w.result:
		return err
	case <-s.down:
		return ErrNotConnected
	case <-ctx.Done():
		return ctx.Err()
	}
}
