package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/skl"
)

type opKind uint8

const (
	opCommit opKind = iota
	opMeta
	opCursor
	opDelete
	opClearDamage
)

// request is one write call queued for the committer.
type request struct {
	kind    opKind
	batches []Batch // opCommit
	group   GroupID // opMeta, opCursor, opDelete
	key     string  // opMeta: meta key; opCursor: client
	val     []byte  // opMeta: value (nil deletes)
	seq     uint64  // opCursor
	done    chan error
}

// kv is one Badger write: a Set, or a Delete when del is true.
type kv struct {
	key, val []byte
	del      bool
}

// Budgets of one Badger transaction. Badger refuses a transaction of
// maxBatchSize = 15% of the memtable size or more, or of maxBatchSize/skl.MaxNodeSize
// entries or more; we stay below both.
var (
	txnMaxEntries = int((15*memTableSize/100)/int64(skl.MaxNodeSize)) - 64
)

// entrySize estimates the size Badger charges for one entry (key + value + 2 meta bytes
// + 8-byte version + 2 spare).
func entrySize(e kv) int { return len(e.key) + len(e.val) + 12 }

func entriesSize(kvs []kv) int {
	n := 0
	for _, e := range kvs {
		n += entrySize(e)
	}
	return n
}

const (
	roundMaxCalls = 4096  // write calls merged into one transaction at most
	deleteChunk   = 10000 // keys deleted per transaction by DeleteGroup
)

// Commit appends the batches durably and atomically: when it returns nil, every event and
// snapshot of every batch is on disk (fsync done); when it returns an error, nothing of this
// call was written. Concurrent calls are merged by one committer goroutine into a single
// Badger transaction and a single fsync (group commit); a call refused for a gap or a
// duplicate does not affect the other calls merged with it.
//
// Each batch must continue its group's log: the first event has seq == head+1, where head
// counts batches earlier in this call and calls committed before, and seqs are consecutive;
// otherwise the error wraps ErrGap. An event whose non-zero SubmissionID is already stored
// in the same group (or earlier in the same call) fails with an error wrapping ErrDuplicate;
// LookupSubmission then gives the seq of the stored event. Empty event data wraps
// ErrInvalid; event data over 512 KiB or a call over MaxCommitBytes wraps ErrTooLarge.
// A snapshot whose Seq is greater than the head after the batch wraps ErrInvalid.
// While the disk holding the store is full (see Full), Commit writes nothing and returns an
// error wrapping ErrStorageFull that names the folder and the free space; so do SetMeta,
// SetCursor and DeleteGroup.
//
// Commit with no batches does nothing.
func (s *Store) Commit(batches ...Batch) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if len(batches) == 0 {
		return nil
	}
	if err := precheck(batches); err != nil {
		return err
	}
	return s.submit(&request{kind: opCommit, batches: batches})
}

// precheck does the checks that need no stored state, outside the committer.
func precheck(batches []Batch) error {
	for bi := range batches {
		b := &batches[bi]
		for i := range b.Events {
			ev := &b.Events[i]
			if len(ev.Data) == 0 {
				return fmt.Errorf("storage: group %x seq %d: empty event data: %w", b.Group[:4], ev.Seq, ErrInvalid)
			}
			if len(ev.Data) > maxValueBytes {
				return fmt.Errorf("storage: group %x seq %d: event of %d bytes exceeds %d: %w", b.Group[:4], ev.Seq, len(ev.Data), maxValueBytes, ErrTooLarge)
			}
			if i > 0 && ev.Seq != b.Events[i-1].Seq+1 {
				return fmt.Errorf("storage: group %x: seq %d follows seq %d in a batch: %w", b.Group[:4], ev.Seq, b.Events[i-1].Seq, ErrGap)
			}
		}
		if b.Snapshot != nil && len(b.Snapshot.Data) > MaxCommitBytes {
			return fmt.Errorf("storage: group %x: snapshot of %d bytes exceeds %d: %w", b.Group[:4], len(b.Snapshot.Data), MaxCommitBytes, ErrTooLarge)
		}
	}
	return nil
}

// submit queues r for the committer and waits for its result.
// The caller holds s.life (read), so Close waits until r is answered.
func (s *Store) submit(r *request) error {
	r.done = make(chan error, 1)
	s.reqs <- r
	return <-r.done
}

