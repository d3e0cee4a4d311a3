package node

import (
	"fmt"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestLiveCode: a live code with groups of 500 takes 1,200 joins — the
// groups fill one after another, 500 / 500 / 200, nobody is in two, a
// member asking again is sent to their own group, a member trying a second
// group is refused by the host — and one announcement to the family
// reaches all 1,200.
func TestLiveCode(t *testing.T) {
	if testing.Short() {
		t.Skip("1,200 joins")
	}
	a := startNode(t, "")
	admin := newAPI(t, a, a.admin).signIn()
	var tok api.NewToken
	admin.mustCall("POST", "/api/v1/merchant/tokens", api.TokenRequest{Name: "live", Scopes: []string{"groups"}}, &tok)
	shop := tokenClient(t, a, tok.Token)
	var f api.Family
	if status, e := shop.call("POST", "/api/v1/merchant/families", api.FamilyRequest{Name: "粉丝群", Cap: 500}, &f); e != nil || status != 201 {
		t.Fatalf("create: %d %+v", status, e)
	}
	if len(f.Shards) != 1 || f.Link != a.APIURL()+"/l/"+f.Code || f.QR == "" {
		t.Fatalf("a new live code: %+v", f)
	}
	anyone := &apiClient{t: t, base: a.APIURL()}
	where := map[protocol.UserID]string{}
	var keys []*protocol.Key
	for i := range 1200 {
		k := newKey(t)
		keys = append(keys, k)
		for try := 0; ; try++ {
			var j api.LiveJoin
			anyone.mustCall("GET", "/api/v1/live/"+f.Code+"?user="+k.ID().String(), nil, &j)
			inv, err := protocol.ParseToken(j.Token)
			if err != nil {
				t.Fatal(err)
			}
			_, err = submit(t, a, k, inv.Group, protocol.NewJoinBody(protocol.KindJoin, inv.Raw, ""))
			if err == nil {
				where[k.ID()] = j.Group
				break
			}
			if protocol.AsError(err).Code != protocol.CodeGroupFull || try > 3 {
				t.Fatalf("join %d: %v", i, err)
			}
		}
	}
	shop.mustCall("GET", "/api/v1/merchant/families/"+f.ID, nil, &f)
	var sizes []int
	for _, s := range f.Shards {
		sizes = append(sizes, s.Members)
	}
	if fmt.Sprint(sizes) != "[500 500 200]" || f.Members != 1200 {
		t.Fatalf("the family's groups hold %v (%d people), want [500 500 200]", sizes, f.Members)
	}
	// Nobody in two: every member of every group is in exactly one.
	seen := map[protocol.UserID]int{}
	for _, s := range f.Shards {
		gid, _ := protocol.ParseGroupID(s.Group)
		a.withState(gid, func(g *group) {
			for u := range g.state.Members {
				if u != a.ServiceID() {
					seen[u]++
				}
			}
		})
	}
	for u, c := range seen {
		if c != 1 {
			t.Fatalf("%s is in %d groups of the family", u.Short(), c)
		}
	}
	// Asking again: their own group. Trying another: refused by the host.
	first := keys[0]
	var j api.LiveJoin
	anyone.mustCall("GET", "/api/v1/live/"+f.Code+"?user="+first.ID().String(), nil, &j)
	if !j.Member || j.Group != where[first.ID()] {
		t.Fatalf("a member asking again: %+v, their group %s", j, where[first.ID()])
	}
	anyone.mustCall("GET", "/api/v1/live/"+f.Code, nil, &j)
	inv, _ := protocol.ParseToken(j.Token)
	if inv.Group.String() == where[first.ID()] {
		t.Fatal("the live code still sends newcomers to the first group")
	}
	if _, err := submit(t, a, first, inv.Group, protocol.NewJoinBody(protocol.KindJoin, inv.Raw, "")); protocol.AsError(err).Code != protocol.CodeConflict {
		t.Fatalf("a member of one group joining another of the family: %v, want conflict", err)
	}

	// One announcement reaches the whole family.
	var b api.Broadcast
	shop.mustCall("POST", "/api/v1/merchant/broadcasts", api.BroadcastRequest{Text: "Live at 8 tonight", Announce: true, Family: f.ID}, &b)
	waitFor(t, 20*time.Second, "the announcement in every group", func() bool {
		shop.mustCall("GET", "/api/v1/merchant/broadcasts/"+b.ID, nil, &b)
		return b.State == "sent"
	})
	reached := 0
	for _, s := range f.Shards {
		gid, _ := protocol.ParseGroupID(s.Group)
		a.withState(gid, func(g *group) {
			if g.state.Announcement == "Live at 8 tonight" {
				reached += len(g.state.Members) - 1
			}
		})
	}
	if reached != 1200 {
		t.Fatalf("the announcement reached %d people, want 1,200", reached)
	}

	// The family counts as one in the analytics.
	var an api.Analytics
	shop.mustCall("GET", "/api/v1/merchant/families/"+f.ID+"/analytics?days=7", nil, &an)
	today := an.Days[len(an.Days)-1]
	if an.Members != 1200 || len(an.Days) != 7 || today.Joins["live"] != 1200 || today.Members != 1200 || an.Pending != 1200 {
		t.Fatalf("the family's analytics: members %d, today %+v, pending %d", an.Members, today, an.Pending)
	}
	if an.Days[0].Members != 0 {
		t.Fatalf("six days ago the family had %d members", an.Days[0].Members)
	}
	var one api.Analytics
	shop.mustCall("GET", "/api/v1/merchant/groups/"+f.Shards[2].Group+"/analytics", nil, &one)
	if one.Members != 200 || len(one.Days) != 30 {
		t.Fatalf("the third group's analytics: %d members, %d days", one.Members, len(one.Days))
	}
	if _, e := shop.call("GET", "/api/v1/merchant/groups/"+f.Shards[2].Group+"/analytics?days=400", nil, nil); e == nil || e.Code != "invalid" {
		t.Fatalf("400 days: %+v", e)
	}
}
