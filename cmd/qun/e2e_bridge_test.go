package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qunchat/qun/bridge/webhook"
	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/internal/testserver"
	"github.com/qunchat/qun/protocol"
)

// platform is a platform's side of the webhook connector: it takes the
// bridge's signed webhooks (checking each signature, keeping one per
// idempotency key as the documentation asks) and posts its people's
// messages to the bridge's endpoint.
type platform struct {
	t        *testing.T
	secret   []byte
	endpoint string // the bridge's, http://127.0.0.1:PORT
	srv      *httptest.Server

	mu    sync.Mutex
	byKey map[string]hook // idempotency key → the delivery
	keys  []string        // in order of first arrival
	bad   int             // deliveries whose signature did not verify
}

// hook is a webhook's body (docs/BRIDGE-PLATFORM.md).
type hook struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	Channel string `json:"channel"`
	Event   string `json:"event"`
	Author  string `json:"author"`
	Text    string `json:"text"`
}

func newPlatform(t *testing.T, secret []byte) *platform {
	p := &platform{t: t, secret: secret, byKey: map[string]hook{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get(webhook.HeaderTimestamp), 10, 64)
		p.mu.Lock()
		defer p.mu.Unlock()
		if r.Header.Get(webhook.HeaderSignature) != webhook.Sign(secret, ts, body) {
			p.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var h hook
		if err := json.Unmarshal(body, &h); err != nil {
			p.bad++
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		key := r.Header.Get(webhook.HeaderWebhookID)
		if _, seen := p.byKey[key]; !seen {
			p.byKey[key] = h
			p.keys = append(p.keys, key)
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// hooks returns the deliveries, one per idempotency key, in arrival order.
func (p *platform) hooks() []hook {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]hook, 0, len(p.keys))
	for _, k := range p.keys {
		out = append(out, p.byKey[k])
	}
	return out
}

// post signs and posts a request to the bridge's endpoint and returns the
// status and body; a refused connection (the bridge is down) is status 0.
func (p *platform) post(path string, v any) (int, []byte) {
	body, _ := json.Marshal(v)
	req, _ := http.NewRequest(http.MethodPost, p.endpoint+path, bytes.NewReader(body))
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(p.secret, ts, body))
	req.Header.Set(webhook.HeaderWebhookID, fmt.Sprintf("req-%d", time.Now().UnixNano()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// postUntilDone posts until the bridge answers 200, as a platform retries
// while the bridge restarts (in a new second each time: the signature
// covers the timestamp and the body, and a signature is taken once).
func (p *platform) postUntilDone(ctx context.Context, path string, v any) []byte {
	for {
		status, b := p.post(path, v)
		if status == http.StatusOK {
			return b
		}
		if status != 0 && status != http.StatusServiceUnavailable && status != http.StatusUnauthorized {
			p.t.Errorf("%s %v: %d %s", path, v, status, b)
			return nil
		}
		sec := time.Now().Unix()
		tick := time.NewTicker(20 * time.Millisecond) // until the next second
		for time.Now().Unix() == sec {
			select {
			case <-ctx.Done():
				tick.Stop()
				return nil
			case <-tick.C:
			}
		}
		tick.Stop()
	}
}

// bridgeProc is a `qun bridge` process.
type bridgeProc struct {
	t      *testing.T
	config string
	log    string
	cmd    *exec.Cmd
	exited chan struct{}
}

func (b *bridgeProc) start() {
	b.t.Helper()
	logf, err := os.OpenFile(b.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		b.t.Fatal(err)
	}
	b.cmd = exec.Command(binary(b.t), "bridge", "--config", b.config)
	b.cmd.Stdout, b.cmd.Stderr = logf, logf
	if err := b.cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	b.exited = make(chan struct{})
	go func() { b.cmd.Wait(); logf.Close(); close(b.exited) }()
}

func (b *bridgeProc) kill() {
	b.cmd.Process.Kill()
	<-b.exited
}

func (b *bridgeProc) logText() string {
	out, _ := os.ReadFile(b.log)
	if len(out) > 8000 {
		out = out[len(out)-8000:]
	}
	return string(out)
}

// freePort returns a port that was free a moment ago on 127.0.0.1 (the
// bridge's endpoint must keep its port across restarts).
func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestBridgeSIGKILL: `qun bridge` killed with SIGKILL and started again
// while 500 messages flow between a Qun group and a platform's webhook
// integration, 250 each way: each arrives on the other side once (one
// idempotency key per Qun event; each platform message once in the group),
// nothing is echoed, and recalls of messages relayed before the kill still
// follow their copies both ways.
func TestBridgeSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	w := testserver.NewWorld(t, ctx)
	dir := t.TempDir()
	secret := []byte("0123456789abcdef0123456789abcdef-test-secret")
	if err := os.WriteFile(filepath.Join(dir, "webhook.secret"), append(secret, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := client.SaveKey(filepath.Join(dir, "bridge.key"), w.BridgeUser.Key()); err != nil {
		t.Fatal(err)
	}
	p := newPlatform(t, secret)
	port := freePort(t)
	p.endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
	conf := fmt.Sprintf(`key = "bridge.key"
api = %q
data = "data"

[webhook.platform]
listen = "127.0.0.1:%d"
url = %q
secret_file = "webhook.secret"

[[route]]
group = %q
remote = ["webhook.platform:shop-42"]
`, w.Platform.APIURL(), port, p.srv.URL, w.GID)
	cfgPath := filepath.Join(dir, "bridge.toml")
	if err := os.WriteFile(cfgPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	b := &bridgeProc{t: t, config: cfgPath, log: filepath.Join(dir, "bridge.log")}
	b.start()
	defer func() {
		b.kill()
		if t.Failed() {
			t.Logf("bridge log:\n%s", b.logText())
		}
	}()

	// A channel new to a route gets no history: start once the bridge
	// follows the group.
	statusFile := filepath.Join(dir, "data", "status.txt")
	testserver.WaitUntil(t, 30*time.Second, "the bridge following the group", func() bool {
		b, _ := os.ReadFile(statusFile)
		return strings.Contains(string(b), "webhook.platform:shop-42 ✓ at ")
	})

	const n = 250
	var wg sync.WaitGroup
	var mu sync.Mutex
	qunSeqs := map[string]uint64{} // text → seq of what Qun sent
	killAt := make(chan struct{})
	wg.Add(2)
	go func() { // Qun → platform
		defer wg.Done()
		for i := range n {
			text := fmt.Sprintf("q-%d", i)
			resp, err := w.Buyer.Send(ctx, w.GID, protocol.MessageBody{Text: text})
			if err != nil {
				t.Errorf("sending %s: %v", text, err)
				return
			}
			mu.Lock()
			qunSeqs[text] = resp.Seq
			mu.Unlock()
			if i == n/3 {
				close(killAt)
			}
		}
	}()
	go func() { // platform → Qun
		defer wg.Done()
		for i := range n {
			p.postUntilDone(ctx, "/v1/messages", map[string]string{"channel": "shop-42", "id": fmt.Sprintf("m-%d", i), "user": "u-7", "name": "Lin", "text": fmt.Sprintf("p-%d", i)})
		}
	}()
	start := time.Now()
	<-killAt
	b.kill()
	b.start()
	wg.Wait()
	t.Logf("both flows done in %s", time.Since(start))

	// Every Qun message on the platform, once; nothing of the platform's
	// own came back.
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond) // poll interval of a bounded wait
	defer tick.Stop()
	for {
		got := map[string]bool{}
		for _, h := range p.hooks() {
			if h.Type == "message" && strings.HasPrefix(h.Text, "q-") {
				got[h.Text] = true
			}
		}
		if len(got) >= n {
			break
		}
		if time.Now().After(deadline) {
			var missing []string
			for i := range n {
				if q := fmt.Sprintf("q-%d", i); !got[q] {
					missing = append(missing, fmt.Sprintf("%s (seq %d)", q, qunSeqs[q]))
				}
			}
			t.Fatalf("%d Qun messages never reached the platform: %s", len(missing), strings.Join(missing, ", "))
		}
		<-tick.C
	}
	t.Logf("every Qun message on the platform after %s", time.Since(start))
	perEvent := map[string]int{}
	idOf := map[string]string{} // text → the platform's ID of its copy
	for _, h := range p.hooks() {
		if h.Type != "message" {
			continue
		}
		if strings.HasPrefix(h.Text, "p-") {
			t.Errorf("the platform got its own message back: %+v", h)
		}
		perEvent[h.Event]++
		idOf[h.Text] = h.ID
	}
	for ev, c := range perEvent {
		if c != 1 {
			t.Errorf("event %s reached the platform under %d idempotency keys", ev, c)
		}
	}
	if len(perEvent) != n {
		t.Errorf("%d Qun events reached the platform, want %d", len(perEvent), n)
	}
	// Every platform message in the group, once.
	seen := map[string]int{}
	for ev, err := range w.Owner.History(ctx, w.GID, 1, 0) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == "message" && ev.Bridged != nil {
			seen[ev.Text]++
		}
	}
	for i := range n {
		if c := seen[fmt.Sprintf("p-%d", i)]; c != 1 {
			t.Errorf("p-%d is %d times in the group", i, c)
		}
	}
	p.mu.Lock()
	if p.bad != 0 {
		t.Errorf("%d deliveries with a bad signature", p.bad)
	}
	p.mu.Unlock()

	// Recalls of messages relayed before the kill still follow their copy.
	if _, err := w.Buyer.Recall(ctx, w.GID, qunSeqs["q-3"]); err != nil {
		t.Fatal(err)
	}
	testserver.WaitUntil(t, 30*time.Second, "the platform told to delete q-3", func() bool {
		for _, h := range p.hooks() {
			if h.Type == "delete" && h.ID == idOf["q-3"] {
				return true
			}
		}
		return false
	})
	body := p.postUntilDone(ctx, "/v1/deletes", map[string]string{"channel": "shop-42", "id": "m-3"})
	var res struct {
		Seq uint64 `json:"seq"`
	}
	if err := json.Unmarshal(body, &res); err != nil || res.Seq == 0 {
		t.Fatalf("the deletion of m-3: %s %v", body, err)
	}
	if ev := testserver.EventAt(t, ctx, w.Owner, w.GID, res.Seq); ev.Kind != "recall" {
		t.Fatalf("the deletion of m-3 became %s", ev.Kind)
	}
}
