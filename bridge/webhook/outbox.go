package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/dgraph-io/badger/v4"

	"github.com/qunchat/qun/bridge"
)

// The connector's Badger store, in its own data folder, every write
// synced. Key prefixes are one byte and are never renumbered.
const (
	prefixVersion = 'v' // v → schemaVersion
	prefixOutbox  = 'o' // o ‖ channel ‖ seq (8 bytes, big-endian) → entry
	prefixMarker  = 'k' // k ‖ webhook ID → 1: enqueued (no TTL) or delivered (TTL markerTTL)
	prefixReplay  = 'r' // r ‖ signature (32 bytes) → 1, TTL: the replay window
)

const (
	schemaVersion = 1
	entryVersion  = 1
	flagDedupe    = 1 // the webhook ID is derived, and a marker keeps it
)

// queue is a channel's deliveries in the outbox, in order.
type queue struct {
	channel string
	items   []item
	wake    chan struct{} // cap 1: something was appended
	worker  bool          // a worker delivers it
}

type item struct {
	seq  uint64
	size int64
}

// entry is one delivery: its idempotency key and body.
type entry struct {
	id     string
	dedupe bool
	body   []byte
}

func (e entry) encode() []byte {
	v := []byte{entryVersion, 0}
	if e.dedupe {
		v[1] |= flagDedupe
	}
	v = appendPart(v, e.id)
	return append(v, e.body...)
}

func decodeEntry(v []byte) (entry, error) {
	if len(v) < 2 || v[0] != entryVersion {
		return entry{}, errors.New("an outbox entry of an unknown version")
	}
	n, k := binary.Uvarint(v[2:])
	if k <= 0 || uint64(len(v)-2-k) < n {
		return entry{}, errors.New("a truncated outbox entry")
	}
	rest := v[2+k:]
	return entry{id: string(rest[:n]), dedupe: v[1]&flagDedupe != 0, body: bytes.Clone(rest[n:])}, nil
}

func appendPart(b []byte, p string) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func outboxKey(channel string, seq uint64) []byte {
	k := appendPart([]byte{prefixOutbox}, channel)
	return binary.BigEndian.AppendUint64(k, seq)
}

func parseOutboxKey(k []byte) (channel string, seq uint64, ok bool) {
	if len(k) < 1 || k[0] != prefixOutbox {
		return "", 0, false
	}
	n, m := binary.Uvarint(k[1:])
	if m <= 0 || uint64(len(k)-1-m) != n+8 {
		return "", 0, false
	}
	rest := k[1+m:]
	return string(rest[:n]), binary.BigEndian.Uint64(rest[n:]), true
}

func markerKey(id string) []byte { return append([]byte{prefixMarker}, id...) }

// open opens the store in dir and loads the outbox's index and the
// replay window's signatures.
func (c *Connector) open(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("making the data folder %s: %w", dir, err)
	}
	opts := badger.DefaultOptions(dir).
		WithLogger(badgerLogger{c.logger}).
		WithSyncWrites(true). // a delivery accepted is a delivery kept
		WithMetricsEnabled(false).
		WithMemTableSize(8 << 20).
		WithValueThreshold(4 << 10).
		WithNumMemtables(2).
		WithBlockCacheSize(4 << 20).
		WithIndexCacheSize(2 << 20).
		WithNumCompactors(2).
		WithValueLogFileSize(16 << 20)
	db, err := badger.Open(opts)
	if err != nil {
		return fmt.Errorf("opening the outbox in %s: %w", dir, err)
	}
	if err := c.load(db); err != nil {
		db.Close()
		return fmt.Errorf("reading the outbox in %s: %w", dir, err)
	}
	c.db = db
	return nil
}

func (c *Connector) load(db *badger.DB) error {
	err := db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte{prefixVersion})
		if errors.Is(err, badger.ErrKeyNotFound) {
			return txn.Set([]byte{prefixVersion}, []byte{schemaVersion})
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) != 1 || v[0] != schemaVersion {
				return fmt.Errorf("the outbox has schema version %v; this bridge knows version %d", v, schemaVersion)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	return db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = []byte{prefixOutbox}
		it := txn.NewIterator(opts)
		for it.Rewind(); it.Valid(); it.Next() {
			ch, seq, ok := parseOutboxKey(it.Item().Key())
			if !ok {
				it.Close()
				return fmt.Errorf("an outbox key that does not parse: %x", it.Item().Key())
			}
			q := c.queues[ch]
			if q == nil {
				q = &queue{channel: ch, wake: make(chan struct{}, 1)}
				c.queues[ch] = q
			}
			size := it.Item().ValueSize()
			q.items = append(q.items, item{seq: seq, size: size})
			c.pending++
			c.pendingBytes += size
			c.nextSeq = max(c.nextSeq, seq+1)
		}
		it.Close()

		opts.Prefix = []byte{prefixReplay}
		it = txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			c.replay.push(int64(it.Item().ExpiresAt()))
		}
		return nil
	})
}

