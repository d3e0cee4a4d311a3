package storage

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mountTmpfs mounts a tmpfs of size MiB in a new temporary folder and unmounts it in Cleanup.
// It skips when not root (fails under QUN_CI=1).
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("QUN_CI") == "1" {
			t.Fatal("this test mounts a small tmpfs and needs root (QUN_CI=1 is set)")
		}
		t.Skip("skipped: this test mounts a small tmpfs and needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm", size), "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("QUN_CI") == "1" {
			t.Fatalf("mount tmpfs: %v: %s", err, out)
		}
		t.Skipf("skipped: cannot mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes path in 1 MiB chunks until the disk is full (ENOSPC); it returns when.
func fill(t *testing.T, path string) time.Time {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i) | 1
	}
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill: %v", err)
			}
			return time.Now()
		}
	}
}

// exitedBySignal describes how a child ended when a signal ended it.
func exitedBySignal(st *os.ProcessState) string {
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ws.Signal().String()
	}
	return ""
}

// TestDiskFull runs a writer in a child process on a small tmpfs while the test fills the
// tmpfs until ENOSPC. The child must never die (a SIGBUS inside Badger would kill it), get
// ErrStorageFull within 1 s of the disk filling, keep reading, and commit again without a
// reopen after the filler is deleted; every commit that returned nil stays readable; and a
// reopen on the full disk works and serves reads.
func TestDiskFull(t *testing.T) {
	mnt := mountTmpfs(t, 256)
	dir := filepath.Join(mnt, "store")
	c := startChild(t, "full", dir)
	var lastAck uint64
	next := func(timeout time.Duration, what string) string {
		t.Helper()
		select {
		case line, ok := <-c.lines:
			if !ok {
				st := c.wait()
				t.Fatalf("child ended (%v, signal %q) while waiting for %s; stderr:\n%s", st, exitedBySignal(st), what, c.stderr)
			}
			if strings.HasPrefix(line, "ack ") {
				lastAck = field(t, line, 1)
			}
			return line
		case <-time.After(timeout):
			t.Fatalf("no line from the child for %v while waiting for %s; stderr:\n%s", timeout, what, c.stderr)
		}
		return ""
	}
	for lastAck < 400*fullBatch { // ~25 MB: memtable flushes have happened and may be in flight
		next(20*time.Second, "the first acknowledgements")
	}

	// Fill the disk; the child keeps committing.
	filler := filepath.Join(mnt, "filler")
	filled := fill(t, filler)
	free, _ := freeBytes(mnt)
	t.Logf("disk filled at ack %d (free now %d bytes)", lastAck, free)
	var fullAt time.Time
	var fullText string
	for fullAt.IsZero() {
		line := next(5*time.Second, "ErrStorageFull")
		if strings.HasPrefix(line, "full ") {
			fullAt = time.Unix(0, int64(field(t, line, 1)))
			fullText = strings.SplitN(line, " ", 3)[2]
		}
		if strings.HasPrefix(line, "err ") {
			t.Fatalf("child: %s", line)
		}
	}
	t.Logf("ErrStorageFull %v after the disk filled: %s", fullAt.Sub(filled).Round(time.Millisecond), fullText)
	if fullAt.Sub(filled) > time.Second {
		t.Errorf("ErrStorageFull came %v after the disk filled, want within 1 s", fullAt.Sub(filled))
	}
	if !strings.Contains(fullText, dir) || !strings.Contains(fullText, "MB free") {
		t.Errorf("full error does not name the folder and the free space: %q", fullText)
	}
	// While full: reads work, nothing is acknowledged, the child stays up (2 s).
	ackWhileFull := lastAck
	reads := 0
	for until := time.Now().Add(2 * time.Second); time.Now().Before(until); {
		line := next(5*time.Second, "reads while full")
		switch {
		case strings.HasPrefix(line, "read "):
			if line != "read ok" {
				t.Fatalf("read while full: %s", line)
			}
			reads++
		case strings.HasPrefix(line, "err "):
			t.Fatalf("child: %s", line)
		}
	}
	if reads == 0 {
		t.Fatal("no read while full")
	}
	t.Logf("acknowledged while full: %d events (after the refusal began: %d)", lastAck-ackWhileFull, lastAck-ackWhileFull)

	// Free the disk: commits are accepted again without a reopen.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	for {
		line := next(10*time.Second, "commits after the disk was freed")
		if strings.HasPrefix(line, "ack ") && time.Unix(0, int64(field(t, line, 2))).After(freed) {
			break
		}
		if strings.HasPrefix(line, "err ") {
			t.Fatalf("child: %s", line)
		}
	}
	t.Logf("commits accepted again %v after the filler was deleted", time.Since(freed).Round(time.Millisecond))
	for range 20 { // a few more
		next(10*time.Second, "more commits")
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for line := range c.lines {
		if strings.HasPrefix(line, "ack ") {
			lastAck = field(t, line, 1)
		}
	}
	st := c.wait()
	if sig := exitedBySignal(st); sig != "" || !st.Success() {
		t.Fatalf("child ended by signal %q (%v); stderr:\n%s", sig, st, c.stderr)
	}

	// Reopen on a full disk (in a child too): reads served, writes refused.
	fill(t, filler)
	r := startChild(t, "reopen-full", dir)
	var out []string
	for line := range r.lines {
		out = append(out, line)
	}
	st = r.wait()
	if sig := exitedBySignal(st); sig != "" || !st.Success() {
		t.Fatalf("reopen on a full disk: child ended by signal %q (%v); output %q; stderr:\n%s", sig, st, out, r.stderr)
	}
	want := []string{"full true", fmt.Sprintf("head %d <nil>", lastAck), "read ok", "commit true"}
	if strings.Join(out, "\n") != strings.Join(want, "\n") {
		t.Fatalf("reopen on a full disk printed %q, want %q (every acknowledged event, up to %d); stderr:\n%s", out, want, lastAck, r.stderr)
	}
}
