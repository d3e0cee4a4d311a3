package delivery

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/qunchat/qun/internal/hooksig"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// Types are the event types a webhook may ask for.
var Types = []string{"member.joined", "member.left", "member.kicked", "member.banned", "join.requested", "message.mention", "order.state"}

// Limits and defaults.
const (
	MaxHooks   = 20
	MaxLog     = 200 // log entries kept per webhook
	maxURL     = 2048
	metaHook   = "mhook/"
	metaQueue  = "mhookq/"
	metaLog    = "mhooklog/"
	giveUpTime = 24 * time.Hour
)

// KV is the durable store of webhooks (the node's store, node scope).
type KV interface {
	Meta(key string) ([]byte, bool, error)
	SetMeta(key string, val []byte) error
	MetaKeys(prefix string) ([]string, error)
}

// Event is one thing that happened, for the webhooks that want its type.
type Event struct {
	// ID is the idempotency key (Qun-Webhook-Id): the Qun event ID, or an
	// ID of the order change.
	ID   string `json:"id"`
	Type string `json:"type"`
	Time uint64 `json:"time"` // unix ms
	// Group and Seq name the Qun event, when there is one.
	Group string `json:"group,omitempty"`
	Seq   uint64 `json:"seq,omitempty"`
	Data  any    `json:"data"`
}

// hook is a registered webhook as kept.
type hook struct {
	ID      string   `json:"id"`
	URL     string   `json:"url"`
	Types   []string `json:"types"`
	Secret  string   `json:"secret"`
	Created uint64   `json:"created"`
}

// queued is one delivery waiting in a webhook's outbox.
type queued struct {
	Key      string `json:"-"`
	ID       string `json:"id"`
	Type     string `json:"type"`
	Body     []byte `json:"body"`
	First    uint64 `json:"first"`
	Attempts int    `json:"attempts"`
	Next     uint64 `json:"next"`
	LastErr  string `json:"last_err,omitempty"`
}

// Options tune a Dispatcher.
type Options struct {
	// MinBackoff and MaxBackoff bound the wait between attempts (default
	// 1 s and 10 min); GiveUp is how long a delivery is tried (24 h).
	MinBackoff, MaxBackoff, GiveUp time.Duration
	// Client sends the requests (default: 10 s timeout).
	Client *http.Client
	Log    *slog.Logger
}

// Dispatcher keeps the webhooks and sends their deliveries.
type Dispatcher struct {
	kv   KV
	opts Options
	log  *slog.Logger
	ctx  context.Context

	mu      sync.Mutex
	hooks   map[string]*hook
	wake    map[string]chan struct{} // per hook: a token when its outbox grew
	stop    map[string]context.CancelFunc
	counter uint64
	wg      sync.WaitGroup
}

// New loads the webhooks kept in kv and starts their senders, until ctx
// ends (then Wait).
func New(ctx context.Context, kv KV, opts Options) (*Dispatcher, error) {
	if opts.MinBackoff == 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 10 * time.Minute
	}
	if opts.GiveUp == 0 {
		opts.GiveUp = giveUpTime
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	d := &Dispatcher{kv: kv, opts: opts, log: opts.Log, ctx: ctx, hooks: map[string]*hook{},
		wake: map[string]chan struct{}{}, stop: map[string]context.CancelFunc{}, counter: uint64(time.Now().UnixNano())}
	keys, err := kv.MetaKeys(metaHook)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		raw, ok, err := kv.Meta(k)
		if err != nil || !ok {
			continue
		}
		var h hook
		if json.Unmarshal(raw, &h) != nil {
			d.log.Error("webhooks: an unreadable webhook record", "key", k)
			continue
		}
		d.start(&h)
	}
	return d, nil
}

// Wait waits for the senders to stop (after the context ended).
func (d *Dispatcher) Wait() { d.wg.Wait() }

func (d *Dispatcher) start(h *hook) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.hooks[h.ID] = h
	w := make(chan struct{}, 1)
	w <- struct{}{}
	d.wake[h.ID] = w
	ctx, cancel := context.WithCancel(d.ctx)
	d.stop[h.ID] = cancel
	d.wg.Add(1)
	go func() { defer d.wg.Done(); d.send(ctx, h, w) }()
}

// Active reports whether any webhook is registered.
func (d *Dispatcher) Active() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.hooks) > 0
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || len(s) > maxURL || u.Host == "" || u.User != nil || u.Fragment != "" {
		return protocol.Errorf(protocol.CodeInvalid, "the webhook URL %.80q is no http(s) URL of at most %d characters", s, maxURL)
	}
	host := u.Hostname()
	switch u.Scheme {
	case "https":
	case "http":
		if host != "127.0.0.1" && host != "::1" && host != "localhost" {
			return protocol.Errorf(protocol.CodeInvalid, "a webhook URL must be https:// (plain http only to this machine: 127.0.0.1, ::1, localhost)")
		}
	default:
		return protocol.Errorf(protocol.CodeInvalid, "a webhook URL must be https://")
	}
	return nil
}

