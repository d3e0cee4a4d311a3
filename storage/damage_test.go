package storage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// newestFile returns the path of the file with extension ext whose numeric name is the
// highest (Badger numbers its files), or of the largest one when largest is set.
func newestFile(t testing.TB, dir, ext string, largest bool) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var best string
	var bestSize int64 = -1
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && fi.Size() == 0 {
			continue // the next memtable log, reserved ahead (see reserveNextMemtable)
		}
		if strings.HasSuffix(e.Name(), ext) {
			names = append(names, e.Name())
			if fi, err := e.Info(); err == nil && fi.Size() > bestSize {
				best, bestSize = e.Name(), fi.Size()
			}
		}
	}
	if len(names) == 0 {
		t.Fatalf("no %s file in %s", ext, dir)
	}
	if largest {
		return filepath.Join(dir, best)
	}
	sort.Strings(names) // zero-padded numbers
	return filepath.Join(dir, names[len(names)-1])
}

// flipMiddle flips one byte in the middle of the written part of path (a memtable WAL is a
// sparse file: its written part ends at the last non-zero byte). It returns the offset.
func flipMiddle(t testing.TB, path string) int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	end := len(data)
	for end > 0 && data[end-1] == 0 {
		end--
	}
	if end < 64 {
		t.Fatalf("%s holds only %d written bytes", path, end)
	}
	off := int64(end / 2)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte{data[off] ^ 0x5a}, off); err != nil {
		t.Fatal(err)
	}
	return off
}

// TestWALDamageAfterKill: a writer acknowledges events and is SIGKILLed; one byte in the
// middle of its newest memtable WAL is flipped (Badger then truncates the WAL there and
// drops every later event). On reopen the loss is never silent: each group either has every
// acknowledged event or is listed by Damage with WitnessHead = its last acknowledged seq.
// Re-committing the missing events (as a node recovering them from replicas does) clears it.
func TestWALDamageAfterKill(t *testing.T) {
	dir := t.TempDir()
	c := startChild(t, "wal", dir)
	acked := make(map[byte]uint64)
	total := 0
	deadline := time.After(15 * time.Second)
	want := 1200
	if raceEnabled {
		want = 400
	}
wait:
	for total < want {
		select {
		case line, ok := <-c.lines:
			if !ok {
				t.Fatalf("child ended early; stderr:\n%s", c.stderr)
			}
			if strings.HasPrefix(line, "ack ") {
				acked[byte(field(t, line, 1))] = field(t, line, 2)
				total++
			}
		case <-deadline:
			break wait
		}
	}
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for line := range c.lines { // acks printed before the kill count too
		if strings.HasPrefix(line, "ack ") {
			acked[byte(field(t, line, 1))] = field(t, line, 2)
		}
	}
	c.wait()
	if len(acked) == 0 {
		t.Fatalf("no acknowledged event; stderr:\n%s", c.stderr)
	}
	mem := newestFile(t, dir, ".mem", false)
	off := flipMiddle(t, mem)
	t.Logf("acknowledged %v; flipped byte %d of %s", acked, off, filepath.Base(mem))

	s := openT(t, dir)
	defer func() { s.Close() }()
	damaged := make(map[GroupID]Damage)
	for _, d := range s.Damage() {
		damaged[d.Group] = d
		t.Logf("damage: %s", d.Reason)
	}
	lost := 0
	for w, last := range acked {
		g := gid(w)
		head, _, err := s.Head(g)
		if err != nil {
			t.Fatalf("Head: %v", err)
		}
		if d, ok := damaged[g]; ok {
			if d.WitnessHead < last || d.WitnessHead > last+1 || d.StoredHead != head {
				t.Errorf("group %d: damage %+v, want WitnessHead %d (or one more, not yet printed) and StoredHead %d", w, d, last, head)
			}
			if d.WitnessID != ev(g, d.WitnessHead, 600).ID {
				t.Errorf("group %d: WitnessID %x is not the ID of event %d", w, d.WitnessID[:4], d.WitnessHead)
			}
			if seq, id, ok := s.Witness(g); !ok || seq != d.WitnessHead || id != d.WitnessID {
				t.Errorf("group %d: Witness = %d %x %v, want %d", w, seq, id[:4], ok, d.WitnessHead)
			}
			lost++
			continue
		}
		if head < last {
			t.Errorf("group %d: SILENT LOSS: head %d after reopen, %d were acknowledged, and Damage() does not name the group", w, head, last)
			continue
		}
		r, err := s.Range(g, 1, 0, 0)
		if err != nil {
			t.Fatalf("group %d: Range: %v", w, err)
		}
		checkRecords(t, g, r[:last], seqRange(1, last), 600)
	}
	if lost == 0 && !t.Failed() {
		t.Fatalf("the flipped byte lost nothing: the test proves nothing (offset %d)", off)
	}
	if t.Failed() {
		return
	}
	// Recover: re-commit the missing events as a node would after fetching them from replicas.
	for g, d := range damaged {
		mustCommit(t, s, Batch{Group: g, Events: evs(g, d.StoredHead+1, d.WitnessHead, 600)})
	}
	if d := s.Damage(); len(d) != 0 {
		t.Fatalf("Damage after recovery: %+v", d)
	}
	s.Close()
	s = openT(t, dir)
	if d := s.Damage(); len(d) != 0 {
		t.Fatalf("Damage after recovery and reopen: %+v", d)
	}
}

