package delivery

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memKV is an in-memory KV.
type memKV struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (k *memKV) Meta(key string) ([]byte, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[key]
	return v, ok, nil
}

func (k *memKV) SetMeta(key string, val []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if val == nil {
		delete(k.m, key)
	} else {
		k.m[key] = val
	}
	return nil
}

func (k *memKV) MetaKeys(prefix string) ([]string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []string
	for key := range k.m {
		if strings.HasPrefix(key, prefix) {
			out = append(out, key)
		}
	}
	sort.Strings(out)
	return out, nil
}

// TestGiveUp: a delivery that no try gets through is retried with
// backoff, then given up after GiveUp and logged as failed; the next one
// goes; bad registrations are refused.
func TestGiveUp(t *testing.T) {
	var tries atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tries.Add(1)
		if r.Header.Get("Qun-Webhook-Id") == "first" {
			http.Error(w, "no", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kv := &memKV{m: map[string][]byte{}}
	d, err := New(ctx, kv, Options{MinBackoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, GiveUp: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"http://example.com/x", "https://", "gopher://x", "https://u:p@x.example/"} {
		if _, err := d.Register(bad, nil); err == nil {
			t.Errorf("registered %q", bad)
		}
	}
	if _, err := d.Register(srv.URL, []string{"nothing.happened"}); err == nil {
		t.Error("registered an unknown type")
	}
	h, err := d.Register(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Enqueue(Event{ID: "first", Type: "member.left"}, Event{ID: "second", Type: "member.left"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond) // poll interval of a bounded wait
	defer tick.Stop()
	for {
		l, err := d.Deliveries(h.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Deliveries) == 2 && l.Pending == 0 {
			// Newest first: the second delivered after the first was given up.
			if l.Deliveries[1].ID != "first" || l.Deliveries[1].Outcome != "failed" || l.Deliveries[1].Attempts < 3 ||
				l.Deliveries[0].ID != "second" || l.Deliveries[0].Outcome != "delivered" {
				t.Fatalf("the log: %+v", l.Deliveries)
			}
			break
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("not given up: %+v (tries %d)", l, tries.Load())
		}
	}
	cancel()
	d.Wait()

	// After a restart on the same store: the webhook is still there.
	ctx2, cancel2 := context.WithCancel(context.Background())
	d2, err := New(ctx2, kv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel2(); d2.Wait() }()
	if hs := d2.Hooks(); len(hs) != 1 || hs[0].ID != h.ID || hs[0].Secret != "" {
		t.Fatalf("after a restart: %+v", hs)
	}
}
