package node

import (
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// Views: how events are rendered for light clients. The log keeps every
// event as signed; what a light client may read of it is decided here, at
// every answer: a recalled message is a tombstone (no text, no details, no
// signed bytes) on every path — event pages, backward pages and the
// WebSocket, whose cache of rendered events forgets a message when its
// recall is applied. An edited message shows its latest edit's text, with
// "edited" naming that edit; the cache forgets it at each edit too.

// eventView renders ev for light clients.
func (g *group) eventView(ev *protocol.SignedEvent) api.EventView {
	v := api.NewEventView(ev)
	if ev.Sub.Kind != protocol.KindMessage {
		return v
	}
	g.mu.Lock()
	r, recalled := g.state.Recalled[ev.Seq]
	edit := g.state.Edited[ev.Seq]
	g.mu.Unlock()
	if recalled {
		return v.Tombstone(r)
	}
	if edit != 0 {
		if e, err := g.storedEvent(edit); err == nil {
			if b, ok := e.Sub.DecodedBody().(*protocol.EditBody); ok {
				v.Text, v.Edited = b.Text, &api.EditedView{Seq: e.Seq, Time: e.Time}
			}
		}
	}
	return v
}

// applied is told of every event applied to the state (host, replica and
// recovery), with g.mu held.
func (g *group) applied(ev *protocol.SignedEvent) {
	if membershipKind(ev.Sub.Kind) || ev.Sub.Kind == protocol.KindMute || ev.Sub.Kind == protocol.KindUnmute {
		g.pushMembership(ev)
	}
	switch b := ev.Sub.DecodedBody().(type) {
	case *protocol.TargetBody:
		if ev.Sub.Kind == protocol.KindRecall {
			g.frames.forget(b.Seq, &g.recalls)
		}
	case *protocol.EditBody:
		g.frames.forget(b.Target, &g.recalls)
	}
}
