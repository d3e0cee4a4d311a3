package node

import (
	"slices"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestAnnouncementConfirmations: members on two nodes confirm reading an
// announcement with signed events; the group's admins see who did and who
// did not yet, members see neither; a new announcement starts over.
func TestAnnouncementConfirmations(t *testing.T) {
	a, b := startNode(t, ""), startNode(t, "")
	b.Host().Peerstore().AddAddrs(a.PeerID(), a.Host().Addrs(), time.Hour)
	gid := createGroup(t, a, "shop", protocol.PolicyInvite)
	admin := newAPI(t, a, a.admin).signIn()
	inv := invite(t, a, a.admin, gid, a, 0, 0)
	mei, bob := newAPI(t, b, newKey(t)).signIn(), newAPI(t, b, newKey(t)).signIn()
	for _, m := range []*apiClient{mei, bob} {
		if _, e := m.submit(gid, protocol.NewJoinBody(protocol.KindJoin, inv.Raw, "")); e != nil {
			t.Fatal(e.Message)
		}
	}
	ann := mustSubmit(t, a, a.admin, gid, &protocol.AnnounceBody{Text: "closed on Monday"})
	waitHead(t, 10*time.Second, gid, ann.Seq, b)
	var v api.GroupView
	mei.mustCall("GET", "/api/v1/groups/"+gid.String(), nil, &v)
	if v.AnnouncedAt != ann.Seq || v.Confirmations != nil {
		t.Fatalf("a member's view: announced_at %d, confirmations %+v", v.AnnouncedAt, v.Confirmations)
	}
	if _, e := mei.submit(gid, protocol.NewTargetBody(protocol.KindConfirm, ann.Seq)); e != nil {
		t.Fatal(e.Message)
	}
	if _, e := mei.submit(gid, protocol.NewTargetBody(protocol.KindConfirm, ann.Seq)); e == nil || e.Code != "conflict" {
		t.Fatalf("confirming twice: %+v", e)
	}
	admin.mustCall("GET", "/api/v1/groups/"+gid.String(), nil, &v)
	c := v.Confirmations
	if c == nil || !slices.Equal(c.Confirmed, []string{mei.key.ID().String()}) || !slices.Contains(c.Pending, bob.key.ID().String()) || slices.Contains(c.Pending, mei.key.ID().String()) {
		t.Fatalf("the admin's view: %+v", c)
	}
	next := mustSubmit(t, a, a.admin, gid, &protocol.AnnounceBody{Text: "open on Monday after all"})
	admin.mustCall("GET", "/api/v1/groups/"+gid.String(), nil, &v)
	if v.AnnouncedAt != next.Seq || len(v.Confirmations.Confirmed) != 0 {
		t.Fatalf("after a new announcement: %+v", v.Confirmations)
	}
	if _, e := bob.submit(gid, protocol.NewTargetBody(protocol.KindConfirm, ann.Seq)); e == nil || e.Code != "not_found" {
		t.Fatalf("confirming the old announcement: %+v", e)
	}
}
