package bridge

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// Qun → remote: one sender per remote channel of a route.

const (
	pageSize        = 200
	sendTimeout     = 30 * time.Second
	cursorEvery     = time.Second // a cursor is kept at most this often while busy
	maxRetryBackoff = 30 * time.Second
)

// ErrRefused marks an error of a Connector that will not change on a retry
// (the network refuses this text for good): the gateway logs it and goes
// on to the next message instead of trying again.
var ErrRefused = errors.New("bridge: the network refuses this for good")

// sender relays a group's events to one remote channel, in seq order, from
// its own cursor.
type sender struct {
	r    *route
	conn Connector
	key  chanKey
	log  *slog.Logger
	wake chan struct{}

	mu      sync.Mutex
	cursor  uint64 // the last seq relayed (or passed over)
	lastErr string
	edited  map[uint64]uint64 // message seq → the edit already in the text sent
}

// run relays from the stored cursor (from seq head for a channel new to
// the route: a new channel gets no history) until ctx ends.
func (s *sender) run(ctx context.Context, head uint64) {
	store := s.r.g.store
	cur, ok, err := store.Cursor(s.r.gid, s.key.String())
	if err != nil {
		s.log.Error("bridge: cannot read the channel's cursor; starting from the group's head", "err", err)
	}
	if !ok {
		cur = head
		if err := store.SetCursor(s.r.gid, s.key.String(), cur); err != nil {
			s.log.Error("bridge: cannot keep the channel's cursor", "err", err)
		}
	}
	s.mu.Lock()
	s.cursor = cur
	s.edited = map[uint64]uint64{}
	s.mu.Unlock()
	kept, keptAt := cur, time.Now()
	keep := func() {
		if err := store.SetCursor(s.r.gid, s.key.String(), cur); err != nil {
			s.log.Error("bridge: cannot keep the channel's cursor", "err", err)
			return
		}
		kept, keptAt = cur, time.Now()
	}
	defer func() {
		if cur != kept {
			keep()
		}
	}()
	wait := time.Second
	for {
		evs, err := s.next(ctx, cur+1)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.failed(err, wait)
			if !sleep(ctx, jitter(wait)) {
				return
			}
			wait = min(2*wait, maxRetryBackoff)
			continue
		}
		if len(evs) == 0 {
			if cur != kept {
				keep()
			}
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
			}
			continue
		}
		for _, ev := range evs {
			for {
				err := s.relay(ctx, ev)
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					return
				}
				s.failed(err, wait)
				if !sleep(ctx, jitter(wait)) {
					return
				}
				wait = min(2*wait, maxRetryBackoff)
			}
			wait = time.Second
			cur = ev.Seq
			s.mu.Lock()
			s.cursor, s.lastErr = cur, ""
			s.mu.Unlock()
			if time.Since(keptAt) > cursorEvery {
				keep()
			}
		}
	}
}

func (s *sender) failed(err error, wait time.Duration) {
	s.mu.Lock()
	s.lastErr = err.Error()
	s.mu.Unlock()
	s.log.Warn("bridge: relaying to the channel failed; trying again", "err", err, "in", wait)
}

// next returns the events from seq from on: from the route's ring, or a
// page of the node's history when the ring does not reach back so far.
func (s *sender) next(ctx context.Context, from uint64) ([]api.EventView, error) {
	if evs, ok := s.r.since(from, pageSize); ok {
		return evs, nil
	}
	page, err := s.r.g.qc.Events(ctx, s.r.gid, from, pageSize)
	if err != nil {
		return nil, err
	}
	return page.Events, nil
}

