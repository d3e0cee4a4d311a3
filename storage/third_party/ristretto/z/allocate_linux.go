/*
 * SPDX-FileCopyrightText: © Hypermode Inc. <hello@hypermode.com>
 * SPDX-License-Identifier: Apache-2.0
 */

// QUN PATCH: see OpenMmapFileUsing.

package z

import (
	"errors"
	"os"
	"syscall"
)

// allocate sets the size of the empty file fd to sz with real blocks (fallocate mode 0),
// falling back to a sparse file where the file system cannot allocate.
func allocate(fd *os.File, sz int64) error {
	for {
		err := syscall.Fallocate(int(fd.Fd()), 0, 0, sz)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EOPNOTSUPP), errors.Is(err, syscall.ENOSYS):
			return fd.Truncate(sz)
		default:
			return err
		}
	}
}
