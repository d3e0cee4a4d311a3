package node

import (
	"strings"
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

// TestBroadcastTags: a broadcast to a tagged set reaches the groups with
// any of the tags and no other; tags are trimmed and folded, bad ones and
// groups the service cannot reach are refused with a reason, storing
// nothing.
func TestBroadcastTags(t *testing.T) {
	a := startNode(t, "")
	admin, shop := merchantClient(t, a, "groups")
	mk := func(name string) string {
		var g api.MerchantGroup
		shop.mustCall("POST", "/api/v1/merchant/groups", api.MerchantGroupRequest{Name: name}, &g)
		return g.Group
	}
	vip, hz, plain := mk("VIP"), mk("杭州"), mk("plain")
	var gt api.GroupTags
	shop.mustCall("PUT", "/api/v1/merchant/groups/"+vip+"/tags", api.TagsRequest{Tags: []string{" VIP ", "vip", "老客"}}, &gt)
	if len(gt.Tags) != 2 || gt.Tags[0] != "vip" || gt.Tags[1] != "老客" {
		t.Fatalf("stored tags: %v", gt.Tags)
	}
	shop.mustCall("PUT", "/api/v1/merchant/groups/"+hz+"/tags", api.TagsRequest{Tags: []string{"杭州", "老客"}}, nil)
	other := createGroup(t, a, "the admin's own", protocol.PolicyInvite) // the service is no member
	for _, c := range []struct {
		name   string
		gid    string
		tags   []string
		status int
		code   protocol.Code
	}{
		{"an empty tag", plain, []string{"ok", " "}, 400, protocol.CodeInvalid},
		{"a tag with a comma", plain, []string{"a,b"}, 400, protocol.CodeInvalid},
		{"a tag too long", plain, []string{strings.Repeat("茶", MaxTagRunes+1)}, 400, protocol.CodeInvalid},
		{"too many tags", plain, strings.Split("a b c d e f g h i j k l m n o p q", " "), 400, protocol.CodeInvalid},
		{"a group the service is not in", other.String(), []string{"vip"}, 403, protocol.CodeForbidden},
		{"a group not known", protocol.GroupID{4}.String(), []string{"vip"}, 404, protocol.CodeUnknownGroup},
	} {
		status, e := shop.call("PUT", "/api/v1/merchant/groups/"+c.gid+"/tags", api.TagsRequest{Tags: c.tags}, nil)
		wantError(t, c.name, status, e, c.status, c.code)
	}
	var svc api.ServiceInfo
	shop.mustCall("GET", "/api/v1/merchant/service", nil, &svc)
	tagsOf := map[string]string{}
	for _, g := range svc.Groups {
		tagsOf[g.Group] = strings.Join(g.Tags, ",")
	}
	if tagsOf[vip] != "vip,老客" || tagsOf[hz] != "杭州,老客" || tagsOf[plain] != "" {
		t.Fatalf("the service's groups' tags: %v (a refused change stored something?)", tagsOf)
	}
	if _, e := shop.call("POST", "/api/v1/merchant/broadcasts", api.BroadcastRequest{Text: "x", Tags: []string{"nobody"}}, nil); e == nil || e.Code != "invalid" {
		t.Fatalf("a broadcast to a tag no group has: %+v", e)
	}
	if _, e := shop.call("POST", "/api/v1/merchant/broadcasts", api.BroadcastRequest{Text: "x", Tags: []string{"vip"}, All: true}, nil); e == nil || e.Code != "invalid" {
		t.Fatalf("tags and all: %+v", e)
	}

	var b api.Broadcast
	shop.mustCall("POST", "/api/v1/merchant/broadcasts", api.BroadcastRequest{Text: "老客专享", Tags: []string{"老客"}}, &b)
	if b.Groups != 2 {
		t.Fatalf("the broadcast goes to %d groups, want 2", b.Groups)
	}
	waitFor(t, 10*time.Second, "the broadcast sent", func() bool {
		shop.mustCall("GET", "/api/v1/merchant/broadcasts/"+b.ID, nil, &b)
		return b.State == "sent"
	})
	for gid, want := range map[string]int{vip: 1, hz: 1, plain: 0} {
		var page api.EventsPage
		admin.mustCall("GET", "/api/v1/groups/"+gid+"/events?from=1", nil, &page)
		n := 0
		for _, ev := range page.Events {
			if ev.Text == "老客专享" {
				n++
			}
		}
		if n != want {
			t.Errorf("group %s has the broadcast %d times, want %d", gid[:8], n, want)
		}
	}
}
