//go:build linux

package storage

import (
	"os"
	"syscall"
)

// freeBytes returns the space available to unprivileged users on the file system
// holding dir (statfs f_bavail), and ok == false when it cannot be measured.
func freeBytes(dir string) (int64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return int64(st.Bavail) * int64(st.Bsize), true
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
