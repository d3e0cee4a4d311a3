package storage

import (
	"errors"
	"testing"
)

// TestBase starts a group's log after a checkpoint: reads never reach below
// the base, which is not damage, the base survives a reopen (with and
// without the witness's start-up check) and a deletion, and it is refused
// for a group that already holds something.
func TestBase(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	g, other := gid(1), gid(2)
	base := ev(g, 500, 0)
	mustCommit(t, s, Batch{Group: g, Base: &Base{Seq: 500, ID: base.ID}, Snapshot: &Snapshot{Seq: 500, Data: []byte("state")}})
	check := func(s *Store, head uint64) {
		t.Helper()
		if head == 500 {
			if seq, id, err := s.Head(g); err != nil || seq != 500 || id != base.ID {
				t.Fatalf("Head = %d %x %v, want the base", seq, id[:4], err)
			}
		} else {
			wantHead(t, s, g, head)
		}
		if seq, id, err := s.Base(g); err != nil || seq != 500 || id != base.ID {
			t.Fatalf("Base = %d %x %v", seq, id[:4], err)
		}
		for _, seq := range []uint64{1, 499, 500} {
			if _, err := s.Event(g, seq); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrCorrupt) {
				t.Fatalf("Event(%d) below the base: %v, want not found", seq, err)
			}
		}
		recs, err := s.Range(g, 1, 0, 0)
		if err != nil {
			t.Fatalf("Range from 1: %v", err)
		}
		var up, down []uint64
		if head > 500 {
			up, down = seqRange(501, head), seqRange(head, 501)
		}
		checkRecords(t, g, recs, up, 20)
		rev, err := s.RangeReverse(g, 0, 0)
		if err != nil {
			t.Fatalf("RangeReverse: %v", err)
		}
		checkRecords(t, g, rev, down, 20)
		if head == 500 {
			if rev, err := s.RangeReverse(g, 0, 10); err != nil || len(rev) != 0 {
				t.Fatalf("RangeReverse of a base-only log = %d records, %v", len(rev), err)
			}
		}
		if d := s.Damage(); len(d) != 0 {
			t.Fatalf("a base is taken for damage: %+v", d)
		}
		gs, _ := s.Groups()
		if len(gs) == 0 || gs[0] != g {
			t.Fatalf("Groups = %x, want the based group", gs)
		}
	}
	check(s, 500)
	s.Close()
	s = openT(t, dir) // a base-only group through the start-up check
	check(s, 500)

	if err := s.Commit(Batch{Group: g, Events: evs(g, 1, 1, 20)}); !errors.Is(err, ErrGap) {
		t.Fatalf("event 1 after a base at 500: %v, want a gap", err)
	}
	mustCommit(t, s, Batch{Group: g, Events: evs(g, 501, 510, 20)})
	check(s, 510)
	if err := s.Commit(Batch{Group: g, Base: &Base{Seq: 700, ID: ev(g, 700, 0).ID}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a second base: %v, want invalid", err)
	}
	mustCommit(t, s, Batch{Group: other, Events: evs(other, 1, 2, 20)})
	if err := s.Commit(Batch{Group: other, Base: &Base{Seq: 9}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a base under events: %v, want invalid", err)
	}
	if err := s.Commit(Batch{Group: gid(3), Base: &Base{Seq: 0}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a base at seq 0: %v, want invalid", err)
	}
	s.Close()
	s = openT(t, dir)
	defer s.Close()
	check(s, 510)
	wantHead(t, s, other, 2)

	if err := s.DeleteGroup(g); err != nil {
		t.Fatal(err)
	}
	if seq, _, _ := s.Base(g); seq != 0 {
		t.Fatalf("base survives the deletion: %d", seq)
	}
	if keys, _ := s.prefixKeys([]byte{prefixBase}, nil); len(keys) != 0 {
		t.Fatalf("%d base keys after the deletion", len(keys))
	}
	mustCommit(t, s, Batch{Group: g, Events: evs(g, 1, 2, 20)}) // starts again at 1
	wantHead(t, s, g, 2)
}
