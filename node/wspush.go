package node

// Pushes to a user's WebSockets about what a group's events did to them:
// an approval, a refusal, a role change, a mute, a kick or a ban reaches
// every open WebSocket of that user on this node at once, whether it is
// subscribed to the group or not (a user whose request was approved has
// no subscription yet).

import (
	"encoding/json"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// membershipTarget returns whom a membership event acts on, if anyone but
// its author.
func membershipTarget(ev *protocol.SignedEvent) (protocol.UserID, bool) {
	switch b := ev.Sub.DecodedBody().(type) {
	case *protocol.MemberBody:
		switch ev.Sub.Kind {
		case protocol.KindApprove, protocol.KindReject, protocol.KindKick, protocol.KindBan, protocol.KindUnmute:
			return b.Member, !b.Member.IsZero()
		}
	case *protocol.RoleBody:
		return b.Member, true
	case *protocol.MuteBody:
		return b.Member, !b.Member.IsZero()
	}
	return protocol.UserID{}, false
}

// pushMembership tells the user an event acted on, if it did. Called with
// g.mu held, after the event applied.
func (g *group) pushMembership(ev *protocol.SignedEvent) {
	u, ok := membershipTarget(ev)
	if !ok {
		return
	}
	msg, err := json.Marshal(api.WSServerMessage{Type: "membership", Group: g.id.String(), Change: ev.Sub.Kind.String(), Head: ev.Seq})
	if err == nil && g.n.light != nil {
		g.n.light.Push(u, msg)
	}
}