// commitLoop is the committer goroutine: it takes the requests queued while the previous
// transaction and fsync ran, and writes them as one transaction followed by one fsync.
func (s *Store) commitLoop() {
	defer s.wg.Done()
	var carry *request
	for {
		first := carry
		carry = nil
		if first == nil {
			select {
			case first = <-s.reqs:
			case <-s.quit:
				return // Close waited for all callers: nothing is queued
			}
		}
		switch first.kind {
		case opDelete:
			first.done <- s.deleteGroup(first.group)
			continue
		case opClearDamage:
			first.done <- s.clearDamage(first.group)
			continue
		}
		rd := newRound(s)
		rd.add(first)
	drain:
		for rd.calls < roundMaxCalls {
			select {
			case r := <-s.reqs:
				if r.kind == opDelete || r.kind == opClearDamage || !rd.add(r) {
					carry = r
					break drain
				}
			default:
				break drain
			}
		}
		rd.finish()
	}
}

// round is one merged write: the calls accepted so far and their tentative effects.
type round struct {
	s     *Store
	rtxn  *badger.Txn           // read transaction for index lookups (lazy)
	heads map[GroupID]headState // heads after the accepted calls
	subs  map[[64]byte]uint64   // group|submission → seq, of accepted calls
	snaps map[GroupID]uint32    // snapshot chunk counts after the accepted calls
	kvs   []kv
	size  int
	calls int
	acked []*request
	nacks []nack
}

type nack struct {
	r   *request
	err error
}

// pending is the effect of one call, merged into its round only if the whole call is valid.
type pending struct {
	heads map[GroupID]headState
	subs  map[[64]byte]uint64
	snaps map[GroupID]uint32
	kvs   []kv
	size  int
}

func newRound(s *Store) *round {
	return &round{
		s:     s,
		heads: make(map[GroupID]headState),
		subs:  make(map[[64]byte]uint64),
		snaps: make(map[GroupID]uint32),
	}
}

// add validates r against the stored state plus the calls already in the round. It returns
// false, without changing the round, when r is valid but does not fit into the round's
// transaction: r must then start the next round.
func (rd *round) add(r *request) bool {
	p, err := rd.prepare(r)
	if err != nil {
		rd.nacks = append(rd.nacks, nack{r, err})
		rd.calls++
		return true
	}
	if p.size > MaxCommitBytes || len(p.kvs) > txnMaxEntries {
		rd.nacks = append(rd.nacks, nack{r, fmt.Errorf("storage: one call writes %d bytes in %d entries, over the limit of %d bytes / %d entries: %w", p.size, len(p.kvs), MaxCommitBytes, txnMaxEntries, ErrTooLarge)})
		rd.calls++
		return true
	}
	if rd.size+p.size > MaxCommitBytes || len(rd.kvs)+len(p.kvs) > txnMaxEntries {
		return false
	}
	for g, h := range p.heads {
		rd.heads[g] = h
	}
	for k, v := range p.subs {
		rd.subs[k] = v
	}
	for g, n := range p.snaps {
		rd.snaps[g] = n
	}
	rd.kvs = append(rd.kvs, p.kvs...)
	rd.size += p.size
	rd.acked = append(rd.acked, r)
	rd.calls++
	return true
}

func (p *pending) put(k, v []byte) {
	e := kv{key: k, val: v}
	p.kvs = append(p.kvs, e)
	p.size += entrySize(e)
}

func (p *pending) del(k []byte) {
	e := kv{key: k, del: true}
	p.kvs = append(p.kvs, e)
	p.size += entrySize(e)
}

