package webhook

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// roundTrip is an in-memory platform: each attempt gets the next of its
// answers (a status, or 0 for a network error), then 200.
type roundTrip struct {
	mu      sync.Mutex
	answers []int
	at      []time.Time
	ids     []string
}

func (f *roundTrip) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.at = append(f.at, time.Now())
	f.ids = append(f.ids, r.Header.Get(HeaderWebhookID))
	status := 200
	if len(f.answers) > 0 {
		status, f.answers = f.answers[0], f.answers[1:]
	}
	if status == 0 {
		return nil, errors.New("connection refused")
	}
	return &http.Response{StatusCode: status, Status: strconv.Itoa(status) + " " + http.StatusText(status), Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

func bare(rt http.RoundTripper) *Connector {
	return &Connector{
		name: "webhook.platform", url: "https://platform.example/hook", urlHost: "https://platform.example",
		secret: testSecret, logger: slog.New(slog.DiscardHandler),
		client:     &http.Client{Transport: rt, Timeout: deliveryTimeout},
		sem:        make(chan struct{}, 1),
		minBackoff: defaultMinBackoff, maxBackoff: defaultMaxBackoff,
		queues: map[string]*queue{}, failing: map[string]string{},
	}
}

// TestBackoff: the waits between attempts double from 1 s to the cap of
// 1 min, each with jitter in its upper half, under one key, until a 2xx.
func TestBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fails := []int{500, 0, 502, 404, 0, 500, 500, 503, 0, 500}
		rt := &roundTrip{answers: append([]int(nil), fails...)}
		c := bare(rt)
		start := time.Now()
		if err := c.deliver(t.Context(), "shop", entry{id: "wh-1", body: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		if len(rt.at) != len(fails)+1 {
			t.Fatalf("%d attempts", len(rt.at))
		}
		prev := start
		for i, at := range rt.at {
			gap := at.Sub(prev)
			prev = at
			if i == 0 {
				if gap != 0 {
					t.Errorf("the first attempt after %s", gap)
				}
				continue
			}
			full := min(time.Second<<(i-1), time.Minute)
			if gap < full/2 || gap >= full {
				t.Errorf("attempt %d after %s; want [%s, %s)", i+1, gap, full/2, full)
			}
			if rt.ids[i] != "wh-1" {
				t.Errorf("attempt %d: key %q", i+1, rt.ids[i])
			}
		}
		if s := c.Status(); s.Connected || len(c.failing) != 0 {
			t.Errorf("status %+v, failing %v", s, c.failing) // not serving: not connected, but nothing failing
		}
	})
}

// TestBackoffStops: a delivery waiting to retry ends with its context.
func TestBackoffStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &roundTrip{}
		for range 40 {
			rt.answers = append(rt.answers, 500)
		}
		c := bare(rt)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
		defer cancel()
		err := c.deliver(ctx, "shop", entry{id: "wh-1", body: []byte(`{}`)})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("deliver: %v", err)
		}
		// Waits of 1, 2, 4, 8, 16, 32 s, then a minute, each at most
		// and at least half: 15 to 26 attempts in 10 minutes.
		if n := len(rt.at); n < 15 || n > 26 {
			t.Errorf("%d attempts in 10 minutes", n)
		}
		if c.failing["shop"] == "" || !strings.Contains(c.lastErr, "500") {
			t.Errorf("failing %v, last %q", c.failing, c.lastErr)
		}
	})
}
