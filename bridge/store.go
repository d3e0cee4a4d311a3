package bridge

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"unicode/utf8"

	"github.com/dgraph-io/badger/v4"

	"github.com/qunchat/qun/protocol"
)

// Store is the bridge's own memory, in its data folder (Badger, every write
// synced): which Qun event each remote message is and the reverse (recalls
// and edits on either side need it after a restart), how far each group
// was relayed out, and each connector's resume token (a Matrix sync token).
type Store struct {
	db *badger.DB
}

// Remote names a message on another network: the connector (KIND.NAME),
// the channel and the network's ID of the message.
type Remote struct {
	Connector, Channel, ID string
}

// EventRef names a Qun event.
type EventRef struct {
	Group protocol.GroupID
	Seq   uint64
}

// maxRemotePart bounds each part of a Remote in the store.
const maxRemotePart = 1024

// Key prefixes: one byte, then length-prefixed parts.
const (
	prefixRemote  = 'r' // r ‖ connector ‖ channel ‖ id → group ‖ seq
	prefixEvent   = 'e' // e ‖ group ‖ seq ‖ connector ‖ channel → id
	prefixCursor  = 'c' // c ‖ group ‖ channel → seq
	prefixToken   = 't' // t ‖ connector → token
	prefixPending = 'p' // p ‖ connector ‖ channel ‖ id → group ‖ raw submission
	prefixSub     = 'q' // q ‖ submission ID → connector ‖ channel ‖ id
)

// OpenStore opens (or makes) the store in dir.
func OpenStore(dir string, logger *slog.Logger) (*Store, error) {
	if dir == "" {
		return nil, errors.New("bridge: the store needs a data folder")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("bridge: making the data folder %s: %w", dir, err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts := badger.DefaultOptions(dir).
		WithLogger(badgerLogger{logger}).
		WithSyncWrites(true). // a mapping acknowledged is a mapping kept
		WithMetricsEnabled(false).
		WithMemTableSize(8 << 20).
		WithValueThreshold(4 << 10).
		WithNumMemtables(2).
		WithBlockCacheSize(8 << 20).
		WithIndexCacheSize(4 << 20).
		WithNumCompactors(2).
		WithValueLogFileSize(16 << 20)
	db, err := badger.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("bridge: opening the store in %s: %w", dir, err)
	}
	return &Store{db: db}, nil
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

func appendPart(b []byte, p string) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func (r Remote) check() error {
	for _, p := range []string{r.Connector, r.Channel, r.ID} {
		if p == "" || len(p) > maxRemotePart || !utf8.ValidString(p) {
			return fmt.Errorf("bridge: a remote message is named by its connector, channel and ID, each 1 to %d bytes of UTF-8 (%q, %q, %q)", maxRemotePart, r.Connector, r.Channel, r.ID)
		}
	}
	return nil
}

func (r Remote) key() []byte {
	k := []byte{prefixRemote}
	k = appendPart(k, r.Connector)
	k = appendPart(k, r.Channel)
	return appendPart(k, r.ID)
}

func eventPrefix(ev EventRef) []byte {
	k := append([]byte{prefixEvent}, ev.Group[:]...)
	return binary.BigEndian.AppendUint64(k, ev.Seq)
}

func (r Remote) eventKey(ev EventRef) []byte {
	k := appendPart(eventPrefix(ev), r.Connector)
	return appendPart(k, r.Channel)
}

// Link records that remote message r and Qun event ev are copies of one
// message, both ways, in one synced write.
func (s *Store) Link(r Remote, ev EventRef) error {
	if err := r.check(); err != nil {
		return err
	}
	if ev.Seq == 0 {
		return errors.New("bridge: an event is named by its group and a seq ≥ 1")
	}
	val := binary.BigEndian.AppendUint64(append([]byte{}, ev.Group[:]...), ev.Seq)
	return s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(r.key(), val); err != nil {
			return err
		}
		return txn.Set(r.eventKey(ev), []byte(r.ID))
	})
}

