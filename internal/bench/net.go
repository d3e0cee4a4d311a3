package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qunchat/qun/node"
	"github.com/qunchat/qun/protocol"
)

// env holds what workloads share: the three-node network of W1–W3.
type env struct {
	cfg      Config
	progress io.Writer
	net      *network // started by the first workload that needs it
	nodes    []*node.Node
}

func (e *env) close() {
	for _, n := range e.nodes {
		n.Close()
	}
}

// member is a node of the network and the user whose home it is.
type member struct {
	name  string // "A", "B", "C"
	node  *node.Node
	admin *protocol.Key // the node's first admin (DataDir/admin.key)
	user  *protocol.Key // the member whose home node this is
}

// network is host A and replicas B and C with one group and a member on each.
type network struct {
	a, b, c *member
	all     []*member
	gid     protocol.GroupID
	inv     *protocol.SignedInvite
}

// startNode starts a node on loopback under the pprof label node=name, so
// that the goroutines it starts (and their CPU time) carry the label.
func (e *env) startNode(ctx context.Context, name string) (*member, error) {
	dir := filepath.Join(e.cfg.Dir, name)
	cfg := node.Config{
		DataDir:       dir,
		ListenAddrs:   []string{"/ip4/127.0.0.1/tcp/0"},
		APIAddr:       "127.0.0.1:0",
		RatePerSecond: -1, // a burst from 3 members is the point; the limit is per member
		// W3 reads pages as fast as it can from one address.
		APIRatePerSecond: -1,
		Logger:           e.cfg.Logger.With("node", name),
	}
	var n *node.Node
	var err error
	pprof.Do(ctx, pprof.Labels("node", name), func(ctx context.Context) {
		n, err = node.New(cfg)
		if err == nil {
			if err = n.Start(ctx); err != nil {
				n.Close()
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("starting node %s: %w", name, err)
	}
	e.nodes = append(e.nodes, n)
	admin, err := loadKey(filepath.Join(dir, "admin.key"))
	if err != nil {
		return nil, err
	}
	return &member{name: name, node: n, admin: admin, user: admin}, nil
}

// onNode runs fn under the pprof label of m's node, so that the CPU the
// node spends on the call (verification, forwarding) is counted for it.
func onNode(ctx context.Context, m *member, fn func(ctx context.Context)) {
	pprof.Do(ctx, pprof.Labels("node", m.name), fn)
}

// loadKey reads a key file written by a node (base64 of a libp2p key).
func loadKey(path string) (*protocol.Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading key: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return protocol.UnmarshalKey(raw)
}

// network starts A, B and C and the group (once).
func (e *env) network(ctx context.Context) (*network, error) {
	if e.net != nil {
		return e.net, nil
	}
	fmt.Fprintln(e.progress, "starting nodes A, B, C and the group…")
	var ms []*member
	for _, name := range []string{"A", "B", "C"} {
		m, err := e.startNode(ctx, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	nw := &network{a: ms[0], b: ms[1], c: ms[2], all: ms}
	gid, err := createGroup(ctx, nw.a, "bench")
	if err != nil {
		return nil, err
	}
	nw.gid = gid
	if nw.inv, err = makeInvite(ctx, nw.a, gid); err != nil {
		return nil, err
	}
	for _, m := range ms[1:] {
		if m.user, err = protocol.NewKey(); err != nil {
			return nil, err
		}
		if _, err := submit(ctx, m, joinSub(m.user, nw.inv)); err != nil {
			return nil, fmt.Errorf("joining through %s: %w", m.name, err)
		}
	}
	head, err := nw.a.node.Head(gid)
	if err != nil {
		return nil, err
	}
	if err := waitHeads(ctx, gid, head, ms...); err != nil {
		return nil, err
	}
	e.net = nw
	return nw, nil
}

// createGroup creates a group hosted by m, owned by m's admin.
func createGroup(ctx context.Context, m *member, name string) (protocol.GroupID, error) {
	policy := protocol.PolicyInvite
	cap := uint32(protocol.MaxMemberCap)
	body := &protocol.CreateBody{Host: m.node.ID(), Settings: protocol.Settings{Name: &name, Policy: &policy, Cap: &cap}}
	ev, err := submit(ctx, m, mustSign(m.admin, protocol.GroupID{}, body))
	if err != nil {
		return protocol.GroupID{}, fmt.Errorf("creating a group on %s: %w", m.name, err)
	}
	return ev.Group, nil
}

// makeInvite registers an unlimited invite to gid by host's admin.
func makeInvite(ctx context.Context, host *member, gid protocol.GroupID) (*protocol.SignedInvite, error) {
	inv := protocol.Invite{Group: gid, Host: host.node.ID(), Inviter: host.admin.ID(), Nonce: nonce(),
		Expires: uint64(time.Now().Add(24 * time.Hour).UnixMilli())}
	for _, a := range host.node.Host().Addrs() {
		inv.Addrs = append(inv.Addrs, a.Bytes())
	}
	si, err := inv.Sign(host.admin)
	if err != nil {
		return nil, err
	}
	if _, err := submit(ctx, host, mustSign(host.admin, gid, &protocol.InviteCreateBody{Token: si.Raw})); err != nil {
		return nil, fmt.Errorf("registering an invite: %w", err)
	}
	return si, nil
}

func joinSub(k *protocol.Key, inv *protocol.SignedInvite) *protocol.SignedSubmission {
	return mustSign(k, inv.Group, protocol.NewJoinBody(protocol.KindJoin, inv.Raw, ""))
}

// submit hands a signed submission to m's node, under m's pprof label.
func submit(ctx context.Context, m *member, sub *protocol.SignedSubmission) (*protocol.SignedEvent, error) {
	var ev *protocol.SignedEvent
	var err error
	onNode(ctx, m, func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		ev, err = m.node.Submit(ctx, sub.Raw, nil)
	})
	return ev, err
}

// waitHeads waits until every member's node stored gid up to seq.
func waitHeads(ctx context.Context, gid protocol.GroupID, seq uint64, ms ...*member) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	for _, m := range ms {
		if err := m.node.WaitHead(ctx, gid, seq); err != nil {
			h, _ := m.node.Head(gid)
			return fmt.Errorf("node %s stored up to %d, want %d: %w", m.name, h, seq, err)
		}
	}
	return nil
}

func nonce() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return b
}

func mustSign(k *protocol.Key, gid protocol.GroupID, body protocol.Body) *protocol.SignedSubmission {
	s := protocol.Submission{Group: gid, Kind: body.Kind(), Author: k.ID(), Time: uint64(time.Now().UnixMilli()), Nonce: nonce(), Body: body.Encode()}
	ss, err := s.Sign(k)
	if err != nil {
		panic(fmt.Sprintf("bench: signing a valid submission: %v", err)) // a bug in the harness
	}
	return ss
}

// text256 is a message of exactly 256 bytes of text.
func text256(tag string, i int) *protocol.MessageBody {
	s := fmt.Sprintf("%s %08d ", tag, i)
	return &protocol.MessageBody{Text: s + strings.Repeat("x", 256-len(s))}
}

// signMessages signs n 256-byte messages, message i by keyOf(i), on every
// core.
func signMessages(gid protocol.GroupID, keyOf func(i int) *protocol.Key, tag string, n int) []*protocol.SignedSubmission {
	out := make([]*protocol.SignedSubmission, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				out[i] = mustSign(keyOf(i), gid, text256(tag, i))
			}
		}()
	}
	wg.Wait()
	return out
}

