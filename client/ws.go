package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
	"golang.org/x/time/rate"
)

// The WebSocket of the light-client API (docs/API.md, "WebSocket
// /api/v1/ws"): one connection carries every subscribed group. The node
// sends each group's events in seq order from the seq the client asks for;
// the Subscription remembers the last seq it delivered per group, and after
// any disconnect it connects again and asks for the seq after it, so that
// the events it delivers have no gap and no repeat.

// Limits and defaults of a Subscription.
const (
	// MaxSubscriptions is the number of groups one WebSocket may carry.
	MaxSubscriptions = 1000
	// DefaultMinBackoff and DefaultMaxBackoff bound the wait before a
	// reconnect; it doubles from the minimum after each failed attempt,
	// with jitter.
	DefaultMinBackoff = 250 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
	// DefaultPingInterval is how often an idle connection is checked; a
	// connection that hears nothing for two intervals is dropped and made
	// again.
	DefaultPingInterval = 20 * time.Second
	// DefaultEventBuffer is the capacity of the Events channel.
	DefaultEventBuffer = 256

	wsMaxMessage    = 1 << 20          // an event of 64 KiB in base64, with its decoded view
	wsWriteTimeout  = 10 * time.Second // as the node's
	wsDialTimeout   = 30 * time.Second
	wsAckInterval   = time.Second // acks are coalesced and sent at most this often
	wsMsgRate       = 15          // client messages per second; the node allows 20
	wsMsgBurst      = 80          // and a burst of 100
	wsHealthyAfter  = 10 * time.Second
	wsErrorsBuffer  = 64
	wsCloseTimeout  = 2 * time.Second
	statusSessionWS = 4001 // the node closed the socket because the session expired
)

// Event is an event of a subscribed group, as a Subscription delivers it.
type Event struct {
	Group protocol.GroupID
	api.EventView
}

// CloseError reports that the node closed the WebSocket, with the status
// and reason it gave: 1008 "too slow: …" for a client that did not read
// fast enough, 1001 for a node shutting down, 4001 for an expired session.
// The Subscription connects again by itself.
type CloseError struct {
	Status int
	Reason string
}

func (e *CloseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("the qun node closed the connection (status %d)", e.Status)
	}
	return fmt.Sprintf("the qun node closed the connection: %s (status %d)", e.Reason, e.Status)
}

// GroupError reports that the node refused to subscribe to a group (for
// example protocol.ErrPrivate, protocol.ErrUnknownGroup). The Subscription
// drops the group; Add subscribes again.
type GroupError struct {
	Group protocol.GroupID
	Err   *protocol.Error
}

func (e *GroupError) Error() string { return fmt.Sprintf("group %s: %v", e.Group, e.Err) }

// Unwrap returns the node's refusal, so errors.Is(err, protocol.ErrPrivate)
// works.
func (e *GroupError) Unwrap() error { return e.Err }

// EndedError reports that the node ended the subscription of a group
// because the user may no longer read it: removed (protocol.ErrNotMember),
// banned (protocol.ErrBanned), or the group became private
// (protocol.ErrPrivate). The events delivered before it are every event
// the user was allowed to see, the removal last. The Subscription drops the
// group and does not subscribe to it again, not even after a reconnect.
type EndedError struct {
	Group protocol.GroupID
	Err   *protocol.Error
}

func (e *EndedError) Error() string {
	return fmt.Sprintf("group %s: the subscription ended: %v", e.Group, e.Err)
}

// Unwrap returns the node's reason, so errors.Is(err, protocol.ErrBanned)
// works.
func (e *EndedError) Unwrap() error { return e.Err }

// SubscribeOption configures a Subscription.
type SubscribeOption func(*subOptions) error

type subOptions struct {
	minBackoff, maxBackoff time.Duration
	ping                   time.Duration
	buffer                 int
}

// WithBackoff bounds the wait before each reconnect: it starts at min and
// doubles up to max after each failed attempt, each wait drawn at random
// between its half and its whole.
func WithBackoff(min, max time.Duration) SubscribeOption {
	return func(o *subOptions) error {
		if min <= 0 || max < min {
			return fmt.Errorf("client: backoff from %s to %s: want 0 < min <= max", min, max)
		}
		o.minBackoff, o.maxBackoff = min, max
		return nil
	}
}

