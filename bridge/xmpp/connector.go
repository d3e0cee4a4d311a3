package xmpp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/qunchat/qun/bridge"
)

var _ bridge.Connector = (*Connector)(nil)

// Errors callers branch on.
var (
	// ErrConfig is wrapped by New's error for an unusable configuration.
	ErrConfig = errors.New("xmpp: invalid configuration")
	// ErrRunning: Run was called while it runs.
	ErrRunning = errors.New("xmpp: the connector is already running")
	// ErrUnknownRoom: the room is not one of the connector's.
	ErrUnknownRoom = errors.New("xmpp: not one of the connector's rooms")
	// ErrEmptyText: nothing is left to send once the text is cleaned.
	ErrEmptyText = errors.New("xmpp: empty text")
	// ErrNoOccupant: nobody by that name is in the room now.
	ErrNoOccupant = errors.New("xmpp: no such occupant in the room")
	// ErrNotConfirmed: the connection ended after the message was written
	// and before the room sent it back; it may or may not have been
	// posted.
	ErrNotConfirmed = errors.New("xmpp: the connection ended before the room confirmed the message")
	// ErrForbidden: the room refused because the account lacks the right
	// (a kick needs a moderator, a ban an admin). Matched by errors.Is on
	// a *RefusedError.
	ErrForbidden = errors.New("xmpp: the room refused: not allowed")
)

// RefusedError is a refusal by the room or the server: a stanza error.
type RefusedError struct {
	Op        string // what was refused: "kick", "ban", "send", …
	Condition string // the RFC 6120 condition: "forbidden", "not-acceptable", …
	Text      string // the server's explanation, if any
}

func (e *RefusedError) Error() string {
	s := "xmpp: " + e.Op + " refused: " + e.Condition
	if e.Text != "" {
		s += " (" + e.Text + ")"
	}
	return s
}

// Is makes errors.Is(err, ErrForbidden) true for forbidden, not-allowed
// and not-authorized.
func (e *RefusedError) Is(target error) bool {
	return target == ErrForbidden && (e.Condition == "forbidden" || e.Condition == "not-allowed" || e.Condition == "not-authorized")
}

// AuthError is the server's refusal of the account's credentials (a SASL
// failure): Run returns it, as retrying would not help.
type AuthError struct {
	Condition string // "not-authorized", "account-disabled", …; "" when the mechanisms did not match
	Err       error
}

func (e *AuthError) Error() string {
	if e.Condition != "" && e.Condition != e.Err.Error() {
		return fmt.Sprintf("xmpp: the server refused the account's credentials: %s: %v", e.Condition, e.Err)
	}
	return fmt.Sprintf("xmpp: the server refused the account's credentials: %v", e.Err)
}

func (e *AuthError) Unwrap() error { return e.Err }

// timing is what a connector waits for. Tests shorten it.
type timing struct {
	dial       time.Duration // TCP connection
	negotiate  time.Duration // TLS, authentication and binding
	join       time.Duration // a room's answer to a join
	subject    time.Duration // after joining, for the subject that ends the history
	reflect    time.Duration // for the room to send a message back, with its stanza-id
	write      time.Duration // one stanza written
	ping       time.Duration // idle time between pings of the server and self-pings of the rooms
	pong       time.Duration // for the answer to a ping
	backoffMin time.Duration // before reconnecting, doubled after each failure
	backoffMax time.Duration
	rejoinMin  time.Duration // before joining a room again after a kick or an error, doubled
	rejoinMax  time.Duration
}

var defaultTiming = timing{
	dial:       20 * time.Second,
	negotiate:  30 * time.Second,
	join:       30 * time.Second,
	subject:    10 * time.Second,
	reflect:    10 * time.Second,
	write:      30 * time.Second,
	ping:       90 * time.Second,
	pong:       30 * time.Second,
	backoffMin: time.Second,
	backoffMax: time.Minute,
	rejoinMin:  2 * time.Second,
	rejoinMax:  5 * time.Minute,
}

// Connector is an XMPP account in multi-user chat rooms, for the bridge
// gateway: see the package documentation. Its methods are safe for
// concurrent use.
type Connector struct {
	name      string
	account   jid.JID // bare
	server    string  // host:port, "" to look the domain up
	pwFile    string
	nick      string
	rooms     map[string]jid.JID // bare room JID → itself
	order     []string           // the rooms in configuration order
	tls       *tls.Config
	log       *slog.Logger
	timing    timing
	maxBytes  int64        // the largest stanza read
	selfPings atomic.Int64 // answered, for tests

	mu      sync.Mutex
	running bool
	sess    *session      // the live session, nil while down
	up      chan struct{} // closed when sess is set; replaced when it goes
	status  bridge.Status
	ids     map[string]*idTable // by room
}

