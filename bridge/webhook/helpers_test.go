package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qunchat/qun/bridge"
)

// testSecret is the secret of the tests' connectors and platforms.
var testSecret = []byte("test-secret-0123456789abcdef0123456789")

// deadURL refuses every connection: nothing listens on port 0.
const deadURL = "http://127.0.0.1:0/hook"

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// logs records the connector's log, and prints it when WEBHOOK_TEST_LOG
// is set.
type logs struct {
	mu   sync.Mutex
	recs []slog.Record
	out  slog.Handler
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) WithAttrs(as []slog.Attr) slog.Handler {
	return &attrLogs{l: l, attrs: as}
}
func (l *logs) WithGroup(string) slog.Handler { return l }
func (l *logs) Handle(ctx context.Context, r slog.Record) error {
	l.mu.Lock()
	l.recs = append(l.recs, r.Clone())
	l.mu.Unlock()
	if l.out != nil {
		return l.out.Handle(ctx, r)
	}
	return nil
}

type attrLogs struct {
	l     *logs
	attrs []slog.Attr
}

func (a *attrLogs) Enabled(context.Context, slog.Level) bool { return true }
func (a *attrLogs) WithAttrs(as []slog.Attr) slog.Handler {
	return &attrLogs{l: a.l, attrs: append(append([]slog.Attr{}, a.attrs...), as...)}
}
func (a *attrLogs) WithGroup(string) slog.Handler { return a }
func (a *attrLogs) Handle(ctx context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(a.attrs...)
	return a.l.Handle(ctx, r)
}

// find returns the records with message msg, as maps of their attributes.
func (l *logs) find(msg string) []map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]string
	for _, r := range l.recs {
		if r.Message != msg {
			continue
		}
		m := map[string]string{}
		r.Attrs(func(a slog.Attr) bool {
			m[a.Key] = a.Value.String()
			return true
		})
		out = append(out, m)
	}
	return out
}

func newLogs() *logs {
	l := &logs{}
	if os.Getenv("WEBHOOK_TEST_LOG") != "" {
		l.out = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	return l
}

func writeSecret(t testing.TB, secret string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// conn is a connector under test, running.
type conn struct {
	*Connector
	t    testing.TB
	in   chan bridge.Inbound
	logs *logs
	stop func() // cancels Run and waits for it; idempotent
}

// start makes and runs a connector on dir delivering to url, with short
// backoffs, after tune.
func start(t testing.TB, url, dir string, channels []string, tune ...func(*Connector)) *conn {
	t.Helper()
	l := newLogs()
	cfg := bridge.Webhook{Listen: "127.0.0.1:0", URL: url, SecretFile: writeSecret(t, string(testSecret)+"\n")}
	c, err := New("webhook.platform", cfg, channels, dir, slog.New(l))
	if err != nil {
		t.Fatal(err)
	}
	c.minBackoff, c.maxBackoff = time.Millisecond, 20*time.Millisecond
	for _, f := range tune {
		f(c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := make(chan bridge.Inbound)
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, in) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v", err)
			}
		})
	}
	t.Cleanup(stop)
	waitFor(t, "the endpoint to listen", func() bool {
		select {
		case err := <-done:
			t.Fatalf("Run returned %v", err)
		default:
		}
		return c.Addr() != nil
	})
	return &conn{Connector: c, t: t, in: in, logs: l, stop: stop}
}

// delivery is a webhook the platform received.
type delivery struct {
	ID   string // Qun-Webhook-Id
	TS   int64
	Raw  []byte
	Body payload
}

// platform is a test platform: it checks every webhook's headers and
// signature, answers what respond says (200 when nil), and records what
// it accepted.
type platform struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	respond  func(d delivery) int
	attempts []delivery // every well-signed request, in arrival order
	got      []delivery // the accepted ones (2xx), in order
	accepted map[string]int
	problems []string
}