// WithPingInterval sets how often the connection is checked with a ping
// when idle; after two intervals without a word from the node it is
// dropped and made again.
func WithPingInterval(d time.Duration) SubscribeOption {
	return func(o *subOptions) error {
		if d <= 0 {
			return fmt.Errorf("client: ping interval %s is not positive", d)
		}
		o.ping = d
		return nil
	}
}

// WithEventBuffer sets the capacity of the Events channel. A consumer that
// falls behind by more stops the reading of the socket; the node then
// drops the connection ("too slow") and the Subscription resumes where it
// was, so nothing is lost.
func WithEventBuffer(n int) SubscribeOption {
	return func(o *subOptions) error {
		if n < 0 {
			return fmt.Errorf("client: event buffer %d is negative", n)
		}
		o.buffer = n
		return nil
	}
}

// Subscription is a WebSocket subscription to groups' events. Its methods
// are safe for concurrent use.
type Subscription struct {
	c      *Client
	opts   subOptions
	events chan Event
	errs   chan error
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the run goroutine has returned

	closeOnce sync.Once

	mu     sync.Mutex
	groups map[protocol.GroupID]*groupSub
	conn   *wsConn // the live connection, nil between connections
	err    error   // why the subscription ended
}

// groupSub is the state of one subscribed group.
type groupSub struct {
	next     uint64 // the first seq wanted; 0: the node's cursor of the user
	last     uint64 // the last seq delivered, 0 before the first
	active   bool   // the node confirmed the subscription on the current connection
	ack      uint64 // the highest seq acked
	ackDirty bool   // ack not sent yet
}

// wsConn is one connection; its queue is written by one writer goroutine.
type wsConn struct {
	c     *websocket.Conn
	queue []api.WSClientMessage // guarded by Subscription.mu
	wake  chan struct{}         // capacity 1
	read  chan struct{}         // capacity 1: the reader heard something
}

// Subscribe opens the WebSocket of the node, signing in if needed, and
// subscribes to each group of subs from the seq given (0: from the user's
// cursor on the node, the seq after the last Ack, or the events to come if
// the user never acked). It returns once connected; it fails if the first
// connection cannot be made.
//
// Events of every group arrive on Events, each group's in seq order, each
// once. After a disconnect the Subscription connects again with backoff and
// resumes every group after the last event it delivered; why it lost the
// connection (or a group) is reported on Errors. It ends when ctx ends or
// Close is called; Events is closed then.
func (c *Client) Subscribe(ctx context.Context, subs map[protocol.GroupID]uint64, opts ...SubscribeOption) (*Subscription, error) {
	o := subOptions{minBackoff: DefaultMinBackoff, maxBackoff: DefaultMaxBackoff, ping: DefaultPingInterval, buffer: DefaultEventBuffer}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if len(subs) > MaxSubscriptions {
		return nil, fmt.Errorf("client: %d groups exceed the %d one WebSocket may carry", len(subs), MaxSubscriptions)
	}
	if c.key == nil {
		return nil, &needSessionError{what: "the WebSocket"}
	}
	s := &Subscription{
		c: c, opts: o,
		events: make(chan Event, o.buffer),
		errs:   make(chan error, wsErrorsBuffer),
		done:   make(chan struct{}),
		groups: make(map[protocol.GroupID]*groupSub, len(subs)),
	}
	for gid, from := range subs {
		s.groups[gid] = newGroupSub(from)
	}
	s.ctx, s.cancel = context.WithCancel(ctx)
	conn, err := s.dial()
	if err != nil {
		s.cancel()
		return nil, err
	}
	go s.run(conn)
	return s, nil
}

func newGroupSub(from uint64) *groupSub {
	g := &groupSub{next: from}
	if from > 0 {
		g.last = from - 1
	}
	return g
}

// Events returns the channel of events. It is closed when the
// Subscription ends.
func (s *Subscription) Events() <-chan Event { return s.events }

// Errors returns a channel that reports, without ending the Subscription,
// why it lost its connection (a *CloseError when the node closed it, such
// as "too slow: …"; a transport error otherwise), failed to connect again,
// or dropped a group (*GroupError). Reports that find the channel full are
// dropped. It is never closed.
func (s *Subscription) Errors() <-chan error { return s.errs }

