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

// TestForgeriesRejected: a forged host signature, a forged author signature,
// a broken hash chain and a non-member's submission, gossiped by a member's
// node, are rejected by every node and stored by none.
func TestForgeriesRejected(t *testing.T) {
	rej := newRejections()
	a := startNodeHook(t, "", rej.hook(0))
	b := startNodeHook(t, "", rej.hook(1))
	c := startNodeHook(t, "", rej.hook(2))
	d := startNode(t, "") // the forger: home node of a member, so it may gossip
	gid := createGroup(t, a, "forgeries", protocol.PolicyInvite)
	inv := invite(t, a, a.admin, gid, a, 0, time.Hour)
	bob, carol, dave := newKey(t), newKey(t), newKey(t)
	join(t, b, bob, inv)
	join(t, c, carol, inv)
	last := join(t, d, dave, inv)
	waitHead(t, 20*time.Second, gid, last.Seq, a, b, c, d)
	for _, p := range []*testNode{b, c} {
		if err := d.Host().Connect(context.Background(), addrInfo(p)); err != nil {
			t.Fatal(err)
		}
	}
	head := last.Seq
	mallory := newKey(t)

	// event signs e with key; the submission is by author, signed by subKey.
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
	forgeries := map[string]func() *protocol.SignedEvent{
		"forged host signature":   func() *protocol.SignedEvent { return event(mallory, dave.ID(), dave, last.ID) },
		"forged author signature": func() *protocol.SignedEvent { return event(a.key, bob.ID(), mallory, last.ID) },
		"broken hash chain":       func() *protocol.SignedEvent { return event(a.key, dave.ID(), dave, protocol.EventID{1}) },
		"non-member submission":   func() *protocol.SignedEvent { return event(a.key, mallory.ID(), mallory, last.ID) },
	}
	topic := d.group(gid).topic
	var forged []protocol.EventID
	for name, forge := range forgeries {
		// Gossip meshes form on heartbeats: publish fresh forgeries until
		// every node has seen and rejected one of this kind.
		deadline := time.Now().Add(30 * time.Second)
		for done := false; !done; {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not rejected by every node in time", name)
			}
			ev := forge()
			forged = append(forged, ev.ID)
			if err := topic.Publish(context.Background(), ev.Raw); err != nil {
				t.Fatalf("%s: publish: %v", name, err)
			}
			timeout := time.NewTimer(time.Second)
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
	}
	for i, n := range []*testNode{a, b, c, d} {
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
	ev := mustSubmit(t, b, bob, gid, text("still here"))
	waitHead(t, 20*time.Second, gid, ev.Seq, a, b, c, d)
	sameLogs(t, gid, ev.Seq, a, b, c, d)
}
