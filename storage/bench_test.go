package storage

import (
	badger "github.com/dgraph-io/badger/v4"
	"sync"
	"testing"
	"time"
)

// BenchmarkAppend: one event of ~600 B per Commit, one goroutine, with fsync.
func BenchmarkAppend(b *testing.B) {
	s := openT(b, b.TempDir())
	defer s.Close()
	g := gid(1)
	events := evs(g, 1, uint64(b.N), 600)
	syncs0 := s.statSyncs.Load()
	b.SetBytes(600)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if err := s.Commit(Batch{Group: g, Events: events[i : i+1]}); err != nil {
			b.Fatal(err)
		}
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "commits/s")
	b.ReportMetric(float64(s.statSyncs.Load()-syncs0)/float64(b.N), "fsyncs/commit")
}

// BenchmarkAppendParallel: 16 goroutines, each committing one ~600 B event per call to
// its own group, with fsync. fsyncs/commit < 1 shows the group commit.
func BenchmarkAppendParallel(b *testing.B) {
	const workers = 16
	s := openT(b, b.TempDir())
	defer s.Close()
	per := (b.N + workers - 1) / workers
	all := make([][]Record, workers)
	for w := range workers {
		all[w] = evs(gid(byte(w)), 1, uint64(per), 600)
	}
	syncs0, calls0 := s.statSyncs.Load(), s.statCalls.Load()
	b.SetBytes(600)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := gid(byte(w))
			for i := range per {
				if err := s.Commit(Batch{Group: g, Events: all[w][i : i+1]}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	calls := s.statCalls.Load() - calls0
	b.ReportMetric(float64(calls)/el.Seconds(), "commits/s")
	b.ReportMetric(float64(s.statSyncs.Load()-syncs0)/float64(calls), "fsyncs/commit")
}

// BenchmarkRange: read 1,000 events of ~600 B with one Range call.
func BenchmarkRange(b *testing.B) {
	s := openT(b, b.TempDir(), WithoutSync())
	defer s.Close()
	g := gid(1)
	const n = 1000
	mustCommit(b, s, Batch{Group: g, Events: evs(g, 1, n, 600)})
	b.SetBytes(n * 600)
	b.ResetTimer()
	for range b.N {
		r, err := s.Range(g, 1, n, 1<<30)
		if err != nil || len(r) != n {
			b.Fatalf("Range: %d, %v", len(r), err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkBadgerSyncWritesParallel is the baseline the committer replaces: plain Badger
// with SyncWrites, 16 goroutines each writing one ~600 B event per transaction (no
// continuity or duplicate checks). Compare its commits/s with BenchmarkAppendParallel.
func BenchmarkBadgerSyncWritesParallel(b *testing.B) {
	const workers = 16
	db, err := badger.Open(badger.DefaultOptions(b.TempDir()).WithLogger(nil).WithSyncWrites(true).
		WithMemTableSize(memTableSize).WithNumMemtables(numMemtables).WithDetectConflicts(false))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	per := (b.N + workers - 1) / workers
	b.SetBytes(600)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := gid(byte(w))
			for i := range per {
				e := ev(g, uint64(i+1), 600)
				err := db.Update(func(txn *badger.Txn) error {
					if err := txn.Set(logKey(g, e.Seq), encodeLogValue(&e)); err != nil {
						return err
					}
					if err := txn.Set(eventKey(e.ID), be64(append([]byte(nil), g[:]...), e.Seq)); err != nil {
						return err
					}
					return txn.Set(subKey(g, e.SubmissionID), be64(nil, e.Seq))
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(per*workers)/el.Seconds(), "commits/s")
}