// Done is closed when the Subscription has ended; Err then says why.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err returns why the Subscription ended (nil after Close, or while it
// runs).
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Connected reports whether the Subscription has a live connection now.
func (s *Subscription) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn != nil
}

// Last returns the seq of the last event delivered of a group, and whether
// the group is subscribed.
func (s *Subscription) Last(gid protocol.GroupID) (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[gid]
	if g == nil {
		return 0, false
	}
	return g.last, true
}

// Add subscribes to a group from seq from (0: the user's cursor, as in
// Subscribe). A group already subscribed starts again from from.
func (s *Subscription) Add(gid protocol.GroupID, from uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		return errors.New("client: the subscription has ended")
	}
	if s.groups[gid] == nil && len(s.groups) >= MaxSubscriptions {
		return fmt.Errorf("client: a WebSocket carries at most %d groups", MaxSubscriptions)
	}
	g := newGroupSub(from)
	s.groups[gid] = g
	s.enqueueLocked(api.WSClientMessage{Type: "subscribe", Group: gid.String(), From: from})
	return nil
}

// Remove unsubscribes from a group; its events stop.
func (s *Subscription) Remove(gid protocol.GroupID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups[gid] == nil {
		return
	}
	delete(s.groups, gid)
	s.enqueueLocked(api.WSClientMessage{Type: "unsubscribe", Group: gid.String()})
}

// Ack stores seq as the user's cursor of a group on the node (a
// subscription from 0 resumes after it, and MyGroups reports the next seq
// as unread). Acks are coalesced: the highest is sent within a second, and
// when the Subscription closes.
func (s *Subscription) Ack(gid protocol.GroupID, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.groups[gid]; g != nil && seq > g.ack {
		g.ack, g.ackDirty = seq, true
	}
}

// Close ends the Subscription: it sends pending acks, closes the
// connection and waits for its goroutines. Events is closed. Calling Close
// again does nothing.
func (s *Subscription) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		<-s.done
	})
	return nil
}

// enqueueLocked queues a message for the live connection, if any; a new
// connection subscribes from the state, so nothing is lost without one.
func (s *Subscription) enqueueLocked(m api.WSClientMessage) {
	if s.conn == nil {
		return
	}
	s.conn.queue = append(s.conn.queue, m)
	select {
	case s.conn.wake <- struct{}{}:
	default:
	}
}

// report puts err on the Errors channel, or drops it if the channel is full.
func (s *Subscription) report(err error) {
	select {
	case s.errs <- err:
	default:
	}
}

// wsURL returns the WebSocket URL of the node for token.
func (c *Client) wsURL(token string) string {
	u := c.base
	switch {
	case strings.HasPrefix(u, "https://"):
		u = "wss://" + strings.TrimPrefix(u, "https://")
	case strings.HasPrefix(u, "http://"):
		u = "ws://" + strings.TrimPrefix(u, "http://")
	}
	return u + "/api/v1/ws?" + url.Values{"token": {token}}.Encode()
}

// dial opens a connection, signing in first if needed and once more if the
// node says the session expired.
func (s *Subscription) dial() (*websocket.Conn, error) {
	c := s.c
	stale := ""
	for attempt := 0; ; attempt++ {
		token, err := c.sessionToken(s.ctx, "the WebSocket", stale)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(s.ctx, wsDialTimeout)
		hc := *c.hc
		hc.Timeout = 0 // the dial's context bounds it; the connection lives on
		conn, resp, err := websocket.Dial(ctx, c.wsURL(token), &websocket.DialOptions{HTTPClient: &hc})
		cancel()
		if err == nil {
			conn.SetReadLimit(wsMaxMessage)
			return conn, nil
		}
		if resp == nil || resp.StatusCode == http.StatusSwitchingProtocols {
			return nil, c.transportError(s.ctx, err)
		}
		apiErr := c.errorFromResponse(resp)
		if attempt == 0 && resp.StatusCode == http.StatusUnauthorized && errors.Is(apiErr, protocol.ErrUnauthenticated) {
			stale = token
			continue
		}
		return nil, fmt.Errorf("opening the WebSocket of the qun node at %s: %w", c.base, apiErr)
	}
}

