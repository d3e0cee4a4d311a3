package web_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/qunchat/qun/internal/netlock"
	"github.com/qunchat/qun/node"
	"github.com/qunchat/qun/web"
)

// Helpers of the browser tests: a headless Chromium per user, driven with
// chromedp, and screenshots saved as artifacts.

// chromiumPath finds Chromium, or skips the test (fails it under QUN_CI=1).
func chromiumPath(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("QUN_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"}
	for _, p := range candidates {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	msg := "Chromium is not installed (/usr/bin/chromium; on Debian: apt-get install -y chromium); the browser tests need it"
	if os.Getenv("QUN_CI") == "1" {
		t.Fatal(msg + " and QUN_CI=1 makes its absence a failure")
	}
	t.Skip(msg)
	return ""
}

// artifactsDir is where screenshots go: $QUN_ARTIFACTS/web (a relative path
// counts from the module root), or a temporary directory.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("QUN_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
		t.Logf("screenshots go to %s (set QUN_ARTIFACTS to keep them)", dir)
		return dir
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(moduleRoot(t), dir)
	}
	dir = filepath.Join(dir, "web")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("creating the artifacts directory: %v", err)
	}
	t.Logf("screenshots go to %s", dir)
	return dir
}

func moduleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// browser is one headless Chromium with one tab.
type browser struct {
	t         *testing.T
	name      string
	ctx       context.Context
	artifacts string

	mu         sync.Mutex
	console    []string
	exceptions []string
	done       bool // the test has ended: log nothing more
}

// newBrowser starts Chromium with a fresh profile, a window of w×h CSS
// pixels and the language lang (navigator.language).
func newBrowser(t *testing.T, name string, w, h int, lang, artifacts string) *browser {
	t.Helper()
	netlock.Shared(t) // no interface may appear while the browser loads (netlock)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(w, h),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", lang),
		chromedp.Flag("accept-lang", lang),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	b := &browser{t: t, name: name, ctx: ctx, artifacts: artifacts}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: starting Chromium: %v", name, err)
	}
	t.Cleanup(func() { // runs before the browser stops: no logging after the test
		b.mu.Lock()
		b.done = true
		b.mu.Unlock()
	})
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m.String())
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				b.exceptions = append(b.exceptions, m.String())
			}
			if os.Getenv("QUN_TEST_LOG") != "" && !b.done {
				t.Logf("%s console: %s", name, m)
			}
			b.mu.Unlock()
		}
	}()
	steps := []chromedp.Action[chromedp.Void]{chromedp.Navigate("about:blank")}
	if w < 500 { // a headless window is at least 500 px wide: emulate a phone
		steps = append(steps, chromedp.EmulateViewport(int64(w), int64(h), chromedp.EmulateMobile))
	}
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

// do runs steps with a deadline; on failure it saves a screenshot and
// stops the test.
func (b *browser) do(what string, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail(what, err)
	}
}

func (b *browser) fail(what string, err error) {
	b.t.Helper()
	b.screenshot("FAILED-" + b.name)
	b.mu.Lock()
	for _, c := range b.console {
		b.t.Logf("%s console: %s", b.name, c)
	}
	b.mu.Unlock()
	if text, terr := run(b, 2*time.Second, chromedp.Text(chromedp.CSS("body"))); terr == nil {
		b.t.Logf("%s page text: %s", b.name, text)
	}
	b.t.Fatalf("%s: %s: %v", b.name, what, err)
}

// run runs one action that returns a value, with a deadline.
func run[T any](b *browser, timeout time.Duration, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	return chromedp.Run(ctx, a)
}

// get runs an action that returns a value, and stops the test on failure.
func get[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	v, err := run(b, 15*time.Second, a)
	if err != nil {
		b.fail(what, err)
	}
	return v
}

