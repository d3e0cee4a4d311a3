package node

import (
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestGroupViewHidesAdminData: the invites (with their external
// references, e.g. other buyers' order numbers), open join requests (with
// their notes) and the ban list are shown to the group's admins and the
// node's admins, never to an ordinary member.
func TestGroupViewHidesAdminData(t *testing.T) {
	a := startNode(t, "")
	gid := createGroup(t, a, "shop", protocol.PolicyApproval)
	owner := newAPI(t, a, a.admin).signIn()
	buyer := newKey(t)
	ordered := protocol.Invite{Group: gid, Host: a.ID(), Inviter: a.admin.ID(), Expires: nowMS() + 3_600_000, Nonce: nonce(), Ref: "order 2026-0042"}
	si, err := ordered.Sign(a.admin)
	if err != nil {
		t.Fatal(err)
	}
	mustSubmit(t, a, a.admin, gid, &protocol.InviteCreateBody{Token: si.Raw})
	join(t, a, buyer, invite(t, a, a.admin, gid, a, 1, time.Hour))
	asker := newKey(t)
	if _, e := newAPI(t, a, asker).signIn().submit(gid, protocol.NewJoinBody(protocol.KindJoinRequest, nil, "my address is 5 Long Road")); e != nil {
		t.Fatal(e.Message)
	}

	var full, member api.GroupView
	owner.mustCall("GET", "/api/v1/groups/"+gid.String(), nil, &full)
	newAPI(t, a, buyer).signIn().mustCall("GET", "/api/v1/groups/"+gid.String(), nil, &member)
	refs := 0
	for _, iv := range full.Invites {
		if iv.Ref == "order 2026-0042" {
			refs++
		}
	}
	if refs != 1 || len(full.Requests) != 1 || full.Requests[0].Note == "" {
		t.Fatalf("the owner sees invites %+v and requests %+v", full.Invites, full.Requests)
	}
	if len(member.Invites) != 0 || len(member.Requests) != 0 || len(member.Banned) != 0 {
		t.Fatalf("a member sees invites %+v, requests %+v, banned %v", member.Invites, member.Requests, member.Banned)
	}
	if len(member.MemberList) != len(full.MemberList) {
		t.Fatalf("a member sees %d members, the owner %d", len(member.MemberList), len(full.MemberList))
	}
}
