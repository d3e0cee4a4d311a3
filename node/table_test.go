package node

import (
	"fmt"
	"testing"
	"time"

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