// eval evaluates JavaScript (awaiting a promise) and decodes the result.
func eval[T any](b *browser, what, js string) T {
	b.t.Helper()
	return get(b, what, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

// tap waits for the element of sel and clicks it, both in one evaluation
// in the page: a person's card is rebuilt (with the same buttons) when
// names change, and a chromedp.Click, which finds the node first and
// clicks it after, may by then hold a node the page has moved.
func tap(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.PollFunction[bool](`(sel) => { const e = document.querySelector(sel); if (!e || !e.isConnected || e.offsetParent === null) return false; e.click(); return true; }`,
			chromedp.WithPollingArgs(sel), chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))(ctx, t)
		if err != nil {
			return fmt.Errorf("tapping %s: %w", sel, err)
		}
		return nil
	})
}

// fill sets the value of the field of sel as typing would (an input
// event), found again at each try like tap: for a field on a card the page
// redraws, where a chromedp.SendKeys may hold a node the page has moved.
func fill(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.PollFunction[bool](`(sel, value) => { const e = document.querySelector(sel); if (!e || !e.isConnected || e.offsetParent === null) return false; e.value = value; e.dispatchEvent(new Event("input", { bubbles: true })); return true; }`,
			chromedp.WithPollingArgs(sel, value), chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))(ctx, t)
		if err != nil {
			return fmt.Errorf("filling %s: %w", sel, err)
		}
		return nil
	})
}

// waitText waits until the element of sel contains text.
func waitText(sel, text string, timeout time.Duration) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.PollFunction[bool](`(sel, text) => { const e = document.querySelector(sel); return !!e && e.textContent.includes(text); }`,
			chromedp.WithPollingArgs(sel, text), chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(50*time.Millisecond))(ctx, t)
		if err != nil {
			return fmt.Errorf("waiting for %q in %s: %w", text, sel, err)
		}
		return nil
	})
}

// screenshot saves the viewport as NAME.png in the artifacts directory.
func (b *browser) screenshot(name string) {
	png, err := run(b, 10*time.Second, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("%s: screenshot %s: %v", b.name, name, err)
		return
	}
	path := filepath.Join(b.artifacts, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("saving %s: %v", path, err)
		return
	}
	b.t.Logf("screenshot %s", path)
}

// checkExceptions fails the test if a page threw an uncaught exception or
// broke its Content-Security-Policy.
func (b *browser) checkExceptions() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.exceptions {
		b.t.Errorf("%s: uncaught exception in the page: %s", b.name, e)
	}
}

// testNode is an in-process node and its data directory.
type testNode struct {
	*node.Node
	dir string
}

// startNode starts an in-process node on loopback.
func startNode(t *testing.T) testNode {
	t.Helper()
	dir := t.TempDir()
	n, err := node.New(node.Config{
		DataDir: dir, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, APIAddr: "127.0.0.1:0",
		RatePerSecond: -1, SyncInterval: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("node.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := n.Start(ctx); err != nil {
		cancel()
		n.Close()
		t.Fatalf("starting a node: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := n.Close(); err != nil {
			t.Logf("closing a node: %v", err)
		}
	})
	return testNode{n, dir}
}

// appURL returns the URL of the web client on node n: its API URL when the
// node serves web.Handler at "/", else a local server that serves the
// handler and passes /api/ to the node (with the WebSocket).
func appURL(t *testing.T, n testNode) string {
	t.Helper()
	base := n.APIURL()
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatalf("GET %s/: %v", base, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Security-Policy") != web.CSP {
		t.Fatalf("the node at %s does not serve the web client at / (status %d)", base, resp.StatusCode)
	}
	return base
}

// holdsFor checks every 20 ms for the window d that nothing went wrong
// (check returns nil): an observation window for "this does not happen",
// which no single check can prove.
func holdsFor(t *testing.T, d time.Duration, check func() error) {
	t.Helper()
	end := time.NewTimer(d)
	defer end.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := check(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-end.C:
			return
		case <-tick.C:
		}
	}
}