func (rd *round) prepare(r *request) (*pending, error) {
	if rd.s.failErr != nil {
		return nil, rd.s.failedError()
	}
	p := &pending{}
	switch r.kind {
	case opMeta:
		if r.val == nil {
			p.del(metaKey(r.group, r.key))
		} else {
			p.put(metaKey(r.group, r.key), append([]byte(nil), r.val...))
		}
		return p, nil
	case opCursor:
		p.put(cursorKey(r.key, r.group), be64(nil, r.seq))
		return p, nil
	case opCommit:
	default:
		return nil, fmt.Errorf("storage: internal: unexpected request kind %d", r.kind)
	}
	p.heads = make(map[GroupID]headState)
	p.subs = make(map[[64]byte]uint64)
	p.snaps = make(map[GroupID]uint32)
	for bi := range r.batches {
		b := &r.batches[bi]
		g := b.Group
		h, err := rd.head(p, g)
		if err != nil {
			return nil, err
		}
		if bs := b.Base; bs != nil {
			if h.seq != 0 || bs.Seq == 0 {
				return nil, fmt.Errorf("storage: group %x: a base at seq %d needs a group with nothing stored (head %d): %w", g[:4], bs.Seq, h.seq, ErrInvalid)
			}
			h = headState{seq: bs.Seq, id: bs.ID, base: bs.Seq, baseID: bs.ID}
			p.put(baseKey(g), append(be64(make([]byte, 0, 40), bs.Seq), bs.ID[:]...))
		}
		for i := range b.Events {
			ev := &b.Events[i]
			if ev.Seq != h.seq+1 {
				return nil, fmt.Errorf("storage: group %x: event seq %d does not follow head %d: %w", g[:4], ev.Seq, h.seq, ErrGap)
			}
			if ev.SubmissionID != ([32]byte{}) {
				var mk [64]byte
				copy(mk[:], g[:])
				copy(mk[32:], ev.SubmissionID[:])
				seq, found, err := rd.lookupSub(p, mk, g, ev.SubmissionID)
				if err != nil {
					return nil, err
				}
				if found {
					return nil, fmt.Errorf("storage: group %x: submission %x already stored at seq %d: %w", g[:4], ev.SubmissionID[:8], seq, ErrDuplicate)
				}
				p.subs[mk] = ev.Seq
				p.put(subKey(g, ev.SubmissionID), be64(nil, ev.Seq))
			}
			p.put(logKey(g, ev.Seq), encodeLogValue(ev))
			p.put(eventKey(ev.ID), be64(append(make([]byte, 0, 40), g[:]...), ev.Seq))
			h = headState{seq: ev.Seq, id: ev.ID}.withBase(h)
		}
		p.heads[g] = h
		for _, m := range b.Meta {
			if len(m.Key) == 0 || len(m.Key) > maxMetaKeyLen || len(m.Val) > maxValueBytes {
				return nil, fmt.Errorf("storage: group %x: meta key of %d bytes or value of %d bytes out of range: %w", g[:4], len(m.Key), len(m.Val), ErrInvalid)
			}
			if m.Val == nil {
				p.del(metaKey(m.Scope, m.Key))
			} else {
				p.put(metaKey(m.Scope, m.Key), append([]byte(nil), m.Val...))
			}
		}
		if sn := b.Snapshot; sn != nil {
			if sn.Seq > h.seq {
				return nil, fmt.Errorf("storage: group %x: snapshot at seq %d is ahead of head %d: %w", g[:4], sn.Seq, h.seq, ErrInvalid)
			}
			old, err := rd.snapChunks(p, g)
			if err != nil {
				return nil, err
			}
			n := snapChunks(len(sn.Data))
			first := sn.Data[:min(len(sn.Data), snapChunkSize)]
			hv := make([]byte, 0, snapHeader+len(first))
			hv = be64(hv, sn.Seq)
			hv = binary.BigEndian.AppendUint32(hv, uint32(len(sn.Data)))
			hv = append(hv, first...)
			p.put(snapKey(g), hv)
			for i := uint32(1); i < n; i++ {
				end := min(len(sn.Data), int(i+1)*snapChunkSize)
				p.put(snapChunkKey(g, i), append([]byte(nil), sn.Data[int(i)*snapChunkSize:end]...))
			}
			for i := max(n, 1); i < old; i++ {
				p.del(snapChunkKey(g, i))
			}
			p.snaps[g] = n
		}
	}
	return p, nil
}

// snapChunks is the number of keys holding a snapshot of size n.
func snapChunks(n int) uint32 {
	return uint32(max(1, (n+snapChunkSize-1)/snapChunkSize))
}

func (rd *round) txn() *badger.Txn {
	if rd.rtxn == nil {
		rd.rtxn = rd.s.db.NewTransaction(false)
	}
	return rd.rtxn
}

// head returns g's head as seen by the call being prepared.
func (rd *round) head(p *pending, g GroupID) (headState, error) {
	if h, ok := p.heads[g]; ok {
		return h, nil
	}
	if h, ok := rd.heads[g]; ok {
		return h, nil
	}
	return rd.s.committerHead(g)
}

func (rd *round) lookupSub(p *pending, mk [64]byte, g GroupID, sub [32]byte) (uint64, bool, error) {
	if seq, ok := p.subs[mk]; ok {
		return seq, true, nil
	}
	if seq, ok := rd.subs[mk]; ok {
		return seq, true, nil
	}
	item, err := rd.txn().Get(subKey(g, sub))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("storage: read submission index: %w", err)
	}
	seq, err := seqValue(item)
	return seq, err == nil, err
}

// snapChunks returns how many keys g's current snapshot occupies (0 when none).
func (rd *round) snapChunks(p *pending, g GroupID) (uint32, error) {
	if n, ok := p.snaps[g]; ok {
		return n, nil
	}
	if n, ok := rd.snaps[g]; ok {
		return n, nil
	}
	item, err := rd.txn().Get(snapKey(g))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("storage: read snapshot: %w", err)
	}
	var n uint32
	err = item.Value(func(v []byte) error {
		if len(v) < snapHeader {
			return fmt.Errorf("%w: snapshot header of %d bytes", ErrCorrupt, len(v))
		}
		n = snapChunks(int(binary.BigEndian.Uint32(v[8:12])))
		return nil
	})
	return n, err
}

