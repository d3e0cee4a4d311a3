//go:build !linux

package storage

import (
	"errors"
	"io"
	"os"
)

// freeBytes cannot measure free space on this system: the guard is off.
func freeBytes(dir string) (int64, bool) { return 0, false }

func freeSpace(dir string) (avail, usable int64, ok bool) { return 0, 0, false }

// allocate writes n zero bytes into f, so that the blocks are really allocated.
func allocate(f *os.File, n int64) error {
	buf := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, int64(len(buf)))
		if _, err := f.Write(buf[:k]); err != nil {
			return err
		}
		n -= k
	}
	_, err := f.Seek(0, io.SeekStart)
	return err
}

// reserveBeyondEOF is not available on this system.
func reserveBeyondEOF(f *os.File, n int64) error { return errors.ErrUnsupported }