func newPlatform(t testing.TB) *platform {
	p := &platform{t: t, accepted: map[string]int{}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *platform) url() string { return p.srv.URL + "/qun/webhook?token=xyz" }

func (p *platform) problem(w http.ResponseWriter, format string, a ...any) {
	p.mu.Lock()
	p.problems = append(p.problems, fmt.Sprintf(format, a...))
	p.mu.Unlock()
	p.t.Errorf("platform: "+format, a...)
	http.Error(w, "bad request", 400)
}

// serve verifies as a platform would, independently of Sign.
func (p *platform) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if r.Method != "POST" || r.URL.Path != "/qun/webhook" || r.URL.Query().Get("token") != "xyz" {
		p.problem(w, "got %s %s", r.Method, r.URL)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		p.problem(w, "Content-Type %q", ct)
		return
	}
	tsh := r.Header.Get("Qun-Timestamp")
	ts, err := strconv.ParseInt(tsh, 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		p.problem(w, "Qun-Timestamp %q", tsh)
		return
	}
	m := hmac.New(sha256.New, testSecret)
	m.Write([]byte(tsh + "." + string(body)))
	if want := "v1=" + hex.EncodeToString(m.Sum(nil)); r.Header.Get("Qun-Signature") != want {
		p.problem(w, "Qun-Signature %q, want %q", r.Header.Get("Qun-Signature"), want)
		return
	}
	d := delivery{ID: r.Header.Get("Qun-Webhook-Id"), TS: ts, Raw: body}
	if d.ID == "" {
		p.problem(w, "no Qun-Webhook-Id")
		return
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d.Body); err != nil {
		p.problem(w, "body %s: %v", body, err)
		return
	}
	p.mu.Lock()
	p.attempts = append(p.attempts, d)
	respond := p.respond
	p.mu.Unlock()
	status := 200
	if respond != nil {
		status = respond(d)
	}
	if status/100 == 2 {
		p.mu.Lock()
		p.got = append(p.got, d)
		p.accepted[d.ID]++
		p.mu.Unlock()
	}
	w.WriteHeader(status)
	io.WriteString(w, `{"ok":true}`)
}

func (p *platform) setRespond(f func(d delivery) int) {
	p.mu.Lock()
	p.respond = f
	p.mu.Unlock()
}

func (p *platform) received() []delivery {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]delivery(nil), p.got...)
}

func (p *platform) allAttempts() []delivery {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]delivery(nil), p.attempts...)
}

// waitGot waits until the platform accepted n deliveries and returns them.
func (p *platform) waitGot(n int) []delivery {
	p.t.Helper()
	waitFor(p.t, strconv.Itoa(n)+" deliveries", func() bool { return len(p.received()) >= n })
	return p.received()
}

// gateway is a fake gateway: it reads in and answers each Inbound with
// answer (no Done call when it returns false).
type gateway struct {
	mu  sync.Mutex
	got []bridge.Inbound
}

func runGateway(t testing.TB, in <-chan bridge.Inbound, answer func(m bridge.Inbound) (bridge.Result, bool)) *gateway {
	g := &gateway{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case m := <-in:
				g.mu.Lock()
				g.got = append(g.got, m)
				g.mu.Unlock()
				if r, ok := answer(m); ok {
					m.Done(r)
				}
			case <-ctx.Done():
				return
			}
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return g
}

func (g *gateway) inbound() []bridge.Inbound {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]bridge.Inbound(nil), g.got...)
}

// call is a request to the endpoint; its zero fields are filled in:
// method POST, a fresh key, the time of now, a valid signature.
type call struct {
	method, path, body string
	key                string
	ts                 string
	sig                string
	contentType        string
	noHeaders          bool
	header             http.Header // as sent, once sent
}

type answer struct {
	status int
	raw    string
	code   string // error.code
	msg    string // error.message
	json   map[string]any
}

var keyCounter struct {
	sync.Mutex
	n int
}

func freshKey() string {
	keyCounter.Lock()
	defer keyCounter.Unlock()
	keyCounter.n++
	return "req-" + strconv.Itoa(keyCounter.n)
}

// send makes cl to c's endpoint (filling in cl's blanks) and decodes the
// answer.
func (c *conn) send(cl *call) answer {
	c.t.Helper()
	if cl.method == "" {
		cl.method = "POST"
	}
	if cl.header == nil {
		if cl.key == "" {
			cl.key = freshKey()
		}
		if cl.ts == "" {
			cl.ts = strconv.FormatInt(time.Now().Unix(), 10)
		}
		if cl.sig == "" {
			ts, _ := strconv.ParseInt(cl.ts, 10, 64)
			cl.sig = Sign(testSecret, ts, []byte(cl.body))
		}
		if cl.contentType == "" && cl.method == "POST" {
			cl.contentType = "application/json"
		}
		cl.header = http.Header{}
		if !cl.noHeaders {
			cl.header.Set("Qun-Webhook-Id", cl.key)
			cl.header.Set("Qun-Timestamp", cl.ts)
			cl.header.Set("Qun-Signature", cl.sig)
		}
		if cl.contentType != "" {
			cl.header.Set("Content-Type", cl.contentType)
		}
	}
	req, err := http.NewRequest(cl.method, "http://"+c.Addr().String()+cl.path, strings.NewReader(cl.body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header = cl.header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, raw: string(raw)}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		c.t.Errorf("%s %s: answer of type %q: %s", cl.method, cl.path, ct, raw)
	}
	if err := json.Unmarshal(raw, &a.json); err != nil {
		c.t.Errorf("%s %s: answer not JSON: %s", cl.method, cl.path, raw)
	}
	if e, ok := a.json["error"].(map[string]any); ok {
		a.code, _ = e["code"].(string)
		a.msg, _ = e["message"].(string)
	}
	return a
}
