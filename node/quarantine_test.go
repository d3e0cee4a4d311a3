package node

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/storage"
)

// injectBadEvent appends to a stopped host's store an event it signed that
// breaks the rules (a message by a non-member): what a bug, or a rule that
// changed between versions, leaves in a log.
func injectBadEvent(t *testing.T, dir string, hostKey *protocol.Key, gid protocol.GroupID) uint64 {
	t.Helper()
	st, err := storage.Open(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	head, _, err := st.Head(gid)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := st.Event(gid, head)
	if err != nil {
		t.Fatal(err)
	}
	prev, err := protocol.DecodeEvent(raw)
	if err != nil {
		t.Fatal(err)
	}
	sub := sign(t, newKey(t), gid, text("not a member"))
	e := protocol.Event{Group: gid, Seq: head + 1, Prev: prev.ID, Time: nowMS(), Via: hostKey.ID(), Submission: sub.Raw}
	ev, err := e.Sign(hostKey)
	if err != nil {
		t.Fatal(err)
	}
	err = st.Commit(storage.Batch{Group: gid, Events: []storage.Record{{Seq: ev.Seq, ID: ev.ID, SubmissionID: ev.Sub.ID, Data: ev.Raw}}})
	if err != nil {
		t.Fatal(err)
	}
	return ev.Seq
}

// TestUnappliableEventQuarantinesOneGroup: a stored event that does not
// apply no longer stops the node's start: that group is held read-only with
// a reason (on the host and on its replica, which retries with backoff
// instead of refetching the event dozens of times a second), and the
// node's other groups work.
func TestUnappliableEventQuarantinesOneGroup(t *testing.T) {
	var rejects atomic.Int64
	a := startNode(t, "")
	b := startNodeHook(t, "", func(protocol.GroupID, protocol.EventID, error) { rejects.Add(1) })
	bad := createGroup(t, a, "bad", protocol.PolicyInvite)
	good := createGroup(t, a, "good", protocol.PolicyInvite)
	bob := newKey(t)
	join(t, b, bob, invite(t, a, a.admin, bad, a, 0, time.Hour))
	join(t, b, bob, invite(t, a, a.admin, good, a, 0, time.Hour))
	ok := mustSubmit(t, b, bob, bad, text("before")).Seq

	dir, hostKey, addr := a.dir, a.key, a.Host().Addrs()[0].String()
	a.Close()
	badSeq := injectBadEvent(t, dir, hostKey, bad)
	a = startNode(t, dir, func(c *Config) { c.ListenAddrs = []string{addr} })

	v, err := a.GroupView(bad)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != "quarantined" || v.StatusReason == "" {
		t.Fatalf("host: group status %q (%q), want quarantined with a reason", v.Status, v.StatusReason)
	}
	if _, err := submit(t, a, a.admin, bad, text("x")); protocol.AsError(err).Code != protocol.CodeQuarantined {
		t.Fatalf("host: submission to the quarantined group: %v, want quarantined", err)
	}
	if evs, err := a.Events(bad, 1, 100); err != nil || uint64(len(evs)) != badSeq {
		t.Fatalf("host: stored events of the quarantined group: %d, err %v; want %d readable", len(evs), err, badSeq)
	}
	// The other group works, through the replica too.
	var ev *protocol.SignedEvent
	waitFor(t, 15*time.Second, "the replica to reach the restarted host", func() bool {
		ev, err = submit(t, b, bob, good, text("still fine"))
		return err == nil
	})
	waitHead(t, 10*time.Second, good, ev.Seq, a, b)

	// The replica fetches the bad event, refuses it and backs off.
	waitFor(t, 10*time.Second, "the replica to quarantine the group", func() bool {
		v, err := b.GroupView(bad)
		return err == nil && v.Status == "quarantined"
	})
	start := rejects.Load()
	holdsFor(t, 3*time.Second, func() error { // an observation window: count refetches
		if n := rejects.Load() - start; n > 3 {
			return fmt.Errorf("the replica refused the same event %d times within 3 s: no backoff", n)
		}
		return nil
	})
	if h, _ := b.Head(bad); h != ok {
		t.Fatalf("replica head %d, want %d (the bad event must not be stored)", h, ok)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := b.Submit(ctx, sign(t, bob, bad, text("y")).Raw, nil); protocol.AsError(err).Code != protocol.CodeQuarantined {
		t.Fatalf("replica: submission to the quarantined group: %v, want quarantined", err)
	}
}
