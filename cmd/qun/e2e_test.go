package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
)

// e2eGroup starts host a and replicas b and c as processes, creates a group
// on a and has a member on each of b and c join it.
func e2eGroup(t *testing.T) (a, b, c *proc, gid protocol.GroupID, clients []*client.Client) {
	t.Helper()
	a, b, c = startProc(t, t.TempDir()), startProc(t, t.TempDir()), startProc(t, t.TempDir())
	ctx := context.Background()
	ca := a.client(t, a.adminKey(t))
	info, err := ca.Node(ctx)
	if err != nil {
		t.Fatal(err)
	}
	host, err := protocol.ParseUserID(info.PeerID)
	if err != nil {
		t.Fatal(err)
	}
	name, policy := "e2e", protocol.PolicyInvite
	gid, _, err = ca.CreateGroup(ctx, host, protocol.Settings{Name: &name, Policy: &policy})
	if err != nil {
		t.Fatal(err)
	}
	inv, _, err := ca.CreateInvite(ctx, gid, 0, time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	cb, cc := b.client(t, newKey(t)), c.client(t, newKey(t))
	for _, cl := range []*client.Client{cb, cc} {
		if _, err := cl.Join(ctx, inv.Token()); err != nil {
			t.Fatal(err)
		}
	}
	return a, b, c, gid, []*client.Client{ca, cb, cc}
}

// TestE2EBurst20k: a 20,000-message burst from 16 concurrent senders on
// three node processes ends complete and identical on every replica.
func TestE2EBurst20k(t *testing.T) {
	if testing.Short() {
		t.Skip("the 20,000-message burst is skipped in -short mode")
	}
	a, b, c, gid, clients := e2eGroup(t)
	ctx := context.Background()
	g, err := clients[0].Group(ctx, gid)
	if err != nil {
		t.Fatal(err)
	}
	const total, senders = 20000, 16
	start := time.Now()
	var wg sync.WaitGroup
	var top atomic.Uint64
	errc := make(chan error, senders)
	for s := range senders {
		cl := clients[s%len(clients)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range total / senders {
				resp, err := cl.Send(ctx, gid, protocol.MessageBody{Text: fmt.Sprintf("%03d/%05d %0200d", s, i, 0)})
				if err != nil {
					errc <- fmt.Errorf("sender %d message %d: %w", s, i, err)
					return
				}
				for {
					old := top.Load()
					if resp.Seq <= old || top.CompareAndSwap(old, resp.Seq) {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	acked := time.Since(start)
	last := g.Head + total
	if top.Load() != last {
		t.Fatalf("last acknowledged seq %d, want %d", top.Load(), last)
	}
	waitHeads(t, 2*time.Minute, gid, last, a, b, c)
	t.Logf("20,000 acknowledged in %s (%.0f/s); complete on all three after %s",
		acked.Round(time.Millisecond), total/acked.Seconds(), time.Since(start).Round(time.Millisecond))
	sameLogs(t, gid, last, a, b, c)
}

// TestE2EHostKilled: the host is killed (SIGKILL) while clients send in a
// loop through another node; after the host restarts every acknowledged
// message is there exactly once and retries create no duplicates.
func TestE2EHostKilled(t *testing.T) {
	a, b, _, gid, clients := e2eGroup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := startSenders(ctx, clients[1], gid, 4, 150)
	waitFor(t, ctx, "150 acknowledgements before the kill", func() bool { return s.acked.Load() >= 150 })
	a.kill()
	waitFor(t, ctx, "clients to see the host down", func() bool { return s.failures.Load() >= 8 })
	a.restart()
	s.wait(t)
	if s.failures.Load() == 0 {
		t.Fatal("no submission failed while the host was down: the test proved nothing")
	}
	head, err := a.client(t, a.adminKey(t)).Group(ctx, gid) // a new API port after the restart
	if err != nil {
		t.Fatal(err)
	}
	waitHeads(t, time.Minute, gid, head.Head, a, b)
	s.checkExactlyOnce(t, sameLogs(t, gid, head.Head, a, b))
	t.Logf("%d messages, %d failed attempts while the host was down, all exactly once", len(s.acks), s.failures.Load())
}

func decodeRaw(b64 string) (*protocol.SignedEvent, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, err
	}
	return protocol.DecodeEvent(raw)
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(t testing.TB, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(10 * time.Millisecond): // poll interval of a bounded wait
		}
	}
}
