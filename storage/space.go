package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Free-space guard. Badger writes its memtable write-ahead logs and its new tables through
// memory-mapped, sparse files: when the file system has no free block left, the write faults
// (SIGBUS) and the process dies, at once and again on restart. The guard keeps the store away
// from that point:
//
//   - Before each merged write the committer measures the free space (statfs); below
//     MinFree it refuses the write with ErrStorageFull, so the store itself never fills the disk.
//     A background goroutine measures it too, so that Full and the refusals follow the disk
//     when nothing is written.
//   - A ballast file (BallastFile in the store folder, Ballast bytes, fallocated: real blocks,
//     not a sparse file) is kept while there is room. When the free space falls below
//     MinFree/4 (someone else is filling the disk), the guard deletes it, so that Badger can
//     finish the flushes and compactions in flight, and Open deletes it before it opens Badger
//     on a full disk (replaying the write-ahead log writes a new table).
//   - Writes are accepted again when the ballast is back and MinFree is free: the guard
//     re-creates the ballast as soon as MinFree+Ballast bytes are free, without a reopen.
//
// What it cannot do: if another process takes every free block within the few milliseconds in
// which a flush that started before the refusal writes its table, and keeps taking the blocks
// the ballast frees, Badger can still fault. The defaults leave 128 MiB (MinFree + Ballast) for
// at most 4 memtables of 16 MiB and the compactions they cause.
const (
	// DefaultMinFree is the free space below which writes are refused.
	DefaultMinFree = 64 << 20
	// DefaultBallast is the size of the ballast file.
	DefaultBallast = 64 << 20
	// BallastFile is the name of the ballast file in the store folder.
	BallastFile = "qun-ballast"

	spacePollIdle = time.Second            // background measurement when there is room
	spacePollLow  = 20 * time.Millisecond  // when the disk is full or nearly (free < 2*MinFree)
	spaceRecheck  = 250 * time.Millisecond // committer: re-measure while full at most this often
)

// ErrStorageFull: the disk holding the store is (nearly) full; writes are refused until
// space is freed. Reads keep working.
var ErrStorageFull = errors.New("storage: disk full")

// WithSpaceReserve sets the free-space guard: writes are refused while less than minFree bytes
// are free on the disk holding the store, and a ballast file of ballast bytes is kept in the
// store folder and released when the disk runs full (0 disables the ballast). The defaults are
// DefaultMinFree and DefaultBallast. minFree must be at least 1 MiB.
func WithSpaceReserve(minFree, ballast int64) Option {
	return func(o *options) error {
		if minFree < 1<<20 || ballast < 0 {
			return fmt.Errorf("storage: WithSpaceReserve(%d, %d): minFree must be at least 1 MiB and ballast not negative", minFree, ballast)
		}
		o.minFree, o.ballast = minFree, ballast
		return nil
	}
}

// spaceGuard measures the free space of the store's disk and keeps the ballast.
type spaceGuard struct {
	dir     string
	minFree int64
	ballast int64
	log     *slog.Logger

	full     atomic.Bool  // writes refused
	lastFree atomic.Int64 // last measured free bytes
	lastAt   atomic.Int64 // unix nanos of the last measurement by the committer

	mu         sync.Mutex // serializes ballast changes
	hasBallast bool

	wake chan struct{}
	quit chan struct{}
	done chan struct{}
}

