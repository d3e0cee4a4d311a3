package node

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestAnalyticsMatchLog: a day of an open group on real nodes — buyers
// join with order invites, others with a plain invite, from the shop's
// profile (directory) or without an invite; members write a random number
// of messages; one leaves, one is kicked — and the analytics equal what
// this test counts from the group's log, read through the API.
func TestAnalyticsMatchLog(t *testing.T) {
	a, b := startNode(t, ""), startNode(t, "")
	b.Host().Peerstore().AddAddrs(a.PeerID(), a.Host().Addrs(), time.Hour)
	admin, erp := merchantClient(t, a, "groups", "invites")
	var g api.MerchantGroup
	erp.mustCall("POST", "/api/v1/merchant/groups", api.MerchantGroupRequest{Name: "茶友群", Policy: "open"}, &g)
	gid, _ := protocol.ParseGroupID(g.Group)
	erp.mustCall("PUT", "/api/v1/merchant/profile", api.ShopProfileSettings{Name: "小茶馆", Groups: []string{g.Group}}, nil)
	var prof api.ShopProfile
	erp.mustCall("GET", "/api/v1/profile", nil, &prof)
	dirInv, err := protocol.ParseToken(prof.Groups[0].Token)
	if err != nil {
		t.Fatal(err)
	}
	plain, _, _, err := a.keyedSignedInvite(t.Context(), gid, "plain", "", "", 0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	rng := rand.New(rand.NewPCG(7, 11))
	var members []*apiClient
	joinWith := func(home *testNode, token []byte) {
		c := newAPI(t, home, newKey(t)).signIn()
		if _, e := c.submitVia(gid, protocol.NewJoinBody(protocol.KindJoin, token, ""), hostAddrs(a)); e != nil {
			t.Fatalf("join: %+v", e)
		}
		members = append(members, c)
	}
	for i := range 4 {
		var inv api.OrderInvite
		erp.mustCall("POST", "/api/v1/merchant/groups/"+g.Group+"/order-invites", api.OrderInviteRequest{Order: fmt.Sprint("A", i)}, &inv)
		tok, _ := protocol.ParseToken(inv.Token)
		joinWith([]*testNode{a, b}[i%2], tok.Raw)
	}
	for i := range 3 {
		joinWith([]*testNode{a, b}[i%2], plain.Raw)
	}
	for range 2 {
		joinWith(b, dirInv.Raw)
	}
	for range 2 {
		joinWith(a, nil)
	}
	for _, m := range members {
		for j := range rng.IntN(4) {
			if _, e := m.submit(gid, text(fmt.Sprint("msg ", j))); e != nil {
				t.Fatalf("message: %+v", e)
			}
		}
	}
	if _, e := members[3].submit(gid, &protocol.LeaveBody{}); e != nil {
		t.Fatalf("leave: %+v", e)
	}
	if _, _, err := a.serviceSubmit(t.Context(), protocol.KindKick, gid, protocol.NewMemberBody(protocol.KindKick, members[5].key.ID(), "spam")); err != nil {
		t.Fatal(err)
	}
	// The service's own posts are not the members' talk.
	if _, _, err := a.serviceSubmit(t.Context(), protocol.KindMessage, gid, text("welcome all")); err != nil {
		t.Fatal(err)
	}

	// Count from the log.
	sourceOf := map[string]string{plain.ID.String(): "invite", dirInv.ID.String(): "directory"}
	var page api.EventsPage
	admin.mustCall("GET", "/api/v1/groups/"+g.Group+"/events?from=1&limit=1000", nil, &page)
	joins := map[string]int{}
	var msgs, leaves, removed int
	authors := map[string]bool{}
	service := a.ServiceID().String()
	for _, ev := range page.Events {
		switch ev.Kind {
		case "join":
			src := "open"
			if ev.Invite != "" {
				if src = sourceOf[ev.Invite]; src == "" {
					src = "order" // the order invites, each its own
				}
			}
			joins[src]++
		case "message":
			if ev.Author != service {
				msgs++
				authors[ev.Author] = true
			}
		case "leave":
			leaves++
		case "kick", "ban":
			removed++
		}
	}
	var view api.GroupView
	admin.mustCall("GET", "/api/v1/groups/"+g.Group, nil, &view)

	var an api.Analytics
	erp.mustCall("GET", "/api/v1/merchant/groups/"+g.Group+"/analytics?days=2", nil, &an)
	today := an.Days[len(an.Days)-1]
	if an.Members != len(view.MemberList)-1 || today.Members != an.Members {
		t.Errorf("members: %d now, %d at the day's end; the log has %d besides the service", an.Members, today.Members, len(view.MemberList)-1)
	}
	for _, src := range []string{"order", "invite", "directory", "open", "approval", "live"} {
		if today.Joins[src] != joins[src] {
			t.Errorf("joins from %s: %d, the log has %d", src, today.Joins[src], joins[src])
		}
	}
	if today.Messages != msgs || today.Leaves != leaves || today.Removed != removed {
		t.Errorf("messages %d, leaves %d, removed %d; the log has %d, %d, %d", today.Messages, today.Leaves, today.Removed, msgs, leaves, removed)
	}
	if an.Active7 != len(authors) || an.Active30 != len(authors) {
		t.Errorf("active members %d (7 days), %d (30 days); the log has %d authors", an.Active7, an.Active30, len(authors))
	}
	if joins["order"] != 4 || joins["invite"] != 3 || joins["directory"] != 2 || joins["open"] != 2 || leaves != 1 || removed != 1 {
		t.Fatalf("the log is not the day this test played: joins %v, leaves %d, removed %d", joins, leaves, removed)
	}
}
