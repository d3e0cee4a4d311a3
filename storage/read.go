package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	badger "github.com/dgraph-io/badger/v4"
)

// Reads never show an event before the fsync of the transaction that wrote it is done:
// every log read is capped at the cached durable head, which the committer advances
// only after the fsync.

// cachedHead returns g's head from the cache.
func (s *Store) cachedHead(g GroupID) (headState, bool) {
	s.headMu.RLock()
	h, ok := s.heads[g]
	s.headMu.RUnlock()
	return h, ok
}

// head returns g's durable head, loading it into the cache on first use. A reader
// only fills a missing entry: the committer, which sets the entry before it writes
// the group, always wins.
func (s *Store) head(g GroupID) (headState, error) {
	if h, ok := s.cachedHead(g); ok {
		return h, nil
	}
	h, err := s.readHead(g)
	if err != nil {
		return headState{}, err
	}
	s.headMu.Lock()
	if cur, ok := s.heads[g]; ok {
		h = cur
	} else {
		s.heads[g] = h
	}
	s.headMu.Unlock()
	return h, nil
}

// committerHead is head for the committer, the only writer: what it reads from the
// database is the durable state, so it may overwrite the cache.
func (s *Store) committerHead(g GroupID) (headState, error) {
	if h, ok := s.cachedHead(g); ok {
		return h, nil
	}
	h, err := s.readHead(g)
	if err != nil {
		return headState{}, err
	}
	s.headMu.Lock()
	s.heads[g] = h
	s.headMu.Unlock()
	return h, nil
}

// readHead finds the last event of g with one reverse, key-only seek.
func (s *Store) readHead(g GroupID) (headState, error) {
	var h headState
	err := s.db.View(func(txn *badger.Txn) error {
		b, err := readBase(txn, g)
		if err != nil {
			return err
		}
		h = b
		io := badger.DefaultIteratorOptions
		io.PrefetchValues = false
		io.Reverse = true
		io.Prefix = logPrefix(g)
		it := txn.NewIterator(io)
		defer it.Close()
		it.Seek(logKey(g, math.MaxUint64))
		if !it.Valid() {
			return nil
		}
		item := it.Item()
		seq, err := parseLogKey(item.Key())
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) < logValueHeader {
				return fmt.Errorf("%w: log value of %d bytes", ErrCorrupt, len(v))
			}
			h.seq = seq
			copy(h.id[:], v[:32])
			return nil
		})
	})
	if err != nil {
		return headState{}, s.readErr(g, fmt.Errorf("storage: read head of group %x: %w", g[:4], asCorrupt(err)))
	}
	return h, nil
}

// readBase reads the base of g: a head at the checkpoint the log starts
// after, or the zero head when the log starts at event 1.
func readBase(txn *badger.Txn, g GroupID) (headState, error) {
	item, err := txn.Get(baseKey(g))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return headState{}, nil
	}
	if err != nil {
		return headState{}, err
	}
	var h headState
	err = item.Value(func(v []byte) error {
		if len(v) != 40 {
			return fmt.Errorf("%w: base of %d bytes", ErrCorrupt, len(v))
		}
		h.base = binary.BigEndian.Uint64(v)
		copy(h.baseID[:], v[8:])
		h.seq, h.id = h.base, h.baseID
		return nil
	})
	return h, err
}

// Base returns the checkpoint the log of g starts after (see Batch.Base):
// seq 0 when it starts at event 1. Events up to seq are not stored.
func (s *Store) Base(g GroupID) (seq uint64, id [32]byte, err error) {
	if err := s.enter(); err != nil {
		return 0, id, err
	}
	defer s.leave()
	h, err := s.head(g)
	return h.base, h.baseID, err
}

// deletedSince reports whether DeleteGroup started on g after a read saw head h: a
// read that then finds entries missing raced with the deletion, not with corruption.
func (s *Store) deletedSince(g GroupID, h headState) bool {
	cur, ok := s.cachedHead(g)
	return ok && cur.seq < h.seq
}

// Head returns the seq and ID of the last durable event of g, or 0 and a zero ID when
// the group has no event. After the first call for a group it is served from memory.
func (s *Store) Head(g GroupID) (seq uint64, id [32]byte, err error) {
	if err := s.enter(); err != nil {
		return 0, id, err
	}
	defer s.leave()
	h, err := s.head(g)
	return h.seq, h.id, err
}

