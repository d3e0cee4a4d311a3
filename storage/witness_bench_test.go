package storage

import (
	"sync"
	"testing"
	"time"
)

// BenchmarkAppendWitnessSync is BenchmarkAppend with an fdatasync of the head witness after
// every merged write: what a power-loss-proof witness would cost (the store does not do it;
// see witness.go).
func BenchmarkAppendWitnessSync(b *testing.B) {
	s := openT(b, b.TempDir(), withWitnessSync())
	defer s.Close()
	g := gid(1)
	events := evs(g, 1, uint64(b.N), 600)
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
}

// BenchmarkAppendParallelWitnessSync is BenchmarkAppendParallel with the witness fsynced.
func BenchmarkAppendParallelWitnessSync(b *testing.B) {
	const workers = 16
	s := openT(b, b.TempDir(), withWitnessSync())
	defer s.Close()
	per := (b.N + workers - 1) / workers
	all := make([][]Record, workers)
	for w := range workers {
		all[w] = evs(gid(byte(w)), 1, uint64(per), 600)
	}
	calls0 := s.statCalls.Load()
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
	b.ReportMetric(float64(s.statCalls.Load()-calls0)/el.Seconds(), "commits/s")
}

// BenchmarkOpenWitnessCheck: Open of a store with 20,000 groups (one event each), which
// compares every group's head with the witness.
func BenchmarkOpenWitnessCheck(b *testing.B) {
	const groups = 20000
	dir := b.TempDir()
	s := openT(b, dir, WithoutSync())
	var batch []Batch
	for i := range groups {
		var g GroupID
		g[0], g[1], g[31] = byte(i>>8), byte(i), 0xee
		batch = append(batch, Batch{Group: g, Events: []Record{ev(g, 1, 100)}})
		if len(batch) == 1000 {
			mustCommit(b, s, batch...)
			batch = nil
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		s := openT(b, dir)
		if d := s.Damage(); len(d) != 0 {
			b.Fatalf("damage: %v", d[0].Reason)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/open")
}
