package node

import (
	"context"
	"errors"
	"testing"
	"time"

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
