package node

import (
	"encoding/json"
	"sync"
	"sync/atomic"

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
	slots []cachedFrame
}

// cachedFrame is one rendered event message, with what the pumps need to
// re-check the read rule without decoding it again.
type cachedFrame struct {
	seq  uint64
	data []byte
	// kind and member say whom the event may take the right to read from:
	// the target of a kick or ban, the author of a leave; a change to
	// private (hidesAll) may take it from every non-member.
	kind     protocol.Kind
	member   protocol.UserID
	hidesAll bool
}

// revokes reports whether the event may end user's right to read.
func (f *cachedFrame) revokes(user protocol.UserID) bool {
	return f.hidesAll || (!f.member.IsZero() && f.member == user)
}

// forget drops the frame of seq (a message just recalled) and counts the
// recall in gen first, so that a frame rendered before it is not cached.
func (c *frameCache) forget(seq uint64, gen *atomic.Uint64) {
	gen.Add(1)
	c.mu.Lock()
	if c.slots != nil && c.slots[seq%wsFrameCache].seq == seq {
		c.slots[seq%wsFrameCache] = cachedFrame{}
	}
	c.mu.Unlock()
}

// frameOf renders ev.
func (g *group) frameOf(gid string, ev *protocol.SignedEvent) (cachedFrame, error) {
	v := g.eventView(ev)
	data, err := json.Marshal(api.WSServerMessage{Type: "event", Group: gid, Event: &v})
	if err != nil {
		return cachedFrame{}, err
	}
	f := cachedFrame{seq: ev.Seq, data: data, kind: ev.Sub.Kind}
	switch b := ev.Sub.DecodedBody().(type) {
	case *protocol.MemberBody:
		if ev.Sub.Kind == protocol.KindKick || ev.Sub.Kind == protocol.KindBan {
			f.member = b.Member
		}
	case *protocol.LeaveBody:
		f.member = ev.Sub.Author
	case *protocol.UpdateBody:
		f.hidesAll = b.Public != nil && !*b.Public
	}
	return f, nil
}

// eventFrames returns the rendered messages of up to max events from seq
// from on: cached ones, then those read from the store and rendered now.
func (g *group) eventFrames(from, max uint64) ([]cachedFrame, error) {
	c := &g.frames
	c.mu.Lock()
	if c.slots == nil {
		c.slots = make([]cachedFrame, wsFrameCache)
	}
	var out []cachedFrame
	for seq := from; seq < from+max; seq++ {
		slot := c.slots[seq%wsFrameCache]
		if slot.seq != seq || slot.data == nil {
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
	out = make([]cachedFrame, 0, len(evs))
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
			c.slots[f.seq%wsFrameCache] = f
		}
	}
	c.mu.Unlock()
	return out, nil
}
