package bridge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/qunchat/qun/protocol"
)

// Remote → Qun.

// InputError is why the gateway refused what a remote side sent; nothing
// of it was relayed.
type InputError struct {
	Reason string
}

func (e *InputError) Error() string { return "bridge: refused: " + e.Reason }

func refuse(format string, args ...any) *InputError {
	return &InputError{Reason: fmt.Sprintf(format, args...)}
}

// ErrBusy is the outcome of a remote message that is being relayed
// already (the platform asked again before the first answer): asking
// again later gives its event. Temporary says so to connectors that
// answer with a status.
var ErrBusy error = busyError{}

type busyError struct{}

func (busyError) Error() string {
	return "bridge: this message is being relayed; ask again in a moment"
}
func (busyError) Temporary() bool { return true }

// maxRemoteID bounds the IDs a connector gives (messages, replies, edits).
const maxRemoteID = 512

// check refuses what no group should get: text that is not UTF-8, that
// holds control characters (but tabs and line breaks) or is too long,
// people without an ID, IDs out of bounds.
func (m *Inbound) check() error {
	if m.User == "" && m.Deletes == "" && m.Edits == "" {
		// A deletion or a correction acts on a message relayed from the
		// same channel: that message names its sender.
		return refuse("the message names no sender")
	}
	if len(m.User) > protocol.MaxRemoteUserBytes || !utf8.ValidString(m.User) || hasControl(m.User, false) {
		return refuse("the sender's ID is not at most %d bytes of UTF-8 without control characters", protocol.MaxRemoteUserBytes)
	}
	for _, id := range []string{m.ID, m.ReplyTo, m.Edits, m.Deletes} {
		if len(id) > maxRemoteID || !utf8.ValidString(id) {
			return refuse("a message ID is not at most %d bytes of UTF-8", maxRemoteID)
		}
	}
	if !utf8.ValidString(m.Name) {
		return refuse("the sender's name is not UTF-8")
	}
	if !utf8.ValidString(m.Text) {
		return refuse("the text is not UTF-8")
	}
	if hasControl(m.Text, true) {
		return refuse("the text holds control characters")
	}
	if n := utf8.RuneCountInString(m.Text); n > protocol.MaxTextRunes {
		return refuse("the text has %d characters; a message has at most %d", n, protocol.MaxTextRunes)
	}
	if m.Deletes == "" && !m.Invite && strings.TrimSpace(m.Text) == "" {
		return refuse("the message has no text")
	}
	return nil
}

// hasControl says whether s holds a control character (Unicode Cc); with
// lines, tab and line feed are allowed.
func hasControl(s string, lines bool) bool {
	for _, r := range s {
		if unicode.Is(unicode.Cc, r) && !(lines && (r == '\n' || r == '\t')) {
			return true
		}
	}
	return false
}

// cleanName makes a remote display name fit a profile string: no control
// or format characters (but the zero-width joiners), no spaces at the
// ends, at most protocol.MaxDisplayNameRunes characters.
func cleanName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) && r != 0x200C && r != 0x200D {
			continue
		}
		b.WriteRune(r)
	}
	out := strings.TrimFunc(b.String(), func(r rune) bool { return unicode.IsSpace(r) || r == 0x200C || r == 0x200D })
	if r := []rune(out); len(r) > protocol.MaxDisplayNameRunes {
		out = strings.TrimFunc(string(r[:protocol.MaxDisplayNameRunes]), unicode.IsSpace)
	}
	return out
}

// isInviteCommand says whether a text is the !invite command.
func isInviteCommand(text string) bool {
	return strings.EqualFold(strings.TrimSpace(text), "!invite")
}

// inbound relays what connector c brings until ctx ends: each channel's
// messages one after another (so that a channel's order is the group's),
// the channels side by side (so that one busy channel holds up no other).
func (g *Gateway) inbound(ctx context.Context, c Connector, in <-chan Inbound) {
	var wg sync.WaitGroup
	defer wg.Wait()
	queues := map[string]chan Inbound{}
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-in:
			q := queues[m.Channel]
			if q == nil {
				if g.byChannel[chanKey{c.Name(), m.Channel}] == nil {
					// Not routed: refused at once, without a worker of its own.
					g.answer(m, g.relayIn(ctx, c, m))
					continue
				}
				q = make(chan Inbound, 64)
				queues[m.Channel] = q
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-ctx.Done():
							return
						case m := <-q:
							g.answer(m, g.relayIn(ctx, c, m))
						}
					}
				}()
			}
			select {
			case q <- m:
			case <-ctx.Done():
				return
			}
		}
	}
}

// answer hands m's outcome to whoever waits for it.
func (g *Gateway) answer(m Inbound, res Result) {
	if m.Done != nil {
		m.Done(res)
	}
}