// TestSSTDamage flips one byte in the middle of a table file and reads every event back:
// each read returns the exact bytes or an error wrapping ErrCorrupt, never other bytes.
func TestSSTDamage(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	const n = 3000
	groups := []GroupID{gid(1), gid(2), gid(3)}
	for _, g := range groups {
		for from := uint64(1); from <= n; from += 1000 {
			mustCommit(t, s, Batch{Group: g, Events: evs(g, from, from+999, 600)})
		}
	}
	if err := s.Close(); err != nil { // flushes the memtable into a table
		t.Fatal(err)
	}
	sst := newestFile(t, dir, ".sst", true)
	off := flipMiddle(t, sst)
	t.Logf("flipped byte %d of %s", off, filepath.Base(sst))

	s = openT(t, dir)
	defer s.Close()
	for _, d := range s.Damage() {
		t.Logf("damage: %s", d.Reason)
	}
	corrupt := 0
	for _, g := range groups {
		for seq := uint64(1); seq <= n; seq++ {
			data, err := s.Event(g, seq)
			switch {
			case err == nil:
				if !bytes.Equal(data, ev(g, seq, 600).Data) {
					t.Fatalf("group %x seq %d: WRONG BYTES served", g[:1], seq)
				}
			case errors.Is(err, ErrCorrupt):
				corrupt++
				if corrupt == 1 {
					t.Logf("first damaged read: %v", err)
				}
			case errors.Is(err, ErrNotFound):
				// only above a head that the damage lowered; Damage() must name the group
				if len(s.Damage()) == 0 {
					t.Fatalf("group %x seq %d: %v, and no Damage reported", g[:1], seq, err)
				}
				corrupt++
			default:
				t.Fatalf("group %x seq %d: %v", g[:1], seq, err)
			}
		}
		r, err := s.Range(g, 1, 0, 0)
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Range: %v", err)
		}
		for _, rec := range r {
			if !bytes.Equal(rec.Data, ev(g, rec.Seq, 600).Data) {
				t.Fatalf("Range: group %x seq %d: WRONG BYTES served", g[:1], rec.Seq)
			}
		}
	}
	if corrupt == 0 {
		t.Fatalf("the flipped byte damaged no read: the test proves nothing")
	}
	t.Logf("%d of %d reads refused as damaged", corrupt, n*len(groups))
}

// TestWitnessFileDamage: a damaged witness is reported as damage of every group, on every
// Open, until ClearDamage; a witness cut short at its end (a torn append) is not damage.
func TestWitnessFileDamage(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	a, b := gid(1), gid(2)
	mustCommit(t, s, Batch{Group: a, Events: evs(a, 1, 5, 10)}, Batch{Group: b, Events: evs(b, 1, 3, 10)})
	if seq, id, ok := s.Witness(a); !ok || seq != 5 || id != ev(a, 5, 10).ID {
		t.Fatalf("Witness(a) = %d %v", seq, ok)
	}
	s.Close()

	// torn append: a header cut short, then zeros
	wpath := filepath.Join(dir, WitnessFile)
	f, err := os.OpenFile(wpath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0, 0, 0})
	f.Close()
	s = openT(t, dir)
	if d := s.Damage(); len(d) != 0 {
		t.Fatalf("torn witness tail reported as damage: %+v", d)
	}
	s.Close()

	flipMiddle(t, wpath)
	for range 2 {
		s = openT(t, dir)
		d := s.Damage()
		if len(d) != 2 || !strings.Contains(d[0].Reason, "witness") {
			t.Fatalf("damaged witness: Damage = %+v, want both groups", d)
		}
		s.Close()
	}
	s = openT(t, dir)
	if err := s.ClearDamage(a); err != nil {
		t.Fatal(err)
	}
	if d := s.Damage(); len(d) != 1 || d[0].Group != b {
		t.Fatalf("after ClearDamage(a): %+v", d)
	}
	s.Close()
	s = openT(t, dir)
	defer s.Close()
	if d := s.Damage(); len(d) != 1 || d[0].Group != b {
		t.Fatalf("after ClearDamage(a) and reopen: %+v", d)
	}

	// a missing witness of a store that had one is damage too
	s.Close()
	if err := os.Remove(wpath); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir)
	if d := s.Damage(); len(d) != 2 {
		t.Fatalf("missing witness: Damage = %+v", d)
	}
	// DeleteGroup forgets the group's witness and damage
	if err := s.DeleteGroup(a); err != nil {
		t.Fatal(err)
	}
	if d := s.Damage(); len(d) != 1 || d[0].Group != b {
		t.Fatalf("after DeleteGroup(a): %+v", d)
	}
	if _, _, ok := s.Witness(a); ok {
		t.Fatal("Witness(a) after DeleteGroup")
	}
}

// TestCloseAfterFolderRemoved: Close returns, with an error, even when the store folder
// was removed while the store was open (Badger retries its final flush forever then).
func TestCloseAfterFolderRemoved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	s := openT(t, dir)
	a := gid(1)
	mustCommit(t, s, Batch{Group: a, Events: evs(a, 1, 100, 100)})
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		t.Logf("Close after %v: %v", time.Since(start).Round(time.Millisecond), err)
		if err == nil {
			t.Fatal("Close returned nil although its folder is gone")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return within 10 s after the folder was removed")
	}
}
