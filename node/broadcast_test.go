package node

import (
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestBroadcastOnce attacks the exactly-once promise of broadcasts: the
// record forgets its progress (as a crash between a group's event and the
// record's write would make it), the broadcast runs again, and each group
// still has it once; bad requests are refused with reasons.
func TestBroadcastOnce(t *testing.T) {
	a := startNode(t, "")
	admin := newAPI(t, a, a.admin).signIn()
	var tok api.NewToken
	admin.mustCall("POST", "/api/v1/merchant/tokens", api.TokenRequest{Name: "live", Scopes: []string{"groups"}}, &tok)
	shop := tokenClient(t, a, tok.Token)
	var gids []string
	for range 5 {
		var g api.MerchantGroup
		shop.mustCall("POST", "/api/v1/merchant/groups", api.MerchantGroupRequest{Name: "fans"}, &g)
		gids = append(gids, g.Group)
	}
	other := createGroup(t, a, "the admin's own", protocol.PolicyInvite) // the service is no member

	for _, c := range []struct {
		name string
		req  api.BroadcastRequest
		code protocol.Code
	}{
		{"no groups", api.BroadcastRequest{Text: "hi"}, protocol.CodeInvalid},
		{"groups and all", api.BroadcastRequest{Text: "hi", All: true, Groups: gids}, protocol.CodeInvalid},
		{"no text", api.BroadcastRequest{Groups: gids}, protocol.CodeInvalid},
		{"a group twice", api.BroadcastRequest{Text: "hi", Groups: []string{gids[0], gids[0]}}, protocol.CodeInvalid},
		{"a group not hosted", api.BroadcastRequest{Text: "hi", Groups: []string{protocol.GroupID{3}.String()}}, protocol.CodeUnknownGroup},
		{"too far ahead", api.BroadcastRequest{Text: "hi", Groups: gids, At: uint64(time.Now().Add(100 * 24 * time.Hour).UnixMilli())}, protocol.CodeInvalid},
	} {
		if _, e := shop.call("POST", "/api/v1/merchant/broadcasts", c.req, nil); e == nil || e.Code != c.code.String() {
			t.Errorf("%s: %+v, want %s", c.name, e, c.code)
		}
	}

	var b api.Broadcast
	shop.mustCall("POST", "/api/v1/merchant/broadcasts", api.BroadcastRequest{Text: "sale at 8", Groups: append(gids, other.String())}, &b)
	waitFor(t, 10*time.Second, "the broadcast sent", func() bool {
		shop.mustCall("GET", "/api/v1/merchant/broadcasts/"+b.ID, nil, &b)
		return b.State == "sent"
	})
	if b.Done != 5 || len(b.Failed) != 1 || b.Failed[other.String()] == "" {
		t.Fatalf("the broadcast: %+v (the group where the service is no member refuses it)", b)
	}

	// The record forgets what was done; the broadcast runs again.
	rec, _, err := a.loadBroadcast(b.ID)
	if err != nil {
		t.Fatal(err)
	}
	rec.Done, rec.Failed = map[string]uint64{}, nil
	if err := a.saveBroadcast(rec); err != nil {
		t.Fatal(err)
	}
	if err := a.broadcastDue(b.ID); err != nil {
		t.Fatal(err)
	}
	for _, s := range gids {
		gid, _ := protocol.ParseGroupID(s)
		var page api.EventsPage
		admin.mustCall("GET", "/api/v1/groups/"+s+"/events?from=1", nil, &page)
		n := 0
		for _, ev := range page.Events {
			if ev.Text == "sale at 8" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("group %s has the broadcast %d times, want once", gid, n)
		}
	}
}
