package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
	"github.com/qunchat/qun/storage"
)

// TestEquivocationDetected: the group's host (its real key) answers a
// forwarded submission with a new event for a seq the replica holds another
// event at — what a host that lost acknowledged events and sequenced over
// them does. The replica must not acknowledge it, must keep both events as
// a fork proof, and must freeze the group with a reason clients see.
func TestEquivocationDetected(t *testing.T) {
	a, b, c, gid, keys := threeNodeGroup(t)
	last := sendMany(t, gid, 10, 2, []*testNode{a, b}, []*protocol.Key{keys[0], keys[1]})
	waitHead(t, 10*time.Second, gid, last, a, b, c)
	reused := last - 3

	// The impostor is the host itself, restarted with a damaged log: same
	// key, new address, and it sequences the next submission at seq reused.
	hostKey := a.key
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	prev, err := b.store.Event(gid, reused-1)
	if err != nil {
		t.Fatal(err)
	}
	prevEv, _ := protocol.DecodeEvent(prev)
	h := signingHost(t, hostKey, func(sub []byte, via protocol.UserID) protocol.Event {
		return protocol.Event{Group: gid, Seq: reused, Prev: prevEv.ID, Time: nowMS(), Via: via, Submission: sub}
	})
	b.Host().Network().ClosePeer(h.ID())
	b.Host().Peerstore().ClearAddrs(h.ID())
	b.Host().Peerstore().AddAddrs(h.ID(), h.Addrs(), time.Hour)

	// A member with the chat open is told at once, over the WebSocket.
	conn := wsDial(t, newAPI(t, b, keys[1]).signIn())
	defer conn.CloseNow()
	wsSend(t, conn, api.WSClientMessage{Type: "subscribe", Group: gid.String(), From: last + 1})
	if m := wsRead(t, conn); m.Type != "subscribed" {
		t.Fatalf("subscribe: %+v", m)
	}

	_, err = submit(t, b, keys[1], gid, text("after the damage"))
	if err == nil {
		t.Fatal("the replica acknowledged an event it does not hold (seq re-used by the host)")
	}
	if m := wsRead(t, conn); m.Type != "status" || m.Status != "forked" || m.Message == "" || m.Group != gid.String() {
		t.Fatalf("the WebSocket sent %+v, want status forked with a reason", m)
	}
	if protocol.AsError(err).Code != protocol.CodeForked {
		t.Fatalf("refusal %v, want code forked", err)
	}
	v, err := b.GroupView(gid)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != "forked" || v.StatusReason == "" {
		t.Fatalf("group status %q (%q), want forked with a reason", v.Status, v.StatusReason)
	}
	proof, ok, err := b.ForkProof(gid)
	if err != nil || !ok || len(proof) != 2 {
		t.Fatalf("fork proof: %d events, ok %v, err %v", len(proof), ok, err)
	}
	var seqs []uint64
	for _, raw := range proof {
		ev, err := protocol.DecodeEvent(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := ev.VerifyHost(hostKey.ID()); err != nil {
			t.Fatalf("a proof event is not host-signed: %v", err)
		}
		seqs = append(seqs, ev.Seq)
	}
	if seqs[0] != reused || seqs[1] != reused {
		t.Fatalf("proof seqs %v, want both %d", seqs, reused)
	}
	// The stored log is untouched and the proof survives a restart.
	if h, _ := b.Head(gid); h != last {
		t.Fatalf("replica head %d, want %d", h, last)
	}
	dir := b.dir
	b.Close()
	b2 := startNode(t, dir)
	v, _ = b2.GroupView(gid)
	if v.Status != "forked" {
		t.Fatalf("after restart the group status is %q, want forked", v.Status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := b2.Submit(ctx, sign(t, keys[1], gid, text("frozen?")).Raw, nil); protocol.AsError(err).Code != protocol.CodeForked {
		t.Fatalf("submission to a forked group: %v, want forked", err)
	}
}

// TestRestoredHostRecoversFromReplicas: a host restarted from an older copy
// of its data folder (a restored backup: it lost events it had
// acknowledged) learns from its replicas that they hold events it signed,
// fetches them back before it sequences anything, and the group goes on as
// one chain on every node.
func TestRestoredHostRecoversFromReplicas(t *testing.T) {
	a, b, c, gid, keys, dir, backup, listen, y := groupWithBackup(t)
	a.Close()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(dir, os.DirFS(backup)); err != nil {
		t.Fatal(err)
	}
	a = startNode(t, dir, listen) // starts at x; its replicas hold y
	waitHead(t, 20*time.Second, gid, y, a)
	v, _ := a.GroupView(gid)
	if v.Status != "ok" {
		t.Fatalf("host status %q after recovery (%s)", v.Status, v.StatusReason)
	}
	ev := mustSubmit(t, a, keys[0], gid, text("whole again"))
	if ev.Seq != y+1 {
		t.Fatalf("the next event got seq %d, want %d", ev.Seq, y+1)
	}
	waitHead(t, 10*time.Second, gid, ev.Seq, a, b, c)
	sameLogs(t, gid, ev.Seq, a, b, c)
	for i, n := range []*testNode{b, c} {
		if v, _ := n.GroupView(gid); v.Status != "ok" {
			t.Fatalf("replica %d status %q (%s)", i, v.Status, v.StatusReason)
		}
	}
}

// TestHostGivesUpEventsNobodyReceived: the host stored a batch and was
// killed before it answered or published it, and its write-ahead log then
// lost that batch with the events before it. Its witness names the batch
// as committed, but no member's node ever held it. The host must get back
// every event its members' nodes hold, then give up only the batch nobody
// received (every member's node answered) and sequence again — not wait for
// it for ever.
func TestHostGivesUpEventsNobodyReceived(t *testing.T) {
	a, b, c, gid, keys, dir, backup, listen, y := groupWithBackup(t)

	// The next batch is stored, then the host dies before releasing it.
	stored := make(chan uint64, 1)
	a.beforeRelease.Store(&releaseHook{fn: func(ctx context.Context, g protocol.GroupID, seq uint64) bool {
		stored <- seq
		<-ctx.Done()
		return false
	}})
	go submit(t, c, keys[2], gid, text("stored, never released"))
	var unreleased uint64
	select {
	case unreleased = <-stored:
	case <-time.After(10 * time.Second):
		t.Fatal("the host never stored the last submission")
	}
	a.Close()
	if unreleased != y+1 {
		t.Fatalf("the unreleased event has seq %d, want %d", unreleased, y+1)
	}
	// The write-ahead log lost everything after x: the store is the backup's,
	// the head witness is the latest (it names seq y+1).
	store := filepath.Join(dir, "store")
	witness, err := os.ReadFile(filepath.Join(store, storage.WitnessFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(store); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(store, os.DirFS(filepath.Join(backup, "store"))); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(store, storage.WitnessFile), witness, 0o600); err != nil {
		t.Fatal(err)
	}
	// While one member's node is away, the host cannot know it did not get
	// the batch: it gets back what the other holds and keeps waiting.
	bdir := b.dir
	b.Close()
	a = startNode(t, dir, listen)
	waitHead(t, 20*time.Second, gid, y, a)
	holdsFor(t, 3*time.Second, func() error {
		if v, _ := a.GroupView(gid); v.Status != "recovering" {
			return fmt.Errorf("with a member's node away the host status is %q (%s), want recovering", v.Status, v.StatusReason)
		}
		return nil
	})
	if v, _ := a.GroupView(gid); !strings.Contains(v.StatusReason, "1 of 2 members' nodes have answered") {
		t.Fatalf("status reason %q does not say who is awaited", v.StatusReason)
	}
	b = startNode(t, bdir)
	var ev *protocol.SignedEvent
	waitFor(t, 45*time.Second, "the host to accept submissions again", func() bool {
		ev, err = submit(t, a, keys[0], gid, text("going on"))
		return err == nil
	})
	if ev.Seq != y+1 {
		t.Fatalf("the next event got seq %d, want %d (the batch nobody received is given up)", ev.Seq, y+1)
	}
	waitHead(t, 10*time.Second, gid, ev.Seq, a, b, c)
	sameLogs(t, gid, ev.Seq, a, b, c)
	for i, n := range []*testNode{a, b, c} {
		if v, _ := n.GroupView(gid); v.Status != "ok" {
			t.Fatalf("node %d status %q (%s)", i, v.Status, v.StatusReason)
		}
	}
	// The store accepted the log as it is: a restart reports no damage.
	a.Close()
	a = startNode(t, dir, listen)
	if v, _ := a.GroupView(gid); v.Status != "ok" {
		t.Fatalf("after a restart the host status is %q (%s)", v.Status, v.StatusReason)
	}
}

// groupWithBackup makes a three-node group, copies the host's data folder
// (a backup) at some head, restarts the host and takes the group further,
// to head y on every node. listen restarts a node on the host's address.
func groupWithBackup(t *testing.T) (a, b, c *testNode, gid protocol.GroupID, keys []*protocol.Key, dir, backup string, listen func(*Config), y uint64) {
	t.Helper()
	a, b, c, gid, keys = threeNodeGroup(t)
	x := sendMany(t, gid, 20, 2, []*testNode{a, b}, []*protocol.Key{keys[0], keys[1]})
	waitHead(t, 10*time.Second, gid, x, a, b, c)
	dir, addr := a.dir, a.Host().Addrs()[0].String()
	a.Close()
	backup = t.TempDir()
	if err := os.CopyFS(backup, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	listen = func(c *Config) { c.ListenAddrs = []string{addr} }
	a = startNode(t, dir, listen)
	for i, n := range []*testNode{b, c} { // each home node redials the host (a client retries)
		waitFor(t, 15*time.Second, "the members to reach the restarted host", func() bool {
			ev, err := submit(t, n, keys[1+i], gid, text("after the backup"))
			if err == nil {
				y = max(y, ev.Seq)
			}
			return err == nil
		})
	}
	y = max(y, sendMany(t, gid, 30, 2, []*testNode{a, c}, []*protocol.Key{keys[0], keys[2]}))
	waitHead(t, 10*time.Second, gid, y, a, b, c)
	return a, b, c, gid, keys, dir, backup, listen, y
}