// Event returns the stored bytes of event seq of g, or an error wrapping ErrNotFound.
func (s *Store) Event(g GroupID, seq uint64) ([]byte, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	h, err := s.head(g)
	if err != nil {
		return nil, err
	}
	if seq <= h.base || seq > h.seq {
		return nil, fmt.Errorf("storage: group %x seq %d (head %d): %w", g[:4], seq, h.seq, ErrNotFound)
	}
	var rec Record
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(logKey(g, seq))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error { return decodeLogValue(v, &rec) })
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		if s.deletedSince(g, h) {
			return nil, fmt.Errorf("storage: group %x seq %d: %w", g[:4], seq, ErrNotFound)
		}
		// Below the durable head an event is never missing, unless its table block is
		// damaged (Badger skips a block whose checksum fails).
		return nil, s.corrupt(g, fmt.Errorf("storage: group %x seq %d is missing below the durable head %d: %w", g[:4], seq, h.seq, ErrCorrupt))
	}
	if err != nil {
		err = fmt.Errorf("storage: read group %x seq %d: %w", g[:4], seq, asCorrupt(err))
		if errors.Is(err, ErrCorrupt) {
			return nil, s.corrupt(g, err)
		}
		return nil, err
	}
	return rec.Data, nil
}

// Range returns events of g in ascending order starting at seq from (0 counts as 1): at
// most limit records, and it stops before the total len(Data) would exceed maxBytes, but
// always returns at least one record when event from exists. limit <= 0 or
// maxBytes <= 0 means no such bound. The records carry Seq, ID, SubmissionID and Data
// (all stored together, so they cost nothing extra). An empty result (nil) is not an error.
func (s *Store) Range(g GroupID, from uint64, limit int, maxBytes int) ([]Record, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	h, err := s.head(g)
	if err != nil {
		return nil, err
	}
	if from <= h.base {
		from = h.base + 1
	}
	if from > h.seq {
		return nil, nil
	}
	n := h.seq - from + 1
	if limit > 0 && uint64(limit) < n {
		n = uint64(limit)
	}
	out := make([]Record, 0, min(n, 1024))
	total := 0
	err = s.db.View(func(txn *badger.Txn) error {
		io := badger.DefaultIteratorOptions
		io.PrefetchValues = false
		io.Prefix = logPrefix(g)
		it := txn.NewIterator(io)
		defer it.Close()
		want := from
		full := false
		for it.Seek(logKey(g, from)); it.Valid() && uint64(len(out)) < n; it.Next() {
			item := it.Item()
			seq, err := parseLogKey(item.Key())
			if err != nil {
				return err
			}
			if seq != want {
				return fmt.Errorf("%w: group %x: found seq %d, want %d", ErrCorrupt, g[:4], seq, want)
			}
			if maxBytes > 0 && len(out) > 0 && total+int(item.ValueSize())-logValueHeader > maxBytes {
				full = true
				break
			}
			rec := Record{Seq: seq}
			if err := item.Value(func(v []byte) error { return decodeLogValue(v, &rec) }); err != nil {
				return err
			}
			total += len(rec.Data)
			out = append(out, rec)
			want++
		}
		if uint64(len(out)) < n && !full {
			return fmt.Errorf("%w: group %x: log ends at seq %d, head is %d", ErrCorrupt, g[:4], want-1, h.seq)
		}
		return nil
	})
	if err != nil {
		if s.deletedSince(g, h) {
			return nil, nil
		}
		return nil, s.readErr(g, fmt.Errorf("storage: range group %x from %d: %w", g[:4], from, asCorrupt(err)))
	}
	return out, nil
}

// RangeReverse returns events of g in descending order, with seq < before (before == 0
// means from the head, included), at most limit records (limit <= 0: no bound). Records
// carry Seq, ID, SubmissionID and Data.
func (s *Store) RangeReverse(g GroupID, before uint64, limit int) ([]Record, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	h, err := s.head(g)
	if err != nil {
		return nil, err
	}
	top := h.seq
	if before != 0 && before-1 < top {
		top = before - 1
	}
	if top <= h.base {
		return nil, nil
	}
	n := top - h.base
	if limit > 0 && uint64(limit) < n {
		n = uint64(limit)
	}
	out := make([]Record, 0, min(n, 1024))
	err = s.db.View(func(txn *badger.Txn) error {
		io := badger.DefaultIteratorOptions
		io.PrefetchValues = false
		io.Reverse = true
		io.Prefix = logPrefix(g)
		it := txn.NewIterator(io)
		defer it.Close()
		want := top
		for it.Seek(logKey(g, top)); it.Valid() && uint64(len(out)) < n; it.Next() {
			item := it.Item()
			seq, err := parseLogKey(item.Key())
			if err != nil {
				return err
			}
			if seq != want {
				return fmt.Errorf("%w: group %x: found seq %d, want %d", ErrCorrupt, g[:4], seq, want)
			}
			rec := Record{Seq: seq}
			if err := item.Value(func(v []byte) error { return decodeLogValue(v, &rec) }); err != nil {
				return err
			}
			out = append(out, rec)
			want--
		}
		if uint64(len(out)) < n {
			return fmt.Errorf("%w: group %x: log missing seq %d", ErrCorrupt, g[:4], want)
		}
		return nil
	})
	if err != nil {
		if s.deletedSince(g, h) {
			return nil, nil
		}
		return nil, s.readErr(g, fmt.Errorf("storage: reverse range group %x before %d: %w", g[:4], before, asCorrupt(err)))
	}
	return out, nil
}