// relay makes ev's copy in the channel, if it has one there, and records
// it; an event already copied there (before a restart), or that came from
// there, is passed over.
func (s *sender) relay(ctx context.Context, ev api.EventView) error {
	g := s.r.g
	ref := EventRef{Group: s.r.gid, Seq: ev.Seq}
	if ev.Author == g.me.String() && ev.Raw != "" {
		// Ours: perhaps a message of this very channel whose link is not
		// written yet; the pending entry says (read before the link, which
		// replaces it in one write).
		if src, ok, err := g.store.PendingSource(submissionOf(ev.Raw)); err != nil {
			return err
		} else if ok && src.Connector == s.key.conn && src.Channel == s.key.channel {
			return nil
		}
	}
	if _, ok, err := g.store.RemoteIn(ref, s.key.conn, s.key.channel); err != nil || ok {
		return err
	}
	out, target, ok, err := s.render(ctx, ev)
	if err != nil || !ok {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	caps := s.conn.Caps()
	var id string
	switch {
	case ev.Kind == "edit" && caps.Edit:
		err = s.conn.Edit(sctx, s.key.channel, target, out)
		id = "qun:" + ev.ID
	case ev.Kind == "recall" && caps.Delete:
		err = s.conn.Delete(sctx, s.key.channel, target)
		id = "qun:" + ev.ID
	case ev.Kind == "kick" || ev.Kind == "ban":
		s.kickRemote(sctx, ev)
		id, err = s.conn.Send(sctx, s.key.channel, out)
	default:
		id, err = s.conn.Send(sctx, s.key.channel, out)
	}
	if errors.Is(err, ErrRefused) || errors.Is(err, ErrUnsupported) {
		s.log.Warn("bridge: the network refuses the copy; going on", "seq", ev.Seq, "kind", ev.Kind, "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	if id == "" {
		id = "qun:" + ev.ID
	}
	if err := g.store.Link(Remote{Connector: s.key.conn, Channel: s.key.channel, ID: id}, ref); err != nil {
		return fmt.Errorf("keeping the copy's link: %w", err)
	}
	s.r.count(0, 1, 0)
	return nil
}

// submissionOf is the ID of the submission in a signed event (zero when
// it does not decode: then nothing is pending under it).
func submissionOf(raw64 string) protocol.SubmissionID {
	raw, err := base64.StdEncoding.DecodeString(raw64)
	if err != nil {
		return protocol.SubmissionID{}
	}
	ev, err := protocol.DecodeEvent(raw)
	if err != nil {
		return protocol.SubmissionID{}
	}
	return protocol.SubmissionID(sha256.Sum256(ev.Submission))
}

// render is ev's copy for the channel; ok is false for an event that has
// none (a join, a reaction, the bridge's own notices…). target is the
// channel's ID of the message an edit or a recall acts on.
func (s *sender) render(ctx context.Context, ev api.EventView) (out Outbound, target string, ok bool, err error) {
	g, r := s.r.g, s.r
	out = Outbound{Event: ev.ID, Kind: OutNotice}
	switch ev.Kind {
	case "message":
		if ev.Recalled != nil || (ev.Author == g.me.String() && ev.Bridged == nil) {
			return out, "", false, nil
		}
		out.Kind, out.Author, out.Text = OutMessage, r.authorOf(ctx, ev), messageText(ev)
		if ev.Edited != nil {
			s.mu.Lock()
			s.edited[ev.Seq] = ev.Edited.Seq
			s.mu.Unlock()
		}
		if ev.Target > 0 {
			if id, ok, err := g.store.RemoteIn(EventRef{r.gid, ev.Target}, s.key.conn, s.key.channel); err != nil {
				return out, "", false, err
			} else if ok && !strings.HasPrefix(id, "qun:") {
				out.ReplyTo = id
			}
			if q, err := r.event(ctx, ev.Target); err == nil && q.Recalled == nil {
				out.Quote = &Quote{Author: r.authorOf(ctx, q), Text: messageText(q)}
			}
		}
		return out, "", true, nil
	case "edit":
		if ev.Superseded {
			return out, "", false, nil
		}
		s.mu.Lock()
		already := s.edited[ev.Target] >= ev.Seq
		s.mu.Unlock()
		id, ok, err := g.store.RemoteIn(EventRef{r.gid, ev.Target}, s.key.conn, s.key.channel)
		if err != nil || !ok || already {
			return out, "", false, err
		}
		out.Kind, out.Author, out.Text = OutCorrection, r.authorOf(ctx, ev), ev.Text
		if b, err := r.event(ctx, ev.Target); err == nil {
			out.Original = b.ID
			if b.Bridged != nil {
				out.Author = bridgedName(b.Bridged)
			}
		}
		return out, id, true, nil
	case "recall":
		id, ok, err := g.store.RemoteIn(EventRef{r.gid, ev.Target}, s.key.conn, s.key.channel)
		if err != nil || !ok {
			return out, "", false, err
		}
		out.Text = "[message recalled]"
		if b, err := r.event(ctx, ev.Target); err == nil {
			out.Original = b.ID
			out.Text = "[a message of " + r.authorOf(ctx, b) + " was recalled]"
		}
		return out, id, true, nil
	case "announce":
		out.Text = "📢 " + r.authorOf(ctx, ev) + ": " + ev.Text
		return out, "", true, nil
	case "pin":
		out.Text = "📌 " + r.authorOf(ctx, ev) + " pinned a message"
		if b, err := r.event(ctx, ev.Target); err == nil && b.Recalled == nil {
			out.Text += ": " + r.authorOf(ctx, b) + ": " + oneLine(messageText(b), 200)
		}
		return out, "", true, nil
	case "kick", "ban":
		who := s.memberName(ctx, ev.Member)
		verb := "removed from"
		if ev.Kind == "ban" {
			verb = "banned from"
		}
		out.Text = who + " was " + verb + " the group by " + r.authorOf(ctx, ev)
		if ev.Text != "" {
			out.Text += ": " + ev.Text
		}
		return out, "", true, nil
	}
	return out, "", false, nil
}

// memberName names a member or a bridged person acted on.
func (s *sender) memberName(ctx context.Context, id string) string {
	if p, ok := s.r.person(ctx, id); ok {
		return bridgedName(&p.BridgedView)
	}
	return s.r.nameOf(ctx, id)
}

// kickRemote kicks (or bans) a bridged person of this channel's network
// from the channel, where the bridge's account has the right; the host
// refuses their messages either way.
func (s *sender) kickRemote(ctx context.Context, ev api.EventView) {
	p, ok := s.r.person(ctx, ev.Member)
	if !ok || p.Network != s.key.conn {
		return
	}
	reason := ev.Text
	if reason == "" {
		reason = "removed from the Qun group"
	}
	err := s.conn.Kick(ctx, s.key.channel, p.User, reason, ev.Kind == "ban")
	switch {
	case errors.Is(err, ErrUnsupported):
		s.log.Info("bridge: the account cannot kick on this network; the host refuses their messages", "user", p.User)
	case err != nil:
		s.log.Warn("bridge: kicking a person on their network failed; the host refuses their messages", "user", p.User, "err", err)
	default:
		s.log.Info("bridge: kicked a person on their network", "user", p.User, "ban", ev.Kind == "ban")
	}
}

// messageText is a message's text with what the remote side cannot show
// written out: a product card, a link, attachments.
func messageText(ev api.EventView) string {
	var b strings.Builder
	b.WriteString(ev.Text)
	add := func(s string) {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(s)
	}
	if p := ev.Product; p != nil {
		line := "🛍 " + p.Title
		if p.Price != "" {
			line += " — " + strings.TrimSpace(p.Price+" "+p.Currency)
		}
		if p.URL != "" {
			line += " " + p.URL
		}
		add(line)
	}
	if ev.Link != "" && !strings.Contains(ev.Text, ev.Link) {
		add(ev.Link)
	}
	for _, a := range ev.Attachments {
		what := "file"
		if strings.HasPrefix(a.MIME, "image/") {
			what = "image"
		}
		add("[" + what + ": " + a.Name + "]")
	}
	return b.String()
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
