package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qunchat/qun/protocol"
)

// w2 sends at PacedRate for PacedFor through A, B and C in turn (open
// loop) and measures when each event is on disk at C.
func (e *env) w2(ctx context.Context) (r Result) {
	r = Result{Workload: "W2", Title: "paced",
		Mode: "3 nodes in one process, libp2p over loopback TCP, fsync on; driven through node.Submit"}
	nw, err := e.network(ctx)
	if err != nil {
		r.Err = err
		return r
	}
	total := int(float64(e.cfg.PacedRate) * e.cfg.PacedFor.Seconds())
	interval := time.Second / time.Duration(e.cfg.PacedRate)
	users := []*protocol.Key{nw.a.user, nw.b.user, nw.c.user}
	fmt.Fprintf(e.progress, "W2: signing %d submissions…\n", total)
	subs := signMessages(nw.gid, func(i int) *protocol.Key { return users[i%3] }, "w2", total)
	before, err := nw.c.node.Head(nw.gid)
	if err != nil {
		r.Err = err
		return r
	}

	// C's watcher records when each seq is on disk at C.
	wctx, cancelWatch := context.WithCancel(ctx)
	var stored sync.Map // seq → time.Time
	var watched sync.WaitGroup
	watched.Add(1)
	go func() {
		defer watched.Done()
		next := before + 1
		for {
			if err := nw.c.node.WaitHead(wctx, nw.gid, next); err != nil {
				return
			}
			now := time.Now()
			h, _ := nw.c.node.Head(nw.gid)
			for ; next <= h; next++ {
				stored.Store(next, now)
			}
		}
	}()

	cpu0 := processCPU()
	cpu, cpuErr := startCPU()
	scheduled := make([]time.Time, total)
	seqs := make([]uint64, total)
	var sent, acked, failed atomic.Int64
	var firstErr atomic.Pointer[error]
	stop := e.ticker(func() string {
		h, _ := nw.c.node.Head(nw.gid)
		return fmt.Sprintf("W2: %d/%d sent, %d acknowledged, %d stored at C", sent.Load(), total, acked.Load(), h-before)
	})
	start := time.Now()
	var wg sync.WaitGroup
	for i := range total {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		scheduled[i] = at
		m := nw.all[i%3]
		sent.Add(1)
		wg.Add(1)
		go onNode(ctx, m, func(ctx context.Context) {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			ev, err := m.node.Submit(cctx, subs[i].Raw, nil)
			if err != nil {
				failed.Add(1)
				err = fmt.Errorf("submitting through %s: %w", m.name, err)
				firstErr.CompareAndSwap(nil, &err)
				return
			}
			seqs[i] = ev.Seq
			acked.Add(1)
		})
	}
	wg.Wait()
	var last uint64
	for _, s := range seqs {
		last = max(last, s)
	}
	werr := waitHeads(ctx, nw.gid, last, nw.c)
	elapsed := time.Since(start)
	stop()
	var perNode map[string]time.Duration
	if cpu != nil {
		perNode, cpuErr = cpu.stop("node")
	}
	totalCPU := processCPU() - cpu0
	cancelWatch()
	watched.Wait()
	if werr != nil {
		r.Err = werr
		return r
	}

	var lat []time.Duration
	for i, seq := range seqs {
		if seq == 0 {
			continue
		}
		if t, ok := stored.Load(seq); ok {
			lat = append(lat, t.(time.Time).Sub(scheduled[i]))
		}
	}
	got, err := countStored(nw.c, nw.gid, before+1, last, subs)
	if err != nil {
		r.Err = err
		return r
	}
	r.add("sent_per_s", float64(sent.Load())/elapsed.Seconds(), nil)
	r.add("p50_ms", ms(percentile(lat, 50)), atMost(4))
	r.add("p99_ms", ms(percentile(lat, 99)), atMost(10))
	r.add("max_ms", ms(percentile(lat, 100)), nil)
	r.add("failed", float64(failed.Load()), atMost(0))
	r.add("lost", float64(total-got), atMost(0))
	k := float64(total) / 1000
	if perNode != nil {
		for _, name := range []string{"A", "B", "C"} {
			r.add("cpu_s_per_1000_"+strings.ToLower(name), perNode[name].Seconds()/k, nil)
		}
		r.add("cpu_s_per_1000_unlabeled", perNode[""].Seconds()/k, nil)
	} else if cpuErr != nil {
		r.note("per-node CPU left out: %v", cpuErr)
	}
	r.add("cpu_s_per_1000_process", totalCPU.Seconds()/k, nil)
	r.note("%d submissions at %d/s for %s, through A, B and C in turn; latency from the scheduled send time to the event on disk at C", total, e.cfg.PacedRate, e.cfg.PacedFor)
	r.note("per-node CPU from a CPU profile with one pprof label per node; unlabeled is the Go runtime's own workers (GC) and the driver")
	if p := firstErr.Load(); p != nil {
		r.note("first error: %v", *p)
	}
	return r
}
