package main

import (
	"context"
	"fmt"
	"github.com/qunchat/qun/internal/netlock"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
)

// A network lab for partition tests: each node process runs in its own
// network namespace, joined to a bridge in the test's namespace by a veth
// pair. Taking a node's veth end down on the bridge side cuts it off
// silently (its end stays up without carrier: packets are dropped, no
// reset, no error), as a partition does; bringing it up heals it.

// skipOrFail skips the test with reason, or fails it when QUN_CI=1.
func skipOrFail(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("QUN_CI") == "1" {
		t.Fatalf("QUN_CI=1 but %s", reason)
	}
	t.Skip(reason)
}

type netLab struct {
	t      *testing.T
	id     string // short, unique per test process: interface names are at most 15 bytes
	subnet string // "10.N.M"
	bridge string
	nodes  int
}

func newNetLab(t *testing.T) *netLab {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "the partition test needs root for network namespaces (ip netns)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		skipOrFail(t, "the partition test needs the ip tool (iproute2)")
	}
	netlock.Exclusive(t) // browsers in other test processes abort their requests on a network change
	pid := os.Getpid()
	l := &netLab{t: t, id: fmt.Sprintf("%d", pid%100000), subnet: fmt.Sprintf("10.%d.%d", 100+pid/256%100, pid%256)}
	l.bridge = "qbr" + l.id
	if err := l.ip("link", "add", l.bridge, "type", "bridge"); err != nil {
		skipOrFail(t, fmt.Sprintf("cannot create a bridge: %v", err))
	}
	t.Cleanup(func() { _ = l.ip("link", "del", l.bridge) })
	l.must("addr", "add", l.subnet+".1/24", "dev", l.bridge)
	l.must("link", "set", l.bridge, "up")
	return l
}

func (l *netLab) ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (l *netLab) must(args ...string) {
	l.t.Helper()
	if err := l.ip(args...); err != nil {
		l.t.Fatal(err)
	}
}

// labNode is a namespace with its address and the veth end on the bridge.
type labNode struct {
	ns, addr, port string
}

// node creates a namespace on the bridge and returns it.
func (l *netLab) node() *labNode {
	l.t.Helper()
	l.nodes++
	n := &labNode{
		ns:   fmt.Sprintf("qun%s-%d", l.id, l.nodes),
		addr: fmt.Sprintf("%s.%d", l.subnet, l.nodes+1),
		port: fmt.Sprintf("qv%s-%d", l.id, l.nodes),
	}
	inner := n.port + "i"
	l.must("netns", "add", n.ns)
	l.t.Cleanup(func() {
		// Deleting a namespace frees its veth end later, asynchronously:
		// delete the pair first, so the next test can reuse the names.
		_ = l.ip("link", "del", n.port)
		_ = l.ip("netns", "del", n.ns)
	})
	l.must("link", "add", n.port, "type", "veth", "peer", "name", inner)
	l.must("link", "set", inner, "netns", n.ns)
	l.must("link", "set", n.port, "master", l.bridge)
	l.must("link", "set", n.port, "up")
	l.must("-n", n.ns, "link", "set", "lo", "up")
	l.must("-n", n.ns, "addr", "add", n.addr+"/24", "dev", inner)
	l.must("-n", n.ns, "link", "set", inner, "up")
	return n
}

func (l *netLab) cut(n *labNode)  { l.t.Helper(); l.must("link", "set", n.port, "down") }
func (l *netLab) heal(n *labNode) { l.t.Helper(); l.must("link", "set", n.port, "up") }

// startProcIn runs `qun node` inside the lab node's namespace, listening and
// serving its API on the namespace's address (the harness's startProc,
// wrapped in `ip netns exec`).
func startProcIn(t *testing.T, n *labNode, dir string, extra ...string) *proc {
	t.Helper()
	p := &proc{t: t, dir: dir, logPath: filepath.Join(dir, "node.log")}
	p.args = append([]string{"node", "--data", dir, "--api", n.addr + ":0", "--rate", "0", "--api-rate", "0",
		"--listen", "/ip4/" + n.addr + "/tcp/0"}, extra...)
	p.wrap = []string{"ip", "netns", "exec", n.ns}
	p.start()
	t.Cleanup(p.stop)
	return p
}

// TestPartitionHeals: a replica cut off from its host by a network
// partition (packets dropped, connections left open) while the host
// sequences events converges within 5 s of the partition healing. The
// partition lasts 10 s, or 60 s with QUN_SOAK=1. The nodes sync on the
// default interval (10 s): only the retry after a failed sync is fast.
func TestPartitionHeals(t *testing.T) {
	partition := 10 * time.Second
	if os.Getenv("QUN_SOAK") == "1" {
		partition = 60 * time.Second
	}
	lab := newNetLab(t)
	na, nb := lab.node(), lab.node()
	a := startProcIn(t, na, t.TempDir(), "--sync-interval", "10s")
	b := startProcIn(t, nb, t.TempDir(), "--sync-interval", "10s")
	ctx, cancel := context.WithTimeout(context.Background(), partition+2*time.Minute)
	defer cancel()
	ca := a.client(t, a.adminKey(t))
	info, err := ca.Node(ctx)
	if err != nil {
		t.Fatal(err)
	}
	host, err := protocol.ParseUserID(info.PeerID)
	if err != nil {
		t.Fatal(err)
	}
	name, policy := "partition", protocol.PolicyInvite
	gid, _, err := ca.CreateGroup(ctx, host, protocol.Settings{Name: &name, Policy: &policy})
	if err != nil {
		t.Fatal(err)
	}
	inv, _, err := ca.CreateInvite(ctx, gid, 0, time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	cb := b.client(t, newKey(t))
	if _, err := cb.Join(ctx, inv.Token()); err != nil {
		t.Fatal(err)
	}
	g, err := ca.Group(ctx, gid)
	if err != nil {
		t.Fatal(err)
	}
	waitHeads(t, 20*time.Second, gid, g.Head, a, b)

	lab.cut(nb)
	cutAt := time.Now()
	var head uint64
	for i := 0; time.Since(cutAt) < partition; i++ {
		resp, err := ca.Send(ctx, gid, protocol.MessageBody{Text: fmt.Sprintf("during the partition %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		head = resp.Seq
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(100 * time.Millisecond): // the host's traffic: 10 events a second
		}
	}
	lab.heal(nb)
	healed := time.Now()
	waitHeads(t, 5*time.Second, gid, head, b)
	took := time.Since(healed)
	t.Logf("partition of %v with %d events sequenced: the replica converged %v after healing", partition, head-g.Head, took.Round(time.Millisecond))
	sameLogs(t, gid, head, a, b)
}
