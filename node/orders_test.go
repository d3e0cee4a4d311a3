package node

import (
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestOrderGroupLife plays an order's group on three nodes: the shop's
// (the host), the buyer's and the courier's. The courier, invited at
// dispatch, keeps an open WebSocket; after the delivery and its grace
// period the host removes them — the socket ends, the API refuses their
// reads and writes — while the buyer and the staff go on; the group then
// closes by itself, also across a restart of the host, and takes nothing
// but leaves afterwards. States go only forward; the same request again
// changes nothing.
func TestOrderGroupLife(t *testing.T) {
	dir := t.TempDir()
	a, b, c := startNode(t, dir), startNode(t, ""), startNode(t, "")
	for _, n := range []*testNode{b, c} {
		n.Host().Peerstore().AddAddrs(a.PeerID(), a.Host().Addrs(), time.Hour)
	}
	admin := newAPI(t, a, a.admin).signIn()
	var tok api.NewToken
	admin.mustCall("POST", "/api/v1/merchant/tokens", api.TokenRequest{Name: "orders", Scopes: []string{"orders"}}, &tok)
	erp := tokenClient(t, a, tok.Token)

	var og api.OrderGroup
	if status, e := erp.call("POST", "/api/v1/merchant/orders", api.OrderGroupRequest{Order: "A1001", Buyer: "u-77"}, &og); e != nil || status != 201 {
		t.Fatalf("open order: %d %+v", status, e)
	}
	if og.State != "accepted" || og.BuyerInvite.Uses != 1 || og.StaffInvite.Uses != orderStaffUses || og.CourierInvite != nil {
		t.Fatalf("a new order group: %+v", og)
	}
	gid, _ := protocol.ParseGroupID(og.Group)
	var again api.OrderGroup
	if status, e := erp.call("POST", "/api/v1/merchant/orders", api.OrderGroupRequest{Order: "A1001"}, &again); e != nil || status != 200 || !again.Existing || again.Group != og.Group || again.BuyerInvite.Invite != og.BuyerInvite.Invite {
		t.Fatalf("opening the order again: %d %+v %+v", status, e, again)
	}

	buyer := newAPI(t, b, newKey(t)).signIn()
	staff := newAPI(t, a, newKey(t)).signIn()
	courier := newAPI(t, c, newKey(t)).signIn()
	joinAs := func(who *apiClient, token string) {
		t.Helper()
		inv, err := protocol.ParseToken(token)
		if err != nil {
			t.Fatal(err)
		}
		if _, e := who.submit(gid, protocol.NewJoinBody(protocol.KindJoin, inv.Raw, "")); e != nil {
			t.Fatalf("join: %s", e.Message)
		}
	}
	joinAs(buyer, og.BuyerInvite.Token)
	joinAs(staff, og.StaffInvite.Token)
	if _, e := buyer.submit(gid, text("when does it ship?")); e != nil {
		t.Fatal(e.Message)
	}

	state := func(s string, grace, closeAfter *uint64) api.OrderGroup {
		t.Helper()
		var out api.OrderGroup
		erp.mustCall("POST", "/api/v1/merchant/orders/A1001/state", api.OrderStateRequest{State: s, CourierGrace: grace, CloseAfter: closeAfter}, &out)
		return out
	}
	og = state("dispatched", nil, nil)
	if og.CourierInvite == nil || og.CourierInvite.Uses != 1 || !strings.Contains(og.CourierInvite.Ref, "courier") {
		t.Fatalf("dispatched: %+v", og)
	}
	joinAs(courier, og.CourierInvite.Token)
	waitFor(t, 10*time.Second, "the courier's join on their node", func() bool {
		_, e := courier.call("GET", "/api/v1/groups/"+og.Group, nil, nil)
		return e == nil
	})
	if _, e := courier.submit(gid, text("on my way")); e != nil {
		t.Fatal(e.Message)
	}
	conn := wsDial(t, courier)
	wsSend(t, conn, api.WSClientMessage{Type: "subscribe", Group: og.Group, From: 1})
	ch := wsCollect(conn)
	wsUntil(t, ch, 10*time.Second, func(m api.WSServerMessage) bool { return m.Type == "event" && m.Event.Text == "on my way" })

	if _, e := erp.call("POST", "/api/v1/merchant/orders/A1001/state", api.OrderStateRequest{State: "accepted"}, nil); e == nil || e.Code != "conflict" {
		t.Fatalf("going back: %+v", e)
	}
	grace, closeAfter := uint64(1), uint64(4)
	og = state("delivered", &grace, &closeAfter)
	if og.Courier != courier.key.ID().String() || og.CourierUntil == 0 || og.ClosesAt <= og.CourierUntil {
		t.Fatalf("delivered: %+v", og)
	}
	if same := state("delivered", nil, nil); same.CourierUntil != og.CourierUntil || len(same.States) != len(og.States) {
		t.Fatalf("the same state again changed the order: %+v", same)
	}

	// After the grace period: the courier's socket ends, and their node
	// refuses them the group.
	got := wsUntil(t, ch, 20*time.Second, func(m api.WSServerMessage) bool { return m.Type == "ended" })
	for _, m := range got {
		if m.Type == "event" && m.Event.Kind == "message" && m.Event.Text != "on my way" && m.Event.Text != "when does it ship?" {
			t.Fatalf("the courier got a message after their removal: %+v", m.Event)
		}
	}
	waitFor(t, 10*time.Second, "the courier's node to refuse them the group", func() bool {
		_, e := courier.call("GET", "/api/v1/groups/"+og.Group+"/events?from=1", nil, nil)
		return e != nil && (e.Code == "private" || e.Code == "not_member")
	})
	if _, e := courier.submit(gid, text("one more thing")); e == nil || e.Code != "not_member" {
		t.Fatalf("the removed courier writes: %+v", e)
	}
	if _, e := buyer.submit(gid, text("thanks, got it")); e != nil {
		t.Fatalf("the buyer after the delivery: %s", e.Message)
	}

	// The host restarts before the close is due; the close happens anyway.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	a = startNode(t, dir)
	b.Host().Peerstore().AddAddrs(a.PeerID(), a.Host().Addrs(), time.Hour)
	erp = tokenClient(t, a, tok.Token)
	admin = newAPI(t, a, a.admin).signIn()
	waitFor(t, 20*time.Second, "the order to close by itself", func() bool {
		og = api.OrderGroup{}
		erp.mustCall("GET", "/api/v1/merchant/orders/A1001", nil, &og)
		return og.State == "closed"
	})
	var v api.GroupView
	admin.mustCall("GET", "/api/v1/groups/"+og.Group, nil, &v)
	if v.ClosedAt == 0 || !og.CourierRemoved || len(og.States) != 4 || og.BuyerInvite != nil {
		t.Fatalf("the closed order: %+v, group closed at %d", og, v.ClosedAt)
	}
	staffA := newAPI(t, a, staff.key).signIn()
	for _, who := range []*apiClient{staffA} {
		if _, e := who.submit(gid, text("anything else?")); e == nil || e.Code != "forbidden" || !strings.Contains(e.Message, "read-only") {
			t.Fatalf("a message in the closed group: %+v", e)
		}
	}
	var page api.EventsPage
	staffA.mustCall("GET", "/api/v1/groups/"+og.Group+"/events?from=1", nil, &page)
	if len(page.Events) == 0 {
		t.Fatal("the staff cannot read the closed group's history")
	}
	if _, e := staffA.submit(gid, &protocol.LeaveBody{}); e != nil {
		t.Fatalf("leaving the closed group: %s", e.Message)
	}
	if _, e := erp.call("POST", "/api/v1/merchant/orders/A1001/state", api.OrderStateRequest{State: "delivered"}, nil); e == nil || e.Code != "conflict" {
		t.Fatalf("reopening: %+v", e)
	}
	if _, e := erp.call("GET", "/api/v1/merchant/orders/nope", nil, nil); e == nil || e.Code != "not_found" {
		t.Fatalf("an unknown order: %+v", e)
	}
}