// finish writes the round's transaction, fsyncs, publishes the new heads and answers
// every call of the round.
func (rd *round) finish() {
	if rd.rtxn != nil {
		rd.rtxn.Discard()
	}
	var err error
	if len(rd.kvs) > 0 {
		err = rd.s.write(rd.kvs)
		if err == nil {
			rd.s.headMu.Lock()
			for g, h := range rd.heads {
				rd.s.heads[g] = h
			}
			rd.s.headMu.Unlock()
			rd.s.afterWrite(rd.heads)
		}
	}
	if err == nil {
		rd.s.statCalls.Add(uint64(len(rd.acked)))
	}
	for _, r := range rd.acked {
		r.done <- err
	}
	for _, n := range rd.nacks {
		n.r.done <- n.err
	}
}

func (s *Store) failedError() error {
	return fmt.Errorf("storage: writes disabled after an earlier write failure: %w", s.failErr)
}

// write applies kvs in one Badger transaction and fsyncs. A failure of the write or the
// fsync leaves the on-disk state uncertain, so it disables all further writes. On a full
// disk it writes nothing and returns an error wrapping ErrStorageFull (not fail-stop: writes
// resume when space is freed).
func (s *Store) write(kvs []kv) error {
	if s.failErr != nil {
		return s.failedError()
	}
	if err := s.space.admit(); err != nil {
		return err
	}
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	for _, e := range kvs {
		var err error
		if e.del {
			err = txn.Delete(e.key)
		} else {
			err = txn.Set(e.key, e.val)
		}
		if err != nil { // nothing was written
			return fmt.Errorf("storage: build transaction: %w", err)
		}
	}
	if err := txn.Commit(); err != nil {
		s.failErr = err
		s.log.Error("storage: write failed; refusing further writes", "err", err)
		return fmt.Errorf("storage: write: %w", err)
	}
	s.statRounds.Add(1)
	s.space.memtableWritten(entriesSize(kvs))
	if !s.noSync {
		if err := s.db.Sync(); err != nil {
			s.failErr = err
			s.log.Error("storage: fsync failed; refusing further writes", "err", err)
			return fmt.Errorf("storage: fsync: %w", err)
		}
		s.statSyncs.Add(1)
	}
	return nil
}

// SetMeta durably stores small per-group metadata under key (1 to 1024 bytes). A nil
// val deletes the key; an empty non-nil val is stored as an empty value. Values are
// limited to 512 KiB (ErrTooLarge). Writes share fsyncs with Commit.
func (s *Store) SetMeta(g GroupID, key string, val []byte) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if len(key) == 0 || len(key) > maxMetaKeyLen {
		return fmt.Errorf("storage: meta key of %d bytes (want 1..%d): %w", len(key), maxMetaKeyLen, ErrInvalid)
	}
	if len(val) > maxValueBytes {
		return fmt.Errorf("storage: meta value of %d bytes exceeds %d: %w", len(val), maxValueBytes, ErrTooLarge)
	}
	return s.submit(&request{kind: opMeta, group: g, key: key, val: val})
}

// SetCursor durably stores the read cursor of a light client (1 to 255 bytes of name)
// in group g. Writes share fsyncs with Commit.
func (s *Store) SetCursor(client string, g GroupID, seq uint64) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := checkClient(client); err != nil {
		return err
	}
	return s.submit(&request{kind: opCursor, group: g, key: client, seq: seq})
}

func checkClient(client string) error {
	if len(client) == 0 || len(client) > maxClientLen {
		return fmt.Errorf("storage: client name of %d bytes (want 1..%d): %w", len(client), maxClientLen, ErrInvalid)
	}
	return nil
}

// DeleteGroup removes a group's snapshot, log, event and submission indexes, cursors
// and meta, in this order. Readers see an empty group (head 0) as soon as it starts.
// It runs in the committer between merged writes and may take several transactions
// for a long log, each fsynced; if it is interrupted (crash, error), what remains is a
// shorter prefix of the log (never a log with holes) plus the meta, and calling
// DeleteGroup again finishes the job. Deleting a group that does not exist is not an error.
func (s *Store) DeleteGroup(g GroupID) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	return s.submit(&request{kind: opDelete, group: g})
}

