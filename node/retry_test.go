package node

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
)

// TestConcurrentRetries: the same signed bytes submitted again and again,
// concurrently with other traffic (so that retries meet the original in
// the same batch, in the batch being stored and after it), through the
// host and through a home node whose verified-ID cache already holds them:
// every answer is the same event and the log holds it once.
func TestConcurrentRetries(t *testing.T) {
	a, b, _, gid, keys := threeNodeGroup(t)
	before, _ := a.Head(gid)
	dup := sign(t, keys[1], gid, text("only once"))
	const others, retries = 300, 20
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	ids := make(chan protocol.EventID, 8*retries)
	errc := make(chan error, 16)
	for s := range 8 {
		n, k := []*testNode{a, b}[s%2], keys[s%2]
		wg.Add(2)
		go func() { // other traffic, so that batches queue up
			defer wg.Done()
			for i := range others / 8 {
				if _, err := n.Submit(ctx, sign(t, k, gid, text(fmt.Sprintf("%d/%d", s, i))).Raw, nil); err != nil {
					errc <- err
					return
				}
			}
		}()
		go func() { // the retries
			defer wg.Done()
			for range retries {
				ev, err := n.Submit(ctx, dup.Raw, nil)
				if err != nil {
					errc <- err
					return
				}
				ids <- ev.ID
			}
		}()
	}
	wg.Wait()
	close(errc)
	close(ids)
	for err := range errc {
		t.Fatal(err)
	}
	var first protocol.EventID
	for id := range ids {
		if first == (protocol.EventID{}) {
			first = id
		} else if id != first {
			t.Fatal("two different events for the same submission")
		}
	}
	want := before + others/8*8 + 1
	if head, _ := a.Head(gid); head != want {
		t.Fatalf("head %d, want %d: a retry was stored twice or a message lost", head, want)
	}
	waitHead(t, 30*time.Second, gid, want, a, b)
	sameLogs(t, gid, want, a, b)
}

// TestForwardBurst: hundreds of submissions forwarded at once by one home
// node all succeed: the home node bounds its concurrent forwards and the
// host's resource manager accepts that many streams from one peer (the
// default per-peer service limit of 128 used to reset them).
func TestForwardBurst(t *testing.T) {
	a, b, _, gid, keys := threeNodeGroup(t)
	before, _ := a.Head(gid)
	const n = 400
	subs := make([]*protocol.SignedSubmission, n)
	for i := range subs {
		subs[i] = sign(t, keys[1], gid, text(fmt.Sprintf("burst %d", i)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for _, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := b.Submit(ctx, s.Raw, nil); err != nil {
				errc <- err
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	waitHead(t, 30*time.Second, gid, before+n, a, b)
}
