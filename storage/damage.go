package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/y"
)

// ErrCorrupt: stored data is damaged (a checksum mismatch, or an entry missing below the
// durable head). The error text names the group and seq. Test with errors.Is.
var ErrCorrupt = errors.New("storage: damaged data")

// Damage describes a group whose stored log does not match what the store acknowledged
// before, as found by Open (see the head witness in witness.go).
type Damage struct {
	// Group is the damaged group.
	Group GroupID
	// StoredHead is the head seq Badger holds now.
	StoredHead uint64
	// WitnessHead is the head seq acknowledged before (recorded in the witness); for a lost
	// or damaged witness it is only a lower bound (0 when unknown).
	WitnessHead uint64
	// WitnessID is the event ID acknowledged at WitnessHead.
	WitnessID [32]byte
	// Reason says what is wrong, as a sentence.
	Reason string
}

type damageKind uint8

const (
	damageBelow      damageKind = iota + 1 // stored head below the witness: clears when commits reach it
	damageMismatch                         // the stored event at the witness seq has another ID
	damageUnreadable                       // the tail of the log cannot be read
	damageUnverified                       // the witness itself was damaged or lost
)

type damageEntry struct {
	Damage
	kind damageKind
}

// Damage lists the groups whose stored log is behind or different from what the store
// acknowledged before (events lost after a crash with a damaged write-ahead log or table),
// or whose tail cannot be read, sorted by group. Open finds them and does not fail: the
// caller decides (recover the events from replicas through Commit, refuse to start, or
// ClearDamage). An entry whose stored head was below the witness clears when later commits
// bring the head to the witness seq with the witnessed event ID. The list is empty (nil) for
// a healthy store.
func (s *Store) Damage() []Damage {
	s.dmu.Lock()
	defer s.dmu.Unlock()
	if len(s.damage) == 0 {
		return nil
	}
	out := make([]Damage, 0, len(s.damage))
	for _, d := range s.damage {
		out = append(out, d.Damage)
	}
	slices.SortFunc(out, func(a, b Damage) int { return bytes.Compare(a.Group[:], b.Group[:]) })
	return out
}

// Witness returns the head seq and event ID last acknowledged for g as recorded in the head
// witness, and ok == false when none is recorded. After a damaged witness, seq is a lower bound.
func (s *Store) Witness(g GroupID) (seq uint64, id [32]byte, ok bool) {
	if s.wit == nil {
		return 0, id, false
	}
	e, ok := s.wit.get(g)
	return e.seq, e.id, ok
}

// ClearDamage accepts g's stored log as it is: the witness is set to the stored head and g
// leaves Damage. Call it only when the group was checked otherwise (for example against its
// replicas): a host that sequences on a log that lost acknowledged events re-uses seqs.
func (s *Store) ClearDamage(g GroupID) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	return s.submit(&request{kind: opClearDamage, group: g})
}

// clearDamage runs in the committer.
func (s *Store) clearDamage(g GroupID) error {
	h, err := s.committerHead(g)
	if err != nil {
		return err
	}
	if s.wit != nil {
		if err := s.wit.record(map[GroupID]witnessEntry{g: {seq: h.seq, id: h.id}}); err != nil {
			return err
		}
	}
	s.dropDamage(g)
	s.log.Warn("storage: damage cleared by the caller; the stored log is accepted as it is", "group", fmt.Sprintf("%x", g[:8]), "head", h.seq)
	return nil
}

func (s *Store) dropDamage(g GroupID) {
	s.dmu.Lock()
	delete(s.damage, g)
	s.hasDamage.Store(len(s.damage) > 0)
	s.dmu.Unlock()
}

func (s *Store) setDamage(d damageEntry) {
	s.dmu.Lock()
	s.damage[d.Group] = &d
	s.hasDamage.Store(true)
	s.dmu.Unlock()
}

// DamageOf returns g's entry of Damage, if any, without listing the others.
func (s *Store) DamageOf(g GroupID) (Damage, bool) {
	d, ok := s.damageOf(g)
	return d.Damage, ok
}

