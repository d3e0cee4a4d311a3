package node

import (
	"encoding/json"
	"sync"
	"sync/atomic"

	"github.com/qunchat/qun/node/light"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
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
	slots []light.Frame
}

// forget drops the frame of seq (a message just recalled) and counts the
// recall in gen first, so that a frame rendered before it is not cached.
func (c *frameCache) forget(seq uint64, gen *atomic.Uint64) {
	gen.Add(1)
	c.mu.Lock()
	if c.slots != nil && c.slots[seq%wsFrameCache].Seq == seq {
		c.slots[seq%wsFrameCache] = light.Frame{}
	}
	c.mu.Unlock()
}

// forgetKind drops every cached frame of kind k (edits: a new one
// supersedes an earlier one, rarely in the cache), counting in gen first
// as forget does.
func (c *frameCache) forgetKind(k protocol.Kind, gen *atomic.Uint64) {
	gen.Add(1)
	c.mu.Lock()
	for i := range c.slots {
		if c.slots[i].Data != nil && c.slots[i].Kind == k {
			c.slots[i] = light.Frame{}
		}
	}
	c.mu.Unlock()
}

// frameOf renders ev.
func (g *group) frameOf(gid string, ev *protocol.SignedEvent) (light.Frame, error) {
	v := g.eventView(ev, false)
	data, err := json.Marshal(api.WSServerMessage{Type: "event", Group: gid, Event: &v})
	if err != nil {
		return light.Frame{}, err
	}
	f := light.Frame{Seq: ev.Seq, Data: data, Kind: ev.Sub.Kind}
	switch b := ev.Sub.DecodedBody().(type) {
	case *protocol.MemberBody:
		if ev.Sub.Kind == protocol.KindKick || ev.Sub.Kind == protocol.KindBan {
			f.Member = b.Member
		}
	case *protocol.LeaveBody:
		f.Member = ev.Sub.Author
	case *protocol.UpdateBody:
		f.HidesAll = b.Public != nil && !*b.Public
	}
	return f, nil
}

// eventFrames returns the rendered messages of up to max events from seq
// from on: cached ones, then those read from the store and rendered now.
func (g *group) eventFrames(from, max uint64) ([]light.Frame, error) {
	c := &g.frames
	c.mu.Lock()
	if c.slots == nil {
		c.slots = make([]light.Frame, wsFrameCache)
	}
	var out []light.Frame
	for seq := from; seq < from+max; seq++ {
		slot := c.slots[seq%wsFrameCache]
		if slot.Seq != seq || slot.Data == nil {
			break
		}
		out = append(out, slot)
	}
	c.mu.Unlock()
	if len(out) > 0 {
		return out, nil
	}
	gen := g.recalls.Load()
	evs, err := g.n.Events(g.id, from, int(max))
	if err != nil {
		return nil, err
	}
	gid := g.id.String()
	out = make([]light.Frame, 0, len(evs))
	for _, ev := range evs {
		f, err := g.frameOf(gid, ev)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	c.mu.Lock()
	if g.recalls.Load() == gen { // else a frame may show a message recalled meanwhile
		for _, f := range out {
			c.slots[f.Seq%wsFrameCache] = f
		}
	}
	c.mu.Unlock()
	return out, nil
}