// deleteGroup runs in the committer.
func (s *Store) deleteGroup(g GroupID) error {
	if s.failErr != nil {
		return s.failedError()
	}
	if err := s.space.admit(); err != nil {
		return err
	}
	// The witness forgets the group first: a deletion cut short leaves a shorter log,
	// which is not damage.
	if s.wit != nil {
		if err := s.wit.record(map[GroupID]witnessEntry{g: {}}); err != nil {
			return fmt.Errorf("storage: delete group %x: %w", g[:4], err)
		}
	}
	s.dropDamage(g)
	s.headMu.Lock()
	s.heads[g] = headState{}
	s.headMu.Unlock()

	// 1. snapshot (first, so that a snapshot is never ahead of a partly deleted log)
	keys, err := s.prefixKeys(snapKey(g), nil)
	if err == nil {
		err = s.deleteKeys(keys)
	}
	// 2. log and its indexes, from the head down
	next := uint64(math.MaxUint64)
	for err == nil {
		var kvs []kv
		var lowest uint64
		kvs, lowest, err = s.logTop(g, next, deleteChunk/3)
		if err != nil || len(kvs) == 0 {
			break
		}
		if err = s.write(kvs); err != nil || lowest <= 1 {
			break
		}
		next = lowest - 1
	}
	// 3. the base, leftovers of the submission index (none expected), cursors, meta
	if err == nil {
		err = s.deleteKeys([][]byte{baseKey(g)})
	}
	if err == nil {
		keys, err = s.prefixKeys(subPrefix(g), nil)
		if err == nil {
			err = s.deleteKeys(keys)
		}
	}
	if err == nil {
		keys, err = s.prefixKeys([]byte{prefixCursor}, func(k []byte) bool {
			return len(k) >= 2+32 && GroupID(k[len(k)-32:]) == g && int(k[1]) == len(k)-2-32
		})
		if err == nil {
			err = s.deleteKeys(keys)
		}
	}
	if err == nil {
		keys, err = s.prefixKeys(metaPrefix(g), nil)
		if err == nil {
			err = s.deleteKeys(keys)
		}
	}
	if err != nil {
		return fmt.Errorf("storage: delete group %x: %w", g[:4], err)
	}
	return nil
}

// prefixKeys lists the keys under prefix (key-only iteration) that pass keep (nil keeps all).
func (s *Store) prefixKeys(prefix []byte, keep func([]byte) bool) ([][]byte, error) {
	var keys [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		io := badger.DefaultIteratorOptions
		io.PrefetchValues = false
		io.Prefix = prefix
		it := txn.NewIterator(io)
		defer it.Close()
		for it.Seek(prefix); it.Valid(); it.Next() {
			k := it.Item().KeyCopy(nil)
			if keep == nil || keep(k) {
				keys = append(keys, k)
			}
		}
		return nil
	})
	return keys, err
}

// deleteKeys deletes keys in transactions of at most deleteChunk keys, each fsynced.
func (s *Store) deleteKeys(keys [][]byte) error {
	for len(keys) > 0 {
		n := min(len(keys), deleteChunk)
		kvs := make([]kv, n)
		for i, k := range keys[:n] {
			kvs[i] = kv{key: k, del: true}
		}
		if err := s.write(kvs); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

// logTop returns deletions for up to n events of g with seq <= top, from the highest
// down (log key, event index, submission index), and the lowest seq among them.
func (s *Store) logTop(g GroupID, top uint64, n int) ([]kv, uint64, error) {
	var kvs []kv
	var lowest uint64
	err := s.db.View(func(txn *badger.Txn) error {
		io := badger.DefaultIteratorOptions
		io.PrefetchValues = false
		io.Reverse = true
		io.Prefix = logPrefix(g)
		it := txn.NewIterator(io)
		defer it.Close()
		for it.Seek(logKey(g, top)); it.Valid() && len(kvs) < 3*n; it.Next() {
			item := it.Item()
			seq, err := parseLogKey(item.Key())
			if err != nil {
				return err
			}
			var rec Record
			if err := item.Value(func(v []byte) error {
				if len(v) < logValueHeader {
					return fmt.Errorf("%w: log value of %d bytes", ErrCorrupt, len(v))
				}
				copy(rec.ID[:], v[:32])
				copy(rec.SubmissionID[:], v[32:64])
				return nil
			}); err != nil {
				return err
			}
			kvs = append(kvs, kv{key: item.KeyCopy(nil), del: true}, kv{key: eventKey(rec.ID), del: true})
			if rec.SubmissionID != ([32]byte{}) {
				kvs = append(kvs, kv{key: subKey(g, rec.SubmissionID), del: true})
			}
			lowest = seq
		}
		return nil
	})
	return kvs, lowest, err
}