// damageOf returns g's damage entry (a copy), if any.
func (s *Store) damageOf(g GroupID) (damageEntry, bool) {
	if !s.hasDamage.Load() {
		return damageEntry{}, false
	}
	s.dmu.Lock()
	defer s.dmu.Unlock()
	d, ok := s.damage[g]
	if !ok {
		return damageEntry{}, false
	}
	return *d, true
}

// openWitness loads the head witness of dir, compares every group with Badger, fills
// s.damage and rewrites the witness compacted. Only errors writing the witness fail Open.
func (s *Store) openWitness(dir string) error {
	path := filepath.Join(dir, WitnessFile)
	m, exists, problem, _ := readWitness(path)
	marker, err := s.witnessMarker()
	if err != nil {
		return err
	}
	if !exists && marker {
		problem = fmt.Sprintf("the head witness %s is missing", path)
	}
	s.wit = &witness{path: path, m: m, dirty: make(map[GroupID]struct{}), sync: s.witnessSync}
	var groups []GroupID
	if problem != "" || !exists {
		groups, err = s.Groups()
		if err != nil {
			// Badger cannot list its keys: the witness says which groups are suspect.
			s.log.Error("storage: cannot list the groups of the store", "dir", dir, "err", err)
		}
	}
	switch {
	case problem != "":
		s.log.Error("storage: the head witness is unreadable; every group is reported as damaged", "problem", problem)
		if exists {
			_ = os.Rename(path, path+".damaged")
		}
		for g, e := range m {
			e.unverified = true
			m[g] = e
		}
		for _, g := range groups {
			if e, ok := m[g]; !ok || !e.unverified {
				m[g] = witnessEntry{unverified: true}
			}
		}
	case !exists:
		// A new store, or one written before the witness existed: start from the stored heads.
		heads, errs := s.readHeads(groups)
		for g, h := range heads {
			if errs[g] == nil && h.seq > 0 {
				m[g] = witnessEntry{seq: h.seq, id: h.id}
			}
		}
	}
	s.checkAgainstWitness(m, problem)
	if err := s.wit.rewrite(); err != nil {
		return err
	}
	if !marker {
		if err := s.setWitnessMarker(); err != nil {
			return err
		}
	}
	if d := s.Damage(); len(d) > 0 {
		s.log.Error("storage: the store lost or damaged acknowledged events", "dir", dir, "groups", len(d), "first", d[0].Reason)
	}
	return nil
}

// checkAgainstWitness compares every witnessed group with its stored log.
func (s *Store) checkAgainstWitness(m map[GroupID]witnessEntry, problem string) {
	groups := make([]GroupID, 0, len(m))
	for g := range m {
		groups = append(groups, g)
	}
	sortGroups(groups)
	suspect := s.quickCheck(groups, m)
	heads, errs := s.readHeads(suspect)
	for _, g := range suspect {
		e := m[g]
		h := heads[g]
		d := damageEntry{Damage: Damage{Group: g, StoredHead: h.seq, WitnessHead: e.seq, WitnessID: e.id}}
		switch {
		case errs[g] != nil:
			d.kind = damageUnreadable
			d.Reason = fmt.Sprintf("group %x: the tail of its log cannot be read: %v", g[:8], errs[g])
		case e.unverified:
			d.kind = damageUnverified
			d.Reason = fmt.Sprintf("group %x: its acknowledged head cannot be checked (%s); stored head %d, at least seq %d was acknowledged", g[:8], problem, h.seq, e.seq)
			if problem == "" {
				d.Reason = fmt.Sprintf("group %x: its acknowledged head could not be checked since an earlier damage of the head witness; stored head %d, at least seq %d was acknowledged", g[:8], h.seq, e.seq)
			}
			if e.seq == 0 {
				d.Reason = strings.TrimSuffix(d.Reason, ", at least seq 0 was acknowledged") + ", the acknowledged head is unknown"
			}
		case h.seq < e.seq:
			d.kind = damageBelow
			d.Reason = fmt.Sprintf("group %x: events %d..%d were acknowledged but are missing (stored head %d); the write-ahead log or a table of the store was damaged", g[:8], h.seq+1, e.seq, h.seq)
		default:
			id, err := s.storedID(g, e.seq, h)
			switch {
			case err != nil:
				d.kind = damageUnreadable
				d.Reason = fmt.Sprintf("group %x: acknowledged event %d cannot be read: %v", g[:8], e.seq, err)
			case id != e.id:
				d.kind = damageMismatch
				d.Reason = fmt.Sprintf("group %x: the event stored at seq %d has ID %x, but event %x was acknowledged there", g[:8], e.seq, id[:8], e.id[:8])
			default:
				continue
			}
		}
		s.setDamage(d)
	}
}

