package storage

import "testing"

// BenchmarkAppendBatch: 512 events of ~600 B per Commit (what a node's
// sequencer or replica loop commits under a burst), with fsync.
func BenchmarkAppendBatch(b *testing.B) {
	const batch = 512
	s := openT(b, b.TempDir())
	defer s.Close()
	g := gid(1)
	events := evs(g, 1, uint64(b.N*batch), 600)
	b.SetBytes(600 * batch)
	b.ResetTimer()
	for i := range b.N {
		if err := s.Commit(Batch{Group: g, Events: events[i*batch : (i+1)*batch]}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkRangeReverse: the newest 100 events of a 10,000-event log (the
// light client's first history page).
func BenchmarkRangeReverse(b *testing.B) {
	s := openT(b, b.TempDir(), WithoutSync())
	defer s.Close()
	g := gid(1)
	const n = 10000
	for from := uint64(1); from <= n; from += 1000 {
		mustCommit(b, s, Batch{Group: g, Events: evs(g, from, from+999, 600)})
	}
	b.ResetTimer()
	for range b.N {
		r, err := s.RangeReverse(g, 0, 100)
		if err != nil || len(r) != 100 {
			b.Fatalf("RangeReverse: %d, %v", len(r), err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)*100/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkLookupSubmission: the host's exactly-once check per submission.
func BenchmarkLookupSubmission(b *testing.B) {
	s := openT(b, b.TempDir(), WithoutSync())
	defer s.Close()
	g := gid(1)
	rs := evs(g, 1, 1000, 600)
	mustCommit(b, s, Batch{Group: g, Events: rs})
	b.ResetTimer()
	for i := range b.N {
		if _, ok, err := s.LookupSubmission(g, rs[i%len(rs)].SubmissionID); err != nil || !ok {
			b.Fatalf("LookupSubmission: %v %v", ok, err)
		}
	}
}
