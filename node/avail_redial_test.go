package node

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"

	"github.com/qunchat/qun/protocol"
)

// TestHostBackAfterOutage: a host down for a second and back on the same
// address serves its members' home nodes again within 2 s of answering,
// although their failed dials put it in libp2p's dial backoff (5 s or more).
func TestHostBackAfterOutage(t *testing.T) {
	a, b := startNode(t, ""), startNode(t, "")
	gid := createGroup(t, a, "outage", protocol.PolicyInvite)
	inv := invite(t, a, a.admin, gid, a, 0, time.Hour)
	bob := newKey(t)
	join(t, b, bob, inv)
	mustSubmit(t, b, bob, gid, text("before"))
	addr := a.Host().Addrs()[0]
	adir := a.dir
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	// While the host is down, bob keeps trying: every try fails.
	holdsFor(t, time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		if _, err := b.Submit(ctx, sign(t, bob, gid, text("while down")).Raw, nil); err == nil {
			return errors.New("a submission succeeded while the host was down")
		}
		return nil
	})

	startNode(t, adir, func(c *Config) { c.ListenAddrs = []string{addr.String()} })
	back := time.Now()
	var lastErr error
	served := pollUntil(8*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := b.Submit(ctx, sign(t, bob, gid, text("after")).Raw, nil)
		if err != nil {
			lastErr = err
		}
		return err == nil
	})
	if !served {
		t.Fatalf("the home node still fails 8 s after the host came back: %v", lastErr)
	}
	took := time.Since(back)
	t.Logf("served again %v after the host came back (last error before: %v)", took.Round(time.Millisecond), lastErr)
	if took > 2*time.Second {
		t.Fatalf("served again only %v after the host came back, want <= 2 s", took)
	}
}

// TestRequestWaitsOutBackoff: a submission that finds the host under the
// swarm's dial backoff, set by another request moments before while the
// host was away, waits for the redial gate once instead of failing (seen
// as a failed first submission after a host restart).
func TestRequestWaitsOutBackoff(t *testing.T) {
	a, b := startNode(t, ""), startNode(t, "")
	gid := createGroup(t, a, "shop", protocol.PolicyInvite)
	bob := newKey(t)
	join(t, b, bob, invite(t, a, a.admin, gid, a, 0, 0))
	// As if b's sync had just dialed a while it was down: backoff on every
	// address of a, and the gate used.
	_ = b.Host().Network().ClosePeer(a.PeerID())
	waitFor(t, 5*time.Second, "b to be disconnected from a", func() bool {
		return b.Host().Network().Connectedness(a.PeerID()) != network.Connected
	})
	sw := b.Host().Network().(*swarm.Swarm)
	for _, addr := range a.Host().Addrs() {
		sw.Backoff().AddBackoff(a.PeerID(), addr)
	}
	b.redials.allow(a.PeerID(), time.Now())
	if _, err := submit(t, b, bob, gid, text("first after the outage")); err != nil {
		t.Fatalf("submission under a backoff: %v", err)
	}
}
