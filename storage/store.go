package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	boptions "github.com/dgraph-io/badger/v4/options"
)

// GroupID is a 32-byte group identifier. The store treats it as opaque bytes.
type GroupID = [32]byte

// Record is one sequenced event of a group log.
type Record struct {
	// Seq is the position of the event in its group log (1, 2, 3… without gaps).
	Seq uint64
	// ID is the event ID, computed by the caller. It is indexed for LookupEvent.
	ID [32]byte
	// SubmissionID is the ID of the submission inside the event. It is indexed per
	// group for exactly-once retries (LookupSubmission, ErrDuplicate). The all-zero
	// value means "no submission": it is neither indexed nor checked for duplicates.
	SubmissionID [32]byte
	// Data holds the signed event bytes, stored and returned verbatim.
	Data []byte
}

// Snapshot is opaque group state as of event Seq (state after applying events 1..Seq).
type Snapshot struct {
	// Seq is the last event folded into Data.
	Seq uint64
	// Data is the opaque encoded state.
	Data []byte
}

// Batch is a group of writes for one group, appended atomically.
type Batch struct {
	// Group is the group the events belong to.
	Group GroupID
	// Events must carry consecutive seqs, the first one equal to the stored head+1
	// (taking into account earlier batches of the same Commit call).
	Events []Record
	// Snapshot, when not nil, replaces the group's snapshot. Its Seq must not be
	// greater than the head after this batch's events.
	Snapshot *Snapshot
	// Base, when not nil, starts a group that holds nothing yet after a
	// checkpoint: its log begins at Base.Seq+1, and events up to Base.Seq
	// are never stored (a replica started from a host-signed checkpoint).
	// A Base for a group with an event or a base wraps ErrInvalid.
	Base *Base
	// Meta are meta keys written in the same transaction as the events,
	// under any scope (a group or NodeScope): indexes that must agree with
	// the log after a crash.
	Meta []MetaWrite
}

// Base is the checkpoint a group's log starts after: the seq and ID of the
// last event before the first stored one.
type Base struct {
	Seq uint64
	ID  [32]byte
}

// MetaWrite is one meta key written by a Batch: Val nil deletes the key.
type MetaWrite struct {
	Scope GroupID
	Key   string
	Val   []byte
}

// Sentinel errors. Errors returned by the store wrap them (test with errors.Is) and
// add context.
var (
	// ErrNotFound: the event (or other item) is not stored.
	ErrNotFound = errors.New("storage: not found")
	// ErrGap: a batch does not continue the stored log (first seq != head+1, or seqs not consecutive).
	ErrGap = errors.New("storage: seq gap")
	// ErrDuplicate: an event's SubmissionID is already stored in the same group.
	ErrDuplicate = errors.New("storage: duplicate submission")
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("storage: store closed")
	// ErrInvalid: malformed input (empty event data, snapshot ahead of the log,
	// empty or over-long meta key or client name).
	ErrInvalid = errors.New("storage: invalid input")
	// ErrTooLarge: a value or one Commit call exceeds the size limits
	// (MaxCommitBytes, maxValueBytes).
	ErrTooLarge = errors.New("storage: too large")
)

// MaxCommitBytes bounds the encoded size of one Commit call (all its events,
// indexes and snapshot: about len(Data)+250 bytes per event plus the snapshot
// length). One call is one Badger transaction and must fit into one; larger
// calls fail with ErrTooLarge and must be split by the caller.
const MaxCommitBytes = 2 << 20

// maxValueBytes bounds one event's data and one meta value. It keeps every value
// below Badger's value threshold, so that no value goes to the value log and no
// value-log garbage collection is ever needed.
const maxValueBytes = 512 << 10

// Badger sizing; see doc.go.
const (
	memTableSize  = 16 << 20
	blockCache    = 32 << 20
	indexCache    = 16 << 20
	vlogFileSize  = 1 << 20 // the value log stays empty; Badger's minimum
	numMemtables  = 3
	numCompactors = 2
)

// CloseTimeout bounds Close: a Badger that cannot finish (its folder was removed, the disk
// hangs) is given up after it, and Close returns an error.
const CloseTimeout = 30 * time.Second

// closeGoneGrace is how long Close waits for Badger once the store folder is gone.
const closeGoneGrace = time.Second

type options struct {
	logger      *slog.Logger
	inMemory    bool
	noSync      bool
	minFree     int64
	ballast     int64
	witnessSync bool
}

// Option configures Open. Options validate their input and make Open fail on bad values.
type Option func(*options) error

// WithLogger sets the logger. Badger's own messages go to it at Debug level
// (errors at Error level). The default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("storage: WithLogger: nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithInMemory keeps everything in memory (nothing survives Close); the dir
// argument of Open is ignored. Meant for tests.
func WithInMemory() Option {
	return func(o *options) error {
		o.inMemory = true
		return nil
	}
}

