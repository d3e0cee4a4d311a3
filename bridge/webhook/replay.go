package webhook

import (
	"container/heap"
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// expiries is a min-heap of the Unix times at which the remembered
// signatures expire: its length is how many are remembered.
type expiries []int64

func (h expiries) Len() int           { return len(h) }
func (h expiries) Less(i, j int) bool { return h[i] < h[j] }
func (h expiries) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiries) Push(x any)        { *h = append(*h, x.(int64)) }
func (h *expiries) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (h *expiries) push(t int64) { heap.Push(h, t) }

// remember records the signature sig of a request signed at ts, in a
// synced write, until the replay window has passed for it. It refuses a
// signature already remembered (401 replayed), and a new one when
// maxReplay are remembered (429).
func (c *Connector) remember(sig []byte, ts int64, now time.Time) error {
	c.replayMu.Lock()
	defer c.replayMu.Unlock()
	for c.replay.Len() > 0 && c.replay[0] <= now.Unix() {
		heap.Pop(&c.replay)
	}
	// Kept until the timestamp leaves the window, and a minute more.
	ttl := max(time.Unix(ts, 0).Add(TimestampWindow+time.Minute).Sub(now), time.Minute)
	key := append([]byte{prefixReplay}, sig...)
	var expires uint64
	err := c.withDB(func(db *badger.DB) error {
		return db.Update(func(txn *badger.Txn) error {
			_, err := txn.Get(key)
			if err == nil {
				return refusal(401, "replayed", "this request was received already (the same %s within %s): sign each request anew, with the time of sending", HeaderSignature, TimestampWindow)
			}
			if !errors.Is(err, badger.ErrKeyNotFound) {
				return err
			}
			if c.replay.Len() >= c.maxReplay {
				return refusal(429, "too_many_requests", "more than %d requests in %s: slow down", c.maxReplay, TimestampWindow+time.Minute)
			}
			e := badger.NewEntry(key, []byte{1}).WithTTL(ttl)
			expires = e.ExpiresAt
			return txn.SetEntry(e)
		})
	})
	if err != nil {
		return err
	}
	c.replay.push(int64(expires))
	return nil
}