// EventOf returns the Qun event of remote message r, if known.
func (s *Store) EventOf(r Remote) (EventRef, bool, error) {
	if err := r.check(); err != nil {
		return EventRef{}, false, err
	}
	var ev EventRef
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(r.key())
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) != 40 {
				return fmt.Errorf("bridge: a damaged mapping of %d bytes", len(v))
			}
			copy(ev.Group[:], v[:32])
			ev.Seq = binary.BigEndian.Uint64(v[32:])
			return nil
		})
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return EventRef{}, false, nil
	}
	return ev, err == nil, err
}

// RemotesOf returns every remote copy of Qun event ev, one per channel.
func (s *Store) RemotesOf(ev EventRef) ([]Remote, error) {
	var out []Remote
	prefix := eventPrefix(ev)
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 16})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			rest := it.Item().Key()[len(prefix):]
			conn, rest, ok := readPart(rest)
			ch, rest, ok2 := readPart(rest)
			if !ok || !ok2 || len(rest) != 0 {
				return fmt.Errorf("bridge: a damaged key %x", it.Item().Key())
			}
			id, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out = append(out, Remote{Connector: conn, Channel: ch, ID: string(id)})
		}
		return nil
	})
	return out, err
}

func readPart(b []byte) (string, []byte, bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || uint64(len(b)-w) < n {
		return "", nil, false
	}
	return string(b[w : w+int(n)]), b[w+int(n):], true
}

func cursorKey(gid protocol.GroupID, channel string) []byte {
	return appendPart(append([]byte{prefixCursor}, gid[:]...), channel)
}

// Cursor returns the last seq of group gid relayed out to channel (the
// connector's KIND.NAME, a colon and the channel), if any.
func (s *Store) Cursor(gid protocol.GroupID, channel string) (uint64, bool, error) {
	v, ok, err := s.get(cursorKey(gid, channel))
	if err != nil || !ok {
		return 0, false, err
	}
	if len(v) != 8 {
		return 0, false, fmt.Errorf("bridge: a damaged cursor of %d bytes", len(v))
	}
	return binary.BigEndian.Uint64(v), true, nil
}

// SetCursor records that group gid was relayed out to channel up to seq.
// A cursor never goes back: a lower seq is ignored.
func (s *Store) SetCursor(gid protocol.GroupID, channel string, seq uint64) error {
	key := cursorKey(gid, channel)
	return s.db.Update(func(txn *badger.Txn) error {
		if item, err := txn.Get(key); err == nil {
			var cur uint64
			if err := item.Value(func(v []byte) error {
				if len(v) == 8 {
					cur = binary.BigEndian.Uint64(v)
				}
				return nil
			}); err != nil {
				return err
			}
			if seq <= cur {
				return nil
			}
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		return txn.Set(key, binary.BigEndian.AppendUint64(nil, seq))
	})
}

// RemoteIn returns the ID of the copy of Qun event ev in a channel of a
// connector, if the bridge made one there (or the event came from there).
func (s *Store) RemoteIn(ev EventRef, connector, channel string) (string, bool, error) {
	v, ok, err := s.get(Remote{Connector: connector, Channel: channel}.eventKey(ev))
	return string(v), ok, err
}

// Pending is a submission the bridge signed for a remote message and that
// is not known to be sequenced yet: kept before it is posted, so that after
// a crash the same bytes are posted again (the node answers the event they
// already made, never a second one), and so that the copy that comes back
// is known for the remote message's.
type Pending struct {
	Remote Remote
	Group  protocol.GroupID
	Raw    []byte // the signed submission
}

func (r Remote) pendingKey() []byte {
	k := []byte{prefixPending}
	k = appendPart(k, r.Connector)
	k = appendPart(k, r.Channel)
	return appendPart(k, r.ID)
}

func subKey(sub protocol.SubmissionID) []byte { return append([]byte{prefixSub}, sub[:]...) }

// Pend keeps p until Settle or Drop.
func (s *Store) Pend(p Pending) error {
	if err := p.Remote.check(); err != nil {
		return err
	}
	sub := protocol.SubmissionID(sha256.Sum256(p.Raw))
	return s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(p.Remote.pendingKey(), append(append([]byte{}, p.Group[:]...), p.Raw...)); err != nil {
			return err
		}
		return txn.Set(subKey(sub), p.Remote.pendingKey()[1:])
	})
}