// relayIn relays one message and says what became of it.
func (g *Gateway) relayIn(ctx context.Context, c Connector, m Inbound) Result {
	k := chanKey{c.Name(), m.Channel}
	r := g.byChannel[k]
	log := g.log.With("connector", c.Name(), "channel", m.Channel, "user", m.User)
	if r == nil {
		log.Warn("bridge: refused a message from a channel that no route has")
		return Result{Err: refuse("the channel %q is not routed", m.Channel)}
	}
	log = log.With("route", r.gid.String()[:12])
	fail := func(err error) Result {
		r.count(0, 0, 1)
		log.Warn("bridge: refused a remote message", "reason", err)
		return Result{Err: err}
	}
	if err := m.check(); err != nil {
		return fail(err)
	}
	if m.Invite || isInviteCommand(m.Text) {
		return r.invite(ctx, c, m)
	}
	if !r.relaysIn() {
		log.Debug("bridge: the route relays only to the other networks")
		return Result{Err: refuse("the route relays only from Qun to %s", k)}
	}
	<-r.ready
	person := protocol.BridgedID(g.me, c.Name(), m.User)
	if why := r.blocked(ctx, person); why != "" {
		return fail(refuse("%s (%s) is %s: not relayed", m.User, c.Name(), why))
	}
	if m.ID == "" {
		m.ID = newID(c.Name())
	}
	rem := Remote{Connector: c.Name(), Channel: m.Channel, ID: m.ID}
	if ev, ok, err := g.store.EventOf(rem); err != nil {
		return fail(err)
	} else if ok { // relayed before (a replay): once only
		res := Result{Seq: ev.Seq}
		if v, err := r.event(ctx, ev.Seq); err == nil {
			res.Event = v.ID
		}
		return res
	}
	if busy, err := g.store.IsPending(rem); err != nil {
		return fail(err)
	} else if busy {
		return Result{Err: ErrBusy} // the same message, under way: ask again later
	}

	kind, body, err := g.bodyOf(r, c, m)
	if err != nil {
		return fail(err)
	}
	sub, err := g.qc.Sign(kind, r.gid, body)
	if err != nil && kind == protocol.KindMessage && m.Name != "" {
		// A name that is no profile string: relay with the ID alone.
		body.(*protocol.MessageBody).Bridged.Name = ""
		sub, err = g.qc.Sign(kind, r.gid, body)
	}
	if err != nil {
		return fail(refuse("%v", err))
	}
	p := Pending{Remote: rem, Group: r.gid, Raw: sub.Raw}
	if err := g.store.Pend(p); err != nil {
		return fail(err)
	}
	res := g.post(ctx, p)
	if res.Err != nil {
		r.count(0, 0, 1)
		log.Warn("bridge: the host refused a remote message", "kind", kind, "err", res.Err)
	} else {
		r.count(1, 0, 0)
	}
	return res
}

// bodyOf is the submission for m: a recall for a deletion, an edit for a
// correction, otherwise a message with the person's attribution.
func (g *Gateway) bodyOf(r *route, c Connector, m Inbound) (protocol.Kind, protocol.Body, error) {
	target := func(id, what string) (uint64, error) {
		ev, ok, err := g.store.EventOf(Remote{Connector: c.Name(), Channel: m.Channel, ID: id})
		switch {
		case err != nil:
			return 0, err
		case !ok || ev.Group != r.gid:
			return 0, refuse("the %s message %q was never relayed", what, id)
		}
		return ev.Seq, nil
	}
	switch {
	case m.Deletes != "":
		seq, err := target(m.Deletes, "deleted")
		if err != nil {
			return 0, nil, err
		}
		return protocol.KindRecall, protocol.NewTargetBody(protocol.KindRecall, seq), nil
	case m.Edits != "":
		seq, err := target(m.Edits, "corrected")
		if err != nil {
			return 0, nil, err
		}
		return protocol.KindEdit, &protocol.EditBody{Target: seq, Text: m.Text}, nil
	}
	body := &protocol.MessageBody{
		Text:    m.Text,
		Bridged: &protocol.Bridged{Network: c.Name(), User: m.User, Name: cleanName(m.Name)},
	}
	if m.ReplyTo != "" {
		if seq, err := target(m.ReplyTo, "answered"); err == nil {
			body.ReplyTo = seq
		}
	}
	return protocol.KindMessage, body, nil
}

// post posts a pending submission until the host answers: the event it
// became (settled into the mapping), or its refusal (dropped). A network
// error or a busy host is tried again with backoff; posting the same bytes
// again is safe.
func (g *Gateway) post(ctx context.Context, p Pending) Result {
	wait := 250 * time.Millisecond
	for {
		resp, err := g.qc.SubmitSigned(ctx, p.Raw, nil)
		if err == nil {
			if err := g.store.Settle(p, EventRef{Group: p.Group, Seq: resp.Seq}); err != nil {
				return Result{Err: err}
			}
			return Result{Event: resp.ID, Seq: resp.Seq}
		}
		if ctx.Err() != nil {
			return Result{Err: ctx.Err()}
		}
		if !transient(err) {
			if derr := g.store.Drop(p); derr != nil {
				g.log.Error("bridge: cannot drop a refused submission", "err", derr)
			}
			return Result{Err: err}
		}
		g.log.Warn("bridge: posting to the node failed; trying again", "err", err, "in", wait)
		if !sleep(ctx, jitter(wait)) {
			return Result{Err: ctx.Err()}
		}
		wait = min(2*wait, maxRetryBackoff)
	}
}

// transient says whether a failed submission may succeed when posted again.
func transient(err error) bool {
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		return true // the node could not be reached
	}
	switch pe.Code {
	case protocol.CodeInternal, protocol.CodeUnavailable, protocol.CodeRateLimited,
		protocol.CodeStorageFull, protocol.CodeRecovering, protocol.CodeUnauthenticated:
		return true
	}
	return false
}

// resume posts the submissions a crash left pending, so that each remote
// message is relayed once (the node answers the same event for the same
// bytes). It returns when all are settled or dropped, or ctx ends.
func (g *Gateway) resume(ctx context.Context, ps []Pending) {
	for _, p := range ps {
		res := g.post(ctx, p)
		if ctx.Err() != nil {
			return
		}
		g.log.Info("bridge: posted again a message pending at the last stop", "connector", p.Remote.Connector, "channel", p.Remote.Channel, "seq", res.Seq, "err", res.Err)
	}
}

// newID makes an ID for a remote message that has none (IRC).
func newID(conn string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return strings.SplitN(conn, ".", 2)[0] + "-" + hex.EncodeToString(b)
}
