package node

import (
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
)

// TestBridgedBanHeldByTheHost: a bridge that misbehaves (it keeps relaying
// for a person the group banned, kicked or muted) is refused by the host,
// through its own home node and straight to the host alike; every replica
// holds the same log, without those messages, and the group's view lists
// the bridged people with their standing.
func TestBridgedBanHeldByTheHost(t *testing.T) {
	a, b := startNode(t, ""), startNode(t, "")
	gid := createGroup(t, a, "茶馆", protocol.PolicyInvite)
	inv := invite(t, a, a.admin, gid, a, 0, 0)
	bridge := newKey(t) // the bridge's user, homed on b
	join(t, b, bridge, inv)
	mustSubmit(t, a, a.admin, gid, &protocol.RoleBody{Member: bridge.ID(), Role: protocol.RoleBridge})
	alice := &protocol.Bridged{Network: "irc", User: "alice", Name: "Alice"}
	bob := &protocol.Bridged{Network: "matrix", User: "@bob:example.org", Name: "Bob"}
	mustSubmit(t, b, bridge, gid, &protocol.MessageBody{Text: "hi from IRC", Bridged: alice})
	fromBob := mustSubmit(t, b, bridge, gid, &protocol.MessageBody{Text: "hi from Matrix", Bridged: bob})
	// A member who is no bridge cannot speak for anyone.
	carol := newKey(t)
	join(t, b, carol, inv)
	if _, err := submit(t, b, carol, gid, &protocol.MessageBody{Text: "I am alice", Bridged: alice}); protocol.AsError(err).Code != protocol.CodeForbidden {
		t.Fatalf("a plain member attributing: %v, want forbidden", err)
	}

	aliceID, bobID := alice.ID(bridge.ID()), bob.ID(bridge.ID())
	mustSubmit(t, a, a.admin, gid, protocol.NewMemberBody(protocol.KindBan, aliceID, "spam"))
	mustSubmit(t, a, a.admin, gid, &protocol.MuteBody{Member: bobID, Until: nowMS() + 3_600_000})
	for _, tc := range []struct {
		who  *protocol.Bridged
		via  *testNode
		want protocol.Code
	}{
		{alice, b, protocol.CodeBanned}, // through the bridge's home node
		{alice, a, protocol.CodeBanned}, // straight to the host
		{bob, b, protocol.CodeMuted},
	} {
		_, err := submit(t, tc.via, bridge, gid, &protocol.MessageBody{Text: "still relaying", Bridged: tc.who})
		if protocol.AsError(err).Code != tc.want {
			t.Fatalf("relaying for %s after the moderation: %v, want %s", tc.who.User, err, tc.want)
		}
	}
	mustSubmit(t, a, a.admin, gid, protocol.NewMemberBody(protocol.KindUnmute, bobID, ""))
	kick := mustSubmit(t, a, a.admin, gid, protocol.NewMemberBody(protocol.KindKick, bobID, ""))
	if _, err := submit(t, b, bridge, gid, &protocol.MessageBody{Text: "kicked", Bridged: bob}); protocol.AsError(err).Code != protocol.CodeNotMember {
		t.Fatalf("relaying for a kicked person: %v, want not_member", err)
	}
	waitHead(t, 10*time.Second, gid, kick.Seq, b)
	sameLogs(t, gid, kick.Seq, a, b)

	v, err := b.GroupView(gid)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.BridgedList) != 2 || v.BridgedList[0].ID != aliceID.String() || v.BridgedList[0].Name != "Alice" ||
		v.BridgedList[1].ID != bobID.String() || !v.BridgedList[1].Removed || v.BridgedList[0].Bridge != bridge.ID().String() {
		t.Fatalf("bridged people in B's view: %+v", v.BridgedList)
	}
	evs, err := b.Events(gid, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	relayed := 0
	for _, ev := range evs {
		if m, ok := ev.Sub.DecodedBody().(*protocol.MessageBody); ok && m.Bridged != nil {
			relayed++
		}
	}
	if relayed != 2 {
		t.Fatalf("B's log holds %d relayed messages, want the 2 before the moderation", relayed)
	}

	// Bob deleted his message on Matrix: the bridge recalls it (at any
	// time); the API's tombstone still says whose it was, not what it said.
	rec := mustSubmit(t, b, bridge, gid, protocol.NewTargetBody(protocol.KindRecall, fromBob.Seq))
	waitHead(t, 10*time.Second, gid, rec.Seq, b)
	page, err := lightBackend{b.Node}.Events(bridge.ID(), gid, fromBob.Seq, 1)
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("the page: %+v, %v", page, err)
	}
	if tomb := page.Events[0]; tomb.Recalled == nil || tomb.Text != "" || tomb.Raw != "" || tomb.Bridged == nil || tomb.Bridged.ID != bobID.String() {
		t.Fatalf("the tombstone of a relayed message: %+v", tomb)
	}
}
