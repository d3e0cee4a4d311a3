package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/multiformats/go-multiaddr"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
	"github.com/qunchat/qun/storage"
)

// TestHistoryFromJoin attacks "history from join" (protocol 1.2): after the
// owner switches a private group to it, Carol, who joins at seq J through
// her own node C, reads nothing before J by any path — C's API, the host's
// API, the WebSocket, her node's sync, a blob fetch, a checkpoint request —
// and C holds no event before J: it started from the host's checkpoint and
// verifies forward. Bob, admitted before the switch, still reads it all.
func TestHistoryFromJoin(t *testing.T) {
	a, b, c := startNode(t, ""), startNode(t, ""), startNode(t, "")
	gid := createGroup(t, a, "会员群", protocol.PolicyInvite)
	inv := invite(t, a, a.admin, gid, a, 0, 0)
	bob := newKey(t)
	join(t, b, bob, inv)
	owner := newAPI(t, a, a.admin).signIn()

	// Before the switch: messages and a photo, and one message Bob edits
	// and the owner will recall after Carol's join.
	att, _, e := owner.upload("image/jpeg", photo(t))
	if e != nil {
		t.Fatalf("upload: %+v", e)
	}
	ref, err := att.Ref()
	if err != nil {
		t.Fatal(err)
	}
	mustSubmit(t, a, a.admin, gid, &protocol.MessageBody{Text: "secret photo", Attachments: []protocol.Attachment{{Blob: *ref, Name: att.Name, Thumb: att.Thumb}}})
	for range 20 {
		mustSubmit(t, a, a.admin, gid, text("before carol"))
	}
	early := mustSubmit(t, b, bob, gid, text("bob before carol"))
	mustSubmit(t, b, bob, gid, &protocol.EditBody{Target: early.Seq, Text: "bob before carol, edited"})
	mustSubmit(t, a, a.admin, gid, &protocol.UpdateBody{Settings: protocol.Settings{History: ptr(protocol.HistoryFromJoin)}})

	carol := newKey(t)
	joined := join(t, c, carol, inv)
	j := joined.Seq
	for range 5 {
		mustSubmit(t, a, a.admin, gid, text("after carol"))
	}
	// After the join: a recall of a message C never held (taken on the
	// host's word, so C does not diverge) and a reaction to Bob's.
	mustSubmit(t, a, a.admin, gid, protocol.NewTargetBody(protocol.KindRecall, early.Seq-1))
	last := mustSubmit(t, b, bob, gid, &protocol.ReactionBody{Target: early.Seq, Emoji: "👍"})
	waitHead(t, 10*time.Second, gid, last.Seq, b, c)

	// C's store starts at the checkpoint before Carol's join.
	if base, _, err := c.store.Base(gid); err != nil || base != j-1 {
		t.Fatalf("C's log starts after %d (%v), want the checkpoint at %d", base, err, j-1)
	}
	for _, seq := range []uint64{1, 2, j - 1} {
		if _, err := c.store.Event(gid, seq); err == nil {
			t.Fatalf("C holds event %d, from before Carol's join at %d", seq, j)
		}
	}
	if h, _ := c.Head(gid); h != last.Seq {
		t.Fatalf("C's head %d, want %d", h, last.Seq)
	}
	if health := c.group(gid).health.Load(); health != nil {
		t.Fatalf("C's replica is unhealthy: %v", health.reason)
	}

	// Carol's API, on her node and on the host.
	for _, n := range []*testNode{c, a} {
		cl := newAPI(t, n, carol).signIn()
		var view api.GroupView
		cl.mustCall("GET", "/api/v1/groups/"+gid.String(), nil, &view)
		if view.History != "join" || view.ReadFrom != j {
			t.Fatalf("group view: history %q read_from %d, want join %d", view.History, view.ReadFrom, j)
		}
		var page api.EventsPage
		cl.mustCall("GET", "/api/v1/groups/"+gid.String()+"/events?from=1&limit=100", nil, &page)
		if len(page.Events) == 0 || page.Events[0].Seq != j {
			t.Fatalf("events from 1 on %s: first %v, want %d", n.ID().Short(), firstSeq(page.Events), j)
		}
		var back api.BackwardPage
		cl.mustCall("GET", "/api/v1/groups/"+gid.String()+"/events?before="+jsonUint(j+2)+"&limit=100", nil, &back)
		if len(back.Events) != 2 || back.Events[0].Seq != j || back.Prev != 0 {
			t.Fatalf("events before %d: %d events from %v, prev %d; want 2 from %d, prev 0", j+2, len(back.Events), firstSeq(back.Events), back.Prev, j)
		}
		// Her node never held the message (404); the host did, and
		// refuses (403 history_hidden).
		if _, status, _ := cl.download(gid, att.Hash); status != map[*testNode]int{c: 404, a: 403}[n] {
			t.Fatalf("Carol's download of a photo from before her join on %s: status %d", n.ID().Short(), status)
		}
		conn := wsDial(t, cl)
		wsSend(t, conn, api.WSClientMessage{Type: "subscribe", Group: gid.String(), From: 1})
		for {
			m := wsRead(t, conn)
			if m.Type == "subscribed" {
				continue
			}
			if m.Type != "event" || m.Event == nil || m.Event.Seq != j {
				t.Fatalf("the WebSocket from 1 sent %s %v first, want event %d", m.Type, m.Event, j)
			}
			break
		}
		conn.CloseNow()
	}
	// Bob, admitted before the switch, reads everything.
	var page api.EventsPage
	newAPI(t, b, bob).signIn().mustCall("GET", "/api/v1/groups/"+gid.String()+"/events?from=1&limit=5", nil, &page)
	if len(page.Events) == 0 || page.Events[0].Seq != 1 {
		t.Fatalf("Bob's events from 1: first %v, want 1", firstSeq(page.Events))
	}

	// C, a node the host allows, asks for what it may not have.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err = c.fetch(ctx, a.PeerID(), gid, a.ID(), 2, 10)
	var hidden *hiddenError
	if !errors.As(err, &hidden) || hidden.base != j-1 {
		t.Fatalf("C's sync from 2: %v, want history_hidden with base %d", err, j-1)
	}
	if _, err := c.fetchBlobFrom(ctx, a.PeerID(), gid, *ref); protocol.AsError(err).Code != protocol.CodeHistoryHidden {
		t.Fatalf("C's fetch of the old photo: %v, want history_hidden", err)
	}
	if c.blobs.has(ref.Hash) {
		t.Fatal("C stored the photo from before Carol's join")
	}
	if _, _, err := c.group(gid).fetchCheckpoint(ctx, j-2); protocol.AsError(err).Code != protocol.CodeHistoryHidden {
		t.Fatalf("C's checkpoint request before its bound: %v, want history_hidden", err)
	}
	// Event 1 alone still proves the host.
	if evs, _, err := c.fetch(ctx, a.PeerID(), gid, a.ID(), 1, 1); err != nil || len(evs) != 1 {
		t.Fatalf("the create event: %d events, %v", len(evs), err)
	}

	// C's state is the host's: same members, recalls and edits.
	ga, gc := a.group(gid), c.group(gid)
	ga.mu.Lock()
	gc.mu.Lock()
	sameState := len(ga.state.Members) == len(gc.state.Members) && len(ga.state.Recalled) == len(gc.state.Recalled) &&
		len(ga.state.Edited) == len(gc.state.Edited) && ga.state.HeadID == gc.state.HeadID
	gc.mu.Unlock()
	ga.mu.Unlock()
	if !sameState {
		t.Fatal("C's state differs from the host's")
	}

	// C restarts from its base and keeps following.
	dir := c.dir
	c.Close()
	c = startNode(t, dir)
	next := mustSubmit(t, a, a.admin, gid, text("after the restart"))
	waitHead(t, 10*time.Second, gid, next.Seq, c)
	if health := c.group(gid).health.Load(); health != nil {
		t.Fatalf("C's replica after a restart: %v", health.reason)
	}
}

