package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
)

// sendMany sends n messages through the given nodes from their users with
// `senders` concurrent senders and returns the highest acknowledged seq.
func sendMany(t testing.TB, gid protocol.GroupID, total, senders int, nodes []*testNode, keys []*protocol.Key) uint64 {
	t.Helper()
	var (
		mu   sync.Mutex
		top  uint64
		wg   sync.WaitGroup
		errc = make(chan error, senders)
	)
	per := total / senders
	for s := 0; s < senders; s++ {
		n, k := nodes[s%len(nodes)], keys[s%len(keys)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				body := &protocol.MessageBody{Text: fmt.Sprintf("sender %d message %d", s, i)}
				ss := sign(t, k, gid, body)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				ev, err := n.Submit(ctx, ss.Raw, nil)
				cancel()
				if err != nil {
					errc <- fmt.Errorf("sender %d message %d: %w", s, i, err)
					return
				}
				mu.Lock()
				top = max(top, ev.Seq)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	return top
}

// threeNodeGroup sets up host a and members on b and c.
func threeNodeGroup(t testing.TB) (a, b, c *testNode, gid protocol.GroupID, keys []*protocol.Key) {
	a, b, c = startNode(t, ""), startNode(t, ""), startNode(t, "")
	gid = createGroup(t, a, "burst", protocol.PolicyInvite)
	inv := invite(t, a, a.admin, gid, a, 0, time.Hour)
	bob, carol := newKey(t), newKey(t)
	join(t, b, bob, inv)
	join(t, c, carol, inv)
	return a, b, c, gid, []*protocol.Key{a.admin, bob, carol}
}

// TestReplicaOfflineCatchesUp: a replica offline while 1,000 messages are
// sent catches up after it restarts, with no gap.
func TestReplicaOfflineCatchesUp(t *testing.T) {
	a, b, c, gid, keys := threeNodeGroup(t)
	before, _ := a.Head(gid)
	waitHead(t, 20*time.Second, gid, before, c)
	cdir := c.dir
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	last := sendMany(t, gid, 1000, 8, []*testNode{a, b}, keys[:2])
	if last != before+1000 {
		t.Fatalf("head %d after 1000 messages from %d", last, before)
	}
	c2 := startNode(t, cdir)
	waitHead(t, 60*time.Second, gid, last, a, b, c2)
	sameLogs(t, gid, last, a, b, c2)
}

// TestSameSubmissionSameEvent: retrying the same signed bytes, on the host
// or through another node, returns the same event and stores one.
func TestSameSubmissionSameEvent(t *testing.T) {
	a, b, _, gid, keys := threeNodeGroup(t)
	ss := sign(t, keys[1], gid, text("once"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ev1, err := b.Submit(ctx, ss.Raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev2, err := b.Submit(ctx, ss.Raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev3, err := a.Submit(ctx, ss.Raw, nil) // a sequences it locally: still the same
	if err != nil {
		t.Fatal(err)
	}
	if ev1.ID != ev2.ID || ev1.ID != ev3.ID {
		t.Fatalf("retries gave different events: %d %d %d", ev1.Seq, ev2.Seq, ev3.Seq)
	}
	head, _ := a.Head(gid)
	if head != ev1.Seq {
		t.Fatalf("head %d, want %d: a retry was stored again", head, ev1.Seq)
	}
}

// TestPrivacy: a node that is home to no member cannot sync the group.
func TestPrivacy(t *testing.T) {
	a, _, _, gid, _ := threeNodeGroup(t)
	d := startNode(t, "")
	d.Host().Peerstore().AddAddrs(a.PeerID(), a.Host().Addrs(), time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := d.fetch(ctx, a.PeerID(), gid, a.ID(), 1, 10)
	if !errors.Is(err, protocol.ErrPrivate) {
		t.Fatalf("sync by an outsider: got %v, want private", err)
	}
	if d.group(gid) != nil {
		t.Fatal("outsider holds the group")
	}
}

// TestSyncWithoutGossip: a replica that receives no gossip at all still
// ends complete, through the sync protocol alone.
func TestSyncWithoutGossip(t *testing.T) {
	a, b, c, gid, keys := threeNodeGroup(t)
	g := b.group(gid)
	g.sub.Cancel() // b's gossip subscription is gone: every event must come by sync
	last := sendMany(t, gid, 300, 4, []*testNode{a, c}, []*protocol.Key{keys[0], keys[2]})
	waitHead(t, 30*time.Second, gid, last, a, b, c)
	sameLogs(t, gid, last, a, b, c)
}