// newSpaceGuard measures dir and, when the disk is full, deletes the ballast before Badger
// opens (so that replaying the write-ahead log finds room). It returns nil when free space
// cannot be measured on this system.
func newSpaceGuard(dir string, minFree, ballast int64, log *slog.Logger) *spaceGuard {
	if _, ok := freeBytes(dir); !ok {
		log.Warn("storage: cannot measure free disk space; the disk-full guard is off", "dir", dir)
		return nil
	}
	g := &spaceGuard{
		dir: dir, minFree: minFree, ballast: ballast, log: log,
		wake: make(chan struct{}, 1),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	if fi, err := os.Stat(g.ballastPath()); err == nil && fi.Size() >= ballast && ballast > 0 {
		g.hasBallast = true
	}
	free, _ := freeBytes(dir)
	if g.hasBallast && free < minFree {
		g.releaseLocked(free, "before opening the store")
	}
	g.refresh()
	return g
}

func (g *spaceGuard) ballastPath() string { return filepath.Join(g.dir, BallastFile) }

// start runs the background measurement until stop.
func (g *spaceGuard) start() {
	go func() {
		defer close(g.done)
		for {
			wait := spacePollIdle
			if g.full.Load() || g.lastFree.Load() < 2*g.minFree+g.ballast {
				wait = spacePollLow
			}
			t := time.NewTimer(wait)
			select {
			case <-g.quit:
				t.Stop()
				return
			case <-g.wake:
				t.Stop()
			case <-t.C:
			}
			g.refresh()
		}
	}()
}

func (g *spaceGuard) stop() {
	close(g.quit)
	<-g.done
}

// refresh measures the disk, releases or re-creates the ballast, and sets full.
func (g *spaceGuard) refresh() {
	g.mu.Lock()
	defer g.mu.Unlock()
	free, ok := freeBytes(g.dir)
	if !ok {
		return // folder gone or unreadable: keep the last state
	}
	if g.hasBallast && free < g.minFree/4 {
		g.releaseLocked(free, "the disk is running full")
		free, _ = freeBytes(g.dir)
	}
	if !g.hasBallast && g.ballast > 0 && free >= g.minFree+g.ballast {
		if err := g.createBallastLocked(); err != nil {
			g.log.Warn("storage: cannot re-create the ballast file", "file", g.ballastPath(), "err", err)
		}
		free, _ = freeBytes(g.dir)
	}
	g.lastFree.Store(free)
	g.setFull(free < g.minFree || (g.ballast > 0 && !g.hasBallast), free)
}

func (g *spaceGuard) setFull(full bool, free int64) {
	if g.full.Swap(full) == full {
		return
	}
	if full {
		g.log.Error("storage: disk full; refusing writes until space is freed", "dir", g.dir, "free_bytes", free, "needed_bytes", g.needed())
	} else {
		g.log.Info("storage: disk space is back; accepting writes", "dir", g.dir, "free_bytes", free)
	}
}

// needed is the free space that must be there before writes are accepted again.
func (g *spaceGuard) needed() int64 {
	if g.ballast > 0 && !g.hasBallast {
		return g.minFree + g.ballast
	}
	return g.minFree
}

func (g *spaceGuard) releaseLocked(free int64, why string) {
	if err := os.Remove(g.ballastPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		g.log.Error("storage: cannot delete the ballast file", "file", g.ballastPath(), "err", err)
		return
	}
	g.hasBallast = false
	g.log.Warn("storage: released the ballast file so that the database can finish its work; "+why, "file", g.ballastPath(), "free_bytes", free, "ballast_bytes", g.ballast)
}

func (g *spaceGuard) createBallastLocked() error {
	tmp := g.ballastPath() + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	err = allocate(f, g.ballast)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, g.ballastPath())
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	g.hasBallast = true
	return nil
}

// admit is called by the committer before each write: nil when there is room, else an error
// wrapping ErrStorageFull. It measures the disk itself (one statfs), so a disk filled by
// someone else is noticed by the next write, not by the next poll.
func (g *spaceGuard) admit() error {
	if g == nil {
		return nil
	}
	now := time.Now().UnixNano()
	if g.full.Load() {
		// The background goroutine clears full; re-measure now and then so that the
		// error shows the current figure.
		if now-g.lastAt.Load() > int64(spaceRecheck) {
			g.lastAt.Store(now)
			g.poke()
		}
		return g.fullError(g.lastFree.Load())
	}
	free, ok := freeBytes(g.dir)
	if !ok {
		return nil
	}
	g.lastFree.Store(free)
	if free < g.minFree {
		g.full.Store(true)
		g.log.Error("storage: disk full; refusing writes until space is freed", "dir", g.dir, "free_bytes", free, "needed_bytes", g.minFree)
		g.poke()
		return g.fullError(free)
	}
	return nil
}

func (g *spaceGuard) poke() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

func (g *spaceGuard) fullError(free int64) error {
	g.mu.Lock() // for hasBallast in needed; never held across I/O of the committer
	need := g.needed()
	g.mu.Unlock()
	return fmt.Errorf("storage: the disk holding %s is full (%s free, %s needed); new events are refused until space is freed: %w", g.dir, mib(free), mib(need), ErrStorageFull)
}

func mib(n int64) string {
	if n < 0 {
		n = 0
	}
	return fmt.Sprintf("%d MB", n>>20)
}

// Full reports whether the disk holding the store is full, so that writes are refused
// (with ErrStorageFull). It is always false for an in-memory store and on systems where
// free space cannot be measured.
func (s *Store) Full() bool {
	return s.space != nil && s.space.full.Load()
}