// run owns the connections: it serves one until it ends, then connects
// again with backoff, until the Subscription ends.
func (s *Subscription) run(conn *websocket.Conn) {
	defer close(s.done)
	defer close(s.events)
	bo := backoff{min: s.opts.minBackoff, max: s.opts.maxBackoff}
	for {
		start := time.Now()
		err := s.serve(conn)
		if s.ctx.Err() != nil {
			return
		}
		s.report(err)
		if time.Since(start) >= wsHealthyAfter {
			bo.reset()
		}
		for {
			if sleepCtx(s.ctx, bo.next()) != nil {
				return
			}
			conn, err = s.dial()
			if err == nil {
				break
			}
			if s.ctx.Err() != nil {
				return
			}
			if errors.Is(err, ErrNeedSession) || errors.Is(err, protocol.ErrBadSignature) {
				s.mu.Lock()
				s.err = err
				s.mu.Unlock()
				s.report(err)
				return
			}
			s.report(err)
		}
	}
}

// serve runs one connection: it subscribes to every group from where it
// was, delivers what the node sends, and returns why the connection ended.
func (s *Subscription) serve(c *websocket.Conn) error {
	wc := &wsConn{c: c, wake: make(chan struct{}, 1), read: make(chan struct{}, 1)}
	s.mu.Lock()
	s.conn = wc
	for gid, g := range s.groups {
		g.active = false
		wc.queue = append(wc.queue, api.WSClientMessage{Type: "subscribe", Group: gid.String(), From: g.next})
	}
	s.queueAcksLocked(wc)
	wc.wake <- struct{}{}
	s.mu.Unlock()

	// The connection has its own context: cancelling the context of a Read
	// closes the socket at once, and a Subscription that is closed first
	// sends its pending acks and a clean close.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.writeLoop(ctx, wc)
	}()
	go func() {
		defer wg.Done()
		select {
		case <-s.ctx.Done():
			s.sendAcks(c)
			c.Close(websocket.StatusNormalClosure, "")
		case <-ctx.Done():
		}
	}()
	err := s.readLoop(ctx, wc)

	s.mu.Lock()
	s.conn = nil
	s.mu.Unlock()
	cancel()
	wg.Wait()
	c.CloseNow()
	return err
}

// readLoop reads the node's messages until the connection fails.
func (s *Subscription) readLoop(ctx context.Context, wc *wsConn) error {
	for {
		_, data, err := wc.c.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				if ce.Code == statusSessionWS {
					s.c.sess.set("", time.Time{}) // sign in again before reconnecting
				}
				return &CloseError{Status: int(ce.Code), Reason: ce.Reason}
			}
			return fmt.Errorf("lost the WebSocket of the qun node at %s: %w", s.c.base, err)
		}
		select {
		case wc.read <- struct{}{}:
		default:
		}
		var m api.WSServerMessage
		if err := json.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("the qun node at %s sent a WebSocket message this client does not understand: %w", s.c.base, err)
		}
		if err := s.handle(m); err != nil {
			return err
		}
	}
}