func (c *Connector) closeDB() error {
	c.dbMu.Lock()
	defer c.dbMu.Unlock()
	if c.db == nil {
		return nil
	}
	err := c.db.Close()
	c.db = nil
	if err != nil {
		return fmt.Errorf("%s: closing the outbox: %w", c.name, err)
	}
	return nil
}

// withDB runs f with the open store, or returns ErrClosed.
func (c *Connector) withDB(f func(db *badger.DB) error) error {
	c.dbMu.RLock()
	defer c.dbMu.RUnlock()
	if c.db == nil {
		return ErrClosed
	}
	return f(c.db)
}

// payload is a webhook's body.
type payload struct {
	Type    string     `json:"type"`
	ID      string     `json:"id,omitempty"`
	Channel string     `json:"channel"`
	Event   string     `json:"event,omitempty"`
	Author  string     `json:"author,omitempty"`
	Text    string     `json:"text,omitempty"`
	ReplyTo string     `json:"reply_to,omitempty"`
	Quote   *quoteJSON `json:"quote,omitempty"`
	To      string     `json:"to,omitempty"`
	Image   *imageJSON `json:"image,omitempty"`
	User    string     `json:"user,omitempty"`
	Reason  string     `json:"reason,omitempty"`
}

type quoteJSON struct {
	Author string `json:"author,omitempty"`
	Text   string `json:"text,omitempty"`
}

type imageJSON struct {
	Name string `json:"name,omitempty"`
	Mime string `json:"mime,omitempty"`
	Data []byte `json:"data"`
}