// New makes the connector name ("xmpp.shop") for the account cfg, in the
// rooms channels (bare room JIDs, "tea@muc.example.org"). It checks the
// configuration and reads the password file, the CA file too, without
// connecting; Run connects. logger may be nil.
func New(name string, cfg bridge.XMPP, channels []string, logger *slog.Logger) (*Connector, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...))
	}
	account, err := jid.Parse(cfg.JID)
	if err != nil || account.Localpart() == "" || account.Resourcepart() != "" {
		bad("jid %q is not a bare JID (user@domain)", cfg.JID)
	}
	if cfg.Server != "" {
		if _, port, err := net.SplitHostPort(cfg.Server); err != nil || port == "" {
			bad("server %q is not host:port", cfg.Server)
		}
	}
	if _, err := readPassword(cfg.PasswordFile); err != nil {
		errs = append(errs, fmt.Errorf("%w: %v", ErrConfig, err))
	}
	nick := cfg.Nick
	if nick == "" {
		nick = account.Localpart()
	}
	if nick != "" && !validNick(nick) {
		bad("nick %q cannot be a room nick", nick)
	}
	c := &Connector{
		name:     name,
		account:  account,
		server:   cfg.Server,
		pwFile:   cfg.PasswordFile,
		nick:     nick,
		rooms:    map[string]jid.JID{},
		log:      logger.With("connector", name),
		timing:   defaultTiming,
		maxBytes: 1 << 20,
		up:       make(chan struct{}),
		ids:      map[string]*idTable{},
		tls:      &tls.Config{ServerName: account.Domainpart(), MinVersion: tls.VersionTLS12},
	}
	for _, ch := range channels {
		room, err := jid.Parse(ch)
		if err != nil || room.Localpart() == "" || room.Resourcepart() != "" {
			bad("room %q is not a bare JID (room@service)", ch)
			continue
		}
		key := room.String()
		if _, dup := c.rooms[key]; !dup {
			c.rooms[key] = room
			c.order = append(c.order, key)
			c.ids[key] = newIDTable(maxRemembered)
		}
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		pool := x509.NewCertPool()
		switch {
		case err != nil:
			bad("ca_file: %v", err)
		case !pool.AppendCertsFromPEM(pem):
			bad("ca_file %s has no PEM certificate", cfg.CAFile)
		default:
			c.tls.RootCAs = pool
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// readPassword reads the password file, without its trailing newline.
func readPassword(path string) (string, error) {
	if path == "" {
		return "", errors.New("no password_file")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if pw == "" {
		return "", fmt.Errorf("the password file %s is empty", path)
	}
	return pw, nil
}

// validNick says whether a nick is worth asking a room for: not empty, at
// most 64 characters, no control character, no space at either end.
func validNick(n string) bool {
	if n == "" || len(n) > 256 || strings.TrimSpace(n) != n || clean(n) != n || strings.ContainsAny(n, "\n\t") {
		return false
	}
	return len([]rune(n)) <= 64
}

// Name is the connector's KIND.NAME.
func (c *Connector) Name() string { return c.name }

// Caps: corrections, retractions, replies and private messages; no
// images (they would need an upload service).
func (c *Connector) Caps() bridge.Caps {
	return bridge.Caps{Edit: true, Delete: true, Replies: true, Private: true}
}

// Status reports the connection.
func (c *Connector) Status() bridge.Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

func (c *Connector) setStatus(connected bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.status.Connected = connected
	c.status.Since = time.Now()
	switch {
	case connected:
		c.status.LastError = ""
	case err != nil:
		c.status.LastError = err.Error()
	}
}

// Run connects, joins the rooms and stays connected until ctx ends, when
// it returns ctx.Err(): after a disconnection it connects again after a
// backoff (doubling from a second up to a minute, with jitter) and joins
// the rooms again. It returns an *AuthError at once when the server
// refuses the credentials, and an error wrapping ErrConfig when the
// password file cannot be read. It puts on in what others write in the
// rooms, and !invite asked privately; see the package documentation.
func (c *Connector) Run(ctx context.Context, in chan<- bridge.Inbound) error {
	c.mu.Lock()
	if c.running {
		c.mu.Unlock()
		return ErrRunning
	}
	c.running = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.running = false
		c.mu.Unlock()
	}()

	// The handler hands messages over through queue, so that a gateway
	// slow to take them does not hold up the stream at once (the room's
	// copies of our own messages travel in it, and Send waits for them).
	queue := make(chan bridge.Inbound, 256)
	fctx, stopForward := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case m := <-queue:
				select {
				case in <- m:
				case <-fctx.Done():
					return
				}
			case <-fctx.Done():
				return
			}
		}
	})
	defer func() { stopForward(); wg.Wait() }()

	backoff := c.timing.backoffMin
	for {
		ready, err := c.session(ctx, queue)
		if ctx.Err() != nil {
			c.setStatus(false, nil)
			return ctx.Err()
		}
		c.setStatus(false, err)
		var auth *AuthError
		if errors.As(err, &auth) || errors.Is(err, ErrConfig) {
			c.log.Error("xmpp: giving up", "err", err)
			return err
		}
		if ready {
			backoff = c.timing.backoffMin
		}
		wait := backoff - rand.N(backoff/2+1) // jitter: ½…1 of the backoff
		backoff = min(2*backoff, c.timing.backoffMax)
		c.log.Warn("xmpp: disconnected, reconnecting", "err", err, "in", wait.Round(time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			c.setStatus(false, nil)
			return ctx.Err()
		}
	}
}

