package node

import (
	"fmt"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestGroupsSleep: a hosted group unused for IdleAfter sleeps, and stays
// asleep while a member's node keeps syncing it; a submission wakes it and
// the member's node gets the new events; a WebSocket subscription keeps it
// awake. After a restart the hosted groups start asleep, and the lists of
// groups (a member's and the admin's) are answered without waking them.
func TestGroupsSleep(t *testing.T) {
	dir := t.TempDir()
	idle := func(c *Config) { c.IdleAfter = time.Second }
	a := startNode(t, dir, idle)
	b := startNode(t, "")
	gid := createGroup(t, a, "order 1", protocol.PolicyInvite)
	buyer := newKey(t)
	join(t, b, buyer, invite(t, a, a.admin, gid, a, 0, 0))
	ev := mustSubmit(t, b, buyer, gid, text("where is my parcel?"))
	waitHead(t, 10*time.Second, gid, ev.Seq, b)

	asleep := func() bool { return a.loadedGroup(gid) == nil }
	waitFor(t, 10*time.Second, "the idle group to sleep", asleep)
	// B syncs every 200 ms: the host answers from the dormant record.
	syncs := a.syncsServed.Load()
	holdsFor(t, 1500*time.Millisecond, func() error {
		if !asleep() {
			return fmt.Errorf("a member node's periodic sync woke the group")
		}
		return nil
	})
	if a.syncsServed.Load()-syncs < 3 {
		t.Fatalf("B synced %d times in 1.5 s; the test proves nothing", a.syncsServed.Load()-syncs)
	}

	// A submission wakes it; B receives the event.
	ev = mustSubmit(t, b, buyer, gid, text("still waiting"))
	waitHead(t, 10*time.Second, gid, ev.Seq, b)
	waitFor(t, 10*time.Second, "the group to sleep again", asleep)

	// A WebSocket subscriber keeps it awake.
	c := newAPI(t, a, a.admin).signIn()
	conn := wsDial(t, c)
	wsSend(t, conn, api.WSClientMessage{Type: "subscribe", Group: gid.String()})
	if m := wsRead(t, conn); m.Type != "subscribed" {
		t.Fatalf("got %+v, want subscribed", m)
	}
	holdsFor(t, 2500*time.Millisecond, func() error {
		if asleep() {
			return fmt.Errorf("a watched group went to sleep")
		}
		return nil
	})
	conn.CloseNow()
	waitFor(t, 10*time.Second, "the unwatched group to sleep", asleep)

	// Restart: hosted groups start asleep; lists do not wake them.
	other := createGroup(t, a, "order 2", protocol.PolicyInvite)
	addr := a.Host().Addrs()[0].String()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	a = startNode(t, dir, idle, func(c *Config) { c.ListenAddrs = []string{addr} })
	if !asleep() || a.loadedGroup(other) != nil {
		t.Fatal("hosted groups were loaded at start")
	}
	c = newAPI(t, a, a.admin).signIn()
	var mine []api.MyGroup
	c.mustCall("GET", "/api/v1/me/groups", nil, &mine)
	if len(mine) != 2 || mine[0].Name != "order 1" || mine[0].Role != "owner" || mine[0].Members != 2 || mine[1].Name != "order 2" {
		t.Fatalf("me/groups of the owner: %+v", mine)
	}
	var all []api.GroupSummary
	c.mustCall("GET", "/api/v1/groups", nil, &all)
	if len(all) != 2 {
		t.Fatalf("groups: %+v", all)
	}
	for _, s := range all {
		if s.Name == "" || s.Status != "ok" || s.Head == 0 {
			t.Fatalf("summary of a sleeping group: %+v", s)
		}
	}
	if !asleep() || a.loadedGroup(other) != nil {
		t.Fatal("listing groups woke them")
	}
	// B's node reconnects and its member posts again: served after the restart.
	ev = mustSubmit(t, b, buyer, gid, text("thanks, it arrived"))
	waitHead(t, 10*time.Second, gid, ev.Seq, b)
	sameLogs(t, gid, ev.Seq, a, b)
}

// TestMemberIndex: a user's list of groups follows joins, requests,
// approvals, kicks and leaves, and survives a restart of the node.
func TestMemberIndex(t *testing.T) {
	dir := t.TempDir()
	a := startNode(t, dir)
	mine := func(k *protocol.Key) map[string]bool {
		var out []api.MyGroup
		newAPI(t, a, k).signIn().mustCall("GET", "/api/v1/me/groups", nil, &out)
		m := map[string]bool{}
		for _, g := range out {
			m[fmt.Sprintf("%s pending=%v", g.Name, g.Pending)] = true
		}
		return m
	}
	open := createGroup(t, a, "open", protocol.PolicyInvite)
	gated := createGroup(t, a, "gated", protocol.PolicyApproval)
	u := newKey(t)
	join(t, a, u, invite(t, a, a.admin, open, a, 0, 0))
	mustSubmit(t, a, u, gated, protocol.NewJoinBody(protocol.KindJoinRequest, nil, "order 42"))
	if got := mine(u); len(got) != 2 || !got["open pending=false"] || !got["gated pending=true"] {
		t.Fatalf("after join and request: %v", got)
	}
	mustSubmit(t, a, a.admin, gated, protocol.NewMemberBody(protocol.KindApprove, u.ID(), ""))
	mustSubmit(t, a, a.admin, open, protocol.NewMemberBody(protocol.KindKick, u.ID(), "spam"))
	if got := mine(u); len(got) != 1 || !got["gated pending=false"] {
		t.Fatalf("after approve and kick: %v", got)
	}
	a.Close()
	a = startNode(t, dir)
	mustSubmit(t, a, u, gated, &protocol.LeaveBody{})
	if got := mine(u); len(got) != 0 {
		t.Fatalf("after leave: %v", got)
	}
	if got := mine(a.admin); len(got) != 2 {
		t.Fatalf("the owner's groups: %v", got)
	}
}

// TestReplicasSleep: a member's node puts an idle replicated group to
// sleep, staying in its gossip topic; the host's next event (a head notice
// for a private group, the event itself for a public one) wakes it and it
// holds the event in seconds, with no periodic sync to find it (the sync
// interval is a minute). A notice not signed by the host is refused and
// wakes nothing. The member's group list is answered without waking it.
func TestReplicasSleep(t *testing.T) {
	a := startNode(t, "")
	b := startNode(t, "", func(c *Config) { c.IdleAfter = time.Second; c.SyncInterval = time.Minute })
	for _, public := range []bool{false, true} {
		t.Run(fmt.Sprintf("public=%v", public), func(t *testing.T) {
			gid := createGroup(t, a, "fans", protocol.PolicyOpen)
			if public {
				mustSubmit(t, a, a.admin, gid, &protocol.UpdateBody{Settings: protocol.Settings{Public: ptr(true)}})
			}
			fan := newKey(t)
			join(t, b, fan, invite(t, a, a.admin, gid, a, 0, 0))
			last := mustSubmit(t, b, fan, gid, text("hello"))
			waitHead(t, 10*time.Second, gid, last.Seq, b)
			asleep := func() bool {
				_, d, held := b.held(gid)
				return b.loadedGroup(gid) == nil && held && d.known
			}
			waitFor(t, 15*time.Second, "the idle replica to sleep", asleep)

			// A notice of a later seq signed by someone else than the host.
			forged := (&protocol.HeadNotice{Group: gid, Seq: last.Seq + 5, Event: protocol.EventID{1}}).Sign(fan)
			if r := b.validateAsleep(gid, a.Host().ID(), &pubsub.Message{Message: &pb.Message{Data: forged}}); r != pubsub.ValidationReject {
				t.Fatalf("a head notice not signed by the host: %v, want reject", r)
			}
			var mine []api.MyGroup
			newAPI(t, b, fan).signIn().mustCall("GET", "/api/v1/me/groups", nil, &mine)
			if len(mine) != 1 || mine[0].Name != "fans" || mine[0].Head != last.Seq || mine[0].Hosted {
				t.Fatalf("me/groups on the member's node: %+v", mine)
			}
			if !asleep() {
				t.Fatal("a forged notice or the group list woke the replica")
			}

			// The host's next event wakes it. Watched from the store, which
			// wakes nothing (WaitHead would load the group).
			ev := mustSubmit(t, a, a.admin, gid, text("new stock today"))
			waitFor(t, 5*time.Second, "the sleeping replica to store the host's new event", func() bool {
				head, _, err := b.store.Head(gid)
				return err == nil && head >= ev.Seq
			})
			waitFor(t, 15*time.Second, "the replica to sleep again", asleep)
		})
	}
}