// digest derives a stable ID from its parts (length-prefixed, so that no
// two lists of parts give the same input).
func digest(parts ...string) string {
	var b []byte
	for _, p := range parts {
		b = appendPart(b, p)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func randomID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// MessageID is the ID Send returns for the copy of Qun event in channel:
// "out-" and 32 hex digits, the same on every retry and restart.
func MessageID(channel, event string) string { return "out-" + digest("message", channel, event) }

var outKinds = map[bridge.OutKind]string{
	bridge.OutMessage:    "message",
	bridge.OutNotice:     "notice",
	bridge.OutCorrection: "correction",
}

// Send puts a "message" (or "notice", "correction") webhook in the outbox
// and returns the ID the platform will know the message by. A retry with
// the same m.Event and channel returns the same ID and enqueues nothing.
func (c *Connector) Send(ctx context.Context, channel string, m bridge.Outbound) (string, error) {
	typ, ok := outKinds[m.Kind]
	if !ok {
		return "", fmt.Errorf("webhook: an outbound message of unknown kind %d", m.Kind)
	}
	var id, whID string
	if m.Event != "" {
		id, whID = MessageID(channel, m.Event), "wh-"+digest("send", channel, m.Event)
	} else {
		id, whID = "out-"+randomID(), "wh-"+randomID()
	}
	p := payload{Type: typ, ID: id, Channel: channel, Event: m.Event, Author: m.Author, Text: m.Text, ReplyTo: m.ReplyTo, To: m.To}
	if m.Quote != nil {
		p.Quote = &quoteJSON{Author: m.Quote.Author, Text: m.Quote.Text}
	}
	if m.Image != nil {
		p.Image = &imageJSON{Name: m.Image.Name, Mime: m.Image.Mime, Data: m.Image.Data}
	}
	if err := c.enqueue(ctx, channel, entry{id: whID, dedupe: m.Event != ""}, p); err != nil {
		return "", err
	}
	return id, nil
}

// Edit puts an "edit" webhook of message id (an ID Send returned) in the
// outbox. A retry with the same m.Event enqueues nothing.
func (c *Connector) Edit(ctx context.Context, channel, id string, m bridge.Outbound) error {
	if id == "" {
		return errors.New("webhook: an edit names the message it edits")
	}
	e := entry{id: "wh-" + randomID()}
	if m.Event != "" {
		e = entry{id: "wh-" + digest("edit", channel, id, m.Event), dedupe: true}
	}
	p := payload{Type: "edit", ID: id, Channel: channel, Event: m.Event, Author: m.Author, Text: m.Text}
	return c.enqueue(ctx, channel, e, p)
}

// Delete puts a "delete" webhook of message id in the outbox; a second
// Delete of the same message enqueues nothing.
func (c *Connector) Delete(ctx context.Context, channel, id string) error {
	if id == "" {
		return errors.New("webhook: a delete names the message it deletes")
	}
	e := entry{id: "wh-" + digest("delete", channel, id), dedupe: true}
	return c.enqueue(ctx, channel, e, payload{Type: "delete", ID: id, Channel: channel})
}

// Kick puts a "kick" (or, with ban, "ban") webhook in the outbox: the
// platform removes user from its channel.
func (c *Connector) Kick(ctx context.Context, channel, user, reason string, ban bool) error {
	if user == "" {
		return errors.New("webhook: a kick names the user")
	}
	typ := "kick"
	if ban {
		typ = "ban"
	}
	return c.enqueue(ctx, channel, entry{id: "wh-" + randomID()}, payload{Type: typ, Channel: channel, User: user, Reason: reason})
}

// enqueue writes e with p's body at the end of channel's queue, in one
// synced write, unless e's marker says it was enqueued already.
func (c *Connector) enqueue(ctx context.Context, channel string, e entry, p payload) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !c.channels[channel] {
		return fmt.Errorf("%w: %q", ErrUnknownChannel, channel)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return fmt.Errorf("webhook: encoding the delivery: %w", err)
	}
	e.body = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(e.body) > MaxDeliveryBytes {
		return fmt.Errorf("%w (%d bytes)", ErrTooLarge, len(e.body))
	}
	value := e.encode()

	c.enqMu.Lock()
	defer c.enqMu.Unlock()
	c.mu.Lock()
	full := c.pending >= c.maxPending || c.pendingBytes+int64(len(value)) > c.maxPendingBytes
	c.mu.Unlock()
	seq := c.nextSeq
	dup := false
	err := c.withDB(func(db *badger.DB) error {
		return db.Update(func(txn *badger.Txn) error {
			if e.dedupe {
				_, err := txn.Get(markerKey(e.id))
				if err == nil {
					dup = true
					return nil
				}
				if !errors.Is(err, badger.ErrKeyNotFound) {
					return err
				}
			}
			if full {
				return ErrOutboxFull
			}
			if err := txn.Set(outboxKey(channel, seq), value); err != nil {
				return err
			}
			if e.dedupe {
				return txn.Set(markerKey(e.id), []byte{1})
			}
			return nil
		})
	})
	if errors.Is(err, ErrOutboxFull) {
		c.logger.Warn("webhook outbox full: a delivery is refused", "channel", channel, "delivery", e.id, "pending", c.Pending())
		return fmt.Errorf("%w (%d deliveries waiting)", ErrOutboxFull, c.Pending())
	}
	if err != nil {
		return fmt.Errorf("webhook: keeping the delivery: %w", err)
	}
	if dup {
		return nil
	}
	c.nextSeq++

	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queues[channel]
	if q == nil {
		q = &queue{channel: channel, wake: make(chan struct{}, 1)}
		c.queues[channel] = q
	}
	q.items = append(q.items, item{seq: seq, size: int64(len(value))})
	c.pending++
	c.pendingBytes += int64(len(value))
	c.startWorkerLocked(q)
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

// loadEntry reads the delivery seq of channel.
func (c *Connector) loadEntry(channel string, seq uint64) (entry, error) {
	var e entry
	err := c.withDB(func(db *badger.DB) error {
		return db.View(func(txn *badger.Txn) error {
			it, err := txn.Get(outboxKey(channel, seq))
			if err != nil {
				return err
			}
			return it.Value(func(v []byte) error {
				e, err = decodeEntry(v)
				return err
			})
		})
	})
	return e, err
}

// remove drops a delivered entry, the head of q, and keeps its marker for
// markerTTL, so that a late retry of the Send is still recognised.
func (c *Connector) remove(q *queue, e entry) error {
	c.mu.Lock()
	head := q.items[0]
	c.mu.Unlock()
	err := c.withDB(func(db *badger.DB) error {
		return db.Update(func(txn *badger.Txn) error {
			if err := txn.Delete(outboxKey(q.channel, head.seq)); err != nil {
				return err
			}
			if e.dedupe {
				return txn.SetEntry(badger.NewEntry(markerKey(e.id), []byte{1}).WithTTL(markerTTL))
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	q.items = q.items[1:]
	c.pending--
	c.pendingBytes -= head.size
	c.mu.Unlock()
	return nil
}

// badgerLogger sends Badger's messages to slog, warnings and errors only.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.l.Error(fmt.Sprintf(f, a...), "part", "badger") }
func (b badgerLogger) Warningf(f string, a ...any) { b.l.Warn(fmt.Sprintf(f, a...), "part", "badger") }
func (b badgerLogger) Infof(string, ...any)        {}
func (b badgerLogger) Debugf(string, ...any)       {}
