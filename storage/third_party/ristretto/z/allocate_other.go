//go:build !linux

/*
 * SPDX-FileCopyrightText: © Hypermode Inc. <hello@hypermode.com>
 * SPDX-License-Identifier: Apache-2.0
 */

// QUN PATCH: see OpenMmapFileUsing.

package z

import "os"

// allocate sets the size of the empty file fd to sz (a sparse file on this system).
func allocate(fd *os.File, sz int64) error { return fd.Truncate(sz) }