// countStored counts how many of subs the node stores in gid between seqs
// from and to (inclusive), reading its log like a client would.
func countStored(m *member, gid protocol.GroupID, from, to uint64, subs []*protocol.SignedSubmission) (int, error) {
	want := make(map[protocol.SubmissionID]bool, len(subs))
	for _, s := range subs {
		want[s.ID] = true
	}
	found := 0
	for seq := from; seq <= to; {
		evs, err := m.node.Events(gid, seq, 1000)
		if err != nil {
			return found, err
		}
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			if ev.Seq != seq {
				return found, fmt.Errorf("node %s: log has seq %d where %d belongs", m.name, ev.Seq, seq)
			}
			if ev.Seq > to {
				return found, nil
			}
			if want[ev.Sub.ID] {
				found++
				delete(want, ev.Sub.ID)
			}
			seq++
		}
	}
	return found, nil
}

// sameLog checks that two nodes hold the same events of gid up to seq to.
func sameLog(x, y *member, gid protocol.GroupID, to uint64) error {
	for seq := uint64(1); seq <= to; {
		ex, err := x.node.Events(gid, seq, 1000)
		if err != nil {
			return err
		}
		ey, err := y.node.Events(gid, seq, 1000)
		if err != nil {
			return err
		}
		if len(ex) == 0 || len(ex) != len(ey) {
			return fmt.Errorf("nodes %s and %s hold %d and %d events from seq %d", x.name, y.name, len(ex), len(ey), seq)
		}
		for i := range ex {
			if ex[i].ID != ey[i].ID {
				return fmt.Errorf("nodes %s and %s differ at seq %d", x.name, y.name, ex[i].Seq)
			}
		}
		seq += uint64(len(ex))
	}
	return nil
}

// ticker prints a progress line every second until stop is called.
func (e *env) ticker(line func() string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintln(e.progress, line())
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
