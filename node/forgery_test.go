package node

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
)

// rejections records the events each node rejected.
type rejections struct {
	mu      sync.Mutex
	seen    map[int]map[protocol.EventID]error
	changed chan struct{} // closed and replaced on every rejection
}

func newRejections() *rejections {
	return &rejections{seen: map[int]map[protocol.EventID]error{}, changed: make(chan struct{})}
}

// wait returns a channel closed at the next rejection.
func (r *rejections) wait() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed
}

func (r *rejections) hook(i int) func(protocol.GroupID, protocol.EventID, error) {
	return func(_ protocol.GroupID, id protocol.EventID, err error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.seen[i] == nil {
			r.seen[i] = map[protocol.EventID]error{}
		}
		r.seen[i][id] = err
		close(r.changed)
		r.changed = make(chan struct{})
	}
}

func (r *rejections) by(i int, id protocol.EventID) (error, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	err, ok := r.seen[i][id]
	return err, ok
}

// TestForgeriesRejected: in a public group (whose events travel by gossip),
// a forged host signature, a forged author signature, a broken hash chain
// and a non-member's submission, gossiped by a member's node, are rejected
// by every node and stored by none. In a private group (whose topic carries
// only head notices) a head notice signed by another key is rejected by
// every node, and the same forged events are stored by none.
//
// Each kind of forgery comes from its own forger node: gossipsub's peer
// scoring (rightly) graylists a peer after a few invalid messages, after
// which its further forgeries would not even be validated.
func TestForgeriesRejected(t *testing.T) {
	t.Run("public", func(t *testing.T) { testForgeries(t, true) })
	t.Run("private", func(t *testing.T) { testForgeries(t, false) })
}