// WithoutSync disables fsync. FOR BENCHMARKS ONLY: with it, Commit returns
// before the data is on disk, so a crash or power loss can lose acknowledged
// events and make a host reuse a seq, which is equivocation. Never use it in a node.
func WithoutSync() Option {
	return func(o *options) error {
		o.noSync = true
		return nil
	}
}

// withWitnessSync fsyncs the head witness after every append (for the benchmarks that
// measure what it would cost).
func withWitnessSync() Option {
	return func(o *options) error {
		o.witnessSync = true
		return nil
	}
}

type headState struct {
	seq uint64
	id  [32]byte
	// base and baseID are the checkpoint the log starts after (0: event 1).
	base   uint64
	baseID [32]byte
}

// withBase returns h with the base of b.
func (h headState) withBase(b headState) headState {
	h.base, h.baseID = b.base, b.baseID
	return h
}

// Store is a Badger-backed store of group logs, snapshots, indexes, metadata and
// cursors. It is safe for concurrent use. All writes go through one committer
// goroutine that merges concurrent calls into one transaction and one fsync.
type Store struct {
	db          *badger.DB
	dir         string
	log         *slog.Logger
	noSync      bool
	witnessSync bool

	space *spaceGuard // nil: no free-space guard (in memory, or not measurable)
	wit   *witness    // nil in memory

	// dmu guards damage and logged.
	dmu       sync.Mutex
	damage    map[GroupID]*damageEntry
	hasDamage atomic.Bool
	logged    map[GroupID]struct{} // groups whose damaged reads were logged

	// life guards closed: every operation holds it for reading, Close for writing.
	life   sync.RWMutex
	closed bool

	reqs chan *request
	quit chan struct{}
	wg   sync.WaitGroup

	closeOnce sync.Once
	closeErr  error

	// heads caches the durable head of each group. Only the committer changes an
	// existing entry; readers only fill a missing one.
	headMu sync.RWMutex
	heads  map[GroupID]headState

	// failErr is set (by the committer only) when a write or fsync failed; the
	// store then refuses all further writes.
	failErr error

	// statistics, for tests and benchmarks
	statCalls  atomic.Uint64 // write calls acknowledged
	statRounds atomic.Uint64 // Badger transactions written (each followed by one fsync)
	statSyncs  atomic.Uint64 // fsyncs done
}

// Open opens (creating if needed) the store in dir. It writes the schema version
// into a new store and refuses a store whose version it does not know.
//
// Open compares every group with the head witness (see Damage) and does not fail because
// of damage: it fails only when Badger itself cannot open, with an error naming dir. On a
// full disk it releases the ballast first and opens with writes refused (see Full).
func Open(dir string, opts ...Option) (*Store, error) {
	o := options{logger: slog.Default(), minFree: DefaultMinFree, ballast: DefaultBallast}
	for _, opt := range opts {
		if opt == nil {
			return nil, errors.New("storage: nil Option")
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	bo := badger.DefaultOptions(dir)
	var space *spaceGuard
	if o.inMemory {
		bo = badger.DefaultOptions("").WithInMemory(true)
	} else {
		if dir == "" {
			return nil, errors.New("storage: empty directory")
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("storage: create %s: %w", dir, err)
		}
		space = newSpaceGuard(dir, o.minFree, o.ballast, o.logger)
	}
	bo = bo.
		WithLogger(badgerLogger{o.logger}).
		WithSyncWrites(false). // the committer calls DB.Sync once per transaction
		WithDetectConflicts(false).
		WithMetricsEnabled(false).
		WithMemTableSize(memTableSize).
		WithNumMemtables(numMemtables).
		WithBlockCacheSize(blockCache).
		WithIndexCacheSize(indexCache).
		WithNumCompactors(numCompactors).
		WithNumGoroutines(2).
		WithValueLogFileSize(vlogFileSize).
		// A damaged table block is a read error, never other bytes. Blocks are checked when
		// read (OnTableAndBlockRead would also read every table in full at Open, a start-up
		// cost that grows with the store, and make one bad block fail Open as a whole).
		WithChecksumVerificationMode(boptions.OnBlockRead).
		WithVerifyValueChecksum(true)
	if !o.inMemory {
		removeEmptyLogs(dir, o.logger)
	}
	db, err := badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("storage: open the Badger database in %s: %w", dir, err)
	}
	s := &Store{
		db:          db,
		dir:         dir,
		log:         o.logger,
		noSync:      o.noSync || o.inMemory,
		witnessSync: o.witnessSync,
		space:       space,
		damage:      make(map[GroupID]*damageEntry),
		logged:      make(map[GroupID]struct{}),
		reqs:        make(chan *request, 256),
		quit:        make(chan struct{}),
		heads:       make(map[GroupID]headState),
	}
	if err := s.checkVersion(dir); err != nil {
		_ = db.Close()
		return nil, err
	}
	if !o.inMemory {
		if err := s.openWitness(dir); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	if space != nil {
		space.start()
	}
	s.wg.Add(1)
	go s.commitLoop()
	return s, nil
}

// removeEmptyLogs deletes empty memtable and value-log files: Badger creates them empty and
// then allocates them, and when the allocation failed (a full disk) it leaves an empty file
// behind that it cannot open later.
func removeEmptyLogs(dir string, log *slog.Logger) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".mem") && !strings.HasSuffix(name, ".vlog") {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
			if err := os.Remove(filepath.Join(dir, name)); err == nil {
				log.Warn("storage: removed an empty log file left by a failed allocation", "file", filepath.Join(dir, name))
			}
		}
	}
}

