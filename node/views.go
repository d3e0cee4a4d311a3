package node

import "github.com/qunchat/qun/protocol"

// Views: how events are rendered for light clients. The log keeps every
// event as signed; what a light client may read of it is decided here, at
// every answer: a recalled message is a tombstone (no text, no details, no
// signed bytes) on every path — event pages, backward pages and the
// WebSocket, whose cache of rendered events forgets a message when its
// recall is applied.

// eventView renders ev for light clients.
func (g *group) eventView(ev *protocol.SignedEvent) protocol.EventView {
	v := protocol.NewEventView(ev)
	if ev.Sub.Kind != protocol.KindMessage {
		return v
	}
	g.mu.Lock()
	r, recalled := g.state.Recalled[ev.Seq]
	g.mu.Unlock()
	if recalled {
		return v.Tombstone(r)
	}
	return v
}

// applied is told of every event applied to the state (host, replica and
// recovery), with g.mu held.
func (g *group) applied(ev *protocol.SignedEvent) {
	if ev.Sub.Kind != protocol.KindRecall {
		return
	}
	if b, ok := ev.Sub.DecodedBody().(*protocol.TargetBody); ok {
		g.frames.forget(b.Seq, &g.recalls)
	}
}
