package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
)

func TestSessionSignsInOnce(t *testing.T) {
	f := newFakeNode(t)
	c := newTestClient(t, f)
	ctx := context.Background()
	f.history = 3

	// Concurrent first requests share one sign-in.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Events(ctx, protocol.GroupID{1}, 1, 10)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if f.logins != 1 {
		t.Errorf("%d sign-ins for 20 concurrent requests, want 1", f.logins)
	}
	for _, h := range f.authHdrs {
		if !strings.HasPrefix(h, "Bearer ") {
			t.Errorf("request with Authorization %q", h)
		}
	}

	// An expired session is replaced once, transparently.
	f.expireSessions()
	if _, err := c.Send(ctx, protocol.GroupID{1}, protocol.MessageBody{Text: "after expiry"}); err != nil {
		t.Fatal(err)
	}
	if f.logins != 2 {
		t.Errorf("%d sign-ins after an expiry, want 2", f.logins)
	}
	if len(f.subs) != 1 {
		t.Errorf("%d submissions recorded, want 1", len(f.subs))
	}

	// Explicit Login opens a fresh session that requests use.
	s, err := c.Login(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.User != c.Key().ID() || s.Token == "" || time.Until(s.Expires) < time.Hour {
		t.Errorf("session %+v", s)
	}
	n := len(f.authHdrs)
	if _, err := c.Group(ctx, protocol.GroupID{1}); err != nil {
		t.Fatal(err)
	}
	if got := f.authHdrs[n]; got != "Bearer "+s.Token {
		t.Errorf("request after Login carried %q", got)
	}
}

func TestSessionRefusedTwice(t *testing.T) {
	// A node that refuses every session gets one sign-in retry, not a loop.
	var logins, requests int
	var mu sync.Mutex
	f := newFakeNode(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/api/v1/auth/session":
			logins++
		case "/api/v1/me/groups":
			requests++
			writeErr(w, protocol.Errorf(protocol.CodeUnauthenticated, "your session expired; sign in again"))
			return
		}
		f.srv.Config.Handler.ServeHTTP(w, r)
	}))
	defer srv.Close()
	key, _ := protocol.NewKey()
	c, _ := New(srv.URL, key)
	_, err := c.MyGroups(context.Background())
	if !errors.Is(err, protocol.ErrUnauthenticated) || !strings.Contains(err.Error(), "sign in again") {
		t.Errorf("refused session: %v", err)
	}
	if logins != 2 || requests != 2 {
		t.Errorf("%d sign-ins and %d requests, want 2 and 2", logins, requests)
	}
}

func TestSessionChecks(t *testing.T) {
	f := newFakeNode(t)
	ctx := context.Background()
	key, _ := protocol.NewKey()

	// A keyless client says why it cannot read.
	ro, _ := New(f.srv.URL, nil)
	for name, call := range map[string]func() error{
		"Group":     func() error { _, err := ro.Group(ctx, protocol.GroupID{1}); return err },
		"Events":    func() error { _, err := ro.Events(ctx, protocol.GroupID{1}, 1, 1); return err },
		"MyGroups":  func() error { _, err := ro.MyGroups(ctx); return err },
		"Login":     func() error { _, err := ro.Login(ctx); return err },
		"Subscribe": func() error { _, err := ro.Subscribe(ctx, nil); return err },
	} {
		err := call()
		if !errors.Is(err, ErrNeedSession) || !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), "no key") {
			t.Errorf("%s without a key: %v", name, err)
		}
	}
	if len(f.authHdrs) != 0 {
		t.Errorf("a keyless client sent %d requests that need a session", len(f.authHdrs))
	}
	if _, err := ro.Node(ctx); err != nil {
		t.Errorf("Node without a key: %v", err)
	}

	// Challenges that are not this node's, or not challenges, are not signed.
	other, _ := protocol.NewKey()
	c, _ := New(f.srv.URL, key, WithNodeID(other.ID()))
	if _, err := c.Login(ctx); err == nil || !strings.Contains(err.Error(), "another node") {
		t.Errorf("challenge of another node: %v", err)
	}
	c, _ = New(f.srv.URL, key, WithNodeID(f.host.ID()))
	if _, err := c.Login(ctx); err != nil {
		t.Errorf("challenge of the right node: %v", err)
	}
	f.badSize = true
	if _, err := c.Login(ctx); err == nil || !strings.Contains(err.Error(), "bytes") {
		t.Errorf("short challenge: %v", err)
	}
	if _, err := New(f.srv.URL, key, WithNodeID(protocol.UserID{})); err == nil {
		t.Error("WithNodeID accepted a zero ID")
	}
	if _, err := New(f.srv.URL, key, WithRateLimitRetries(-1)); err == nil {
		t.Error("WithRateLimitRetries accepted a negative count")
	}
}

func TestRateLimitRetry(t *testing.T) {
	f := newFakeNode(t)
	c := newTestClient(t, f)
	ctx := context.Background()
	if _, err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	f.limited = 2
	if _, err := c.Send(ctx, protocol.GroupID{1}, protocol.MessageBody{Text: "patient"}); err != nil {
		t.Fatalf("two 429s with Retry-After: %v", err)
	}
	if len(f.subs) != 1 {
		t.Errorf("%d submissions, want 1", len(f.subs))
	}

	f.limited = 10
	_, err := c.Send(ctx, protocol.GroupID{1}, protocol.MessageBody{Text: "too many"})
	if !errors.Is(err, protocol.ErrRateLimited) {
		t.Errorf("after %d retries: %v", DefaultRateLimitRetries, err)
	}
	if f.limited != 10-(DefaultRateLimitRetries+1) {
		t.Errorf("%d requests, want %d", 10-f.limited, DefaultRateLimitRetries+1)
	}

	f.limited, f.retryAfter = 1, "3600"
	if _, err := c.Send(ctx, protocol.GroupID{1}, protocol.MessageBody{Text: "later"}); !errors.Is(err, protocol.ErrRateLimited) {
		t.Errorf("a Retry-After of an hour was waited for: %v", err)
	}
	f.limited, f.retryAfter = 1, "0"
	c0, _ := New(f.srv.URL, c.Key(), WithRateLimitRetries(0))
	if _, err := c0.Send(ctx, protocol.GroupID{1}, protocol.MessageBody{Text: "no retry"}); !errors.Is(err, protocol.ErrRateLimited) {
		t.Errorf("retries off: %v", err)
	}

	// A wait ends with the context.
	f.limited, f.retryAfter = 1, "20"
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.Send(cctx, protocol.GroupID{1}, protocol.MessageBody{Text: "cancelled"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("wait past the deadline: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the wait took %s despite the deadline", d)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"0":  0,
		"1":  time.Second,
		"30": 30 * time.Second,
		now.Add(10 * time.Second).Format(http.TimeFormat): 10 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
	} {
		resp := &http.Response{Header: http.Header{"Retry-After": {v}}}
		if d, ok := retryAfter(resp, now); !ok || d != want {
			t.Errorf("Retry-After %q: %s %v, want %s", v, d, ok, want)
		}
	}
	for _, v := range []string{"", "soon", "31", "-1"} {
		resp := &http.Response{Header: http.Header{"Retry-After": {v}}}
		if d, ok := retryAfter(resp, now); ok {
			t.Errorf("Retry-After %q accepted as %s", v, d)
		}
	}
}
