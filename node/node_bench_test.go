package node

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
)

// Benchmarks of the submit path on real nodes (loopback TCP, fsync on).
// `qun bench` measures the whole network (BENCHMARKS.md); these isolate
// one path each. Run with: go test -run x -bench . ./node/

// benchSubmit sends b.N pre-signed 256-byte messages through n with 16
// concurrent senders and reports acknowledged submissions per second.
func benchSubmit(b *testing.B, n *testNode, k *protocol.Key, gid protocol.GroupID) {
	const senders = 16
	subs := make([]*protocol.SignedSubmission, b.N)
	for i := range subs {
		subs[i] = sign(b, k, gid, text(strings.Repeat("x", 256)))
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(subs) {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				_, err := n.Submit(ctx, subs[i].Raw, nil)
				cancel()
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "acks/s")
}

// BenchmarkSubmitHost: submissions sequenced by the node they are handed
// to (verify, check, sign, group commit, publish).
func BenchmarkSubmitHost(b *testing.B) {
	a := startNode(b, "")
	gid := createGroup(b, a, "bench", protocol.PolicyInvite)
	benchSubmit(b, a, a.admin, gid)
}

// BenchmarkSubmitForwarded: submissions handed to a member's home node,
// forwarded to the host over /qun/submit/1.0.0 and stored on both.
func BenchmarkSubmitForwarded(b *testing.B) {
	a, bn := startNode(b, ""), startNode(b, "")
	gid := createGroup(b, a, "bench", protocol.PolicyInvite)
	inv := invite(b, a, a.admin, gid, a, 0, time.Hour)
	bob := newKey(b)
	join(b, bn, bob, inv)
	benchSubmit(b, bn, bob, gid)
}
