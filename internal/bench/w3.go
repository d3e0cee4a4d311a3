package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qunchat/qun/protocol"
)

// w3 reads the group's history back at C and has a fresh node D catch up
// with a group of CatchUpEvents events.
func (e *env) w3(ctx context.Context) (r Result) {
	r = Result{Workload: "W3", Title: "history",
		Mode: "nodes in one process; history through C's HTTP API (session of C's member); catch-up over /qun/sync/1.0.0"}
	nw, err := e.network(ctx)
	if err != nil {
		r.Err = err
		return r
	}
	head, _ := nw.c.node.Head(nw.gid)
	if want := uint64(e.cfg.BurstMessages); head < want {
		// W1 did not run: fill the group through the host.
		fmt.Fprintf(e.progress, "W3: filling the group with %d events…\n", want-head)
		subs := signMessages(nw.gid, func(int) *protocol.Key { return nw.a.user }, "w3", int(want-head))
		last, err := e.fill(ctx, nw.a, subs, "W3 fill")
		if err != nil {
			r.Err = err
			return r
		}
		if err := waitHeads(ctx, nw.gid, last, nw.c); err != nil {
			r.Err = err
			return r
		}
		head = last
	}

	// (a) history at C through its light-client API, pages of 1,000.
	fmt.Fprintf(e.progress, "W3: reading %d events at C through its API…\n", head)
	lc, err := signIn(ctx, nw.c.node.APIURL(), nw.c.user)
	if err != nil {
		r.Err = err
		return r
	}
	start := time.Now()
	read, bytes := 0, 0
	for from := uint64(1); from <= head; {
		page, n, err := lc.events(ctx, nw.gid, from, 1000)
		if err != nil {
			r.Err = err
			return r
		}
		if len(page.Events) == 0 {
			r.Err = fmt.Errorf("C has no events from seq %d, head %d", from, head)
			return r
		}
		read += len(page.Events)
		bytes += n
		from = page.Next
	}
	el := time.Since(start)
	r.add("read_events_per_s", float64(read)/el.Seconds(), atLeast(100000))
	r.add("read_s", el.Seconds(), nil)
	r.add("read_mb", float64(bytes)/1e6, nil)

	// (b) a fresh node D joins a group of CatchUpEvents events.
	n := e.cfg.CatchUpEvents
	gid2, err := createGroup(ctx, nw.a, "catch-up")
	if err != nil {
		r.Err = err
		return r
	}
	inv, err := makeInvite(ctx, nw.a, gid2)
	if err != nil {
		r.Err = err
		return r
	}
	fmt.Fprintf(e.progress, "W3: signing and storing %d events on A for the catch-up…\n", n)
	subs := signMessages(gid2, func(int) *protocol.Key { return nw.a.admin }, "w3c", n)
	if _, err := e.fill(ctx, nw.a, subs, "W3 catch-up fill"); err != nil {
		r.Err = err
		return r
	}
	d, err := e.startNode(ctx, "D")
	if err != nil {
		r.Err = err
		return r
	}
	if d.user, err = protocol.NewKey(); err != nil {
		r.Err = err
		return r
	}
	joinS := joinSub(d.user, inv)
	stop := e.ticker(func() string {
		h, _ := d.node.Head(gid2)
		return fmt.Sprintf("W3: D caught up %d/%d", h, n)
	})
	start = time.Now()
	ev, err := submit(ctx, d, joinS)
	if err == nil {
		err = waitHeads(ctx, gid2, ev.Seq, d)
	}
	el = time.Since(start)
	stop()
	if err != nil {
		r.Err = fmt.Errorf("catch-up of D: %w", err)
		return r
	}
	r.add("catchup_events", float64(ev.Seq), nil)
	r.add("catchup_s", el.Seconds(), atMost(10))
	r.add("catchup_events_per_s", float64(ev.Seq)/el.Seconds(), nil)
	got, err := countStored(d, gid2, 1, ev.Seq, subs)
	if err != nil {
		r.Err = err
		return r
	}
	r.add("catchup_lost", float64(n-got), atMost(0))
	r.note("history: %d events read at C with GET /api/v1/groups/{gid}/events in pages of 1,000 (one keep-alive connection, JSON decoded by the reader)", read)
	r.note("catch-up: clock from D's join submission to D holding every event on disk (both signatures of every event verified by D)")
	return r
}

// fill submits subs through m with 16 concurrent senders and returns the
// highest seq acknowledged.
func (e *env) fill(ctx context.Context, m *member, subs []*protocol.SignedSubmission, what string) (uint64, error) {
	var next, done atomic.Int64
	var top atomic.Uint64
	var firstErr atomic.Pointer[error]
	stop := e.ticker(func() string { return fmt.Sprintf("%s: %d/%d", what, done.Load(), len(subs)) })
	defer stop()
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go onNode(ctx, m, func(ctx context.Context) {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(subs) || firstErr.Load() != nil {
					return
				}
				cctx, cancel := context.WithTimeout(ctx, time.Minute)
				ev, err := m.node.Submit(cctx, subs[i].Raw, nil)
				cancel()
				if err != nil {
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				done.Add(1)
				for old := top.Load(); ev.Seq > old && !top.CompareAndSwap(old, ev.Seq); old = top.Load() {
				}
			}
		})
	}
	wg.Wait()
	if p := firstErr.Load(); p != nil {
		return 0, fmt.Errorf("%s: %w", what, *p)
	}
	return top.Load(), nil
}