// TestHistoryFromJoinApproval: a member admitted by an admin's approval
// (the admission is signed by the admin's node, not hers) gets a node that
// starts from the checkpoint too.
func TestHistoryFromJoinApproval(t *testing.T) {
	a, d := startNode(t, ""), startNode(t, "")
	name, policy, hist := "申请群", protocol.PolicyApproval, protocol.HistoryFromJoin
	gid := mustSubmit(t, a, a.admin, protocol.GroupID{}, &protocol.CreateBody{Host: a.ID(),
		Settings: protocol.Settings{Name: &name, Policy: &policy, History: &hist}}).Group
	for range 10 {
		mustSubmit(t, a, a.admin, gid, text("before dave"))
	}
	dave := newKey(t)
	// A join request names no host; Dave's node learns it from the
	// addresses the shop's profile page gives.
	var hostAddrs []multiaddr.Multiaddr
	for _, m := range a.Host().Addrs() {
		hostAddrs = append(hostAddrs, m.Encapsulate(multiaddr.StringCast("/p2p/"+a.PeerID().String())))
	}
	sub := sign(t, dave, gid, protocol.NewJoinBody(protocol.KindJoinRequest, nil, "我买过"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := d.Submit(ctx, sub.Raw, hostAddrs); err != nil {
		t.Fatalf("join request: %v", err)
	}
	ok := mustSubmit(t, a, a.admin, gid, protocol.NewMemberBody(protocol.KindApprove, dave.ID(), ""))
	after := mustSubmit(t, a, a.admin, gid, text("welcome dave"))
	waitHead(t, 10*time.Second, gid, after.Seq, d)
	if base, _, _ := d.store.Base(gid); base != ok.Seq-1 {
		t.Fatalf("D's log starts after %d, want the checkpoint at %d", base, ok.Seq-1)
	}
	cl := newAPI(t, d, dave).signIn()
	var page api.EventsPage
	cl.mustCall("GET", "/api/v1/groups/"+gid.String()+"/events?from=1", nil, &page)
	if len(page.Events) != 2 || page.Events[0].Seq != ok.Seq {
		t.Fatalf("Dave reads %d events from %v, want 2 from %d", len(page.Events), firstSeq(page.Events), ok.Seq)
	}
}

func firstSeq(evs []api.EventView) any {
	if len(evs) == 0 {
		return "none"
	}
	return evs[0].Seq
}

// TestHistoryFromJoinStaleCopy: a node that held the group once (its only
// member left) and becomes home to a member who reads from her join cannot
// continue its old log; it drops it and starts from the checkpoint, and
// its new member reads nothing of the old copy.
func TestHistoryFromJoinStaleCopy(t *testing.T) {
	a, b := startNode(t, ""), startNode(t, "")
	gid := createGroup(t, a, "老群", protocol.PolicyInvite)
	inv := invite(t, a, a.admin, gid, a, 0, 0)
	bob := newKey(t)
	join(t, b, bob, inv)
	mustSubmit(t, b, bob, gid, text("bob was here"))
	left := mustSubmit(t, b, bob, gid, &protocol.LeaveBody{})
	waitHead(t, 10*time.Second, gid, left.Seq, b)
	mustSubmit(t, a, a.admin, gid, &protocol.UpdateBody{Settings: protocol.Settings{History: ptr(protocol.HistoryFromJoin)}})
	for range 5 {
		mustSubmit(t, a, a.admin, gid, text("while nobody of B was in"))
	}
	dave := newKey(t)
	j := join(t, b, dave, inv).Seq
	last := mustSubmit(t, a, a.admin, gid, text("welcome"))
	waitHead(t, 10*time.Second, gid, last.Seq, b)
	if base, _, _ := b.store.Base(gid); base != j-1 {
		t.Fatalf("B's log starts after %d, want the checkpoint at %d", base, j-1)
	}
	if _, err := b.store.Event(gid, left.Seq); err == nil {
		t.Fatal("B still holds its old copy")
	}
	var page api.EventsPage
	newAPI(t, b, dave).signIn().mustCall("GET", "/api/v1/groups/"+gid.String()+"/events?from=1", nil, &page)
	if len(page.Events) != 2 || page.Events[0].Seq != j {
		t.Fatalf("Dave reads %d events from %v, want 2 from %d", len(page.Events), firstSeq(page.Events), j)
	}
}

// TestHistoryFromJoinConcurrentJoins: new members on ten fresh nodes join
// at once while the shop keeps posting; more admissions than the host keeps
// checkpoints for, so some are rebuilt from the log. Every node starts from
// the checkpoint before its member's join and ends with the host's head.
func TestHistoryFromJoinConcurrentJoins(t *testing.T) {
	a := startNode(t, "")
	name, hist := "秒杀群", protocol.HistoryFromJoin
	gid := mustSubmit(t, a, a.admin, protocol.GroupID{}, &protocol.CreateBody{Host: a.ID(),
		Settings: protocol.Settings{Name: &name, History: &hist}}).Group
	inv := invite(t, a, a.admin, gid, a, 0, 0)
	const joiners = 10
	nodes := make([]*testNode, joiners)
	for i := range nodes {
		nodes[i] = startNode(t, "")
	}
	stop := make(chan struct{})
	posted := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				posted <- nil
				return
			default:
			}
			if _, err := submit(t, a, a.admin, gid, text("限时优惠")); err != nil {
				posted <- err
				return
			}
		}
	}()
	joins := make([]uint64, joiners)
	errs := make(chan error, joiners)
	for i, n := range nodes {
		go func() {
			k := newKey(t)
			ev, err := submit(t, n, k, gid, protocol.NewJoinBody(protocol.KindJoin, inv.Raw, ""))
			if err == nil {
				joins[i] = ev.Seq
			}
			errs <- err
		}()
	}
	for range joiners {
		if err := <-errs; err != nil {
			t.Fatalf("a join: %v", err)
		}
	}
	close(stop)
	if err := <-posted; err != nil {
		t.Fatalf("posting: %v", err)
	}
	last := mustSubmit(t, a, a.admin, gid, text("结束"))
	waitHead(t, 20*time.Second, gid, last.Seq, nodes...)
	for i, n := range nodes {
		if base, _, _ := n.store.Base(gid); base != joins[i]-1 {
			t.Errorf("node %d: log starts after %d, want %d (its member joined at %d)", i, base, joins[i]-1, joins[i])
		}
	}
	// The host keeps the newest maxCheckpoints; one it dropped is rebuilt
	// from its log, byte for byte the one it made at the admission.
	ga := a.group(gid)
	keys, err := a.store.MetaKeys(gid, metaCheckpointPrefix)
	if err != nil {
		t.Fatal(err)
	}
	seqs := map[string]bool{}
	for _, k := range keys {
		seqs[k[len(metaCheckpointPrefix):len(metaCheckpointPrefix)+16]] = true
	}
	if len(seqs) != maxCheckpoints {
		t.Fatalf("the host keeps %d checkpoints, want %d", len(seqs), maxCheckpoints)
	}
	newest := slices.Max(joins) - 1
	kept, ok, err := ga.storedCheckpoint(newest)
	if err != nil || !ok {
		t.Fatalf("the newest checkpoint (%d) is not kept: %v", newest, err)
	}
	for _, k := range keys {
		if strings.HasPrefix(k, checkpointKey(newest)) {
			if err := a.store.SetMeta(gid, k, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	rebuilt, err := ga.checkpointPayload(newest)
	if err != nil || !bytes.Equal(rebuilt, kept) {
		t.Fatalf("the rebuilt checkpoint differs from the one made at the admission (%v)", err)
	}
}

// TestHistoryFromJoinStateBeyondSnapshot: a replica started from a
// checkpoint whose state is larger than a snapshot the node stores (a
// group of thousands of members with profiles) keeps the signed checkpoint
// as the start of its log, and after a restart loads from it and goes on;
// a damaged stored checkpoint holds the group read-only instead of a wrong
// state.
func TestHistoryFromJoinStateBeyondSnapshot(t *testing.T) {
	a := startNode(t, "")
	gid := createGroup(t, a, "大群", protocol.PolicyInvite)
	inv := invite(t, a, a.admin, gid, a, 0, 0)
	for i := range 5 {
		mustSubmit(t, a, a.admin, gid, text(fmt.Sprintf("before carol %d", i)))
	}
	mustSubmit(t, a, a.admin, gid, &protocol.UpdateBody{Settings: protocol.Settings{History: ptr(protocol.HistoryFromJoin)}})
	tiny := func(c *Config) { c.maxSnapshot = 64 } // every state is larger
	dir := t.TempDir()
	c := startNode(t, dir, tiny)
	carol := newKey(t)
	j := join(t, c, carol, inv).Seq
	after := mustSubmit(t, a, a.admin, gid, text("after carol"))
	waitHead(t, 10*time.Second, gid, after.Seq, c)
	if _, ok, err := c.store.LatestSnapshot(gid); err != nil || ok {
		t.Fatalf("C stored a snapshot (%v, %v) though its limit is 64 bytes", ok, err)
	}
	c.Close()

	c = startNode(t, dir, tiny)
	g := c.group(gid)
	g.mu.Lock()
	head, base, member := g.state.Head, g.state.Base, g.state.Members[carol.ID()] != nil
	g.mu.Unlock()
	if head != after.Seq || base != j-1 || !member {
		t.Fatalf("after a restart C's state is at %d from base %d (carol a member: %v), want %d from %d", head, base, member, after.Seq, j-1)
	}
	if s, r := c.group(gid).status(); s != "ok" {
		t.Fatalf("after a restart the group is %s (%s)", s, r)
	}
	next := mustSubmit(t, c, carol, gid, text("carol after the restart"))
	waitHead(t, 10*time.Second, gid, next.Seq, a)
	if evs, err := c.Events(gid, j, 10); err != nil || len(evs) != int(next.Seq-j+1) {
		t.Fatalf("C serves %d events from the join (%v), want %d", len(evs), err, next.Seq-j+1)
	}
	c.Close()

	// A damaged checkpoint chunk: the group does not load a wrong state.
	st, err := storage.Open(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	chunk, ok, err := st.Meta(gid, metaBaseCheckpoint+"0000")
	if err != nil || !ok {
		t.Fatalf("no stored base checkpoint: %v", err)
	}
	chunk = bytes.Clone(chunk)
	chunk[len(chunk)/2] ^= 0xff
	if err := st.SetMeta(gid, metaBaseCheckpoint+"0000", chunk); err != nil {
		t.Fatal(err)
	}
	st.Close()
	c = startNode(t, dir, tiny)
	if s, r := c.group(gid).status(); s != "quarantined" || !strings.Contains(r, "checkpoint") {
		t.Fatalf("with a damaged checkpoint the group is %s (%s), want quarantined", s, r)
	}
}
