package storage

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

func quiet() Option { return WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))) }

func openT(t testing.TB, dir string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(dir, append([]Option{quiet()}, opts...)...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func gid(n byte) GroupID {
	var g GroupID
	g[0], g[31] = n, 0xa0+n
	return g
}

func hash(parts ...any) [32]byte {
	return sha256.Sum256(fmt.Append(nil, parts...))
}

// ev builds a deterministic event; size is the data length (at least 16).
func ev(g GroupID, seq uint64, size int) Record {
	data := make([]byte, max(size, 16))
	copy(data, g[:4])
	binary.BigEndian.PutUint64(data[4:], seq)
	for i := 12; i < len(data); i++ {
		data[i] = byte(i) ^ byte(seq)
	}
	return Record{Seq: seq, ID: hash("id", g, seq), SubmissionID: hash("sub", g, seq), Data: data}
}

func evs(g GroupID, from, to uint64, size int) []Record {
	var out []Record
	for seq := from; seq <= to; seq++ {
		out = append(out, ev(g, seq, size))
	}
	return out
}

func mustCommit(t testing.TB, s *Store, bs ...Batch) {
	t.Helper()
	if err := s.Commit(bs...); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func wantHead(t testing.TB, s *Store, g GroupID, want uint64) {
	t.Helper()
	seq, id, err := s.Head(g)
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	if seq != want {
		t.Fatalf("Head(%x) = %d, want %d", g[:1], seq, want)
	}
	wantID := [32]byte{}
	if want > 0 {
		wantID = ev(g, want, 0).ID
	}
	if id != wantID {
		t.Fatalf("Head(%x) id = %x, want %x", g[:1], id[:4], wantID[:4])
	}
}

func checkRecords(t testing.TB, g GroupID, got []Record, seqs []uint64, size int) {
	t.Helper()
	if len(got) != len(seqs) {
		t.Fatalf("got %d records, want %d", len(got), len(seqs))
	}
	for i, r := range got {
		w := ev(g, seqs[i], size)
		if r.Seq != w.Seq || r.ID != w.ID || r.SubmissionID != w.SubmissionID || !bytes.Equal(r.Data, w.Data) {
			t.Fatalf("record %d = seq %d, want seq %d (or content differs)", i, r.Seq, w.Seq)
		}
	}
}

func seqRange(from, to uint64) []uint64 {
	var out []uint64
	if from <= to {
		for s := from; s <= to; s++ {
			out = append(out, s)
		}
	} else {
		for s := from; s >= to; s-- {
			out = append(out, s)
		}
	}
	return out
}

func TestRoundTripAndReopen(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	a, b, c := gid(1), gid(2), gid(3)
	const size = 100

	wantHead(t, s, a, 0)
	mustCommit(t, s, Batch{Group: a, Events: evs(a, 1, 3, size)})
	mustCommit(t, s,
		Batch{Group: a, Events: evs(a, 4, 5, size)},
		Batch{Group: b, Events: evs(b, 1, 2, size), Snapshot: &Snapshot{Seq: 2, Data: []byte("state-b-2")}},
		Batch{Group: a, Events: evs(a, 6, 10, size), Snapshot: &Snapshot{Seq: 8, Data: []byte("state-a-8")}},
	)
	if err := s.SetMeta(NodeScope, "node-wide", []byte("not a group")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMeta(a, "name", []byte("shop")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMeta(a, "gone", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMeta(a, "gone", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMeta(c, "empty", []byte{}); err != nil { // c: meta only
		t.Fatal(err)
	}
	if err := s.SetCursor("alice", a, 7); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCursor("alice", a, 9); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCursor("bob", b, 1); err != nil {
		t.Fatal(err)
	}

	check := func(s *Store) {
		t.Helper()
		wantHead(t, s, a, 10)
		wantHead(t, s, b, 2)
		wantHead(t, s, c, 0)
		for seq := uint64(1); seq <= 10; seq++ {
			d, err := s.Event(a, seq)
			if err != nil || !bytes.Equal(d, ev(a, seq, size).Data) {
				t.Fatalf("Event(a, %d) = %v", seq, err)
			}
		}
		for _, seq := range []uint64{0, 11, 1000} {
			if _, err := s.Event(a, seq); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Event(a, %d) err = %v, want ErrNotFound", seq, err)
			}
		}
		if _, err := s.Event(c, 1); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Event(c, 1) err = %v", err)
		}

		r, err := s.Range(a, 0, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		checkRecords(t, a, r, seqRange(1, 10), size)
		r, _ = s.Range(a, 4, 3, 0)
		checkRecords(t, a, r, seqRange(4, 6), size)
		r, _ = s.Range(a, 9, 100, 0)
		checkRecords(t, a, r, seqRange(9, 10), size)
		r, _ = s.Range(a, 2, 100, 3*size+10) // bytes: 3 fit, the 4th would exceed
		checkRecords(t, a, r, seqRange(2, 4), size)
		r, _ = s.Range(a, 2, 100, 3*size) // exactly 3
		checkRecords(t, a, r, seqRange(2, 4), size)
		r, _ = s.Range(a, 2, 100, 1) // always at least one
		checkRecords(t, a, r, seqRange(2, 2), size)
		if r, err = s.Range(a, 11, 10, 0); err != nil || len(r) != 0 {
			t.Fatalf("Range past head = %d, %v", len(r), err)
		}
		if r, err = s.Range(c, 1, 10, 0); err != nil || len(r) != 0 {
			t.Fatalf("Range empty group = %d, %v", len(r), err)
		}

		r, _ = s.RangeReverse(a, 0, 3)
		checkRecords(t, a, r, seqRange(10, 8), size)
		r, _ = s.RangeReverse(a, 5, 0)
		checkRecords(t, a, r, seqRange(4, 1), size)
		r, _ = s.RangeReverse(a, 100, 2)
		checkRecords(t, a, r, seqRange(10, 9), size)
		if r, err = s.RangeReverse(a, 1, 10); err != nil || len(r) != 0 {
			t.Fatalf("RangeReverse before 1 = %d, %v", len(r), err)
		}
		if r, err = s.RangeReverse(c, 0, 10); err != nil || len(r) != 0 {
			t.Fatalf("RangeReverse empty = %d, %v", len(r), err)
		}

		for seq := uint64(1); seq <= 10; seq++ {
			e := ev(a, seq, size)
			got, ok, err := s.LookupSubmission(a, e.SubmissionID)
			if err != nil || !ok || got != seq {
				t.Fatalf("LookupSubmission(a, %d) = %d, %v, %v", seq, got, ok, err)
			}
			g, got, ok, err := s.LookupEvent(e.ID)
			if err != nil || !ok || got != seq || g != a {
				t.Fatalf("LookupEvent(a, %d) = %x %d, %v, %v", seq, g[:1], got, ok, err)
			}
		}
		if _, ok, err := s.LookupSubmission(b, ev(a, 1, 0).SubmissionID); ok || err != nil {
			t.Fatalf("submission of a found in b: %v %v", ok, err)
		}
		if _, _, ok, err := s.LookupEvent(hash("nope")); ok || err != nil {
			t.Fatalf("LookupEvent(unknown) = %v %v", ok, err)
		}

		sn, ok, err := s.LatestSnapshot(a)
		if err != nil || !ok || sn.Seq != 8 || string(sn.Data) != "state-a-8" {
			t.Fatalf("LatestSnapshot(a) = %+v %v %v", sn, ok, err)
		}
		sn, ok, err = s.LatestSnapshot(b)
		if err != nil || !ok || sn.Seq != 2 || string(sn.Data) != "state-b-2" {
			t.Fatalf("LatestSnapshot(b) = %+v %v %v", sn, ok, err)
		}
		if _, ok, err := s.LatestSnapshot(c); ok || err != nil {
			t.Fatalf("LatestSnapshot(c) = %v %v", ok, err)
		}

		if v, ok, err := s.Meta(a, "name"); err != nil || !ok || string(v) != "shop" {
			t.Fatalf("Meta(name) = %q %v %v", v, ok, err)
		}
		if _, ok, err := s.Meta(a, "gone"); ok || err != nil {
			t.Fatalf("Meta(gone) = %v %v", ok, err)
		}
		if v, ok, err := s.Meta(c, "empty"); err != nil || !ok || v == nil || len(v) != 0 {
			t.Fatalf("Meta(empty) = %v %v %v", v, ok, err)
		}
		if _, ok, err := s.Meta(b, "name"); ok || err != nil {
			t.Fatalf("Meta(b, name) = %v %v", ok, err)
		}

		if v, ok, err := s.Cursor("alice", a); err != nil || !ok || v != 9 {
			t.Fatalf("Cursor(alice, a) = %d %v %v", v, ok, err)
		}
		if v, ok, err := s.Cursor("bob", b); err != nil || !ok || v != 1 {
			t.Fatalf("Cursor(bob, b) = %d %v %v", v, ok, err)
		}
		if _, ok, err := s.Cursor("alice", b); ok || err != nil {
			t.Fatalf("Cursor(alice, b) = %v %v", ok, err)
		}

		gs, err := s.Groups()
		if err != nil {
			t.Fatal(err)
		}
		if len(gs) != 3 || gs[0] != a || gs[1] != b || gs[2] != c { // never NodeScope
			t.Fatalf("Groups = %x", gs)
		}
		if v, ok, err := s.Meta(NodeScope, "node-wide"); err != nil || !ok || string(v) != "not a group" {
			t.Fatalf("Meta(NodeScope) = %q %v %v", v, ok, err)
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir)
	defer s.Close()
	check(s)

	// the log continues after a restart
	mustCommit(t, s, Batch{Group: a, Events: evs(a, 11, 11, size)})
	wantHead(t, s, a, 11)
}

func TestRefusalsStoreNothing(t *testing.T) {
	s := openT(t, t.TempDir())
	defer s.Close()
	a, b := gid(1), gid(2)
	mustCommit(t, s, Batch{Group: a, Events: evs(a, 1, 3, 50), Snapshot: &Snapshot{Seq: 3, Data: []byte("s3")}})

	dupOfA2 := ev(a, 4, 50)
	dupOfA2.SubmissionID = ev(a, 2, 50).SubmissionID
	dupInCall := ev(a, 5, 50)
	dupInCall.SubmissionID = ev(a, 4, 50).SubmissionID

	cases := []struct {
		name    string
		batches []Batch
		want    error
	}{
		{"first seq too high", []Batch{{Group: a, Events: evs(a, 5, 6, 50)}}, ErrGap},
		{"seq already stored", []Batch{{Group: a, Events: evs(a, 3, 4, 50)}}, ErrGap},
		{"new group not at 1", []Batch{{Group: b, Events: evs(b, 2, 2, 50)}}, ErrGap},
		{"seq 0", []Batch{{Group: b, Events: []Record{ev(b, 0, 50)}}}, ErrGap},
		{"not consecutive", []Batch{{Group: a, Events: []Record{ev(a, 4, 50), ev(a, 6, 50)}}}, ErrGap},
		{"second batch does not follow first", []Batch{
			{Group: b, Events: evs(b, 1, 2, 50)},
			{Group: a, Events: evs(a, 4, 4, 50)},
			{Group: a, Events: evs(a, 6, 6, 50)},
		}, ErrGap},
		{"good batch then gap in other group", []Batch{
			{Group: a, Events: evs(a, 4, 5, 50), Snapshot: &Snapshot{Seq: 5, Data: []byte("s5")}},
			{Group: b, Events: evs(b, 3, 3, 50)},
		}, ErrGap},
		{"duplicate of stored submission", []Batch{
			{Group: b, Events: evs(b, 1, 1, 50)},
			{Group: a, Events: []Record{dupOfA2}},
		}, ErrDuplicate},
		{"duplicate inside the call", []Batch{
			{Group: a, Events: []Record{ev(a, 4, 50)}},
			{Group: a, Events: []Record{dupInCall}},
		}, ErrDuplicate},
		{"snapshot ahead of log", []Batch{{Group: a, Events: evs(a, 4, 4, 50), Snapshot: &Snapshot{Seq: 5}}}, ErrInvalid},
		{"empty data", []Batch{{Group: a, Events: []Record{{Seq: 4, ID: hash(1)}}}}, ErrInvalid},
	}
	for _, c := range cases {
		err := s.Commit(c.batches...)
		if !errors.Is(err, c.want) {
			t.Fatalf("%s: err = %v, want %v", c.name, err, c.want)
		}
		wantHead(t, s, a, 3)
		wantHead(t, s, b, 0)
		for _, seq := range []uint64{4, 5} {
			if _, ok, _ := s.LookupSubmission(a, ev(a, seq, 50).SubmissionID); ok {
				t.Fatalf("%s: submission %d stored", c.name, seq)
			}
			if _, _, ok, _ := s.LookupEvent(ev(a, seq, 50).ID); ok {
				t.Fatalf("%s: event %d indexed", c.name, seq)
			}
		}
		if _, ok, _ := s.LookupSubmission(b, ev(b, 1, 50).SubmissionID); ok {
			t.Fatalf("%s: submission b1 stored", c.name)
		}
		if sn, _, _ := s.LatestSnapshot(a); sn.Seq != 3 {
			t.Fatalf("%s: snapshot replaced: %d", c.name, sn.Seq)
		}
	}
	// the raw log holds nothing beyond seq 3
	keys, err := s.prefixKeys(logPrefix(a), nil)
	if err != nil || len(keys) != 3 {
		t.Fatalf("raw log keys = %d, %v", len(keys), err)
	}
	keys, _ = s.prefixKeys(logPrefix(b), nil)
	if len(keys) != 0 {
		t.Fatalf("raw log keys of b = %d", len(keys))
	}
	// and the log still accepts the right continuation
	mustCommit(t, s, Batch{Group: a, Events: evs(a, 4, 5, 50)})
	wantHead(t, s, a, 5)
	// a zero submission ID is never a duplicate
	z1, z2 := ev(b, 1, 50), ev(b, 2, 50)
	z1.SubmissionID, z2.SubmissionID = [32]byte{}, [32]byte{}
	mustCommit(t, s, Batch{Group: b, Events: []Record{z1, z2}})
	if _, ok, _ := s.LookupSubmission(b, [32]byte{}); ok {
		t.Fatal("zero submission ID indexed")
	}
}

// TestMergedRound drives the committer's round directly: calls merged into one
// transaction see each other, and a refused call leaves the others intact.
func TestMergedRound(t *testing.T) {
	s := openT(t, t.TempDir())
	defer s.Close()
	a, b := gid(1), gid(2)
	mustCommit(t, s, Batch{Group: a, Events: evs(a, 1, 1, 40)})

	mk := func(bs ...Batch) *request {
		return &request{kind: opCommit, batches: bs, done: make(chan error, 1)}
	}
	dup := ev(a, 4, 40)
	dup.SubmissionID = ev(a, 2, 40).SubmissionID
	reqs := []*request{
		mk(Batch{Group: a, Events: evs(a, 2, 2, 40)}),                                            // ok
		mk(Batch{Group: a, Events: evs(a, 3, 3, 40)}, Batch{Group: b, Events: evs(b, 1, 1, 40)}), // ok: follows the call before
		mk(Batch{Group: a, Events: evs(a, 3, 3, 40)}),                                            // gap: 3 is taken in this round
		mk(Batch{Group: a, Events: []Record{dup}}),                                               // duplicate of a call in this round
		mk(Batch{Group: b, Events: evs(b, 2, 3, 40)}, Batch{Group: a, Events: evs(a, 9, 9, 40)}), // gap in 2nd batch
		mk(Batch{Group: b, Events: evs(b, 2, 2, 40)}),                                            // ok
	}
	want := []error{nil, nil, ErrGap, ErrDuplicate, ErrGap, nil}

	s.life.RLock() // like a caller in flight; the committer goroutine is idle
	rd := newRound(s)
	for _, r := range reqs {
		if !rd.add(r) {
			t.Fatal("request did not fit")
		}
	}
	syncs := s.statSyncs.Load()
	rd.finish()
	s.life.RUnlock()
	for i, r := range reqs {
		if err := <-r.done; !errors.Is(err, want[i]) || (want[i] == nil && err != nil) {
			t.Fatalf("request %d: err = %v, want %v", i, err, want[i])
		}
	}
	if n := s.statSyncs.Load() - syncs; n != 1 {
		t.Fatalf("round did %d fsyncs, want 1", n)
	}
	wantHead(t, s, a, 3)
	wantHead(t, s, b, 2)
	r, err := s.Range(b, 1, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, b, r, seqRange(1, 2), 40)
}

func TestSnapshotChunks(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	a := gid(1)
	mustCommit(t, s, Batch{Group: a, Events: evs(a, 1, 5, 20)})
	big := bytes.Repeat([]byte("0123456789abcdef"), (2*snapChunkSize+1000)/16) // 3 chunks
	mustCommit(t, s, Batch{Group: a, Snapshot: &Snapshot{Seq: 4, Data: big}})
	sn, ok, err := s.LatestSnapshot(a)
	if err != nil || !ok || sn.Seq != 4 || !bytes.Equal(sn.Data, big) {
		t.Fatalf("big snapshot: seq %d len %d ok %v err %v", sn.Seq, len(sn.Data), ok, err)
	}
	keys, _ := s.prefixKeys(snapKey(a), nil)
	if len(keys) != 3 {
		t.Fatalf("big snapshot in %d keys, want 3", len(keys))
	}
	// a smaller snapshot in the same call as events replaces it and drops the extra chunks
	mustCommit(t, s, Batch{Group: a, Events: evs(a, 6, 6, 20), Snapshot: &Snapshot{Seq: 6, Data: []byte("small")}})
	keys, _ = s.prefixKeys(snapKey(a), nil)
	if len(keys) != 1 {
		t.Fatalf("small snapshot in %d keys, want 1", len(keys))
	}
	s.Close()
	s = openT(t, dir)
	defer s.Close()
	sn, ok, err = s.LatestSnapshot(a)
	if err != nil || !ok || sn.Seq != 6 || string(sn.Data) != "small" {
		t.Fatalf("small snapshot: %+v %v %v", sn, ok, err)
	}
	// empty snapshot data is allowed
	mustCommit(t, s, Batch{Group: a, Snapshot: &Snapshot{Seq: 6}})
	if sn, ok, _ = s.LatestSnapshot(a); !ok || len(sn.Data) != 0 {
		t.Fatalf("empty snapshot: %+v %v", sn, ok)
	}
}

func TestLimits(t *testing.T) {
	s := openT(t, t.TempDir())
	defer s.Close()
	a := gid(1)
	if err := s.Commit(Batch{Group: a, Events: []Record{ev(a, 1, maxValueBytes+1)}}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("big event: %v", err)
	}
	if err := s.Commit(Batch{Group: a, Events: evs(a, 1, MaxCommitBytes/(500<<10)+1, 500<<10)}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("big call: %v", err)
	}
	if err := s.Commit(Batch{Group: a, Events: evs(a, 1, 1, 10), Snapshot: &Snapshot{Seq: 1, Data: make([]byte, MaxCommitBytes+1)}}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("big snapshot: %v", err)
	}
	wantHead(t, s, a, 0)
	// just under the limit works
	under := uint64(MaxCommitBytes/(500<<10) - 1)
	mustCommit(t, s, Batch{Group: a, Events: evs(a, 1, under, 500<<10)})
	wantHead(t, s, a, under)
	if err := s.SetMeta(a, "", []byte("x")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty meta key: %v", err)
	}
	if err := s.SetMeta(a, "k", make([]byte, maxValueBytes+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("big meta: %v", err)
	}
	if err := s.SetCursor("", a, 1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty client: %v", err)
	}
	if err := s.SetCursor(string(make([]byte, 256)), a, 1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("long client: %v", err)
	}
}

func TestDeleteGroup(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	a, b := gid(1), gid(2)
	n := uint64(3*deleteChunk/3 + 17) // more than one deletion transaction
	for from := uint64(1); from <= n; from += 2000 {
		mustCommit(t, s, Batch{Group: a, Events: evs(a, from, min(from+1999, n), 20)})
	}
	mustCommit(t, s, Batch{Group: a, Snapshot: &Snapshot{Seq: n, Data: make([]byte, snapChunkSize+1)}},
		Batch{Group: b, Events: evs(b, 1, 3, 20)})
	for _, err := range []error{
		s.SetMeta(a, "k1", []byte("v")), s.SetMeta(a, "k2", []byte("v")), s.SetMeta(b, "k1", []byte("b")),
		s.SetCursor("alice", a, 5), s.SetCursor("alice", b, 2), s.SetCursor("bob", a, 1),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteGroup(a); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGroup(gid(9)); err != nil { // unknown group
		t.Fatal(err)
	}
	check := func(s *Store) {
		t.Helper()
		wantHead(t, s, a, 0)
		wantHead(t, s, b, 3)
		if _, err := s.Event(a, 1); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Event after delete: %v", err)
		}
		if r, err := s.Range(a, 1, 10, 0); err != nil || len(r) != 0 {
			t.Fatalf("Range after delete: %d %v", len(r), err)
		}
		if _, _, ok, _ := s.LookupEvent(ev(a, 5, 20).ID); ok {
			t.Fatal("event index survives")
		}
		if _, ok, _ := s.LookupSubmission(a, ev(a, 5, 20).SubmissionID); ok {
			t.Fatal("submission index survives")
		}
		if _, ok, _ := s.LatestSnapshot(a); ok {
			t.Fatal("snapshot survives")
		}
		if _, ok, _ := s.Meta(a, "k1"); ok {
			t.Fatal("meta survives")
		}
		if _, ok, _ := s.Cursor("alice", a); ok {
			t.Fatal("cursor survives")
		}
		if v, ok, _ := s.Cursor("alice", b); !ok || v != 2 {
			t.Fatal("cursor of b lost")
		}
		if v, _, _ := s.Meta(b, "k1"); string(v) != "b" {
			t.Fatal("meta of b lost")
		}
		if _, _, ok, _ := s.LookupEvent(ev(b, 2, 20).ID); !ok {
			t.Fatal("event index of b lost")
		}
		gs, _ := s.Groups()
		if len(gs) != 1 || gs[0] != b {
			t.Fatalf("Groups = %x", gs)
		}
		for _, p := range []byte{prefixLog, prefixEventIndex, prefixSubIndex, prefixSnapshot, prefixMeta, prefixCursor} {
			keys, _ := s.prefixKeys([]byte{p}, nil)
			want := map[byte]int{prefixLog: 3, prefixEventIndex: 3, prefixSubIndex: 3, prefixMeta: 1, prefixCursor: 1}[p]
			if len(keys) != want {
				t.Fatalf("prefix %c: %d keys, want %d", p, len(keys), want)
			}
		}
	}
	check(s)
	s.Close()
	s = openT(t, dir)
	defer s.Close()
	check(s)
	// the group can start again from seq 1
	mustCommit(t, s, Batch{Group: a, Events: evs(a, 1, 2, 20)})
	wantHead(t, s, a, 2)
}

func TestConcurrentCommits(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	const (
		workers = 32
		groups  = 4
		per     = 40
	)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := gid(byte(w % groups))
			for i := range per {
				sub := hash("w", w, i)
				for attempt := 0; ; attempt++ {
					head, _, err := s.Head(g)
					if err != nil {
						errs <- err
						return
					}
					e := Record{Seq: head + 1, ID: hash("id", g, head+1), SubmissionID: sub, Data: fmt.Appendf(nil, "w%d-i%d", w, i)}
					err = s.Commit(Batch{Group: g, Events: []Record{e}})
					if err == nil {
						break
					}
					if !errors.Is(err, ErrGap) {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("calls %d, transactions %d, fsyncs %d", s.statCalls.Load(), s.statRounds.Load(), s.statSyncs.Load())
	check := func(s *Store) {
		t.Helper()
		total := 0
		for gi := range groups {
			g := gid(byte(gi))
			head, _, err := s.Head(g)
			if err != nil {
				t.Fatal(err)
			}
			r, err := s.Range(g, 1, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if uint64(len(r)) != head {
				t.Fatalf("group %d: %d records, head %d", gi, len(r), head)
			}
			for i, rec := range r {
				if rec.Seq != uint64(i+1) || rec.ID != hash("id", g, rec.Seq) {
					t.Fatalf("group %d: record %d has seq %d", gi, i, rec.Seq)
				}
				if seq, ok, _ := s.LookupSubmission(g, rec.SubmissionID); !ok || seq != rec.Seq {
					t.Fatalf("group %d: submission of seq %d -> %d %v", gi, rec.Seq, seq, ok)
				}
			}
			total += len(r)
		}
		if total != workers*per {
			t.Fatalf("%d events stored, want %d", total, workers*per)
		}
		for w := range workers {
			for i := range per {
				if _, ok, _ := s.LookupSubmission(gid(byte(w%groups)), hash("w", w, i)); !ok {
					t.Fatalf("submission w%d i%d missing", w, i)
				}
			}
		}
	}
	check(s)
	s.Close()
	s = openT(t, dir)
	defer s.Close()
	check(s)
}

func TestConcurrentReadersAndWriters(t *testing.T) {
	s := openT(t, t.TempDir())
	a := gid(1)
	const n = 300
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				head, _, err := s.Head(a)
				if err != nil {
					t.Error(err)
					return
				}
				r, err := s.Range(a, 1, 0, 0)
				if err != nil || uint64(len(r)) < head {
					t.Errorf("Range: %d records, head %d, %v", len(r), head, err)
					return
				}
				if _, err := s.RangeReverse(a, 0, 10); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for seq := uint64(1); seq <= n; seq++ {
		mustCommit(t, s, Batch{Group: a, Events: []Record{ev(a, seq, 30)}})
	}
	close(done)
	wg.Wait()
	// Close while readers and writers are active: every call either completes or gets ErrClosed
	var wg2 sync.WaitGroup
	for w := range 8 {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			g := gid(byte(10 + w))
			for seq := uint64(1); ; seq++ {
				if err := s.Commit(Batch{Group: g, Events: []Record{ev(g, seq, 30)}}); err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Error(err)
					}
					return
				}
				if _, _, err := s.Head(g); err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Error(err)
					}
					return
				}
			}
		}()
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg2.Wait()
}

func TestClose(t *testing.T) {
	s := openT(t, t.TempDir())
	a := gid(1)
	mustCommit(t, s, Batch{Group: a, Events: evs(a, 1, 1, 10)})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	add(s.Commit(Batch{Group: a, Events: evs(a, 2, 2, 10)}))
	add(s.Commit())
	_, _, err := s.Head(a)
	add(err)
	_, err = s.Event(a, 1)
	add(err)
	_, err = s.Range(a, 1, 1, 0)
	add(err)
	_, err = s.RangeReverse(a, 0, 1)
	add(err)
	_, _, err = s.LookupSubmission(a, hash(1))
	add(err)
	_, _, _, err = s.LookupEvent(hash(1))
	add(err)
	_, _, err = s.LatestSnapshot(a)
	add(err)
	_, err = s.Groups()
	add(err)
	add(s.SetMeta(a, "k", nil))
	_, _, err = s.Meta(a, "k")
	add(err)
	add(s.SetCursor("c", a, 1))
	_, _, err = s.Cursor("c", a)
	add(err)
	add(s.DeleteGroup(a))
	for i, err := range errs {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("call %d after Close: %v, want ErrClosed", i, err)
		}
	}
}

func TestOpenOptionsAndVersion(t *testing.T) {
	if _, err := Open(t.TempDir(), WithLogger(nil)); err == nil {
		t.Fatal("WithLogger(nil) accepted")
	}
	if _, err := Open(""); err == nil {
		t.Fatal("empty dir accepted")
	}
	// in-memory store
	m := openT(t, "", WithInMemory())
	a := gid(1)
	mustCommit(t, m, Batch{Group: a, Events: evs(a, 1, 3, 10)})
	wantHead(t, m, a, 3)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	// a newer schema version is refused with a clear error
	dir := t.TempDir()
	s := openT(t, dir)
	if err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(versionKey, binary.BigEndian.AppendUint32(nil, schemaVersion+1))
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(dir, quiet())
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("newer")) {
		t.Fatalf("newer version: %v", err)
	}

	// a Badger directory of someone else is refused
	dir = t.TempDir()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("foreign"), []byte("x")) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(dir, quiet()); err == nil {
		t.Fatal("foreign Badger directory accepted")
	}
}

// TestHeadLargeLog checks that Head after a restart is one seek, not a scan.
func TestHeadLargeLog(t *testing.T) {
	n := uint64(1_000_000)
	switch {
	case raceEnabled:
		n = 20_000
	case testing.Short():
		n = 100_000
	}
	dir := t.TempDir()
	s := openT(t, dir, WithoutSync())
	a, b := gid(1), gid(2)
	const chunk = 5_000
	start := time.Now()
	for from := uint64(1); from <= n; from += chunk {
		mustCommit(t, s, Batch{Group: a, Events: evs(a, from, from+chunk-1, 16)})
	}
	mustCommit(t, s, Batch{Group: b, Events: evs(b, 1, 1, 16)})
	t.Logf("wrote %d events in %v", n, time.Since(start))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir)
	defer s.Close()
	start = time.Now()
	wantHead(t, s, a, n)
	cold := time.Since(start)
	wantHead(t, s, b, 1)
	start = time.Now()
	wantHead(t, s, a, n)
	t.Logf("Head after reopen with %d events: %v cold, %v cached", n, cold, time.Since(start))
	if cold > 2*time.Second {
		t.Fatalf("cold Head took %v", cold)
	}
	r, err := s.RangeReverse(a, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, a, r, seqRange(n, n-2), 16)
}
