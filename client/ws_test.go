package client

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
)

// fastReconnect keeps the unit tests quick: reconnects within milliseconds.
var fastReconnect = WithBackoff(time.Millisecond, 20*time.Millisecond)

// collect reads events until want events have arrived per group, failing
// on a repeat, a gap or the deadline.
func collect(t *testing.T, s *Subscription, want map[protocol.GroupID]uint64, last map[protocol.GroupID]uint64) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	done := func() bool {
		for gid, n := range want {
			if last[gid] < n {
				return false
			}
		}
		return true
	}
	for !done() {
		select {
		case ev, ok := <-s.Events():
			if !ok {
				t.Fatalf("events closed early: %v", s.Err())
			}
			if ev.Seq != last[ev.Group]+1 {
				t.Fatalf("group %s: event %d after %d", ev.Group, ev.Seq, last[ev.Group])
			}
			if ev.Text != ev.Group.String()[:4]+"-"+itoa(ev.Seq) {
				t.Fatalf("event %d carries %q", ev.Seq, ev.Text)
			}
			last[ev.Group] = ev.Seq
		case <-deadline:
			t.Fatalf("timed out: have %v, want %v", last, want)
		}
	}
}

func itoa(n uint64) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

// waitErr waits for an error on the Errors channel that matches ok.
func waitErr(t *testing.T, s *Subscription, what string, ok func(error) bool) error {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case err := <-s.Errors():
			if ok(err) {
				return err
			}
		case <-deadline:
			t.Fatalf("no %s reported", what)
		}
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond) // poll interval of a bounded wait
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestSubscribeResumesAfterDrops(t *testing.T) {
	f := newFakeNode(t)
	c := newTestClient(t, f)
	g1, g2 := protocol.GroupID{1}, protocol.GroupID{2}
	f.ws.append(g1, 50)
	f.ws.append(g2, 30)
	f.ws.mu.Lock()
	f.ws.dropAfter = 7 // every connection is dropped as "too slow" after 7 events
	f.ws.replay = 3    // and every subscription repeats 3 events already sent
	f.ws.mu.Unlock()

	s, err := c.Subscribe(context.Background(), map[protocol.GroupID]uint64{g1: 1, g2: 10}, fastReconnect)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	last := map[protocol.GroupID]uint64{g2: 9}
	collect(t, s, map[protocol.GroupID]uint64{g1: 50, g2: 30}, last)

	// New events arrive live, also across more drops.
	f.ws.append(g1, 20)
	collect(t, s, map[protocol.GroupID]uint64{g1: 70}, last)

	err = waitErr(t, s, "close reason", func(err error) bool {
		var ce *CloseError
		return errors.As(err, &ce)
	})
	var ce *CloseError
	errors.As(err, &ce)
	if ce.Status != 1008 || !strings.HasPrefix(ce.Reason, "too slow") || !strings.Contains(err.Error(), "too slow: test") {
		t.Errorf("close error %+v: %v", ce, err)
	}

	// Each reconnect asked for the seq after the last delivered one.
	f.ws.mu.Lock()
	conns := f.ws.conns
	f.ws.mu.Unlock()
	if conns < 10 {
		t.Errorf("%d connections for 91 events dropped every 7", conns)
	}
	seen := map[protocol.GroupID]uint64{}
	for _, r := range f.ws.records(false) {
		if r.seq < seen[r.group] {
			t.Errorf("group %s resubscribed from %d after %d", r.group, r.seq, seen[r.group])
		}
		seen[r.group] = r.seq
	}
	if l, ok := s.Last(g1); !ok || l != 70 {
		t.Errorf("Last(g1) = %d, %v", l, ok)
	}
}

