package matrix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/qunchat/qun/bridge"
)

// The sync loop: Matrix → the gateway.

// syncResponse is the part of a /sync answer the connector reads. Events
// stay raw here and are decoded one by one, so that one that does not
// decode is dropped alone instead of failing the whole batch again and
// again.
type syncResponse struct {
	NextBatch string `json:"next_batch"`
	Rooms     struct {
		Join   map[id.RoomID]syncRoom `json:"join"`
		Leave  map[id.RoomID]syncRoom `json:"leave"`
		Invite map[id.RoomID]struct {
			State struct {
				Events []json.RawMessage `json:"events"`
			} `json:"invite_state"`
		} `json:"invite"`
	} `json:"rooms"`
}

type syncRoom struct {
	State struct {
		Events []json.RawMessage `json:"events"`
	} `json:"state"`
	Timeline struct {
		Events    []json.RawMessage `json:"events"`
		Limited   bool              `json:"limited"`
		PrevBatch string            `json:"prev_batch"`
	} `json:"timeline"`
}

// filter is the sync filter: the rooms' messages, redactions and
// members, nothing else (no presence, receipts, typing, account data).
func (c *Connector) filter() string {
	f := map[string]any{
		"presence":     map[string]any{"not_types": []string{"*"}},
		"account_data": map[string]any{"not_types": []string{"*"}},
		"room": map[string]any{
			"timeline": map[string]any{"limit": c.tune.timelineLimit,
				"types": []string{"m.room.message", "m.room.redaction", "m.room.member", "m.sticker", "m.room.encrypted"}},
			"state":        map[string]any{"types": []string{"m.room.member"}},
			"ephemeral":    map[string]any{"not_types": []string{"*"}},
			"account_data": map[string]any{"not_types": []string{"*"}},
		},
	}
	b, _ := json.Marshal(f)
	return string(b)
}

// After a join, syncs poll for at most shortPoll, for afterJoin.
const (
	afterJoin = 10 * time.Second
	shortPoll = 500 * time.Millisecond
)

// errFatal marks an error that stops Run: trying again cannot help.
type errFatal struct{ err error }

func (e errFatal) Error() string { return e.err.Error() }
func (e errFatal) Unwrap() error { return e.err }

// Run implements bridge.Connector: it joins the rooms (accepting the
// invites to them), syncs from the kept token (from now, on a first
// start) and hands on what others write, keeping the token after each
// batch; after an error it connects again with exponential backoff and
// jitter. A token the server does not know (or another account's) stops
// it.
func (c *Connector) Run(ctx context.Context, in chan<- bridge.Inbound) error {
	if !c.running.CompareAndSwap(false, true) {
		return fmt.Errorf("%s: already running", c.name)
	}
	defer c.running.Store(false)
	st, err := loadState(c.dir)
	if err != nil {
		c.log.Error("matrix: the sync state cannot be read; starting from now", "err", err)
		st = state{}
	}
	if st.User != string(c.user) {
		st = state{User: string(c.user)} // another account's position is no use
	}
	if st.Rooms == nil {
		st.Rooms = map[string]seen{}
	}
	backoff := c.tune.minBackoff
	for {
		up, synced := false, false
		err := c.session(ctx, in, &st, func(sync bool) {
			if !up {
				up = true
				c.setStatus(true, nil)
				c.log.Info("matrix: connected", "homeserver", c.cli.HomeserverURL.String())
			}
			if sync && !synced {
				synced = true
				backoff = c.tune.minBackoff // only once a sync went through
			}
		})
		if ctx.Err() != nil {
			c.setStatus(false, nil)
			return ctx.Err()
		}
		var fatal errFatal
		if errors.As(err, &fatal) || errors.Is(err, mautrix.MUnknownToken) || errors.Is(err, mautrix.MMissingToken) {
			c.setStatus(false, err)
			return fmt.Errorf("%s: %w", c.name, err)
		}
		c.setStatus(false, err)
		wait := backoff/2 + rand.N(backoff/2+1) // jitter: half to all of it
		c.log.Warn("matrix: disconnected; connecting again", "err", err, "in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			c.setStatus(false, nil)
			return ctx.Err()
		case <-time.After(wait):
		}
		backoff = min(2*backoff, c.tune.maxBackoff)
	}
}

