package xmpp

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/qunchat/qun/internal/testserver"
)

// Tests against prosody, a real XMPP server from Debian, started by
// internal/testserver.

// skipOrFail skips the test with reason, or fails it when QUN_CI=1.
func skipOrFail(t *testing.T, reason string) { testserver.SkipOrFail(t, reason) }

// prosody is a private prosody for one test (internal/testserver).
type prosody struct {
	*testserver.Prosody
	t *testing.T
}

func startProsody(t *testing.T) *prosody { return &prosody{testserver.StartProsody(t), t} }

func makeCerts(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	return testserver.MakeCerts(t, dir)
}

const (
	testDomain = testserver.ProsodyDomain
	testMUC    = testserver.ProsodyMUC
)

// testLogger discards, unless QUN_TEST_LOG is set.
func testLogger(t testing.TB) *slog.Logger { return testserver.Logger(t) }

// waitFor checks cond every 10ms until it holds, failing the test once
// timeout has passed.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testserver.WaitUntil(t, timeout, what, cond)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