// readErr logs a damaged read of g once; it returns err.
func (s *Store) readErr(g GroupID, err error) error {
	if errors.Is(err, ErrCorrupt) {
		return s.corrupt(g, err)
	}
	return err
}

func seqValue(item *badger.Item) (uint64, error) {
	var seq uint64
	err := item.Value(func(v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("%w: seq value of %d bytes", ErrCorrupt, len(v))
		}
		seq = binary.BigEndian.Uint64(v)
		return nil
	})
	return seq, err
}

// LookupSubmission returns the seq of the durable event of g that carries submission
// sub, and ok == false when there is none.
func (s *Store) LookupSubmission(g GroupID, sub [32]byte) (seq uint64, ok bool, err error) {
	if err := s.enter(); err != nil {
		return 0, false, err
	}
	defer s.leave()
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(subKey(g, sub))
		if err != nil {
			return err
		}
		seq, err = seqValue(item)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("storage: lookup submission: %w", err)
	}
	h, err := s.head(g)
	if err != nil || seq > h.seq {
		return 0, false, err
	}
	return seq, true, nil
}

// LookupEvent returns the group and seq of the durable event with ID id, and ok == false
// when there is none.
func (s *Store) LookupEvent(id [32]byte) (g GroupID, seq uint64, ok bool, err error) {
	if err := s.enter(); err != nil {
		return g, 0, false, err
	}
	defer s.leave()
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(eventKey(id))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) != 40 {
				return fmt.Errorf("%w: event index value of %d bytes", ErrCorrupt, len(v))
			}
			copy(g[:], v[:32])
			seq = binary.BigEndian.Uint64(v[32:])
			return nil
		})
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return GroupID{}, 0, false, nil
	}
	if err != nil {
		return GroupID{}, 0, false, fmt.Errorf("storage: lookup event: %w", err)
	}
	h, err := s.head(g)
	if err != nil || seq > h.seq {
		return GroupID{}, 0, false, err
	}
	return g, seq, true, nil
}

// LatestSnapshot returns g's snapshot, and ok == false when none is stored.
func (s *Store) LatestSnapshot(g GroupID) (Snapshot, bool, error) {
	if err := s.enter(); err != nil {
		return Snapshot{}, false, err
	}
	defer s.leave()
	var sn Snapshot
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(snapKey(g))
		if err != nil {
			return err
		}
		var total int
		if err := item.Value(func(v []byte) error {
			if len(v) < snapHeader {
				return fmt.Errorf("%w: snapshot header of %d bytes", ErrCorrupt, len(v))
			}
			sn.Seq = binary.BigEndian.Uint64(v)
			total = int(binary.BigEndian.Uint32(v[8:12]))
			sn.Data = make([]byte, 0, total)
			sn.Data = append(sn.Data, v[snapHeader:]...)
			return nil
		}); err != nil {
			return err
		}
		for i := uint32(1); i < snapChunks(total); i++ {
			item, err := txn.Get(snapChunkKey(g, i))
			if err != nil {
				return fmt.Errorf("snapshot chunk %d: %w", i, err)
			}
			if err := item.Value(func(v []byte) error {
				sn.Data = append(sn.Data, v...)
				return nil
			}); err != nil {
				return err
			}
		}
		if len(sn.Data) != total {
			return fmt.Errorf("%w: snapshot of %d bytes, want %d", ErrCorrupt, len(sn.Data), total)
		}
		return nil
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return Snapshot{}, false, nil
	}
	if err != nil {
		return Snapshot{}, false, s.readErr(g, fmt.Errorf("storage: read snapshot of group %x: %w", g[:4], asCorrupt(err)))
	}
	return sn, true, nil
}

// NodeScope is the all-zero GroupID, reserved for the meta data of the node
// itself (no group hashes to it): Groups never lists it.
var NodeScope GroupID