// live waits until room is joined on a live session, bounded by ctx.
func (c *Connector) live(ctx context.Context, room string) (*session, *roomState, error) {
	if _, ok := c.rooms[room]; !ok {
		return nil, nil, fmt.Errorf("%w: %s", ErrUnknownRoom, room)
	}
	for {
		c.mu.Lock()
		s, up := c.sess, c.up
		var wait <-chan struct{} = up
		var done <-chan struct{}
		if s != nil {
			r := s.rooms[room]
			if r.phase == roomLive {
				c.mu.Unlock()
				return s, r, nil
			}
			wait, done = r.liveCh, s.done
		}
		c.mu.Unlock()
		select {
		case <-wait:
		case <-done:
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("xmpp: waiting to be in %s: %w", room, ctx.Err())
		}
	}
}

// Send posts m in room as a groupchat message, or privately to the
// occupant m.To, and returns the ID the room gave it (its stanza-id,
// which others' replies and retractions name), once the room has sent
// it back; the message's origin-id if the room did not within 10s (or
// has no stanza-ids). A private message has no ID: "". Its id and
// origin-id derive from m.Event, and a message already posted with the
// same is not posted again: its ID is returned.
func (c *Connector) Send(ctx context.Context, room string, m bridge.Outbound) (string, error) {
	body, quote := render(m)
	if strings.TrimSpace(body) == "" {
		return "", ErrEmptyText
	}
	s, r, err := c.live(ctx, room)
	if err != nil {
		return "", err
	}
	id := stanzaIDFor(m.Event)
	if m.Event == "" {
		id = stanzaIDFor(randomID())
	}
	if m.To != "" {
		return "", c.sendPrivate(ctx, s, r, m.To, body, id)
	}
	c.mu.Lock()
	if old := c.ids[room].byMsgOf(id, selfUser); old != nil && m.Event != "" {
		c.mu.Unlock()
		return old.canonical, nil
	}
	c.mu.Unlock()

	msg := outMessage{ID: id, To: room, Type: "groupchat", Body: body, OriginID: &outID{id}}
	if m.ReplyTo != "" {
		msg.Reply = &outReply{ID: m.ReplyTo}
		c.mu.Lock()
		if ref := c.ids[room].find(m.ReplyTo); ref != nil && ref.nick != "" {
			msg.Reply.To = room + "/" + ref.nick
		}
		c.mu.Unlock()
		if quote > 0 {
			msg.Fallback = &outFallback{For: nsReply, Range: &outRange{0, quote}}
		}
	}
	refl, err := s.sendReflected(ctx, &msg, "send")
	if err != nil {
		return "", err
	}
	// The handler remembered the room's copy (ids), for Edit and Delete.
	if refl.stanzaID != "" {
		return refl.stanzaID, nil
	}
	return id, nil
}

func (c *Connector) sendPrivate(ctx context.Context, s *session, r *roomState, to, body, id string) error {
	c.mu.Lock()
	nick, _ := r.occupant(to)
	c.mu.Unlock()
	if nick == "" {
		return fmt.Errorf("%w: %q in %s", ErrNoOccupant, to, r.jid)
	}
	return s.write(ctx, &outMessage{ID: id, To: r.jid.String() + "/" + nick, Type: "chat", Body: body, OriginID: &outID{id}, MUCUser: &struct{}{}})
}

