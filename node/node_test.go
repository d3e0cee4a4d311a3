package node

import (
	"errors"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
)

// TestThreeNodes: a host and two member nodes; create, invite, two joins
// from other nodes, messages from all three users, identical logs.
func TestThreeNodes(t *testing.T) {
	a, b, c := startNode(t, ""), startNode(t, ""), startNode(t, "")
	gid := createGroup(t, a, "shop fans", protocol.PolicyInvite)
	inv := invite(t, a, a.admin, gid, a, 10, time.Hour)

	bob, carol := newKey(t), newKey(t)
	join(t, b, bob, inv)
	join(t, c, carol, inv)

	mustSubmit(t, a, a.admin, gid, text("welcome!"))
	mustSubmit(t, b, bob, gid, text("hi from bob"))
	last := mustSubmit(t, c, carol, gid, text("hi from carol"))

	waitHead(t, 20*time.Second, gid, last.Seq, a, b, c)
	sameLogs(t, gid, last.Seq, a, b, c)

	view, err := c.GroupView(gid)
	if err != nil {
		t.Fatal(err)
	}
	if len(view.MemberList) != 3 || view.Invites[0].Uses != 2 {
		t.Fatalf("members %d, invite uses %d; want 3 and 2", len(view.MemberList), view.Invites[0].Uses)
	}

	// A non-member's submission is refused by the host and stored nowhere.
	mallory := newKey(t)
	_, err = submit(t, b, mallory, gid, text("spam"))
	if !errors.Is(err, protocol.ErrNotMember) {
		t.Fatalf("non-member send: got %v, want not_member", err)
	}
	head, _ := a.Head(gid)
	if head != last.Seq {
		t.Fatalf("head moved to %d after a refused submission", head)
	}
}
