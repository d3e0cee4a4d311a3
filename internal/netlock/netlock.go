// Package netlock keeps tests that change the machine's network apart from
// tests that run a browser. Chromium aborts every request in flight with
// ERR_NETWORK_CHANGED when an interface or address appears, as the
// partition test's bridge and veth pairs do; the two run in different test
// processes (go test runs packages in parallel), so a lock file in the
// temporary directory orders them: browsers hold it shared, network changes
// exclusive.
package netlock

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func lock(t testing.TB, how int) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "qun-tests-network.lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("netlock: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		t.Fatalf("netlock: %v", err)
	}
	t.Cleanup(func() { f.Close() }) // closing releases the lock
}

// Shared holds the lock shared until the test ends: no network change
// happens meanwhile (for tests that run a browser).
func Shared(t testing.TB) { lock(t, syscall.LOCK_SH) }

// Exclusive holds the lock alone until the test ends (for tests that add
// interfaces or addresses).
func Exclusive(t testing.TB) { lock(t, syscall.LOCK_EX) }