// quickCheck returns the groups (sorted) that need a closer look: unverified ones, and those
// whose log does not hold the witnessed event at the witnessed seq. One forward iterator
// and one seek per group (cheaper than finding each head); reading the value checks its
// block's checksum.
func (s *Store) quickCheck(groups []GroupID, m map[GroupID]witnessEntry) []GroupID {
	var suspect []GroupID
	err := s.db.View(func(txn *badger.Txn) error {
		io := badger.DefaultIteratorOptions
		io.PrefetchValues = false
		io.Prefix = []byte{prefixLog}
		it := txn.NewIterator(io)
		defer it.Close()
		for _, g := range groups {
			e := m[g]
			if e.unverified {
				suspect = append(suspect, g)
				continue
			}
			k := logKey(g, e.seq)
			it.Seek(k)
			ok := it.Valid() && bytes.Equal(it.Item().Key(), k)
			if ok {
				err := it.Item().Value(func(v []byte) error {
					ok = len(v) >= logValueHeader && [32]byte(v[:32]) == e.id
					return nil
				})
				ok = ok && err == nil
			}
			if !ok {
				suspect = append(suspect, g)
			}
		}
		return nil
	})
	if err != nil {
		return groups
	}
	return suspect
}

// storedID returns the ID of the event stored at seq of g, whose head is h.
func (s *Store) storedID(g GroupID, seq uint64, h headState) ([32]byte, error) {
	if seq == h.seq {
		return h.id, nil
	}
	if seq == h.base {
		return h.baseID, nil
	}
	var id [32]byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(logKey(g, seq))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) < logValueHeader {
				return fmt.Errorf("%w: log value of %d bytes", ErrCorrupt, len(v))
			}
			copy(id[:], v[:32])
			return nil
		})
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		err = fmt.Errorf("%w: event %d is missing below head %d", ErrCorrupt, seq, h.seq)
	}
	return id, err
}

// readHeads reads the heads of groups (sorted) with one reverse iterator, reading the head
// event in full (which checks its block's checksum), and fills the head cache.
func (s *Store) readHeads(groups []GroupID) (map[GroupID]headState, map[GroupID]error) {
	heads := make(map[GroupID]headState, len(groups))
	errs := make(map[GroupID]error)
	if len(groups) == 0 {
		return heads, errs
	}
	_ = s.db.View(func(txn *badger.Txn) error {
		io := badger.DefaultIteratorOptions
		io.PrefetchValues = false
		io.Reverse = true
		io.Prefix = []byte{prefixLog}
		it := txn.NewIterator(io)
		defer it.Close()
		for _, g := range groups {
			h, err := readBase(txn, g)
			if err != nil {
				errs[g] = asCorrupt(err)
				continue
			}
			it.Seek(logKey(g, math.MaxUint64))
			if it.Valid() && bytes.HasPrefix(it.Item().Key(), logPrefix(g)) {
				item := it.Item()
				seq, err := parseLogKey(item.Key())
				if err == nil {
					err = item.Value(func(v []byte) error {
						var rec Record
						if err := decodeLogValue(v, &rec); err != nil {
							return err
						}
						h = headState{seq: seq, id: rec.ID}.withBase(h)
						return nil
					})
				}
				if err != nil {
					errs[g] = asCorrupt(err)
					continue
				}
			}
			heads[g] = h
		}
		return nil
	})
	s.headMu.Lock()
	for g, h := range heads {
		s.heads[g] = h
	}
	s.headMu.Unlock()
	return heads, errs
}

