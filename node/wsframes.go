package node

import (
	"encoding/json"
	"sync"

	"github.com/qunchat/qun/protocol"
)

// wsFrameCache is the size of a group's cache of rendered WebSocket event
// messages: every subscriber of a busy group reads the same recent events,
// so each is decoded, rendered (peer IDs in base58, base64 of the raw
// bytes) and encoded as JSON once, not once per subscriber.
const wsFrameCache = 2048

// frameCache holds rendered event messages by seq (a ring). It is
// allocated on first use, so groups without WebSocket subscribers pay
// nothing.
type frameCache struct {
	mu    sync.Mutex
	slots []cachedFrame
}

type cachedFrame struct {
	seq  uint64
	data []byte
}

// eventFrames returns the rendered messages of up to max events from seq
// from on: cached ones, then those read from the store and rendered now.
func (g *group) eventFrames(from, max uint64) ([][]byte, error) {
	c := &g.frames
	c.mu.Lock()
	if c.slots == nil {
		c.slots = make([]cachedFrame, wsFrameCache)
	}
	var out [][]byte
	for seq := from; seq < from+max; seq++ {
		slot := c.slots[seq%wsFrameCache]
		if slot.seq != seq || slot.data == nil {
			break
		}
		out = append(out, slot.data)
	}
	c.mu.Unlock()
	if len(out) > 0 {
		return out, nil
	}
	evs, err := g.n.Events(g.id, from, int(max))
	if err != nil {
		return nil, err
	}
	gid := g.id.String()
	out = make([][]byte, 0, len(evs))
	for _, ev := range evs {
		v := protocol.NewEventView(ev)
		data, err := json.Marshal(protocol.WSServerMessage{Type: "event", Group: gid, Event: &v})
		if err != nil {
			return nil, err
		}
		out = append(out, data)
	}
	c.mu.Lock()
	for i, ev := range evs {
		c.slots[ev.Seq%wsFrameCache] = cachedFrame{seq: ev.Seq, data: out[i]}
	}
	c.mu.Unlock()
	return out, nil
}
