// Package testserver starts real chat servers on loopback for tests: an
// ngircd for IRC (and, as the connectors need them, others). Each server
// is private to one test, in the test's temporary folder, and stopped when
// the test ends. A server that is not installed skips the test under the
// plain go test, and fails it when QUN_CI=1 (CI installs every server).
package testserver

import (
	"log/slog"
	"os"
	"testing"
)

// SkipOrFail skips the test with reason, or fails it when QUN_CI=1.
func SkipOrFail(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("QUN_CI") == "1" {
		t.Fatalf("QUN_CI=1 but %s", reason)
	}
	t.Skip(reason + " (QUN_CI=1 makes this a failure)")
}

// Logger discards, unless QUN_TEST_LOG is set: then everything goes to
// stderr at debug level, with the test's name.
func Logger(t testing.TB) *slog.Logger {
	if os.Getenv("QUN_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}