// Settle records that p's submission became event ev: the link both ways
// and the end of p, in one synced write.
func (s *Store) Settle(p Pending, ev EventRef) error {
	if err := p.Remote.check(); err != nil {
		return err
	}
	if ev.Seq == 0 {
		return errors.New("bridge: an event is named by its group and a seq ≥ 1")
	}
	sub := protocol.SubmissionID(sha256.Sum256(p.Raw))
	val := binary.BigEndian.AppendUint64(append([]byte{}, ev.Group[:]...), ev.Seq)
	return s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(p.Remote.key(), val); err != nil {
			return err
		}
		if err := txn.Set(p.Remote.eventKey(ev), []byte(p.Remote.ID)); err != nil {
			return err
		}
		if err := txn.Delete(p.Remote.pendingKey()); err != nil {
			return err
		}
		return txn.Delete(subKey(sub))
	})
}

// Drop ends p without an event (the host refused it).
func (s *Store) Drop(p Pending) error {
	sub := protocol.SubmissionID(sha256.Sum256(p.Raw))
	return s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Delete(p.Remote.pendingKey()); err != nil {
			return err
		}
		return txn.Delete(subKey(sub))
	})
}

// IsPending says whether a submission for remote message r is pending.
func (s *Store) IsPending(r Remote) (bool, error) {
	if err := r.check(); err != nil {
		return false, err
	}
	_, ok, err := s.get(r.pendingKey())
	return ok, err
}

// PendingSource returns the remote message that the pending submission
// sub was signed for, if it is pending.
func (s *Store) PendingSource(sub protocol.SubmissionID) (Remote, bool, error) {
	v, ok, err := s.get(subKey(sub))
	if err != nil || !ok {
		return Remote{}, false, err
	}
	conn, rest, ok1 := readPart(v)
	ch, rest, ok2 := readPart(rest)
	id, rest, ok3 := readPart(rest)
	if !ok1 || !ok2 || !ok3 || len(rest) != 0 {
		return Remote{}, false, fmt.Errorf("bridge: a damaged pending entry %x", v)
	}
	return Remote{Connector: conn, Channel: ch, ID: id}, true, nil
}

// Pendings lists every pending submission.
func (s *Store) Pendings() ([]Pending, error) {
	var out []Pending
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixPending}, PrefetchValues: true, PrefetchSize: 16})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			rest := it.Item().Key()[1:]
			conn, rest, ok1 := readPart(rest)
			ch, rest, ok2 := readPart(rest)
			id, rest, ok3 := readPart(rest)
			if !ok1 || !ok2 || !ok3 || len(rest) != 0 {
				return fmt.Errorf("bridge: a damaged key %x", it.Item().Key())
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			if len(v) < 32 {
				return fmt.Errorf("bridge: a damaged pending entry of %d bytes", len(v))
			}
			p := Pending{Remote: Remote{Connector: conn, Channel: ch, ID: id}, Raw: v[32:]}
			copy(p.Group[:], v[:32])
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// Token returns connector's resume token (a Matrix sync token), if any.
func (s *Store) Token(connector string) (string, bool, error) {
	v, ok, err := s.get(appendPart([]byte{prefixToken}, connector))
	return string(v), ok, err
}

// SetToken keeps connector's resume token.
func (s *Store) SetToken(connector, token string) error {
	if connector == "" || len(token) > 64<<10 {
		return errors.New("bridge: a resume token names its connector and has at most 64 KiB")
	}
	return s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(appendPart([]byte{prefixToken}, connector), []byte(token))
	})
}

func (s *Store) get(key []byte) ([]byte, bool, error) {
	var v []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		v, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	return v, err == nil, err
}

// badgerLogger sends Badger's messages to slog, warnings and errors only.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.l.Error(fmt.Sprintf(f, a...), "part", "badger") }
func (b badgerLogger) Warningf(f string, a ...any) { b.l.Warn(fmt.Sprintf(f, a...), "part", "badger") }
func (b badgerLogger) Infof(string, ...any)        {}
func (b badgerLogger) Debugf(string, ...any)       {}
