package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
//     not a sparse file) is kept while there is room. When less than ReleaseBelow is left
//     (someone else filled the disk), the guard deletes it, so that Badger can
//     finish the flushes and compactions in flight, and Open deletes it before it opens Badger
//     on a full disk (replaying the write-ahead log writes a new table).
//   - Writes are accepted again when the ballast is back and MinFree is free: the guard
//     re-creates the ballast as soon as MinFree+Ballast bytes are free, without a reopen.
//
// Badger creates its memtable write-ahead logs (2 x 16 MiB), value-log files and new tables
// through ristretto's z.OpenMmapFile and writes them through memory maps. Upstream gives a new
// file its size with ftruncate (a sparse file), so a write into it on a full disk faults
// (SIGBUS) wherever it runs, including Badger's background flushes and compactions, which no
// free-space check can time. The module uses a patched copy of ristretto
// (storage/third_party/ristretto, QUN-PATCH.md) that allocates those files with fallocate:
// on a full disk the create fails with ENOSPC, and Badger retries the flush or compaction
// (every second) until space is back. A failed memtable creation is fatal inside Badger,
// hence MinFree is at least minMinFree (two memtable logs and two commits): a write is
// admitted only when the next memtable log fits. The ballast is the room that those
// retries, and Open on a full disk (a new memtable log and value-log file, the replay of the
// old log into a table), need once someone else has filled the disk.
const (
	// DefaultMinFree is the free space below which writes are refused.
	DefaultMinFree = 64 << 20
	// minMinFree is the smallest MinFree: a new memtable log plus two commits.
	minMinFree = 2*memTableSize + 2*MaxCommitBytes
	// DefaultBallast is the size of the ballast file.
	DefaultBallast = 64 << 20
	// BallastFile is the name of the ballast file in the store folder.
	BallastFile = "qun-ballast"

	// ReleaseBelow: the ballast is deleted when less than this is left to allocate. Late on
	// purpose: whatever fills the disk has then stopped (it got ENOSPC) or takes the freed
	// space too; deleted earlier, the freed space would go to it, not to Badger.
	ReleaseBelow = 1 << 20

	spacePollIdle = time.Second            // background measurement when there is room
	spacePollLow  = 20 * time.Millisecond  // when free < 2*MinFree+ballast
	spacePollFull = 5 * time.Millisecond   // when free < MinFree: the window in which Badger can fault
	spaceRecheck  = 250 * time.Millisecond // committer: re-measure while full at most this often
)

// ErrStorageFull: the disk holding the store is (nearly) full; writes are refused until
// space is freed. Reads keep working.
var ErrStorageFull = errors.New("storage: disk full")