// Edit corrects a message that Send posted (XEP-0308), naming it by its
// id attribute, which the connector remembers for its last 4096 messages
// per room; for an older one (or one from before a restart) it names the
// ID itself, which most clients will not find.
func (c *Connector) Edit(ctx context.Context, room, id string, m bridge.Outbound) error {
	if m.Kind == bridge.OutCorrection {
		m.Kind = bridge.OutMessage
	}
	body, quote := render(m)
	if strings.TrimSpace(body) == "" {
		return ErrEmptyText
	}
	s, _, err := c.live(ctx, room)
	if err != nil {
		return err
	}
	original := id
	c.mu.Lock()
	if rec := c.ids[room].own(id); rec != nil {
		original = rec.msgID
	} else if m.Original != "" {
		// Forgotten (a restart): Send gave the copy the id it derives from
		// the original's event.
		original = stanzaIDFor(m.Original)
	}
	c.mu.Unlock()
	own := stanzaIDFor(m.Event, "edit", id, body)
	msg := outMessage{ID: own, To: room, Type: "groupchat", Body: body, OriginID: &outID{own}, Replace: &outID{original}}
	if m.ReplyTo != "" {
		msg.Reply = &outReply{ID: m.ReplyTo}
		if quote > 0 {
			msg.Fallback = &outFallback{For: nsReply, Range: &outRange{0, quote}}
		}
	}
	_, err = s.sendReflected(ctx, &msg, "edit")
	return err
}

// Delete retracts a message that Send posted (XEP-0424): the current
// form, naming its ID, and the earlier one (XEP-0422 apply-to) naming its
// origin-id, when the connector remembers it, for older clients; with the
// fallback body "[message recalled]" for clients that know neither.
func (c *Connector) Delete(ctx context.Context, room, id string) error {
	s, _, err := c.live(ctx, room)
	if err != nil {
		return err
	}
	origin, target := "", id
	c.mu.Lock()
	if rec := c.ids[room].own(id); rec != nil {
		origin = rec.msgID
		if rec.stanzaID != "" {
			target = rec.stanzaID // id was the origin-id, the room's copy came late
		}
	}
	c.mu.Unlock()
	own := stanzaIDFor(id, "retract")
	msg := outMessage{
		ID: own, To: room, Type: "groupchat", Body: "[message recalled]", OriginID: &outID{own},
		Retract:  &outID{target},
		Fallback: &outFallback{For: nsRetract},
		Store:    &struct{}{},
	}
	if origin != "" {
		msg.ApplyTo = &outApplyTo{ID: origin}
	}
	_, err = s.sendReflected(ctx, &msg, "retract")
	return err
}

// Kick removes user (a real JID or a nick, as Inbound.User) from room:
// its role becomes none (XEP-0045 §8.2), which needs the account to be a
// moderator. With ban, its affiliation becomes outcast (§9.1), which
// removes it too and keeps it out, and needs an admin or the owner: a
// room that does not show the account the user's real JID (any room
// shows it to its admins) is bridge.ErrUnsupported. Someone not in the
// room is ErrNoOccupant (but a bare JID can be banned all the same). The
// room's refusal is a *RefusedError (errors.Is ErrForbidden for the
// usual one).
func (c *Connector) Kick(ctx context.Context, room, user, reason string, ban bool) error {
	s, r, err := c.live(ctx, room)
	if err != nil {
		return err
	}
	c.mu.Lock()
	nick, real := r.occupant(user)
	c.mu.Unlock()
	var q outAdmin
	q.Item.Reason = cut(strings.TrimSpace(clean(reason)), 1024)
	op := "kick"
	switch {
	case ban && real != "":
		op, q.Item.JID, q.Item.Affiliation = "ban", real, "outcast"
	case ban && nick == "":
		// Not in the room: a bare JID can be banned all the same.
		if j, err := jid.Parse(user); err == nil && j.Localpart() != "" && j.Resourcepart() == "" {
			op, q.Item.JID, q.Item.Affiliation = "ban", j.String(), "outcast"
			break
		}
		return fmt.Errorf("%w: %q in %s", ErrNoOccupant, user, room)
	case ban:
		// Rooms show addresses to their admins, who alone can ban.
		return fmt.Errorf("%w: the room does not show %q's address to the account, which is not an admin there", bridge.ErrUnsupported, user)
	case nick == "":
		return fmt.Errorf("%w: %q in %s", ErrNoOccupant, user, room)
	default:
		q.Item.Nick, q.Item.Role = nick, "none"
	}
	return s.admin(ctx, r.jid, op, &q)
}

// randomID is 16 random hex digits.
func randomID() string {
	return fmt.Sprintf("%016x", rand.Uint64())
}
