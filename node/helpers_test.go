package node

import (
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/qunchat/qun/internal/keyfile"
	"github.com/qunchat/qun/protocol"
)

// testLogger is quiet unless QUN_TEST_LOG is set.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("QUN_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}

type testNode struct {
	*Node
	dir   string
	admin *protocol.Key
}

func testConfig(t testing.TB, dir string) Config {
	return Config{
		DataDir:          dir,
		ListenAddrs:      []string{"/ip4/127.0.0.1/tcp/0"},
		APIAddr:          "127.0.0.1:0",
		SyncInterval:     200 * time.Millisecond,
		RatePerSecond:    -1,
		APIRatePerSecond: -1,
		DiskBallast:      -1, // many test nodes share one disk: no ballast each
		Logger:           testLogger(t),
	}
}

// startNode starts a node on loopback with its data in dir (a new temp dir
// when empty) and stops it when the test ends.
func startNode(t testing.TB, dir string, mutate ...func(*Config)) *testNode {
	t.Helper()
	return startNodeHook(t, dir, nil, mutate...)
}

// startNodeHook is startNode with a reject hook installed before start.
func startNodeHook(t testing.TB, dir string, onReject func(protocol.GroupID, protocol.EventID, error), mutate ...func(*Config)) *testNode {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	cfg := testConfig(t, dir)
	for _, m := range mutate {
		m(&cfg)
	}
	n, err := New(cfg)
	if err != nil {
		t.Fatalf("new node: %v", err)
	}
	n.onReject = onReject
	if err := n.Start(context.Background()); err != nil {
		n.Close()
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	admin, err := keyfile.Load(dir + "/admin.key")
	if err != nil {
		t.Fatal(err)
	}
	return &testNode{Node: n, dir: dir, admin: admin}
}

func newKey(t testing.TB) *protocol.Key {
	k, err := protocol.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func nonce() []byte {
	b := make([]byte, 16)
	rand.Read(b)
	return b
}

// sign builds and signs a submission.
func sign(t testing.TB, k *protocol.Key, gid protocol.GroupID, body protocol.Body) *protocol.SignedSubmission {
	t.Helper()
	s := protocol.Submission{Group: gid, Kind: body.Kind(), Author: k.ID(), Time: nowMS(), Nonce: nonce(), Body: body.Encode()}
	ss, err := s.Sign(k)
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

func submit(t testing.TB, n *testNode, k *protocol.Key, gid protocol.GroupID, body protocol.Body) (*protocol.SignedEvent, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return n.Submit(ctx, sign(t, k, gid, body).Raw, nil)
}

func mustSubmit(t testing.TB, n *testNode, k *protocol.Key, gid protocol.GroupID, body protocol.Body) *protocol.SignedEvent {
	t.Helper()
	ev, err := submit(t, n, k, gid, body)
	if err != nil {
		t.Fatalf("submit %s: %v", body.Kind(), err)
	}
	return ev
}

func ptr[T any](v T) *T { return &v }

// createGroup creates a group hosted by n, owned by n's admin.
func createGroup(t testing.TB, n *testNode, name string, policy protocol.Policy) protocol.GroupID {
	t.Helper()
	body := &protocol.CreateBody{Host: n.ID(), Settings: protocol.Settings{Name: &name, Policy: &policy}}
	ev := mustSubmit(t, n, n.admin, protocol.GroupID{}, body)
	return ev.Group
}

// invite creates and registers an invite by k.
func invite(t testing.TB, n *testNode, k *protocol.Key, gid protocol.GroupID, host *testNode, uses uint32, ttl time.Duration) *protocol.SignedInvite {
	t.Helper()
	inv := protocol.Invite{Group: gid, Host: host.ID(), Inviter: k.ID(), MaxUses: uses, Nonce: nonce()}
	if ttl > 0 {
		inv.Expires = nowMS() + uint64(ttl.Milliseconds())
	}
	for _, a := range host.Host().Addrs() {
		inv.Addrs = append(inv.Addrs, a.Bytes())
	}
	si, err := inv.Sign(k)
	if err != nil {
		t.Fatal(err)
	}
	mustSubmit(t, n, k, gid, &protocol.InviteCreateBody{Token: si.Raw})
	return si
}

func join(t testing.TB, n *testNode, k *protocol.Key, inv *protocol.SignedInvite) *protocol.SignedEvent {
	t.Helper()
	return mustSubmit(t, n, k, inv.Group, protocol.NewJoinBody(protocol.KindJoin, inv.Raw, ""))
}

func text(s string) *protocol.MessageBody { return &protocol.MessageBody{Text: s} }

// waitHead waits until every node stored the group up to seq.
func waitHead(t testing.TB, timeout time.Duration, gid protocol.GroupID, seq uint64, nodes ...*testNode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for i, n := range nodes {
		if err := n.WaitHead(ctx, gid, seq); err != nil {
			h, _ := n.Head(gid)
			t.Fatalf("node %d has head %d, want %d: %v", i, h, seq, err)
		}
	}
}

// logOf returns the event IDs of a group stored on n, in order.
func logOf(t testing.TB, n *testNode, gid protocol.GroupID) []protocol.EventID {
	t.Helper()
	var ids []protocol.EventID
	for from := uint64(1); ; {
		evs, err := n.Events(gid, from, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return ids
		}
		for _, ev := range evs {
			if ev.Seq != from {
				t.Fatalf("log has seq %d where %d belongs", ev.Seq, from)
			}
			ids = append(ids, ev.ID)
			from++
		}
	}
}

func sameLogs(t testing.TB, gid protocol.GroupID, want uint64, nodes ...*testNode) {
	t.Helper()
	ref := logOf(t, nodes[0], gid)
	if uint64(len(ref)) != want {
		t.Fatalf("node 0 holds %d events, want %d", len(ref), want)
	}
	for i, n := range nodes[1:] {
		got := logOf(t, n, gid)
		if len(got) != len(ref) {
			t.Fatalf("node %d holds %d events, node 0 holds %d", i+1, len(got), len(ref))
		}
		for j := range ref {
			if got[j] != ref[j] {
				t.Fatalf("node %d differs from node 0 at seq %d", i+1, j+1)
			}
		}
	}
}

func addrInfo(n *testNode) peer.AddrInfo {
	return peer.AddrInfo{ID: n.PeerID(), Addrs: n.Host().Addrs()}
}