// checkVersion writes the schema version into an empty store, or checks it.
func (s *Store) checkVersion(dir string) error {
	var found bool
	var ver uint32
	var nonEmpty bool
	err := s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(versionKey)
		if errors.Is(err, badger.ErrKeyNotFound) {
			io := badger.DefaultIteratorOptions
			io.PrefetchValues = false
			iter := txn.NewIterator(io)
			defer iter.Close()
			iter.Rewind()
			nonEmpty = iter.Valid()
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		return it.Value(func(v []byte) error {
			if len(v) != 4 {
				return fmt.Errorf("%w: schema version of %d bytes", ErrCorrupt, len(v))
			}
			ver = binary.BigEndian.Uint32(v)
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("storage: read schema version: %w", err)
	}
	switch {
	case found && ver == schemaVersion:
		return nil
	case found && ver > schemaVersion:
		return fmt.Errorf("storage: %s has schema version %d, newer than version %d that this build understands; upgrade qun to open it", dir, ver, schemaVersion)
	case found:
		return fmt.Errorf("storage: %s has unknown schema version %d", dir, ver)
	case nonEmpty:
		return fmt.Errorf("storage: %s holds a Badger database without a qun schema version; refusing to use it", dir)
	}
	err = s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(versionKey, binary.BigEndian.AppendUint32(nil, schemaVersion))
	})
	if err == nil && !s.noSync {
		err = s.db.Sync()
	}
	if err != nil {
		return fmt.Errorf("storage: write schema version: %w", err)
	}
	return nil
}

// Close stops the committer (after the calls in flight are done) and closes the
// database. It is idempotent: later calls return the result of the first.
// Every other method returns ErrClosed after Close.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.life.Lock() // waits for every operation in flight
		s.closed = true
		s.life.Unlock()
		close(s.quit)
		s.wg.Wait()
		if s.space != nil {
			s.space.stop()
			s.space.releaseForClose()
		}
		if s.wit != nil && s.wit.f != nil {
			_ = s.wit.f.Close()
		}
		s.closeErr = s.closeDB()
	})
	return s.closeErr
}

// closeDB closes Badger within a bounded time. Badger retries a failed memtable flush
// forever (for example when the store folder was removed while open), so Close gives up
// closeGoneGrace after the folder is found gone, or after CloseTimeout; Badger's goroutines
// are then left behind (the process is about to exit).
func (s *Store) closeDB() error {
	done := make(chan error, 1)
	go func() { done <- s.db.Close() }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(CloseTimeout)
	defer deadline.Stop()
	var goneSince time.Time
	for {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("storage: close %s: %w", s.dir, err)
			}
			return nil
		case <-tick.C:
			if s.dir == "" {
				continue
			}
			if _, err := os.Stat(s.dir); !errors.Is(err, os.ErrNotExist) {
				goneSince = time.Time{}
				continue
			}
			if goneSince.IsZero() {
				goneSince = time.Now()
			} else if time.Since(goneSince) >= closeGoneGrace {
				s.log.Error("storage: the store folder was removed while the store was open; giving up closing it", "dir", s.dir)
				return fmt.Errorf("storage: close %s: the store folder was removed while the store was open; events not yet flushed are lost", s.dir)
			}
		case <-deadline.C:
			s.log.Error("storage: the database did not close in time; giving up", "dir", s.dir, "timeout", CloseTimeout)
			return fmt.Errorf("storage: close %s: the database did not finish closing within %v", s.dir, CloseTimeout)
		}
	}
}

// enter marks an operation in flight; it fails after Close.
func (s *Store) enter() error {
	s.life.RLock()
	if s.closed {
		s.life.RUnlock()
		return ErrClosed
	}
	return nil
}

func (s *Store) leave() { s.life.RUnlock() }

// badgerLogger routes Badger's log to slog, quietly.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) log(level slog.Level, format string, args []any) {
	ctx := context.Background()
	if !b.l.Enabled(ctx, level) {
		return
	}
	b.l.Log(ctx, level, strings.TrimSpace(fmt.Sprintf(format, args...)), "component", "badger")
}

func (b badgerLogger) Errorf(f string, a ...any)   { b.log(slog.LevelError, f, a) }
func (b badgerLogger) Warningf(f string, a ...any) { b.log(slog.LevelDebug, f, a) }
func (b badgerLogger) Infof(f string, a ...any)    { b.log(slog.LevelDebug, f, a) }
func (b badgerLogger) Debugf(f string, a ...any)   { b.log(slog.LevelDebug, f, a) }