// WithSpaceReserve sets the free-space guard: writes are refused while less than minFree bytes
// are free on the disk holding the store, and a ballast file of ballast bytes is kept in the
// store folder and released when the disk runs full (0 disables the ballast). The defaults are
// DefaultMinFree and DefaultBallast. minFree must be at least 36 MiB (a new memtable log of
// 32 MiB and two commits); the ballast should hold what Open needs on a full disk (about
// 34 MiB plus the replay of an unflushed log).
func WithSpaceReserve(minFree, ballast int64) Option {
	return func(o *options) error {
		if minFree < minMinFree || ballast < 0 {
			return fmt.Errorf("storage: WithSpaceReserve(%d, %d): minFree must be at least %d bytes and ballast not negative", minFree, ballast, minMinFree)
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

	mu         sync.Mutex  // serializes refresh (ballast changes); the committer never takes it
	hasBallast atomic.Bool // the ballast file exists
	lowSince   time.Time   // first of the measurements in a row with less than ReleaseBelow (under mu)

	sinceReserve atomic.Int64 // bytes written since the guard last reserved the next memtable log
	wantReserve  atomic.Bool  // the committer asks for reserveNextMemtable
	lastReserve  time.Time    // under mu

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
	_ = os.Remove(g.ballastPath() + ".tmp") // left by a crash while it was being created
	if fi, err := os.Stat(g.ballastPath()); err == nil && fi.Size() >= ballast && ballast > 0 {
		g.hasBallast.Store(true)
	}
	free, _ := freeBytes(dir)
	if g.hasBallast.Load() && free < minFree {
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
			switch free := g.lastFree.Load(); {
			case g.full.Load() || free < g.minFree:
				wait = spacePollFull
			case free < 2*g.minFree+g.ballast:
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

// releaseForClose deletes the ballast when the disk is full, so that Badger's final flush
// in Close finds room (Open re-creates the ballast when there is space).
func (g *spaceGuard) releaseForClose() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.full.Load() && g.hasBallast.Load() {
		free, _ := freeBytes(g.dir)
		g.releaseLocked(free, "the store is closing on a full disk")
	}
}

// refresh measures the disk, releases or re-creates the ballast, and sets full.
func (g *spaceGuard) refresh() {
	g.mu.Lock()
	defer g.mu.Unlock()
	free, usable, ok := freeSpace(g.dir)
	if !ok {
		return // folder gone or unreadable: keep the last state
	}
	if g.hasBallast.Load() && usable < ReleaseBelow {
		// Release on the second low measurement in a row: whatever filled the disk has then
		// stopped writing (a writer that got ENOSPC part-way through retries at once, and
		// would take the freed space).
		now := time.Now()
		if g.lowSince.IsZero() {
			g.lowSince = now
		} else if now.Sub(g.lowSince) >= spacePollFull {
			g.releaseLocked(free, "the disk is full")
			free, _ = freeBytes(g.dir)
			g.lowSince = time.Time{}
		}
	} else {
		g.lowSince = time.Time{}
	}
	if g.wantReserve.Swap(false) || time.Since(g.lastReserve) >= spacePollIdle {
		g.lastReserve = time.Now()
		g.reserveNextMemtable()
	}
	if !g.hasBallast.Load() && g.ballast > 0 && free >= g.minFree+g.ballast {
		if err := g.createBallastLocked(); err != nil {
			g.log.Warn("storage: cannot re-create the ballast file", "file", g.ballastPath(), "err", err)
		}
		free, _ = freeBytes(g.dir)
	}
	g.lastFree.Store(free)
	g.setFull(free < g.minFree || (g.ballast > 0 && !g.hasBallast.Load()), free)
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
	if g.ballast > 0 && !g.hasBallast.Load() {
		return g.minFree + g.ballast
	}
	return g.minFree
}

func (g *spaceGuard) releaseLocked(free int64, why string) {
	if err := os.Remove(g.ballastPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		g.log.Error("storage: cannot delete the ballast file", "file", g.ballastPath(), "err", err)
		return
	}
	g.hasBallast.Store(false)
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
	g.hasBallast.Store(true)
	return nil
}

// reserveNextMemtable creates the write-ahead log of Badger's next memtable ahead of time,
// empty but with its blocks reserved (fallocate KEEP_SIZE), so that the memtable switch that
// a write may cause never needs free space: on a busy machine Badger's write goroutine can
// run tens of milliseconds after the write was admitted, time enough for another process to
// fill the disk, and a failed memtable creation is fatal inside Badger. Badger opens the
// file (it creates memtable logs without O_EXCL) and allocates the reserved range. Open
// removes such empty files first (Badger cannot open an empty memtable log).
func (g *spaceGuard) reserveNextMemtable() {
	ents, err := os.ReadDir(g.dir)
	if err != nil {
		return
	}
	active, have := -1, make(map[int]bool)
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".mem") {
			continue
		}
		fid, err := strconv.Atoi(strings.TrimSuffix(name, ".mem"))
		if err != nil {
			continue
		}
		have[fid] = true
		if fi, err := e.Info(); err == nil && fi.Size() > 0 && fid > active {
			active = fid
		}
	}
	if active < 0 || have[active+1] {
		return
	}
	path := filepath.Join(g.dir, fmt.Sprintf("%05d.mem", active+1))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return
	}
	err = reserveBeyondEOF(f, 2*memTableSize)
	_ = f.Close()
	if err != nil {
		// Leave the empty file only if Badger took it meanwhile (then it is not empty).
		if fi, serr := os.Stat(path); serr == nil && fi.Size() == 0 {
			_ = os.Remove(path)
		}
	}
}

// memtableWritten is called by the committer after each write of n bytes: every few MiB it
// asks the guard to reserve the next memtable log.
func (g *spaceGuard) memtableWritten(n int) {
	if g == nil {
		return
	}
	if g.sinceReserve.Add(int64(n)) >= memTableSize/8 {
		g.sinceReserve.Store(0)
		g.wantReserve.Store(true)
		g.poke()
	}
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
	need := g.needed()
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