// Register adds a webhook for the types (all when none) and returns it
// with its secret, shown this once.
func (d *Dispatcher) Register(rawURL string, types []string) (api.Webhook, error) {
	if err := checkURL(rawURL); err != nil {
		return api.Webhook{}, err
	}
	if len(types) == 0 {
		types = Types
	}
	for _, t := range types {
		if !slices.Contains(Types, t) {
			return api.Webhook{}, protocol.Errorf(protocol.CodeInvalid, "%.40q is no event type: %s", t, strings.Join(Types, ", "))
		}
	}
	d.mu.Lock()
	n := len(d.hooks)
	d.mu.Unlock()
	if n >= MaxHooks {
		return api.Webhook{}, protocol.Errorf(protocol.CodeInvalid, "a node has at most %d webhooks: remove one first", MaxHooks)
	}
	id, secret := make([]byte, 8), make([]byte, 24)
	_, _ = rand.Read(id)
	_, _ = rand.Read(secret)
	h := &hook{ID: hex.EncodeToString(id), URL: rawURL, Types: slices.Clone(types), Secret: "whsec_" + hex.EncodeToString(secret), Created: uint64(time.Now().UnixMilli())}
	raw, _ := json.Marshal(h)
	if err := d.kv.SetMeta(metaHook+h.ID, raw); err != nil {
		return api.Webhook{}, protocol.Errorf(protocol.CodeInternal, "keeping the webhook: %v", err)
	}
	d.start(h)
	v := view(h)
	v.Secret = h.Secret
	return v, nil
}

func view(h *hook) api.Webhook {
	return api.Webhook{ID: h.ID, URL: h.URL, Types: h.Types, Created: h.Created}
}

