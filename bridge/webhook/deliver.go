package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dgraph-io/badger/v4"
)

// startWorkerLocked starts q's worker if Run delivers and q has none;
// c.mu is held.
func (c *Connector) startWorkerLocked(q *queue) {
	if c.workCtx == nil || q.worker {
		return
	}
	q.worker = true
	ctx := c.workCtx
	c.workers.Add(1)
	go c.work(ctx, q)
}

// work delivers q's entries one after the other, each until the platform
// accepts it, until ctx ends.
func (c *Connector) work(ctx context.Context, q *queue) {
	defer c.workers.Done()
	defer func() {
		c.mu.Lock()
		q.worker = false
		c.mu.Unlock()
	}()
	for {
		c.mu.Lock()
		var head item
		ok := len(q.items) > 0
		if ok {
			head = q.items[0]
		}
		c.mu.Unlock()
		if !ok {
			select {
			case <-q.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		e, err := c.loadEntry(q.channel, head.seq)
		if errors.Is(err, badger.ErrKeyNotFound) {
			c.logger.Error("webhook outbox: an entry is missing; skipped", "channel", q.channel, "seq", head.seq)
			c.mu.Lock()
			q.items = q.items[1:]
			c.pending--
			c.pendingBytes -= head.size
			c.mu.Unlock()
			continue
		}
		if err != nil {
			c.logger.Error("webhook outbox: reading an entry", "channel", q.channel, "seq", head.seq, "err", err)
			return
		}
		if c.deliver(ctx, q.channel, e) != nil {
			return // ctx ended: the entry stays for the next run
		}
		for attempt := 1; ; attempt++ {
			err := c.remove(q, e)
			if err == nil {
				break
			}
			// Delivered but still in the outbox: it goes again if this
			// does not mend, which its idempotency key makes harmless.
			c.logger.Error("webhook outbox: removing a delivered entry", "channel", q.channel, "delivery", e.id, "err", err)
			if errors.Is(err, ErrClosed) || !c.sleep(ctx, c.backoff(attempt)) {
				return
			}
		}
	}
}

// deliver posts e until the platform answers 2xx (nil) or ctx ends
// (ctx.Err()), after each failure waiting c.backoff.
func (c *Connector) deliver(ctx context.Context, channel string, e entry) error {
	for attempt := 1; ; attempt++ {
		err := c.post(ctx, e)
		if err == nil {
			c.deliveryOK(channel)
			c.logger.Debug("webhook delivered", "channel", channel, "delivery", e.id, "attempts", attempt)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d := c.backoff(attempt)
		c.deliveryFailed(channel, err)
		c.logger.Warn("webhook delivery failed; it will be retried", "channel", channel, "delivery", e.id, "attempt", attempt, "retry_in", d.Round(time.Millisecond).String(), "err", err)
		if !c.sleep(ctx, d) {
			return ctx.Err()
		}
	}
}

// backoff is the wait after the attempt-th failure: exponential from
// minBackoff, capped at maxBackoff, with jitter (half of it random).
func (c *Connector) backoff(attempt int) time.Duration {
	d := c.maxBackoff
	if attempt < 32 {
		d = min(c.minBackoff<<(attempt-1), c.maxBackoff)
	}
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}

// sleep waits d unless ctx ends first (false).
func (c *Connector) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// post makes one attempt, signed with a fresh timestamp.
func (c *Connector) post(ctx context.Context, e entry) error {
	select {
	case c.sem <- struct{}{}:
		defer func() { <-c.sem }()
	case <-ctx.Done():
		return ctx.Err()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(e.body))
	if err != nil {
		return err
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "qun-bridge-webhook/1")
	req.Header.Set(HeaderWebhookID, e.id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(c.secret, ts, e.body))
	resp, err := c.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may carry a token
		}
		return fmt.Errorf("posting to %s: %w", c.urlHost, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s answered %s%s", c.urlHost, resp.Status, excerpt(answer))
	}
	return nil
}

// excerpt is the start of an answer's body, for a log line.
func excerpt(b []byte) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "\uFFFD")), " ")
	if s == "" {
		return ""
	}
	if len(s) > 200 {
		i := 200
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i] + "…"
	}
	return ": " + s
}
