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
//
// Earlier versions of an edited message are for the group's admins (and
// the node's): everyone else gets the message without its signed bytes
// (they hold the first version) and each superseded edit without its text
// or bytes, marked "superseded". The WebSocket's cache holds the members'
// rendering; admins read the earlier versions in the history pages.

// eventView renders ev for light clients; full (for admins) keeps the
// earlier versions of edited messages.
func (g *group) eventView(ev *protocol.SignedEvent, full bool) api.EventView {
	v := api.NewEventView(ev)
	switch ev.Sub.Kind {
	case protocol.KindEdit:
		if b, ok := ev.Sub.DecodedBody().(*protocol.EditBody); ok && !full {
			g.mu.Lock()
			latest := g.state.Edited[b.Target]
			g.mu.Unlock()
			if latest != ev.Seq {
				v.Text, v.Raw, v.Superseded = "", "", true
			}
		}
		return v
	case protocol.KindMessage:
	default:
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
		if !full {
			v.Raw = ""
		}
	}
	return v
}

// fullViews reports whether user reads the group's earlier versions of
// edited messages: its admins and the node's.
func (n *Node) fullViews(user protocol.UserID, g *group) bool {
	if n.admins[user] {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state.IsAdmin(user)
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
		// The message shows the new text, and the edit it supersedes
		// loses its text for members.
		g.frames.forget(b.Target, &g.recalls)
		g.frames.forgetKind(protocol.KindEdit, &g.recalls)
	}
}
