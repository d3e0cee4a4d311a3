package node

import (
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestAntiSpamRules plays the group's rules on three nodes: a new member
// on another node is welcomed by the service, their links are refused by
// the host with a sentence that says why, three refusals get them muted by
// the service key, a keyword gets its reply; every replica holds the same
// log and the same mute.
func TestAntiSpamRules(t *testing.T) {
	a, b, c := startNode(t, ""), startNode(t, ""), startNode(t, "")
	for _, n := range []*testNode{b, c} {
		n.Host().Peerstore().AddAddrs(a.PeerID(), a.Host().Addrs(), time.Hour)
	}
	admin := newAPI(t, a, a.admin).signIn()
	var tok api.NewToken
	admin.mustCall("POST", "/api/v1/merchant/tokens", api.TokenRequest{Name: "shop", Scopes: []string{"groups", "invites"}}, &tok)
	shop := tokenClient(t, a, tok.Token)
	var g api.MerchantGroup
	shop.mustCall("POST", "/api/v1/merchant/groups", api.MerchantGroupRequest{Name: "茶友群", Policy: "open"}, &g)
	gid, _ := protocol.ParseGroupID(g.Group)
	rules := api.RulesView{
		Welcome: "欢迎! Please read the pinned rules.", Replies: []api.AutoReplyView{{Keyword: "price", Text: "The price list is pinned."}},
		RefuseLinks: true, NewMemberDays: 1, Strikes: 3, Action: "mute", MuteMinutes: 30,
	}
	shop.mustCall("PUT", "/api/v1/merchant/groups/"+g.Group+"/rules", rules, nil)
	if status, e := shop.call("PUT", "/api/v1/merchant/groups/"+g.Group+"/rules", api.RulesView{Strikes: 3}, nil); e == nil || status != 400 {
		t.Fatalf("rules with strikes and no action: %d %+v", status, e)
	}

	var inv api.OrderInvite
	shop.mustCall("POST", "/api/v1/merchant/groups/"+g.Group+"/order-invites", api.OrderInviteRequest{Order: "flyer-1", Uses: 2}, &inv)
	token, err := protocol.ParseToken(inv.Token)
	if err != nil {
		t.Fatal(err)
	}
	spammer := newAPI(t, b, newKey(t)).signIn()
	honest := newAPI(t, c, newKey(t)).signIn()
	for _, who := range []*apiClient{spammer, honest} {
		if _, e := who.submit(gid, protocol.NewJoinBody(protocol.KindJoin, token.Raw, "")); e != nil {
			t.Fatalf("join: %s", e.Message)
		}
	}
	// The welcome, naming each newcomer, from the service.
	serviceSays := func(cond func(ev api.EventView) bool) func() bool {
		return func() bool {
			var page api.EventsPage
			admin.mustCall("GET", "/api/v1/groups/"+g.Group+"/events?from=1", nil, &page)
			for _, ev := range page.Events {
				if ev.Author == a.ServiceID().String() && ev.Kind == "message" && cond(ev) {
					return true
				}
			}
			return false
		}
	}
	for _, who := range []*apiClient{spammer, honest} {
		waitFor(t, 10*time.Second, "the welcome", serviceSays(func(ev api.EventView) bool {
			return strings.HasPrefix(ev.Text, "欢迎") && len(ev.Mentions) == 1 && ev.Mentions[0] == who.key.ID().String()
		}))
	}

	// Three links, three refusals with a reason; then the mute.
	for i := range 3 {
		_, e := spammer.submit(gid, text("cheap tea at https://spam.example/"+string(rune('a'+i))))
		if e == nil || e.Code != "forbidden" || !strings.Contains(e.Message, "links are not allowed in this group") {
			t.Fatalf("link %d: %+v", i+1, e)
		}
	}
	waitFor(t, 10*time.Second, "the spammer's mute", func() bool {
		var v api.GroupView
		spammer.mustCall("GET", "/api/v1/groups/"+g.Group, nil, &v)
		for _, m := range v.MemberList {
			if m.User == spammer.key.ID().String() {
				return m.Muted
			}
		}
		return false
	})
	if _, e := spammer.submit(gid, text("just tea")); e == nil || e.Code != "muted" {
		t.Fatalf("the muted spammer: %+v", e)
	}
	if _, e := honest.submit(gid, text("what's the PRICE of oolong?")); e != nil {
		t.Fatal(e.Message)
	}
	waitFor(t, 10*time.Second, "the keyword reply", serviceSays(func(ev api.EventView) bool {
		return ev.Text == "The price list is pinned." && ev.Target != 0
	}))

	// Every replica holds the same log and the same mute.
	head := a.headNow(t, gid)
	waitHead(t, 10*time.Second, gid, head, b, c)
	sameLogs(t, gid, head, a, b, c)
	var until []uint64
	for _, n := range []*testNode{a, b, c} {
		n.withState(gid, func(g *group) { until = append(until, g.state.Members[spammer.key.ID()].MutedUntil) })
	}
	if until[0] == 0 || until[1] != until[0] || until[2] != until[0] {
		t.Fatalf("the mute on the three nodes: %v", until)
	}
}

// TestSlowMode: with slow mode on, a member on another node writes once,
// and a second message at once is refused by the host with the reason,
// through the member's own node; both nodes keep the same time of the
// member's last message, and a strike is counted like any rule's.
func TestSlowMode(t *testing.T) {
	a, b := startNode(t, ""), startNode(t, "")
	b.Host().Peerstore().AddAddrs(a.PeerID(), a.Host().Addrs(), time.Hour)
	_, shop := merchantClient(t, a, "groups", "invites")
	var g api.MerchantGroup
	shop.mustCall("POST", "/api/v1/merchant/groups", api.MerchantGroupRequest{Name: "慢速群", Policy: "open"}, &g)
	gid, _ := protocol.ParseGroupID(g.Group)
	shop.mustCall("PUT", "/api/v1/merchant/groups/"+g.Group+"/rules", api.RulesView{SlowSeconds: 60, Strikes: 3, Action: "warn"}, nil)
	mei := newAPI(t, b, newKey(t)).signIn()
	if _, e := mei.submitVia(gid, protocol.NewJoinBody(protocol.KindJoin, nil, ""), hostAddrs(a)); e != nil {
		t.Fatalf("join: %+v", e)
	}
	first, e := mei.submit(gid, text("有新茶吗？"))
	if e != nil {
		t.Fatalf("the first message: %+v", e)
	}
	_, e = mei.submit(gid, text("在吗？"))
	if e == nil || e.Code != "forbidden" || !strings.Contains(e.Message, "slow mode: one message every 60 s") {
		t.Fatalf("a second message at once: %+v", e)
	}
	waitHead(t, 10*time.Second, gid, first.Seq, a, b)
	var onA, onB uint64
	a.withState(gid, func(g *group) { onA = g.state.Members[mei.key.ID()].LastMessage })
	b.withState(gid, func(g *group) { onB = g.state.Members[mei.key.ID()].LastMessage })
	if onA == 0 || onA != onB || onA != first.Time {
		t.Fatalf("last message: host %d, replica %d, the event's time %d", onA, onB, first.Time)
	}
	waitFor(t, 5*time.Second, "the strike", func() bool {
		raw, ok, _ := a.store.Meta(gid, metaStrikes+mei.key.ID().String())
		return ok && string(raw) == "1"
	})
}