// Hooks lists the webhooks, without their secrets.
func (d *Dispatcher) Hooks() []api.Webhook {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := []api.Webhook{}
	for _, h := range d.hooks {
		out = append(out, view(h))
	}
	slices.SortFunc(out, func(a, b api.Webhook) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Remove deletes a webhook and its outbox.
func (d *Dispatcher) Remove(id string) error {
	d.mu.Lock()
	_, ok := d.hooks[id]
	cancel := d.stop[id]
	delete(d.hooks, id)
	delete(d.wake, id)
	delete(d.stop, id)
	d.mu.Unlock()
	if !ok {
		return protocol.Errorf(protocol.CodeNotFound, "there is no webhook %.40q", id)
	}
	cancel()
	if err := d.kv.SetMeta(metaHook+id, nil); err != nil {
		return protocol.Errorf(protocol.CodeInternal, "removing the webhook: %v", err)
	}
	keys, _ := d.kv.MetaKeys(metaQueue + id + "/")
	for _, k := range keys {
		_ = d.kv.SetMeta(k, nil)
	}
	return nil
}

// Enqueue puts each event into the outbox of every webhook that wants its
// type: a synced write each, before Enqueue returns.
func (d *Dispatcher) Enqueue(evs ...Event) error {
	d.mu.Lock()
	hooks := make([]*hook, 0, len(d.hooks))
	for _, h := range d.hooks {
		hooks = append(hooks, h)
	}
	d.mu.Unlock()
	for _, ev := range evs {
		body, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		for _, h := range hooks {
			if !slices.Contains(h.Types, ev.Type) {
				continue
			}
			d.mu.Lock()
			d.counter++
			key := fmt.Sprintf("%s%s/%020d", metaQueue, h.ID, d.counter)
			w := d.wake[h.ID]
			d.mu.Unlock()
			q := queued{ID: ev.ID, Type: ev.Type, Body: body, First: uint64(time.Now().UnixMilli())}
			raw, _ := json.Marshal(q)
			if err := d.kv.SetMeta(key, raw); err != nil {
				return err
			}
			if w != nil {
				select {
				case w <- struct{}{}:
				default:
				}
			}
		}
	}
	return nil
}

// send posts h's deliveries, oldest first, until ctx ends. It lists the
// outbox once and again only when it is used up or grew, so a long
// backlog is not read again for each delivery.
func (d *Dispatcher) send(ctx context.Context, h *hook, wake chan struct{}) {
	var keys []string // the outbox's keys, oldest first, as last listed
	grew := true
	for {
		if len(keys) == 0 || grew {
			var err error
			if keys, err = d.kv.MetaKeys(metaQueue + h.ID + "/"); err != nil {
				d.log.Error("webhooks: the outbox cannot be read", "webhook", h.ID, "err", err)
			}
			slices.Sort(keys)
			grew = false
		}
		wait := time.Hour
		if len(keys) > 0 {
			q, err := d.load(keys[0])
			switch {
			case err != nil:
				d.log.Error("webhooks: a delivery was dropped", "webhook", h.ID, "err", err)
				keys = keys[1:]
				continue
			case q == nil: // gone (the webhook was removed meanwhile)
				keys = keys[1:]
				continue
			}
			now := uint64(time.Now().UnixMilli())
			if q.Next <= now {
				if d.attempt(ctx, h, q) {
					keys = keys[1:]
				}
				continue
			}
			wait = time.Duration(q.Next-now) * time.Millisecond
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-wake:
			grew = true
		case <-t.C:
		}
		t.Stop()
	}
}

// load reads the delivery under key (nil when it is gone); an unreadable
// one is deleted, for it would block the outbox for good.
func (d *Dispatcher) load(key string) (*queued, error) {
	raw, ok, err := d.kv.Meta(key)
	if err != nil || !ok {
		return nil, err
	}
	var q queued
	if err := json.Unmarshal(raw, &q); err != nil {
		_ = d.kv.SetMeta(key, nil)
		return nil, fmt.Errorf("the unreadable delivery %s: %w", key, err)
	}
	q.Key = key
	return &q, nil
}

// attempt posts one delivery and records the outcome; done says it left
// the outbox (delivered, or given up).
func (d *Dispatcher) attempt(ctx context.Context, h *hook, q *queued) (done bool) {
	q.Attempts++
	status, err := d.post(ctx, h, q)
	if ctx.Err() != nil {
		return false
	}
	now := uint64(time.Now().UnixMilli())
	if err == nil {
		d.record(h, q, status, "delivered", "")
		_ = d.kv.SetMeta(q.Key, nil)
		return true
	}
	q.LastErr = err.Error()
	if now-q.First > uint64(d.opts.GiveUp.Milliseconds()) {
		d.record(h, q, status, "failed", q.LastErr)
		_ = d.kv.SetMeta(q.Key, nil)
		d.log.Warn("webhooks: a delivery was given up", "webhook", h.ID, "id", q.ID, "attempts", q.Attempts, "err", err)
		return true
	}
	back := d.opts.MinBackoff << min(q.Attempts-1, 20)
	back = min(back, d.opts.MaxBackoff)
	j, _ := rand.Int(rand.Reader, big.NewInt(int64(back/2)+1))
	q.Next = now + uint64((back/2 + time.Duration(j.Int64())).Milliseconds())
	raw, _ := json.Marshal(q)
	_ = d.kv.SetMeta(q.Key, raw)
	d.log.Info("webhooks: a delivery failed; trying again", "webhook", h.ID, "id", q.ID, "attempt", q.Attempts, "err", err)
	return false
}

// post sends one request, signed now.
func (d *Dispatcher) post(ctx context.Context, h *hook, q *queued) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", h.URL, bytes.NewReader(q.Body))
	if err != nil {
		return 0, err
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "qun-webhooks/1")
	req.Header.Set(hooksig.HeaderWebhookID, q.ID)
	req.Header.Set(hooksig.HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(hooksig.HeaderSignature, hooksig.Sign([]byte(h.Secret), ts, q.Body))
	resp, err := d.opts.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("the receiver answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// record adds an entry to h's delivery log, keeping the last MaxLog.
func (d *Dispatcher) record(h *hook, q *queued, status int, outcome, why string) {
	d.mu.Lock()
	d.counter++
	key := fmt.Sprintf("%s%s/%020d", metaLog, h.ID, d.counter)
	d.mu.Unlock()
	e := api.WebhookDelivery{ID: q.ID, Type: q.Type, Outcome: outcome, Status: status, Attempts: q.Attempts, Error: why, At: uint64(time.Now().UnixMilli())}
	raw, _ := json.Marshal(e)
	_ = d.kv.SetMeta(key, raw)
	keys, _ := d.kv.MetaKeys(metaLog + h.ID + "/")
	if len(keys) > MaxLog {
		slices.Sort(keys)
		for _, k := range keys[:len(keys)-MaxLog] {
			_ = d.kv.SetMeta(k, nil)
		}
	}
}

// Deliveries returns the log of a webhook, newest first, and the
// deliveries still waiting.
func (d *Dispatcher) Deliveries(id string) (api.WebhookLog, error) {
	d.mu.Lock()
	h := d.hooks[id]
	d.mu.Unlock()
	if h == nil {
		return api.WebhookLog{}, protocol.Errorf(protocol.CodeNotFound, "there is no webhook %.40q", id)
	}
	out := api.WebhookLog{Deliveries: []api.WebhookDelivery{}}
	keys, err := d.kv.MetaKeys(metaLog + id + "/")
	if err != nil {
		return out, protocol.Errorf(protocol.CodeInternal, "reading the delivery log: %v", err)
	}
	slices.Sort(keys)
	slices.Reverse(keys)
	for _, k := range keys {
		if raw, ok, err := d.kv.Meta(k); err == nil && ok {
			var e api.WebhookDelivery
			if json.Unmarshal(raw, &e) == nil {
				out.Deliveries = append(out.Deliveries, e)
			}
		}
	}
	pending, _ := d.kv.MetaKeys(metaQueue + id + "/")
	out.Pending = len(pending)
	return out, nil
}