func TestSubscribeAfterKillAndGap(t *testing.T) {
	f := newFakeNode(t)
	c := newTestClient(t, f)
	gid := protocol.GroupID{3}
	f.ws.append(gid, 5)
	s, err := c.Subscribe(context.Background(), map[protocol.GroupID]uint64{gid: 1}, fastReconnect)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	last := map[protocol.GroupID]uint64{}
	collect(t, s, map[protocol.GroupID]uint64{gid: 5}, last)

	// The connection dies without a word; events sent meanwhile arrive.
	f.ws.kill()
	f.ws.append(gid, 5)
	collect(t, s, map[protocol.GroupID]uint64{gid: 10}, last)

	// A node that skips an event gets the subscription made again from
	// the missing seq.
	f.ws.mu.Lock()
	f.ws.skip = 12
	f.ws.mu.Unlock()
	f.ws.append(gid, 5)
	collect(t, s, map[protocol.GroupID]uint64{gid: 15}, last)
	waitErr(t, s, "gap", func(err error) bool { return strings.Contains(err.Error(), "where 12 was due") })
}

func TestSubscribeCursorAndAcks(t *testing.T) {
	f := newFakeNode(t)
	c := newTestClient(t, f)
	gid := protocol.GroupID{4}
	f.ws.append(gid, 10)

	// From 0 without a cursor: only what comes next.
	s, err := c.Subscribe(context.Background(), map[protocol.GroupID]uint64{gid: 0}, fastReconnect)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the subscription", func() bool { l, _ := s.Last(gid); return l == 10 })
	f.ws.append(gid, 3)
	last := map[protocol.GroupID]uint64{gid: 10}
	collect(t, s, map[protocol.GroupID]uint64{gid: 13}, last)

	// Acks are coalesced; the last one is sent.
	for seq := uint64(11); seq <= 13; seq++ {
		s.Ack(gid, seq)
	}
	s.Ack(gid, 12) // an older ack does not move the cursor back
	waitFor(t, "the ack", func() bool {
		acks := f.ws.records(true)
		return len(acks) > 0 && acks[len(acks)-1].seq == 13
	})
	if acks := f.ws.records(true); len(acks) > 2 { // one, or two if the ack timer ticked in between
		t.Errorf("acks sent: %v, want them coalesced", acks)
	}

	// A pending ack is sent on Close.
	f.ws.append(gid, 2)
	collect(t, s, map[protocol.GroupID]uint64{gid: 15}, last)
	s.Ack(gid, 15)
	s.Close()
	s.Close() // twice is fine
	if acks := f.ws.records(true); acks[len(acks)-1].seq != 15 {
		t.Errorf("acks after Close: %v", acks)
	}
	if _, ok := <-s.Events(); ok {
		t.Error("events still open after Close")
	}
	if s.Connected() {
		t.Error("connected after Close")
	}

	// A new subscription from 0 resumes after the stored cursor.
	f.ws.append(gid, 2)
	s2, err := c.Subscribe(context.Background(), map[protocol.GroupID]uint64{gid: 0}, fastReconnect)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	collect(t, s2, map[protocol.GroupID]uint64{gid: 17}, map[protocol.GroupID]uint64{gid: 15})
}