// session is one connection: check the token, join, sync until an
// error. connected is called once the bot is in the rooms and knows
// where to sync from (false), and after each sync that succeeded (true).
func (c *Connector) session(ctx context.Context, in chan<- bridge.Inbound, st *state, connected func(synced bool)) error {
	who, err := c.cli.Whoami(ctx)
	if err != nil {
		return fmt.Errorf("checking the access token: %w", err)
	}
	if who.UserID != c.user {
		return errFatal{fmt.Errorf("the access token is %s's, not %s's", who.UserID, c.user)}
	}
	c.mu.Lock()
	for _, ch := range c.channels {
		c.retry[ch] = time.Time{} // join them all now
	}
	c.mu.Unlock()
	c.joinDue(ctx)
	if st.NextBatch == "" {
		// A first start: the current position, and nothing before it.
		resp, err := c.sync(ctx, "", 0)
		if err != nil {
			return err
		}
		for room, r := range resp.Rooms.Join {
			c.learn(room, r, st)
		}
		st.NextBatch = resp.NextBatch
		c.save(st)
		c.log.Info("matrix: first start: relaying from now on")
	}
	connected(false)
	for {
		c.joinDue(ctx)
		timeout := c.tune.pollTimeout
		c.mu.Lock()
		if time.Since(c.lastJoin) < afterJoin {
			// Dendrite wakes a long poll only for the rooms it knew the
			// bot in when the poll began: poll briefly while a join
			// settles, or the room's first messages wait for the timeout.
			timeout = min(timeout, shortPoll)
		}
		c.mu.Unlock()
		resp, err := c.sync(ctx, st.NextBatch, timeout)
		if err != nil {
			if httpStatus(err) == http.StatusBadRequest && errors.Is(err, mautrix.MInvalidParam) {
				// The server cannot read the token (another server's, or
				// its database is new): start from now rather than never
				// again.
				c.log.Error("matrix: the homeserver refuses the sync token; starting from now", "err", err)
				st.NextBatch, st.Rooms = "", map[string]seen{}
				c.save(st)
			}
			return err
		}
		connected(true)
		if err := c.handle(ctx, in, resp, st); err != nil {
			return err
		}
		st.NextBatch = resp.NextBatch
		c.save(st)
	}
}

// save keeps st; an error is logged (the stream goes on; a crash would
// relay the batches since the last kept token again, which the gateway
// drops by ID).
func (c *Connector) save(st *state) {
	if err := saveState(c.dir, *st); err != nil {
		c.log.Error("matrix: cannot keep the sync token", "err", err)
	}
}

// sync is one /sync from since (the whole state when ""), waiting up to
// timeout for something new.
func (c *Connector) sync(ctx context.Context, since string, timeout time.Duration) (*syncResponse, error) {
	q := map[string]string{"timeout": strconv.FormatInt(timeout.Milliseconds(), 10), "filter": c.filter()}
	if since != "" {
		q["since"] = since
	}
	ctx, cancel := context.WithTimeout(ctx, timeout+time.Minute)
	defer cancel()
	var resp syncResponse
	_, err := c.cli.MakeFullRequest(ctx, mautrix.FullRequest{
		Method:       http.MethodGet,
		URL:          c.cli.BuildURLWithQuery(mautrix.ClientURLPath{"v3", "sync"}, q),
		ResponseJSON: &resp,
		MaxAttempts:  1,
	})
	if err != nil {
		return nil, fmt.Errorf("syncing: %w", err)
	}
	if resp.NextBatch == "" {
		return nil, errors.New("syncing: the homeserver's answer has no next_batch")
	}
	return &resp, nil
}

// learn takes the members' names and the last event of a room from the
// first sync, relaying nothing.
func (c *Connector) learn(room id.RoomID, r syncRoom, st *state) {
	for _, raw := range r.State.Events {
		if ev, err := decodeEvent(raw); err == nil {
			c.noteMember(room, ev)
		}
	}
	for _, raw := range r.Timeline.Events {
		ev, err := decodeEvent(raw)
		if err != nil {
			continue
		}
		c.noteMember(room, ev)
		if ev.ID != "" {
			st.Rooms[string(room)] = seen{ID: string(ev.ID), TS: ev.Timestamp}
		}
	}
}

