//go:build linux

package storage

import (
	"os"
	"syscall"
)

// freeBytes returns the space available to unprivileged users on the file system
// holding dir (statfs f_bavail), and ok == false when it cannot be measured.
func freeBytes(dir string) (int64, bool) {
	avail, _, ok := freeSpace(dir)
	return avail, ok
}

// freeSpace returns the space available to unprivileged users (f_bavail) and the space this
// process can still allocate before a write through a memory map faults (f_bfree for root,
// which may use the blocks reserved for it, else f_bavail).
func freeSpace(dir string) (avail, usable int64, ok bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, false
	}
	avail = int64(st.Bavail) * int64(st.Bsize)
	usable = avail
	if os.Geteuid() == 0 {
		usable = int64(st.Bfree) * int64(st.Bsize)
	}
	return avail, usable, true
}

// allocate reserves n bytes of real blocks for f (not a sparse file): fallocate mode 0.
func allocate(f *os.File, n int64) error {
	for {
		err := syscall.Fallocate(int(f.Fd()), 0, 0, n)
		if err != syscall.EINTR {
			return err
		}
	}
}

// reserveBeyondEOF allocates n bytes of blocks for the empty file f without changing its
// size (FALLOC_FL_KEEP_SIZE); a later fallocate of that range by Badger needs no new block.
func reserveBeyondEOF(f *os.File, n int64) error {
	const keepSize = 0x1 // FALLOC_FL_KEEP_SIZE
	for {
		err := syscall.Fallocate(int(f.Fd()), keepSize, 0, n)
		if err != syscall.EINTR {
			return err
		}
	}
}
