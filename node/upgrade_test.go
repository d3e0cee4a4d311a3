package node

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/storage"
)

// TestUpgradeNeeded: a group's log holds an event of a later protocol
// revision (kind 99), signed by its host: the host (downgraded under its
// data) and a member's node hold the group read-only as upgrade_needed;
// neither skips the event, neither calls it invalid, the member's node
// stores nothing from it on, reads are still served and writes are
// refused with upgrade_needed.
func TestUpgradeNeeded(t *testing.T) {
	rej := newRejections()
	dir := t.TempDir()
	a := startNode(t, dir)
	b := startNodeHook(t, "", rej.hook(1))
	gid := createGroup(t, a, "later", protocol.PolicyInvite)
	bob := newKey(t)
	join(t, b, bob, invite(t, a, a.admin, gid, a, 0, 0))
	last := mustSubmit(t, b, bob, gid, text("before the upgrade"))
	waitHead(t, 10*time.Second, gid, last.Seq, b)

	// The host's store gets event last+1 of kind 99, as a newer qun
	// would have sequenced it; then the older node starts on that store.
	addr := a.Host().Addrs()[0].String()
	hostKey := a.key
	a.Close()
	s := protocol.Submission{Group: gid, Kind: 99, Author: bob.ID(), Time: nowMS(), Nonce: nonce(), Body: []byte{0x0a, 0x01, 'x'}}
	raw := hostKey.Sign(protocol.DomainEvent, (&protocol.Event{Group: gid, Seq: last.Seq + 1, Prev: last.ID, Time: nowMS(), Via: b.ID(),
		Submission: bob.Sign(protocol.DomainSubmission, s.Encode())}).Encode())
	if _, err := protocol.DecodeEvent(raw); !isUpgradeNeeded(err) {
		t.Fatalf("the crafted event decodes with %v, want upgrade_needed", err)
	}
	st, err := storage.Open(filepath.Join(dir, "store"), storage.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	rec := storage.Record{Seq: last.Seq + 1, ID: protocolEventID(raw), Data: raw}
	if err := st.Commit(storage.Batch{Group: gid, Events: []storage.Record{rec}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	a = startNode(t, dir, func(c *Config) { c.ListenAddrs = []string{addr} })

	for i, n := range []*testNode{b, a} {
		waitFor(t, 10*time.Second, "the group to be held for an upgrade", func() bool {
			v, err := n.GroupView(gid)
			return err == nil && v.Status == "upgrade_needed"
		})
		v, _ := n.GroupView(gid)
		t.Logf("node %d: %s", i, v.StatusReason)
		if v.StatusReason == "" {
			t.Fatal("no reason given")
		}
	}
	if h, _ := b.Head(gid); h != last.Seq {
		t.Fatalf("the member's node stored up to %d, want %d (nothing of the later revision)", h, last.Seq)
	}
	if err, ok := rej.by(1, rec.ID); ok {
		t.Fatalf("the member's node called the event invalid: %v", err)
	}
	for _, n := range []*testNode{a, b} {
		if _, err := submit(t, n, bob, gid, text("after")); !isUpgradeNeeded(err) {
			t.Fatalf("a write while held: %v, want upgrade_needed", err)
		}
	}
	if ids := logOf(t, b, gid); len(ids) != int(last.Seq) {
		t.Fatalf("reads: %d events, want %d", len(ids), last.Seq)
	}
}

func isUpgradeNeeded(err error) bool {
	return err != nil && protocol.AsError(err).Code == protocol.CodeUpgradeNeeded
}