// handle hands on one batch: invites to the rooms are accepted, each
// routed room's new events are relayed in order.
func (c *Connector) handle(ctx context.Context, in chan<- bridge.Inbound, resp *syncResponse, st *state) error {
	for room := range resp.Rooms.Invite {
		c.invited(ctx, room)
	}
	for room, r := range resp.Rooms.Join {
		if err := c.handleRoom(ctx, in, room, r, st); err != nil {
			return err
		}
	}
	for room, r := range resp.Rooms.Leave {
		if err := c.handleRoom(ctx, in, room, r, st); err != nil {
			return err
		}
	}
	return nil
}

// handleRoom relays the timeline of one room of a batch.
func (c *Connector) handleRoom(ctx context.Context, in chan<- bridge.Inbound, room id.RoomID, r syncRoom, st *state) error {
	channel, ok := c.channelOf(room)
	if !ok {
		return nil // a room the bot is in but no route names
	}
	for _, raw := range r.State.Events {
		if ev, err := decodeEvent(raw); err == nil {
			c.noteMember(room, ev)
		}
	}
	var evs []*event.Event
	c.log.Debug("matrix: a batch", "room", room, "events", len(r.Timeline.Events), "limited", r.Timeline.Limited)
	for _, raw := range r.Timeline.Events {
		ev, err := decodeEvent(raw)
		if err != nil {
			c.log.Debug("matrix: an event that does not decode; dropped", "room", room, "err", err)
			continue
		}
		evs = append(evs, ev)
	}
	last, known := st.Rooms[string(room)]
	if r.Timeline.Limited && known && r.Timeline.PrevBatch != "" {
		evs = append(c.fillGap(ctx, room, r.Timeline.PrevBatch, last), evs...)
	}
	// A room joined in this batch may show some of its history before
	// the bot's join: that is not relayed.
	for i := len(evs) - 1; i >= 0; i-- {
		if now, before, ok := membershipOf(evs[i], c.user); ok && now == event.MembershipJoin && before != event.MembershipJoin {
			evs = evs[i+1:]
			break
		}
	}
	for _, ev := range evs {
		c.noteMember(room, ev)
		if now, _, ok := membershipOf(ev, c.user); ok && now != event.MembershipJoin {
			c.left(room, channel, ev)
		}
		if ev.ID != "" {
			st.Rooms[string(room)] = seen{ID: string(ev.ID), TS: ev.Timestamp}
		}
		if ev.Sender == c.user {
			continue
		}
		if ev.Type.Type == event.EventEncrypted.Type {
			c.warnEncrypted(room, channel)
			continue
		}
		ib, ok := toInbound(channel, ev)
		if !ok {
			c.log.Debug("matrix: not relayed", "room", room, "type", ev.Type.Type, "id", ev.ID)
			continue
		}
		c.log.Debug("matrix: relayed", "room", room, "type", ev.Type.Type, "id", ev.ID)
		if ib.User != "" && ib.Deletes == "" {
			ib.Name = c.displayName(ctx, room, ev.Sender)
		}
		select {
		case in <- ib:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// fillGap fetches the events a limited timeline left out, from prev
// (the timeline's prev_batch) back to the last event seen before, or to
// the bot's own join, at most gapEvents; oldest first.
func (c *Connector) fillGap(ctx context.Context, room id.RoomID, prev string, last seen) []*event.Event {
	var got []*event.Event // newest first
	from := prev
	for len(got) < c.tune.gapEvents {
		resp, err := c.cli.Messages(ctx, room, from, "", mautrix.DirectionBackward, nil, 100)
		if err != nil {
			c.log.Warn("matrix: cannot fetch the messages a sync left out; some are not relayed", "room", room, "err", err)
			break
		}
		done := false
		for _, ev := range resp.Chunk {
			if ev == nil {
				continue
			}
			if string(ev.ID) == last.ID || ev.Timestamp < last.TS {
				done = true
				break
			}
			if now, before, ok := membershipOf(ev, c.user); ok && now == event.MembershipJoin && before != event.MembershipJoin {
				done = true
				break
			}
			got = append(got, ev)
		}
		if done || resp.End == "" || resp.End == from || len(resp.Chunk) == 0 {
			break
		}
		from = resp.End
	}
	if len(got) >= c.tune.gapEvents {
		c.log.Warn("matrix: a gap of more messages than are fetched; the oldest are not relayed", "room", room, "fetched", len(got))
	}
	slices.Reverse(got)
	c.log.Info("matrix: filled a gap in the timeline", "room", room, "events", len(got))
	return got
}

// joinDue joins the rooms whose (next) attempt is due.
func (c *Connector) joinDue(ctx context.Context) {
	now := time.Now()
	var due []string
	c.mu.Lock()
	for ch, at := range c.retry {
		if !now.Before(at) {
			due = append(due, ch)
		}
	}
	c.mu.Unlock()
	slices.Sort(due)
	for _, ch := range due {
		c.join(ctx, ch)
	}
}

// join joins a configured room (which accepts an invite to it).
func (c *Connector) join(ctx context.Context, channel string) bool {
	req := &mautrix.ReqJoinRoom{}
	if _, server, ok := cutServer(channel); ok && channel[0] == '!' {
		req.Via = []string{server}
	}
	resp, err := c.cli.JoinRoom(ctx, channel, req)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("matrix: cannot join the room; trying again later", "room", channel, "err", err, "in", c.tune.rejoinEvery)
		}
		c.mu.Lock()
		c.retry[channel] = time.Now().Add(c.tune.rejoinEvery)
		c.status.LastError = fmt.Sprintf("joining %s: %v", channel, err)
		c.mu.Unlock()
		return false
	}
	c.bind(channel, resp.RoomID)
	c.mu.Lock()
	c.lastJoin = time.Now()
	delete(c.retry, channel)
	c.joined[resp.RoomID] = true
	c.mu.Unlock()
	c.log.Debug("matrix: in the room", "room", channel, "id", resp.RoomID)
	return true
}

// invited joins room if a route names it (by ID, or by an alias that
// resolves to it).
func (c *Connector) invited(ctx context.Context, room id.RoomID) {
	if ch, ok := c.channelOf(room); ok {
		c.join(ctx, ch)
		return
	}
	for _, ch := range c.channels {
		c.mu.Lock()
		_, resolved := c.ids[ch]
		c.mu.Unlock()
		if resolved || ch[0] != '#' {
			continue
		}
		if r, err := c.room(ctx, ch); err == nil && r == room {
			c.join(ctx, ch)
			return
		}
	}
}

// left notes that the bot is no longer in a room (kicked, banned): it
// tries to join again.
func (c *Connector) left(room id.RoomID, channel string, ev *event.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.joined[room] {
		return
	}
	delete(c.joined, room)
	c.retry[channel] = time.Now()
	m, _ := ev.Content.Raw["membership"].(string)
	c.status.LastError = fmt.Sprintf("%s: %s by %s", channel, m, ev.Sender)
	c.log.Warn("matrix: removed from the room; joining again", "room", channel, "membership", m, "by", ev.Sender)
}

func (c *Connector) warnEncrypted(room id.RoomID, channel string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.warned[room] {
		c.warned[room] = true
		c.log.Warn("matrix: the room is encrypted; the bridge cannot read it (use an unencrypted room)", "room", channel)
	}
}

// noteMember keeps the name a member event gives.
func (c *Connector) noteMember(room id.RoomID, ev *event.Event) {
	user, name, present, ok := memberUpdate(ev)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.names[room]
	if m == nil {
		m = map[id.UserID]string{}
		c.names[room] = m
	}
	if present {
		m[user] = name
	} else {
		delete(m, user)
	}
}

// cachedName is a member's display name as known, "" if not.
func (c *Connector) cachedName(room id.RoomID, user id.UserID) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.names[room][user]
}

// displayName is a member's display name in a room: from the member
// events seen, else from the room's state (kept), "" when there is none.
func (c *Connector) displayName(ctx context.Context, room id.RoomID, user id.UserID) string {
	c.mu.Lock()
	name, ok := c.names[room][user]
	c.mu.Unlock()
	if ok {
		return name
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var m event.MemberEventContent
	if err := c.cli.StateEvent(ctx, room, event.StateMember, string(user), &m); err != nil {
		c.log.Debug("matrix: no member event", "room", room, "user", user, "err", err)
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.names[room] == nil {
		c.names[room] = map[id.UserID]string{}
	}
	c.names[room][user] = m.Displayname
	return m.Displayname
}

// cutServer splits a room ID or alias at its server.
func cutServer(s string) (local, server string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}