// afterWrite runs in the committer after a merged write is durable: it advances the
// witness of every group whose head grew and clears the damage that the write repaired.
func (s *Store) afterWrite(heads map[GroupID]headState) {
	if s.wit == nil {
		return
	}
	upd := make(map[GroupID]witnessEntry)
	s.wit.mu.RLock()
	for g, h := range heads {
		e, ok := s.wit.m[g]
		if h.seq > 0 && (!ok || h.seq > e.seq) {
			upd[g] = witnessEntry{seq: h.seq, id: h.id, unverified: e.unverified}
		}
	}
	s.wit.mu.RUnlock()
	if s.hasDamage.Load() {
		for g, h := range heads {
			d, ok := s.damageOf(g)
			if !ok {
				continue
			}
			switch d.kind {
			case damageMismatch, damageUnreadable:
				delete(upd, g) // keep the witness as it was, so that a reopen reports it again
			case damageBelow:
				if h.seq < d.WitnessHead {
					continue
				}
				id, err := s.storedID(g, d.WitnessHead, h)
				switch {
				case err != nil:
					d.kind, d.Reason = damageUnreadable, fmt.Sprintf("group %x: acknowledged event %d cannot be read: %v", g[:8], d.WitnessHead, err)
					d.StoredHead = h.seq
					s.setDamage(d)
					delete(upd, g)
				case id != d.WitnessID:
					d.kind, d.Reason = damageMismatch, fmt.Sprintf("group %x: the event committed again at seq %d has ID %x, but event %x was acknowledged there", g[:8], d.WitnessHead, id[:8], d.WitnessID[:8])
					d.StoredHead = h.seq
					s.setDamage(d)
					delete(upd, g)
				default:
					s.dropDamage(g)
					s.log.Info("storage: group recovered its acknowledged events", "group", fmt.Sprintf("%x", g[:8]), "head", h.seq)
				}
			case damageUnverified:
				d.StoredHead = h.seq
				s.setDamage(d)
			}
		}
	}
	if err := s.wit.record(upd); err != nil {
		s.log.Error("storage: cannot write the head witness; retrying with the next write", "err", err)
	}
}

// witnessMarker reports whether Badger records that this store has a witness file.
func (s *Store) witnessMarker() (bool, error) {
	err := s.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(witnessMarkerKey)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("storage: read witness marker: %w", err)
	}
	return true, nil
}

func (s *Store) setWitnessMarker() error {
	err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(witnessMarkerKey, binary.BigEndian.AppendUint32(nil, 1))
	})
	if err == nil && !s.noSync {
		err = s.db.Sync()
	}
	if err != nil {
		return fmt.Errorf("storage: write witness marker: %w", err)
	}
	return nil
}

// asCorrupt makes a Badger checksum error satisfy errors.Is(err, ErrCorrupt).
func asCorrupt(err error) error {
	if err == nil || errors.Is(err, ErrCorrupt) {
		return err
	}
	if errors.Is(err, y.ErrChecksumMismatch) {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return err
}

// corrupt logs a damaged read once per group and returns err (wrapping ErrCorrupt).
func (s *Store) corrupt(g GroupID, err error) error {
	s.dmu.Lock()
	_, seen := s.logged[g]
	if !seen && len(s.logged) < 4096 {
		s.logged[g] = struct{}{}
	}
	s.dmu.Unlock()
	if !seen {
		s.log.Error("storage: damaged data read from the store", "group", fmt.Sprintf("%x", g[:8]), "err", err)
	}
	return err
}
