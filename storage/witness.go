package storage

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// The head witness is a small append-only file in the store folder, outside Badger: after
// each merged write (and its fsync) the committer appends, for every group whose head grew,
// the committed head seq and head event ID. On Open it is compared with what Badger holds, so
// that a store that lost acknowledged events (Badger silently truncates a memtable
// write-ahead log at its first damaged entry; a damaged table hides its keys) says so
// (Store.Damage) instead of serving a shorter log and letting a host re-use seqs.
//
// File layout (all integers big-endian):
//
//	"QUNHEAD1"                                           magic, 8 bytes
//	record*: len(4) crc32c(4) entry*                     len = 73 * number of entries
//	entry:   gid(32) seq(8) eventID(32) flags(1)         flags bit 0: unverified
//
// A later entry for a group replaces an earlier one; seq 0 is a deleted group. An
// unverified entry comes from a witness that was itself damaged or lost: its seq is only a
// lower bound, and the group is reported as damaged until ClearDamage. A record cut short at
// the end of the file (a crash while appending) is ignored; any other bad record makes the
// whole witness unreadable, which is reported as damage of every group. Open rewrites the
// file compacted (one entry per group, temporary file + rename); so does the committer when
// the file has grown to witnessCompactAt.
//
// The appends are written without fsync (witnessSync). A write that returned survives a
// SIGKILL of the process (it is in the page cache); after a power loss or kernel crash the
// witness may lag behind Badger, which weakens the check (a lagging witness never reports
// damage that is not there) but costs nothing per commit. Measured with the storage
// benchmarks (docs/STORAGE.md): an fdatasync of the witness per merged
// write adds a second serial sync to every commit, so it is left off.
const (
	// WitnessFile is the name of the head witness in the store folder.
	WitnessFile = "qun-heads"

	witnessMagic     = "QUNHEAD1"
	witnessEntrySize = 32 + 8 + 32 + 1
	witnessRecordMax = 4096 // entries per record
	witnessCompactAt = 64 << 20
	witnessSync      = false

	flagUnverified = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// witnessEntry is the acknowledged head of one group.
type witnessEntry struct {
	seq        uint64
	id         [32]byte
	unverified bool
}

// witness is the open witness file and its content. mu guards m; f, size and dirty are
// used by the committer only (and by Open and Close).
type witness struct {
	path  string
	f     *os.File
	size  int64
	sync  bool
	mu    sync.RWMutex
	m     map[GroupID]witnessEntry
	dirty map[GroupID]struct{} // entries not yet appended (after a failed append)
}

// readWitness parses the witness at path. It returns the entries of its readable part,
// whether the file exists, and a non-empty problem when the file is damaged.
func readWitness(path string) (m map[GroupID]witnessEntry, exists bool, problem string, err error) {
	m = make(map[GroupID]witnessEntry)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return m, false, "", nil
	}
	if err != nil {
		return m, true, fmt.Sprintf("cannot open the head witness %s: %v", path, err), nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return m, true, fmt.Sprintf("cannot stat the head witness %s: %v", path, err), nil
	}
	total := fi.Size()
	r := bufio.NewReaderSize(f, 1<<16)
	magic := make([]byte, len(witnessMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != witnessMagic {
		return m, true, fmt.Sprintf("the head witness %s does not start with %q", path, witnessMagic), nil
	}
	off := int64(len(witnessMagic))
	var hdr [8]byte
	var body []byte
	for off < total {
		if total-off < 8 {
			return m, true, "", nil // header cut short: a torn append
		}
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return m, true, fmt.Sprintf("cannot read the head witness %s at offset %d: %v", path, off, err), nil
		}
		n := int64(binary.BigEndian.Uint32(hdr[:4]))
		sum := binary.BigEndian.Uint32(hdr[4:])
		if off+8+n > total {
			return m, true, "", nil // body cut short: a torn append
		}
		if n == 0 && sum == 0 {
			// zeros where a record should be: a torn append if only zeros follow
			if allZero(r) {
				return m, true, "", nil
			}
			return m, true, fmt.Sprintf("the head witness %s is damaged at offset %d (empty record)", path, off), nil
		}
		if n == 0 || n%witnessEntrySize != 0 || n > witnessRecordMax*witnessEntrySize {
			return m, true, fmt.Sprintf("the head witness %s is damaged at offset %d (record of %d bytes)", path, off, n), nil
		}
		if int64(cap(body)) < n {
			body = make([]byte, n)
		}
		body = body[:n]
		if _, err := io.ReadFull(r, body); err != nil {
			return m, true, fmt.Sprintf("cannot read the head witness %s at offset %d: %v", path, off, err), nil
		}
		if crc32.Checksum(body, castagnoli) != sum {
			if off+8+n == total && bytes.Count(body, []byte{0}) == len(body) {
				return m, true, "", nil // last record never written: a torn append
			}
			return m, true, fmt.Sprintf("the head witness %s is damaged at offset %d (checksum mismatch)", path, off), nil
		}
		for e := body; len(e) > 0; e = e[witnessEntrySize:] {
			var g GroupID
			copy(g[:], e[:32])
			we := witnessEntry{seq: binary.BigEndian.Uint64(e[32:40]), unverified: e[72]&flagUnverified != 0}
			copy(we.id[:], e[40:72])
			if we.seq == 0 && !we.unverified {
				delete(m, g)
			} else {
				m[g] = we
			}
		}
		off += 8 + n
	}
	return m, true, "", nil
}

// allZero reports whether r holds only zero bytes until its end.
func allZero(r io.Reader) bool {
	buf := make([]byte, 1<<16)
	for {
		n, err := r.Read(buf)
		if bytes.Count(buf[:n], []byte{0}) != n {
			return false
		}
		if err != nil {
			return errors.Is(err, io.EOF)
		}
	}
}

func appendWitnessEntry(b []byte, g GroupID, e witnessEntry) []byte {
	b = append(b, g[:]...)
	b = be64(b, e.seq)
	b = append(b, e.id[:]...)
	var fl byte
	if e.unverified {
		fl |= flagUnverified
	}
	return append(b, fl)
}

// encodeWitnessRecords encodes entries as records of at most witnessRecordMax entries.
func encodeWitnessRecords(b []byte, groups []GroupID, m map[GroupID]witnessEntry) []byte {
	for len(groups) > 0 {
		n := min(len(groups), witnessRecordMax)
		start := len(b)
		b = append(b, make([]byte, 8)...)
		for _, g := range groups[:n] {
			b = appendWitnessEntry(b, g, m[g])
		}
		body := b[start+8:]
		binary.BigEndian.PutUint32(b[start:], uint32(len(body)))
		binary.BigEndian.PutUint32(b[start+4:], crc32.Checksum(body, castagnoli))
		groups = groups[n:]
	}
	return b
}

// rewrite writes m compacted into a temporary file, fsyncs it, renames it over the witness
// and opens it for appending.
func (w *witness) rewrite() error {
	groups := make([]GroupID, 0, len(w.m))
	for g, e := range w.m {
		if e.seq > 0 || e.unverified {
			groups = append(groups, g)
		}
	}
	sortGroups(groups)
	buf := encodeWitnessRecords([]byte(witnessMagic), groups, w.m)
	tmp := w.path + ".tmp"
	err := writeFileSync(tmp, buf)
	if err == nil {
		err = os.Rename(tmp, w.path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(w.path))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("storage: write head witness %s: %w", w.path, err)
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("storage: open head witness %s: %w", w.path, err)
	}
	if w.f != nil {
		_ = w.f.Close()
	}
	w.f, w.size = f, int64(len(buf))
	clear(w.dirty)
	return nil
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// record sets the entries of the groups in upd (committer only) and appends them, with any
// entries left over from a failed append. An append that fails is cut off again (so the file
// never holds a torn record before a good one) and retried with the next write.
func (w *witness) record(upd map[GroupID]witnessEntry) error {
	if len(upd) == 0 && len(w.dirty) == 0 {
		return nil
	}
	w.mu.Lock()
	for g, e := range upd {
		if e.seq == 0 && !e.unverified {
			delete(w.m, g)
		} else {
			w.m[g] = e
		}
		w.dirty[g] = struct{}{}
	}
	groups := make([]GroupID, 0, len(w.dirty))
	for g := range w.dirty {
		groups = append(groups, g)
	}
	w.mu.Unlock()
	// entries of deleted groups are written as seq 0 (the map no longer holds them)
	w.mu.RLock()
	buf := encodeWitnessRecords(nil, groups, w.m)
	w.mu.RUnlock()
	if w.size+int64(len(buf)) > witnessCompactAt {
		if err := w.rewrite(); err == nil {
			return nil
		}
	}
	_, err := w.f.Write(buf)
	if err == nil && w.sync {
		err = w.f.Sync()
	}
	if err != nil {
		_ = w.f.Truncate(w.size)
		return fmt.Errorf("storage: append to head witness %s: %w", w.path, err)
	}
	w.size += int64(len(buf))
	clear(w.dirty)
	return nil
}

// get returns g's witness entry.
func (w *witness) get(g GroupID) (witnessEntry, bool) {
	w.mu.RLock()
	e, ok := w.m[g]
	w.mu.RUnlock()
	return e, ok
}
