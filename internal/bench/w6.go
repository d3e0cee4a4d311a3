package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/qunchat/qun/bridge"
	"github.com/qunchat/qun/bridge/webhook"
	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
)

// w6 measures the bridge gateway with the platform webhook connector: the
// gateway is a light client of node C (its home), the group is hosted by
// A, a member writes on B, and a platform (an HTTP server on loopback)
// takes the bridge's signed webhooks and posts its people's messages to
// the bridge's endpoint. Each way: messages per second, and the latency
// the bridge adds — Qun → platform: per message, the webhook's arrival
// minus the arrival of the same event at a plain WebSocket client of C;
// platform → Qun: the time from the platform's POST to the event at that
// WebSocket client, beside the same figure for a member posting through
// C's API directly.
func (e *env) w6(ctx context.Context) (r Result) {
	r = Result{Workload: "W6", Title: "bridge (platform webhooks)",
		Mode: "three nodes in one process (A hosts, the bridge's home is C), the gateway and the platform in the same process over loopback HTTP, fsync on"}
	nw, err := e.network(ctx)
	if err != nil {
		r.Err = err
		return r
	}
	n := e.cfg.BridgeMessages
	dir := filepath.Join(e.cfg.Dir, "W6")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		r.Err = err
		return r
	}

	// The bridge's user: a member of the group on C, with the role bridge.
	bk, err := protocol.NewKey()
	if err != nil {
		r.Err = err
		return r
	}
	if _, err := submit(ctx, nw.c, joinSub(bk, nw.inv)); err != nil {
		r.Err = fmt.Errorf("the bridge joining: %w", err)
		return r
	}
	ev, err := submit(ctx, nw.a, mustSign(nw.a.admin, nw.gid, &protocol.RoleBody{Member: bk.ID(), Role: protocol.RoleBridge}))
	if err != nil {
		r.Err = fmt.Errorf("giving the role bridge: %w", err)
		return r
	}
	if err := waitHeads(ctx, nw.gid, ev.Seq, nw.all...); err != nil {
		r.Err = err
		return r
	}

	// The platform.
	secret := []byte("w6-secret-0123456789abcdef0123456789abcdef")
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, secret, 0o600); err != nil {
		r.Err = err
		return r
	}
	var mu sync.Mutex
	hookAt := map[string]time.Time{} // Qun event ID → the webhook's arrival
	plat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		at := time.Now()
		body, _ := io.ReadAll(req.Body)
		ts, _ := strconv.ParseInt(req.Header.Get(webhook.HeaderTimestamp), 10, 64)
		if req.Header.Get(webhook.HeaderSignature) != webhook.Sign(secret, ts, body) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var h struct{ Type, Event string }
		_ = json.Unmarshal(body, &h)
		mu.Lock()
		if _, seen := hookAt[h.Event]; !seen && h.Type == "message" {
			hookAt[h.Event] = at
		}
		mu.Unlock()
	}))
	defer plat.Close()

	conn, err := webhook.New("webhook.bench", bridge.Webhook{Listen: "127.0.0.1:0", URL: plat.URL, SecretFile: secretFile},
		[]string{"bench"}, filepath.Join(dir, "outbox"), e.cfg.Logger)
	if err != nil {
		r.Err = err
		return r
	}
	defer conn.Close()
	store, err := bridge.OpenStore(filepath.Join(dir, "store"), e.cfg.Logger)
	if err != nil {
		r.Err = err
		return r
	}
	defer store.Close()
	qc, err := client.New(nw.c.node.APIURL(), bk, client.WithTimeout(time.Minute))
	if err != nil {
		r.Err = err
		return r
	}
	g, err := bridge.New(bridge.Options{Client: qc, Store: store, Connectors: []bridge.Connector{conn},
		Routes: []bridge.Route{{Group: nw.gid.String(), Direction: "both", Remote: []string{"webhook.bench:bench"}}},
		Web:    nw.c.node.APIURL(), Logger: e.cfg.Logger, StatusEvery: -1})
	if err != nil {
		r.Err = err
		return r
	}
	gctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = g.Run(gctx) }()
	defer func() { stop(); <-done }()

	// The plain WebSocket client of C: a member.
	cc, err := client.New(nw.c.node.APIURL(), nw.c.user, client.WithTimeout(time.Minute))
	if err != nil {
		r.Err = err
		return r
	}
	head, _ := nw.c.node.Head(nw.gid)
	sub, err := cc.Subscribe(ctx, map[protocol.GroupID]uint64{nw.gid: head + 1}, client.WithEventBuffer(4*n+64))
	if err != nil {
		r.Err = err
		return r
	}
	defer sub.Close()
	wsAt := map[string]time.Time{} // event ID → arrival at C's client
	textAt := map[string]time.Time{}
	go func() {
		for ev := range sub.Events() {
			mu.Lock()
			wsAt[ev.ID] = time.Now()
			textAt[ev.Text] = wsAt[ev.ID]
			mu.Unlock()
		}
	}()
	wait := func(what string, cond func() bool) error {
		deadline := time.Now().Add(5 * time.Minute)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			mu.Lock()
			ok := cond()
			mu.Unlock()
			if ok {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("W6: timed out waiting for %s", what)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-tick.C:
			}
		}
	}
	if err := wait("the bridge's endpoint", func() bool { return conn.Addr() != nil && conn.Status().Connected }); err != nil {
		r.Err = err
		return r
	}
	endpoint := "http://" + conn.Addr().String()
	// Warm-up messages until one reaches the platform: the gateway follows
	// the group from its head when it starts.
	for warm := 0; ; warm++ {
		if _, err := submit(ctx, nw.b, mustSign(nw.b.user, nw.gid, &protocol.MessageBody{Text: fmt.Sprintf("warm-up %d", warm)})); err != nil {
			r.Err = err
			return r
		}
		deadline := time.Now().Add(500 * time.Millisecond)
		if wait("a warm-up on the platform", func() bool { return len(hookAt) > 0 || time.Now().After(deadline) }) != nil || warm == 20 {
			r.Err = fmt.Errorf("W6: no warm-up message reached the platform")
			return r
		}
		mu.Lock()
		got := len(hookAt) > 0
		mu.Unlock()
		if got {
			break
		}
	}

	// Each way: a burst of n messages for the throughput (4 senders, each
	// sending when its last was taken), then paced messages (20 a second,
	// well below the throughput) for the latency the bridge adds, which a
	// burst would drown in queueing.
	paced := max(n/10, 10)
	const rate = 20

	// Qun → platform, from B; signed before the clock starts.
	fmt.Fprintf(e.progress, "W6: %d messages Qun → platform, then %d paced…\n", n, paced)
	outIDs := func(prefix string, k, workers int, every time.Duration) ([]string, time.Time, error) {
		subs := make([]*protocol.SignedSubmission, k)
		for i := range subs {
			subs[i] = mustSign(nw.b.user, nw.gid, &protocol.MessageBody{Text: fmt.Sprintf("%s-%d %s", prefix, i, pad(200))})
		}
		ids := make([]string, k)
		start := time.Now()
		err := parallel(ctx, workers, k, func(i int) error {
			if every > 0 && !sleepUntil(ctx, start.Add(time.Duration(i)*every)) {
				return ctx.Err()
			}
			ev, err := submit(ctx, nw.b, subs[i])
			if err == nil {
				ids[i] = ev.ID.String()
			}
			return err
		})
		if err == nil {
			err = wait("every message on the platform", func() bool {
				for _, id := range ids {
					if hookAt[id].IsZero() {
						return false
					}
				}
				return true
			})
		}
		return ids, start, err
	}
	ids, start, err := outIDs("out", n, 4, 0)
	if err != nil {
		r.Err = err
		return r
	}
	mu.Lock()
	var last time.Time
	for _, id := range ids {
		if h := hookAt[id]; h.After(last) {
			last = h
		}
	}
	mu.Unlock()
	r.add("out_msgs_per_s", float64(n)/last.Sub(start).Seconds(), nil)
	if ids, _, err = outIDs("outp", paced, 4, time.Second/rate); err != nil {
		r.Err = err
		return r
	}
	mu.Lock()
	var added []time.Duration
	for _, id := range ids {
		if w := wsAt[id]; !w.IsZero() {
			added = append(added, hookAt[id].Sub(w))
		}
	}
	mu.Unlock()
	r.add("out_added_p50_ms", ms(percentile(added, 50)), nil)
	r.add("out_added_p99_ms", ms(percentile(added, 99)), atMost(20))

	// Platform → Qun: posted by 4 workers; for comparison, C's member
	// through C's API at the same pace.
	fmt.Fprintf(e.progress, "W6: %d messages platform → Qun, then %d paced…\n", n, paced)
	texts := func(prefix string, k int) []string {
		out := make([]string, k)
		for i := range out {
			out[i] = fmt.Sprintf("%s-%d %s", prefix, i, pad(200))
		}
		return out
	}
	arrived := func(what string, ts []string) error {
		return wait(what, func() bool {
			for _, t := range ts {
				if textAt[t].IsZero() {
					return false
				}
			}
			return true
		})
	}
	post := func(prefix string, k int, every time.Duration, send func(i int, text string) error) ([]string, []time.Time, time.Time, error) {
		ts, sent := texts(prefix, k), make([]time.Time, k)
		start := time.Now()
		err := parallel(ctx, 4, k, func(i int) error {
			if every > 0 && !sleepUntil(ctx, start.Add(time.Duration(i)*every)) {
				return ctx.Err()
			}
			sent[i] = time.Now()
			return send(i, ts[i])
		})
		if err == nil {
			err = arrived("every "+prefix+" message at C's client", ts)
		}
		return ts, sent, start, err
	}
	viaBridge := func(prefix string) func(i int, text string) error {
		return func(i int, text string) error {
			body, _ := json.Marshal(map[string]string{"channel": "bench", "id": fmt.Sprintf("%s-%d", prefix, i), "user": fmt.Sprintf("u-%d", i%50), "text": text})
			return postSigned(ctx, endpoint+"/v1/messages", secret, body)
		}
	}
	in, _, start, err := post("in", n, 0, viaBridge("in"))
	if err != nil {
		r.Err = err
		return r
	}
	mu.Lock()
	last = time.Time{}
	for _, t := range in {
		if textAt[t].After(last) {
			last = textAt[t]
		}
	}
	mu.Unlock()
	r.add("in_msgs_per_s", float64(n)/last.Sub(start).Seconds(), nil)
	lat := func(ts []string, sent []time.Time) []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		out := make([]time.Duration, len(ts))
		for i, t := range ts {
			out[i] = textAt[t].Sub(sent[i])
		}
		return out
	}
	pin, psent, _, err := post("inp", paced, time.Second/rate, viaBridge("inp"))
	if err != nil {
		r.Err = err
		return r
	}
	direct, dsent, _, err := post("direct", paced, time.Second/rate, func(i int, text string) error {
		_, err := cc.Send(ctx, nw.gid, protocol.MessageBody{Text: text})
		return err
	})
	if err != nil {
		r.Err = err
		return r
	}
	inLat, dLat := lat(pin, psent), lat(direct, dsent)
	inP50, inP99 := percentile(inLat, 50), percentile(inLat, 99)
	dP50, dP99 := percentile(dLat, 50), percentile(dLat, 99)
	r.add("in_p50_ms", ms(inP50), nil)
	r.add("in_p99_ms", ms(inP99), nil)
	r.add("direct_p50_ms", ms(dP50), nil)
	r.add("direct_p99_ms", ms(dP99), nil)
	r.add("in_added_p99_ms", ms(inP99-dP99), atMost(20))
	r.note("throughput: bursts of %d messages each way from 4 senders; latency: %d messages each way at %d a second (out: the webhook's arrival minus the event's at a WebSocket client of C; in: POST → that client, beside C's member posting through C's API)", n, paced, rate)
	r.note("IRC, XMPP and Matrix are bounded by their servers (IRC's flood control: 2 lines a second by default); their connectors are tested against real servers, not measured here")
	return r
}

// sleepUntil waits until t; false when ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func pad(n int) string { return string(bytes.Repeat([]byte{'x'}, n)) }

// parallel runs fn(0…n-1) on k workers; the first error stops it.
func parallel(ctx context.Context, k, n int, fn func(i int) error) error {
	next := make(chan int)
	errs := make(chan error, k)
	var wg sync.WaitGroup
	for range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
feed:
	for i := range n {
		select {
		case next <- i:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return err
}

// postSigned posts a signed request to the bridge's endpoint, as a
// platform does, and wants 200.
func postSigned(ctx context.Context, url string, secret, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(secret, ts, body))
	req.Header.Set(webhook.HeaderWebhookID, fmt.Sprintf("w6-%d", time.Now().UnixNano()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("the bridge answered %s: %s", resp.Status, b)
	}
	return nil
}
