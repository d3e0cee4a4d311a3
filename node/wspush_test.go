package node

import (
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
)

// TestMembershipPushed: a user whose join request is approved on the host
// is told at once on their open WebSocket at their home node, though they
// are subscribed to nothing; a mute of them is pushed too.
func TestMembershipPushed(t *testing.T) {
	a, b := startNode(t, ""), startNode(t, "")
	gid := createGroup(t, a, "vip", protocol.PolicyApproval)
	bob := newKey(t)
	inv := invite(t, a, a.admin, gid, a, 0, 0)
	mustSubmit(t, b, bob, gid, protocol.NewJoinBody(protocol.KindJoinRequest, inv.Raw, "order 7"))
	conn := wsDial(t, newAPI(t, b, bob).signIn())
	defer conn.CloseNow()
	ap := mustSubmit(t, a, a.admin, gid, protocol.NewMemberBody(protocol.KindApprove, bob.ID(), ""))
	m := wsRead(t, conn)
	if m.Type != "membership" || m.Change != "approve" || m.Group != gid.String() || m.Head != ap.Seq {
		t.Fatalf("got %+v, want the approval", m)
	}
	mu := mustSubmit(t, a, a.admin, gid, &protocol.MuteBody{Member: bob.ID(), Until: nowMS() + uint64(time.Hour.Milliseconds())})
	if m := wsRead(t, conn); m.Type != "membership" || m.Change != "mute" || m.Head != mu.Seq {
		t.Fatalf("got %+v, want the mute", m)
	}
}