// handle acts on one message of the node.
func (s *Subscription) handle(m api.WSServerMessage) error {
	switch m.Type {
	case "subscribed", "event", "error", "ended":
	default:
		return nil // pong, and types of later versions
	}
	var gid protocol.GroupID
	if m.Group != "" {
		var err error
		if gid, err = protocol.ParseGroupID(m.Group); err != nil {
			return fmt.Errorf("the qun node at %s sent a message of group %q: %w", s.c.base, m.Group, err)
		}
	}
	s.mu.Lock()
	g := s.groups[gid]
	switch m.Type {
	case "subscribed":
		if g != nil {
			g.active = true
			if g.last == 0 && m.From > 0 {
				g.next, g.last = m.From, m.From-1 // the node resolved the cursor
			}
		}
		s.mu.Unlock()
		return nil
	case "ended":
		e := serverError(m)
		if g == nil {
			s.mu.Unlock()
			return nil // of a group removed already
		}
		delete(s.groups, gid)
		s.mu.Unlock()
		s.report(&EndedError{Group: gid, Err: e})
		return nil
	case "error":
		e := serverError(m)
		if g != nil && !g.active { // the answer to our subscribe
			delete(s.groups, gid)
			s.mu.Unlock()
			s.report(&GroupError{Group: gid, Err: e})
			return nil
		}
		s.mu.Unlock()
		if m.Group != "" {
			s.report(&GroupError{Group: gid, Err: e})
		} else {
			s.report(fmt.Errorf("the qun node at %s: %w", s.c.base, e))
		}
		return nil
	}
	// An event.
	if g == nil || !g.active || m.Event == nil {
		s.mu.Unlock()
		return nil // of a group removed, or of a subscription replaced
	}
	seq := m.Event.Seq
	if seq <= g.last {
		s.mu.Unlock()
		return nil // delivered already
	}
	if seq != g.last+1 {
		want := g.last + 1
		s.mu.Unlock()
		return fmt.Errorf("the qun node at %s sent event %d of group %s where %d was due; resubscribing", s.c.base, seq, gid, want)
	}
	g.last, g.next = seq, seq+1
	s.mu.Unlock()
	select {
	case s.events <- Event{Group: gid, EventView: *m.Event}:
		return nil
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
}

// serverError is the refusal carried by an error or ended message.
func serverError(m api.WSServerMessage) *protocol.Error {
	e := &protocol.Error{Code: protocol.ParseCode(m.Code), Msg: m.Message}
	if e.Msg == "" {
		e.Msg = strings.ReplaceAll(m.Code, "_", " ")
	}
	return e
}

// writeLoop sends the queued messages, paced below the node's limit, the
// coalesced acks, and pings when the connection is quiet; it drops a
// connection that has been silent for two ping intervals.
func (s *Subscription) writeLoop(ctx context.Context, wc *wsConn) {
	lim := rate.NewLimiter(wsMsgRate, wsMsgBurst)
	acks := time.NewTicker(wsAckInterval)
	defer acks.Stop()
	ping := time.NewTicker(s.opts.ping)
	defer ping.Stop()
	silent := 0 // ping intervals without a word from the node
	for {
		select {
		case <-ctx.Done():
			return
		case <-wc.wake:
		case <-wc.read:
			silent = 0
			continue
		case <-acks.C:
			s.mu.Lock()
			s.queueAcksLocked(wc)
			s.mu.Unlock()
		case <-ping.C:
			select {
			case <-wc.read:
				silent = 0
			default:
				silent++
			}
			if silent >= 2 {
				wc.c.CloseNow() // the reader fails and the connection is made again
				return
			}
			if silent == 1 {
				s.mu.Lock()
				wc.queue = append(wc.queue, api.WSClientMessage{Type: "ping"})
				s.mu.Unlock()
			}
		}
		for {
			s.mu.Lock()
			if len(wc.queue) == 0 {
				s.mu.Unlock()
				break
			}
			m := wc.queue[0]
			wc.queue = wc.queue[1:]
			s.mu.Unlock()
			if lim.Wait(ctx) != nil {
				return
			}
			if err := writeMsg(ctx, wc.c, m); err != nil {
				wc.c.CloseNow()
				return
			}
		}
	}
}

// queueAcksLocked queues the acks not sent yet.
func (s *Subscription) queueAcksLocked(wc *wsConn) {
	for gid, g := range s.groups {
		if g.ackDirty {
			g.ackDirty = false
			wc.queue = append(wc.queue, api.WSClientMessage{Type: "ack", Group: gid.String(), Seq: g.ack})
		}
	}
}

// sendAcks sends the acks not sent yet, briefly, before a clean close.
func (s *Subscription) sendAcks(c *websocket.Conn) {
	s.mu.Lock()
	var msgs []api.WSClientMessage
	for gid, g := range s.groups {
		if g.ackDirty {
			g.ackDirty = false
			msgs = append(msgs, api.WSClientMessage{Type: "ack", Group: gid.String(), Seq: g.ack})
		}
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), wsCloseTimeout)
	defer cancel()
	for _, m := range msgs {
		if writeMsg(ctx, c, m) != nil {
			return
		}
	}
}

func writeMsg(ctx context.Context, c *websocket.Conn, m api.WSClientMessage) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
	defer cancel()
	return c.Write(ctx, websocket.MessageText, data)
}

// backoff is an exponential backoff with jitter: each wait is drawn
// between half and all of a bound that doubles from min to max.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	half := b.cur / 2
	return half + rand.N(b.cur-half+1)
}

func (b *backoff) reset() { b.cur = 0 }
