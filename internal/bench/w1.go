package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qunchat/qun/protocol"
)

// w1 is the burst: BurstMessages submissions from BurstSenders senders
// spread over A, B and C, each sending as soon as its previous submission
// was acknowledged.
func (e *env) w1(ctx context.Context) (r Result) {
	r = Result{Workload: "W1", Title: "burst",
		Mode: "3 nodes in one process, libp2p over loopback TCP, fsync on; driven through node.Submit"}
	nw, err := e.network(ctx)
	if err != nil {
		r.Err = err
		return r
	}
	total, senders := e.cfg.BurstMessages, e.cfg.BurstSenders
	fmt.Fprintf(e.progress, "W1: signing %d submissions…\n", total)
	users := []*protocol.Key{nw.a.user, nw.b.user, nw.c.user}
	// Message i is sent by sender i%senders, through node (i%senders)%3, as
	// that node's member.
	subs := signMessages(nw.gid, func(i int) *protocol.Key { return users[(i%senders)%3] }, "w1", total)
	perSender := make([][]*protocol.SignedSubmission, senders)
	for i, s := range subs {
		perSender[i%senders] = append(perSender[i%senders], s)
	}
	before, err := nw.a.node.Head(nw.gid)
	if err != nil {
		r.Err = err
		return r
	}

	var acked atomic.Int64
	latencies := make([][]time.Duration, senders)
	var top atomic.Uint64
	var failed atomic.Int64
	var firstErr error
	var errOnce sync.Once
	stop := e.ticker(func() string {
		hb, _ := nw.b.node.Head(nw.gid)
		hc, _ := nw.c.node.Head(nw.gid)
		return fmt.Sprintf("W1: %d/%d acknowledged; stored on B %d, C %d", acked.Load(), total,
			hb-min(hb, before), hc-min(hc, before))
	})
	cpu0 := processCPU()
	start := time.Now()
	var wg sync.WaitGroup
	for s := range senders {
		m := nw.all[s%3]
		wg.Add(1)
		go func() {
			defer wg.Done()
			onNode(ctx, m, func(ctx context.Context) {
				for _, sub := range perSender[s] {
					t0 := time.Now()
					cctx, cancel := context.WithTimeout(ctx, time.Minute)
					ev, err := m.node.Submit(cctx, sub.Raw, nil)
					cancel()
					if err != nil {
						failed.Add(1)
						errOnce.Do(func() { firstErr = fmt.Errorf("submitting through %s: %w", m.name, err) })
						continue
					}
					latencies[s] = append(latencies[s], time.Since(t0))
					acked.Add(1)
					for old := top.Load(); ev.Seq > old && !top.CompareAndSwap(old, ev.Seq); old = top.Load() {
					}
				}
			})
		}()
	}
	wg.Wait()
	ackedAt := time.Since(start)
	last := top.Load()
	werr := waitHeads(ctx, nw.gid, last, nw.b, nw.c)
	complete := time.Since(start)
	cpu := processCPU() - cpu0
	stop()
	if werr != nil {
		r.Err = werr
		return r
	}

	n := float64(acked.Load())
	r.add("acked_per_s", n/ackedAt.Seconds(), atLeast(5000))
	r.add("acked_s", ackedAt.Seconds(), nil)
	r.add("complete_s", complete.Seconds(), nil)
	r.add("complete_after_ack_s", (complete - ackedAt).Seconds(), atMost(1))
	all := slices.Concat(latencies...)
	r.add("ack_p50_ms", ms(percentile(all, 50)), nil)
	r.add("ack_p99_ms", ms(percentile(all, 99)), nil)
	for i, m := range nw.all {
		var via []time.Duration
		for s := i; s < senders; s += 3 {
			via = append(via, latencies[s]...)
		}
		r.add("ack_p50_ms_via_"+strings.ToLower(m.name), ms(percentile(via, 50)), nil)
	}
	r.add("cpu_s_per_1000", cpu.Seconds()/(n/1000), nil)
	r.add("failed", float64(failed.Load()), atMost(0))
	lost := 0
	for _, m := range []*member{nw.a, nw.b, nw.c} {
		got, err := countStored(m, nw.gid, before+1, last, subs)
		if err != nil {
			r.Err = err
			return r
		}
		lost = max(lost, total-got)
	}
	r.add("lost", float64(lost), atMost(0))
	for _, m := range []*member{nw.b, nw.c} {
		if err := sameLog(nw.a, m, nw.gid, last); err != nil {
			r.Err = err
			return r
		}
	}
	r.note("%d submissions of 256-byte text from %d senders through A, B and C (members a, b, c; rate limit off); signed before the clock starts", total, senders)
	r.note("lost counts submissions missing from the log of A, B or C (logs read back and compared with A's); failed counts submissions that got an error")
	if firstErr != nil {
		r.note("first error: %v", firstErr)
	}
	return r
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// percentile returns the p-th percentile of ds (sorting it).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(float64(len(ds)-1) * p / 100)
	return ds[i]
}