func TestSubscribeAddRemoveRefuse(t *testing.T) {
	f := newFakeNode(t)
	c := newTestClient(t, f)
	g1, g2, secret := protocol.GroupID{5}, protocol.GroupID{6}, protocol.GroupID{7}
	f.ws.append(g1, 3)
	f.ws.append(g2, 4)
	f.ws.mu.Lock()
	f.ws.private[secret] = true
	f.ws.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := c.Subscribe(ctx, map[protocol.GroupID]uint64{g1: 1, secret: 1}, fastReconnect)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = waitErr(t, s, "refusal", func(err error) bool { return errors.Is(err, protocol.ErrPrivate) })
	var ge *GroupError
	if !errors.As(err, &ge) || ge.Group != secret || !strings.Contains(err.Error(), "only members") {
		t.Errorf("refusal %v", err)
	}
	if _, ok := s.Last(secret); ok {
		t.Error("a refused group stays subscribed")
	}
	last := map[protocol.GroupID]uint64{}
	collect(t, s, map[protocol.GroupID]uint64{g1: 3}, last)

	if err := s.Add(g2, 2); err != nil {
		t.Fatal(err)
	}
	last[g2] = 1
	collect(t, s, map[protocol.GroupID]uint64{g2: 4}, last)

	s.Remove(g1)
	if _, ok := s.Last(g1); ok {
		t.Error("a removed group stays subscribed")
	}
	f.ws.append(g1, 5)
	f.ws.append(g2, 1)
	collect(t, s, map[protocol.GroupID]uint64{g2: 5}, last)
	// The events of g1 sent before the unsubscribe arrived are dropped;
	// reconnecting does not bring g1 back.
	f.ws.kill()
	f.ws.append(g2, 1)
	collect(t, s, map[protocol.GroupID]uint64{g2: 6}, last)
	for _, r := range f.ws.records(false) {
		if r.group == secret && r.seq != 1 {
			t.Errorf("the refused group was subscribed again: %v", r)
		}
	}
	n := 0
	for _, r := range f.ws.records(false) {
		if r.group == secret {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the refused group was subscribed %d times", n)
	}

	// The context ends the subscription.
	cancel()
	select {
	case <-s.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the subscription outlived its context")
	}
	for range s.Events() {
	}
	if err := s.Add(g1, 1); err == nil {
		t.Error("Add after the end was accepted")
	}
}

func TestSubscribeSignsInAgain(t *testing.T) {
	f := newFakeNode(t)
	c := newTestClient(t, f)
	gid := protocol.GroupID{8}
	f.ws.append(gid, 2)
	s, err := c.Subscribe(context.Background(), map[protocol.GroupID]uint64{gid: 1}, fastReconnect)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	last := map[protocol.GroupID]uint64{}
	collect(t, s, map[protocol.GroupID]uint64{gid: 2}, last)
	// The node forgets the session (a restart) and the connection: the
	// reconnect signs in again.
	f.expireSessions()
	f.ws.kill()
	f.ws.append(gid, 2)
	collect(t, s, map[protocol.GroupID]uint64{gid: 4}, last)
	f.mu.Lock()
	logins := f.logins
	f.mu.Unlock()
	if logins != 2 {
		t.Errorf("%d sign-ins, want 2", logins)
	}
}

func TestSubscribeUnreachable(t *testing.T) {
	f := newFakeNode(t)
	c := newTestClient(t, f)
	if _, err := c.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.srv.Close()
	_, err := c.Subscribe(context.Background(), map[protocol.GroupID]uint64{{1}: 1})
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("subscribe to a closed node: %v", err)
	}
	if _, err := c.Subscribe(context.Background(), nil, WithBackoff(0, time.Second)); err == nil {
		t.Error("a zero backoff was accepted")
	}
	many := map[protocol.GroupID]uint64{}
	for i := range MaxSubscriptions + 1 {
		many[protocol.GroupID{byte(i), byte(i >> 8)}] = 1
	}
	if _, err := c.Subscribe(context.Background(), many); err == nil {
		t.Error("more groups than a WebSocket carries were accepted")
	}
}

func TestBackoff(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: time.Second}
	bounds := []time.Duration{100, 200, 400, 800, 1000, 1000, 1000}
	for i := range 1000 {
		b.reset()
		for j, hi := range bounds {
			hi *= time.Millisecond
			d := b.next()
			if d < hi/2 || d > hi {
				t.Fatalf("round %d, attempt %d: wait %s outside [%s, %s]", i, j, d, hi/2, hi)
			}
		}
	}
	// Jitter: the waits are not all the same.
	seen := map[time.Duration]bool{}
	for range 100 {
		b.reset()
		seen[b.next()] = true
	}
	if len(seen) < 10 {
		t.Errorf("%d distinct first waits in 100", len(seen))
	}
}
