package node

import (
	"slices"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestShopDay plays a shop's day on three nodes (the shop's, a buyer's, a
// courier's): an order arrives through the API, the buyer joins with the
// order's invite, the order goes through dispatched (the courier joins),
// delivered (the courier's access ends) and closed (read-only); the shop's
// webhook receiver, down for 30 s in the middle of it, gets every event
// afterwards, signed, in order, each once.
func TestShopDay(t *testing.T) {
	if testing.Short() {
		t.Skip("the receiver is down for 30 s")
	}
	fast := func(c *Config) { c.WebhookBackoff = 200 * time.Millisecond }
	a, b, c := startNode(t, "", fast), startNode(t, ""), startNode(t, "")
	for _, n := range []*testNode{b, c} {
		n.Host().Peerstore().AddAddrs(a.PeerID(), a.Host().Addrs(), time.Hour)
	}
	admin := newAPI(t, a, a.admin).signIn()
	var tok api.NewToken
	admin.mustCall("POST", "/api/v1/merchant/tokens", api.TokenRequest{Name: "erp", Scopes: []string{"orders", "webhooks"}}, &tok)
	erp := tokenClient(t, a, tok.Token)
	rcv := newHookReceiver(t)
	var hook api.Webhook
	erp.mustCall("POST", "/api/v1/merchant/webhooks", api.WebhookRequest{URL: rcv.srv.URL}, &hook)
	rcv.secret.Store(hook.Secret)

	var og api.OrderGroup
	erp.mustCall("POST", "/api/v1/merchant/orders", api.OrderGroupRequest{Order: "A1001", Buyer: "u-77"}, &og)
	gid, _ := protocol.ParseGroupID(og.Group)
	join := func(who *apiClient, token string) {
		t.Helper()
		inv, _ := protocol.ParseToken(token)
		if _, e := who.submit(gid, protocol.NewJoinBody(protocol.KindJoin, inv.Raw, "")); e != nil {
			t.Fatalf("join: %s", e.Message)
		}
	}
	buyer, courier := newAPI(t, b, newKey(t)).signIn(), newAPI(t, c, newKey(t)).signIn()
	join(buyer, og.BuyerInvite.Token)
	waitFor(t, 10*time.Second, "member.joined", func() bool { return slices.Equal(rcv.types(), []string{"member.joined"}) })

	// The receiver goes down for 30 s while the order moves on.
	rcv.down.Store(true)
	downAt := time.Now()
	erp.mustCall("POST", "/api/v1/merchant/orders/A1001/state", api.OrderStateRequest{State: "dispatched"}, &og)
	join(courier, og.CourierInvite.Token)
	if _, e := courier.submit(gid, &protocol.MessageBody{Text: "at the gate", Mentions: []protocol.UserID{a.ServiceID()}}); e != nil {
		t.Fatal(e.Message)
	}
	grace, closeAfter := uint64(1), uint64(3)
	erp.mustCall("POST", "/api/v1/merchant/orders/A1001/state", api.OrderStateRequest{State: "delivered", CourierGrace: &grace, CloseAfter: &closeAfter}, &og)
	waitFor(t, 20*time.Second, "the courier's node to refuse them the group", func() bool {
		_, e := courier.call("GET", "/api/v1/groups/"+og.Group+"/events?from=1", nil, nil)
		return e != nil && (e.Code == "private" || e.Code == "not_member")
	})
	waitFor(t, 20*time.Second, "the close", func() bool {
		og = api.OrderGroup{}
		erp.mustCall("GET", "/api/v1/merchant/orders/A1001", nil, &og)
		return og.State == "closed"
	})
	if _, e := buyer.submit(gid, text("thanks")); e == nil || e.Code != "forbidden" {
		t.Fatalf("a message in the closed order group: %+v", e)
	}
	<-time.After(time.Until(downAt.Add(30 * time.Second))) // the receiver stays down for 30 s
	rcv.down.Store(false)

	want := []string{"member.joined", "order.state", "member.joined", "message.mention", "order.state", "member.kicked", "order.state"}
	waitFor(t, 60*time.Second, "every delivery after the receiver is back", func() bool { return slices.Equal(rcv.types(), want) })
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	for id, n := range rcv.ids {
		if n != 1 {
			t.Errorf("delivery %s was taken %d times", id, n)
		}
	}
	var states []string
	for _, e := range rcv.got {
		if e["type"] == "order.state" {
			states = append(states, e["data"].(map[string]any)["state"].(string))
		}
	}
	if !slices.Equal(states, []string{"dispatched", "delivered", "closed"}) {
		t.Fatalf("order states delivered: %v", states)
	}
	if rcv.tries < 10 {
		t.Fatalf("only %d tries: the receiver was not retried while down", rcv.tries)
	}
}