// Groups returns the groups that have at least one event, a base, a snapshot or a meta key, in
// ascending byte order (never NodeScope).
func (s *Store) Groups() ([]GroupID, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	seen := make(map[GroupID]struct{})
	err := s.db.View(func(txn *badger.Txn) error {
		for _, p := range []byte{prefixLog, prefixBase, prefixSnapshot, prefixMeta} {
			io := badger.DefaultIteratorOptions
			io.PrefetchValues = false
			io.Prefix = []byte{p}
			it := txn.NewIterator(io)
			for it.Seek([]byte{p}); it.Valid(); {
				k := it.Item().Key()
				if len(k) < 33 {
					it.Close()
					return fmt.Errorf("%w: key %x", ErrCorrupt, k)
				}
				g := GroupID(k[1:33])
				seen[g] = struct{}{}
				next := nextPrefix(p, g)
				if next == nil {
					break
				}
				it.Seek(next)
			}
			it.Close()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: list groups: %w", err)
	}
	delete(seen, NodeScope)
	out := make([]GroupID, 0, len(seen))
	for g := range seen {
		out = append(out, g)
	}
	sortGroups(out)
	return out, nil
}

func sortGroups(gs []GroupID) {
	slices.SortFunc(gs, func(a, b GroupID) int { return bytes.Compare(a[:], b[:]) })
}

// Meta returns the value stored under key for g, and ok == false when there is none.
func (s *Store) Meta(g GroupID, key string) ([]byte, bool, error) {
	if err := s.enter(); err != nil {
		return nil, false, err
	}
	defer s.leave()
	var val []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(metaKey(g, key))
		if err != nil {
			return err
		}
		val, err = item.ValueCopy(nil)
		if val == nil {
			val = []byte{}
		}
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("storage: read meta %q of group %x: %w", key, g[:4], err)
	}
	return val, true, nil
}

// GroupMeta is one group's values of the keys asked of ScanMeta.
type GroupMeta struct {
	Group GroupID
	Vals  [][]byte // in the order of the keys; nil when the group has no such key
}

// ScanMeta returns, for every group with at least one meta key (never
// NodeScope), in ascending order, its values of the given keys. It reads
// the meta keys in one pass, which is much cheaper than Groups plus one
// Meta call per group and key when a store holds many small groups.
func (s *Store) ScanMeta(keys ...string) ([]GroupMeta, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	var out []GroupMeta
	err := s.db.View(func(txn *badger.Txn) error {
		io := badger.DefaultIteratorOptions
		io.PrefetchValues = false
		io.Prefix = []byte{prefixMeta}
		it := txn.NewIterator(io)
		defer it.Close()
		var first GroupID
		first[31] = 1 // past NodeScope's keys
		for it.Seek(metaPrefix(first)); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) < 33 {
				return fmt.Errorf("%w: key %x", ErrCorrupt, k)
			}
			g := GroupID(k[1:33])
			if len(out) == 0 || out[len(out)-1].Group != g {
				out = append(out, GroupMeta{Group: g, Vals: make([][]byte, len(keys))})
			}
			for i, want := range keys {
				if string(k[33:]) == want {
					v, err := it.Item().ValueCopy(nil)
					if err != nil {
						return err
					}
					if v == nil {
						v = []byte{}
					}
					out[len(out)-1].Vals[i] = v
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: scan meta: %w", err)
	}
	return out, nil
}

// MetaKeys returns the meta keys of scope g that start with prefix, in
// ascending order, without their values.
func (s *Store) MetaKeys(g GroupID, prefix string) ([]string, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	var out []string
	base := len(metaPrefix(g))
	err := s.db.View(func(txn *badger.Txn) error {
		io := badger.DefaultIteratorOptions
		io.PrefetchValues = false
		io.Prefix = metaKey(g, prefix)
		it := txn.NewIterator(io)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			out = append(out, string(it.Item().Key()[base:]))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: list meta keys %q of group %x: %w", prefix, g[:4], err)
	}
	return out, nil
}

// Cursor returns the read cursor of client in g, and ok == false when none is stored.
func (s *Store) Cursor(client string, g GroupID) (uint64, bool, error) {
	if err := s.enter(); err != nil {
		return 0, false, err
	}
	defer s.leave()
	if err := checkClient(client); err != nil {
		return 0, false, err
	}
	var seq uint64
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(cursorKey(client, g))
		if err != nil {
			return err
		}
		seq, err = seqValue(item)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("storage: read cursor: %w", err)
	}
	return seq, true, nil
}