func testForgeries(t *testing.T, public bool) {
	rej := newRejections()
	a := startNodeHook(t, "", rej.hook(0))
	b := startNodeHook(t, "", rej.hook(1))
	c := startNodeHook(t, "", rej.hook(2))
	name, policy := "forgeries", protocol.PolicyInvite
	ev := mustSubmit(t, a, a.admin, protocol.GroupID{}, &protocol.CreateBody{Host: a.ID(), Settings: protocol.Settings{Name: &name, Policy: &policy, Public: &public}})
	gid := ev.Group
	inv := invite(t, a, a.admin, gid, a, 0, time.Hour)
	bob, carol := newKey(t), newKey(t)
	join(t, b, bob, inv)
	join(t, c, carol, inv)
	mallory := newKey(t)
	all := []*testNode{a, b, c}

	kinds := []string{"forged host signature", "forged author signature", "broken hash chain", "non-member submission"}
	if !public {
		kinds = append(kinds, "forged head notice")
	}
	var forged []protocol.EventID
	for _, name := range kinds {
		d := startNode(t, "") // the forger: home node of a member, so it may gossip
		dave := newKey(t)
		last := join(t, d, dave, inv)
		all = append(all, d)
		waitHead(t, 20*time.Second, gid, last.Seq, all...)
		for _, p := range []*testNode{b, c} {
			if err := d.Host().Connect(context.Background(), addrInfo(p)); err != nil {
				t.Fatal(err)
			}
		}
		topic := d.group(gid).topic.topic
		waitFor(t, 20*time.Second, "the forger to see every node in the topic", func() bool {
			seen := map[string]bool{}
			for _, p := range topic.ListPeers() {
				seen[p.String()] = true
			}
			return seen[a.PeerID().String()] && seen[b.PeerID().String()] && seen[c.PeerID().String()]
		})
		head := last.Seq
		event := func(hostKey *protocol.Key, author protocol.UserID, subKey *protocol.Key, prev protocol.EventID) *protocol.SignedEvent {
			s := protocol.Submission{Group: gid, Kind: protocol.KindMessage, Author: author, Time: nowMS(), Nonce: nonce(), Body: text("forged").Encode()}
			raw := subKey.Sign(protocol.DomainSubmission, s.Encode())
			e := protocol.Event{Group: gid, Seq: head + 1, Prev: prev, Time: nowMS(), Via: d.ID(), Submission: raw}
			ev, err := protocol.DecodeEvent(hostKey.Sign(protocol.DomainEvent, e.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			return ev
		}
		forge := map[string]func() *protocol.SignedEvent{
			"forged host signature":   func() *protocol.SignedEvent { return event(mallory, dave.ID(), dave, last.ID) },
			"forged author signature": func() *protocol.SignedEvent { return event(a.key, bob.ID(), mallory, last.ID) },
			"broken hash chain":       func() *protocol.SignedEvent { return event(a.key, dave.ID(), dave, protocol.EventID{1}) },
			"non-member submission":   func() *protocol.SignedEvent { return event(a.key, mallory.ID(), mallory, last.ID) },
			"forged head notice": func() *protocol.SignedEvent {
				n := protocol.HeadNotice{Group: gid, Seq: head + 1}
				copy(n.Event[:], nonce()) // a fresh message each attempt
				raw := n.Sign(mallory)
				return &protocol.SignedEvent{ID: protocolEventID(raw), Raw: raw}
			},
		}[name]
		if !public && name != "forged head notice" {
			// A private group's events are never taken from gossip: the
			// forgeries are ignored unread; the checks below prove that
			// no node stored one.
			for i := 0; i < 4; i++ {
				ev := forge()
				forged = append(forged, ev.ID)
				if err := topic.Publish(context.Background(), ev.Raw); err != nil {
					t.Fatalf("%s: publish: %v", name, err)
				}
			}
			continue
		}
		// Meshes form on heartbeats (1 s): publish a fresh forgery until
		// every node has seen and rejected one, at most a few times.
		done := false
		for attempt := 0; attempt < 4 && !done; attempt++ {
			ev := forge()
			forged = append(forged, ev.ID)
			if err := topic.Publish(context.Background(), ev.Raw); err != nil {
				t.Fatalf("%s: publish: %v", name, err)
			}
			timeout := time.NewTimer(2 * time.Second)
			for waiting := true; waiting && !done; {
				changed := rej.wait()
				_, ok0 := rej.by(0, ev.ID)
				_, ok1 := rej.by(1, ev.ID)
				_, ok2 := rej.by(2, ev.ID)
				if done = ok0 && ok1 && ok2; !done {
					select {
					case <-changed:
					case <-timeout.C:
						waiting = false
					}
				}
			}
			timeout.Stop()
		}
		if !done {
			t.Fatalf("%s: not rejected by every node", name)
		}
	}
	head, _ := a.Head(gid)
	for i, n := range all {
		if h, _ := n.Head(gid); h != head {
			t.Fatalf("node %d head %d, want %d: a forgery was stored", i, h, head)
		}
		for _, id := range forged {
			if _, _, ok, err := n.store.LookupEvent(id); err != nil || ok {
				t.Fatalf("node %d stored forged event %s (err %v)", i, id, err)
			}
		}
	}
	// The network still works: a real message reaches everyone.
	ev = mustSubmit(t, b, bob, gid, text("still here"))
	waitHead(t, 20*time.Second, gid, ev.Seq, all...)
	sameLogs(t, gid, ev.Seq, all...)
}

// waitFor polls cond every 20 ms until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !pollUntil(timeout, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// pollUntil polls cond every 20 ms until it holds (true) or the timeout
// passes (false).
func pollUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			return cond()
		case <-tick.C:
		}
	}
	return true
}

// holdsFor runs check every 20 ms for the whole window d and fails the
// test with the first error it returns: an observation window for "nothing
// more arrives", which no single check can prove.
func holdsFor(t testing.TB, d time.Duration, check func() error) {
	t.Helper()
	var err error
	pollUntil(d, func() bool { err = check(); return err != nil })
	if err != nil {
		t.Fatal(err)
	}
}
