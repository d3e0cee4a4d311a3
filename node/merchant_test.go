package node

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image/png"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
	"github.com/qunchat/qun/storage"
)

// tokenClient is an apiClient that sends an API token.
func tokenClient(t testing.TB, n *testNode, token string) *apiClient {
	return &apiClient{t: t, base: n.APIURL(), token: token}
}

// TestMerchantTokens attacks the API tokens: made only by the node's
// admins, shown once and kept hashed, limited to their scopes, refused
// once revoked (also after a restart), and no guess, forgery or member's
// session gets in.
func TestMerchantTokens(t *testing.T) {
	dir := t.TempDir()
	a := startNode(t, dir)
	admin := newAPI(t, a, a.admin).signIn()
	member := newAPI(t, a, newKey(t)).signIn()

	// Bad requests: nothing is made.
	for _, bad := range []api.TokenRequest{
		{Name: "", Scopes: []string{"invites"}},
		{Name: "erp", Scopes: nil},
		{Name: "erp", Scopes: []string{"everything"}},
		{Name: "two\nlines", Scopes: []string{"invites"}},
		{Name: strings.Repeat("名", 65), Scopes: []string{"invites"}},
	} {
		status, e := admin.call("POST", "/api/v1/merchant/tokens", bad, nil)
		wantError(t, "token "+bad.Name, status, e, 400, protocol.CodeInvalid)
	}
	var list api.TokenList
	admin.mustCall("GET", "/api/v1/merchant/tokens", nil, &list)
	if len(list.Tokens) != 0 {
		t.Fatalf("bad requests made tokens: %+v", list.Tokens)
	}

	var erp, shop api.NewToken
	admin.mustCall("POST", "/api/v1/merchant/tokens", api.TokenRequest{Name: "erp", Scopes: []string{"invites", "groups"}}, &erp)
	admin.mustCall("POST", "/api/v1/merchant/tokens", api.TokenRequest{Name: "shop", Scopes: []string{"invites"}}, &shop)
	if !strings.HasPrefix(erp.Token, "qun_") || erp.ID == "" || strings.Join(erp.Scopes, ",") != "groups,invites" {
		t.Fatalf("a new token: %+v", erp)
	}

	// Kept hashed: the store holds no secret.
	raw, ok, err := a.store.Meta(storage.NodeScope, "mtoken/"+erp.ID)
	if err != nil || !ok {
		t.Fatalf("the token's record: %v %v", ok, err)
	}
	secret := erp.Token[strings.LastIndex(erp.Token, "_")+1:]
	if bytes.Contains(raw, []byte(secret)) || bytes.Contains(raw, []byte(erp.Token)) {
		t.Fatalf("the store keeps the token's secret: %s", raw)
	}
	// Listed without their secrets.
	admin.mustCall("GET", "/api/v1/merchant/tokens", nil, &list)
	if len(list.Tokens) != 2 || list.Tokens[0].Name != "erp" || list.Tokens[1].Name != "shop" {
		t.Fatalf("tokens listed: %+v", list.Tokens)
	}

	// A token works within its scopes.
	var info api.ServiceInfo
	tokenClient(t, a, erp.Token).mustCall("GET", "/api/v1/merchant/service", nil, &info)
	if info.User != a.ServiceID().String() || info.Name != DefaultServiceName {
		t.Fatalf("the service: %+v", info)
	}
	status, e := tokenClient(t, a, shop.Token).call("POST", "/api/v1/merchant/groups", api.MerchantGroupRequest{Name: "x"}, nil)
	wantError(t, "a token without the groups scope", status, e, 403, protocol.CodeForbidden)
	if !strings.Contains(e.Message, "groups") {
		t.Fatalf("the refusal does not name the scope: %s", e.Message)
	}

	// Who may not: a token making tokens, a member's session, guesses.
	status, e = tokenClient(t, a, erp.Token).call("POST", "/api/v1/merchant/tokens", api.TokenRequest{Name: "mine", Scopes: []string{"invites"}}, nil)
	wantError(t, "a token making a token", status, e, 403, protocol.CodeForbidden)
	status, e = member.call("GET", "/api/v1/merchant/service", nil, nil)
	wantError(t, "a member's session", status, e, 403, protocol.CodeForbidden)
	status, e = member.call("POST", "/api/v1/merchant/tokens", api.TokenRequest{Name: "mine", Scopes: []string{"invites"}}, nil)
	wantError(t, "a member making a token", status, e, 403, protocol.CodeForbidden)
	forged := erp.Token[:len(erp.Token)-4] + "AAAA"
	if forged == erp.Token {
		forged = erp.Token[:len(erp.Token)-4] + "BBBB"
	}
	for _, guess := range []string{forged, "qun_" + erp.ID + "_", "qun_", "qun_x_y", "", "not-a-token"} {
		status, e = tokenClient(t, a, guess).call("GET", "/api/v1/merchant/service", nil, nil)
		wantError(t, "the credential "+guess, status, e, 401, protocol.CodeUnauthenticated)
	}
	status, e = tokenClient(t, a, erp.Token).call("GET", "/api/v1/merchant/nothing", nil, nil)
	wantError(t, "an unknown endpoint", status, e, 404, protocol.CodeNotFound)

	// Revoked: refused at once, and after a restart.
	admin.mustCall("DELETE", "/api/v1/merchant/tokens/"+shop.ID, nil, nil)
	status, e = tokenClient(t, a, shop.Token).call("GET", "/api/v1/merchant/service", nil, nil)
	wantError(t, "a revoked token", status, e, 401, protocol.CodeUnauthenticated)
	status, e = admin.call("DELETE", "/api/v1/merchant/tokens/"+shop.ID, nil, nil)
	wantError(t, "revoking twice", status, e, 404, protocol.CodeNotFound)

	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	a = startNode(t, dir)
	tokenClient(t, a, erp.Token).mustCall("GET", "/api/v1/merchant/service", nil, &info)
	status, e = tokenClient(t, a, shop.Token).call("GET", "/api/v1/merchant/service", nil, nil)
	wantError(t, "a revoked token after a restart", status, e, 401, protocol.CodeUnauthenticated)
}

// TestMerchantOrderInvite: a merchant's order system makes a group and an
// invite for an order through the API; the buyer joins from another node
// with it and the admins see the order on the member; the invite admits
// one person; asking again for the order (also many times at once) gives
// the same invite; bad requests are refused with reasons and make none.
func TestMerchantOrderInvite(t *testing.T) {
	a, b := startNode(t, ""), startNode(t, "")
	b.Host().Peerstore().AddAddrs(a.PeerID(), a.Host().Addrs(), time.Hour)
	admin := newAPI(t, a, a.admin).signIn()
	var tok api.NewToken
	admin.mustCall("POST", "/api/v1/merchant/tokens", api.TokenRequest{Name: "orders", Scopes: []string{"groups", "invites"}}, &tok)
	erp := tokenClient(t, a, tok.Token)

	var g api.MerchantGroup
	erp.mustCall("POST", "/api/v1/merchant/groups", api.MerchantGroupRequest{Name: "茶馆 · 买家群", Policy: "invite"}, &g)
	gid, err := protocol.ParseGroupID(g.Group)
	if err != nil {
		t.Fatal(err)
	}
	var view api.GroupView
	admin.mustCall("GET", "/api/v1/groups/"+g.Group, nil, &view)
	if view.Owner != a.ServiceID().String() {
		t.Fatalf("the group's owner is %s, want the service key %s", view.Owner, a.ServiceID())
	}
	waitFor(t, 10*time.Second, "the service's name in the group", func() bool {
		admin.mustCall("GET", "/api/v1/groups/"+g.Group, nil, &view)
		return len(view.MemberList) == 1 && view.MemberList[0].Name == DefaultServiceName
	})

	var inv api.OrderInvite
	path := "/api/v1/merchant/groups/" + g.Group + "/order-invites"
	status, e := erp.call("POST", path, api.OrderInviteRequest{Order: "A1001", Buyer: "u-77"}, &inv)
	if e != nil || status != 201 {
		t.Fatalf("order invite: %d %+v", status, e)
	}
	if inv.Uses != 1 || inv.Order != "A1001" || inv.Ref != "order A1001 · buyer u-77" || inv.Existing {
		t.Fatalf("the order invite: %+v", inv)
	}
	if d := time.Until(time.UnixMilli(int64(inv.Expires))); d < DefaultOrderInviteTTL-time.Minute || d > DefaultOrderInviteTTL {
		t.Fatalf("the invite expires in %s, want %s", d, DefaultOrderInviteTTL)
	}
	if !strings.HasPrefix(inv.Link, a.APIURL()+"/j/") {
		t.Fatalf("the link %q", inv.Link)
	}
	pngBytes, err := base64.StdEncoding.DecodeString(inv.QR)
	if err != nil {
		t.Fatal(err)
	}
	if img, err := png.Decode(bytes.NewReader(pngBytes)); err != nil || img.Bounds().Dx() < 100 {
		t.Fatalf("the QR code is no PNG: %v", err)
	}
	signed, err := protocol.ParseToken(inv.Token)
	if err != nil || signed.Inviter != a.ServiceID() || signed.Ref != "" {
		t.Fatalf("the token: %v (a token never carries the order: it is read by everyone given it)", err)
	}
	// The short link opens the same invite.
	var short api.ShortInvite
	admin.mustCall("GET", "/api/v1/invites/short/"+inv.Link[strings.LastIndex(inv.Link, "/")+1:], nil, &short)
	if short.Token != inv.Token {
		t.Fatalf("the short link stands for another invite")
	}

	// Asked again, also many times at once: the same invite.
	var wg sync.WaitGroup
	again := make([]api.OrderInvite, 8)
	for i := range again {
		wg.Add(1)
		go func() {
			defer wg.Done()
			erp.mustCall("POST", path, api.OrderInviteRequest{Order: "A1002"}, &again[i])
		}()
	}
	wg.Wait()
	for _, x := range again[1:] {
		if x.Invite != again[0].Invite {
			t.Fatalf("one order got two invites: %s and %s", x.Invite, again[0].Invite)
		}
	}
	var repeat api.OrderInvite
	status, e = erp.call("POST", path, api.OrderInviteRequest{Order: "A1001", Buyer: "u-77"}, &repeat)
	if e != nil || status != 200 || !repeat.Existing || repeat.Invite != inv.Invite || repeat.Token != inv.Token {
		t.Fatalf("asking again: %d %+v %+v", status, e, repeat)
	}
	admin.mustCall("GET", "/api/v1/groups/"+g.Group, nil, &view)
	if len(view.Invites) != 2 {
		t.Fatalf("the group has %d invites, want 2 (one per order)", len(view.Invites))
	}

	// The buyer joins from their own node; the admins see the order.
	buyer := newKey(t)
	join(t, b, buyer, signed)
	waitFor(t, 10*time.Second, "the order on the member", func() bool {
		admin.mustCall("GET", "/api/v1/groups/"+g.Group, nil, &view)
		for _, m := range view.MemberList {
			if m.User == buyer.ID().String() {
				return m.Ref == "order A1001 · buyer u-77"
			}
		}
		return false
	})
	if _, err := submit(t, b, newKey(t), gid, protocol.NewJoinBody(protocol.KindJoin, signed.Raw, "")); protocol.AsError(err).Code != protocol.CodeInviteUsedUp {
		t.Fatalf("a second person with the order's invite: %v, want invite_used_up", err)
	}

	// Bad requests.
	admin.mustCall("GET", "/api/v1/groups/"+g.Group, nil, &view)
	before := len(view.Invites)
	other := createGroup(t, a, "not the service's", protocol.PolicyInvite)
	for _, c := range []struct {
		name   string
		path   string
		req    api.OrderInviteRequest
		status int
		code   protocol.Code
	}{
		{"no order", path, api.OrderInviteRequest{}, 400, protocol.CodeInvalid},
		{"an order on two lines", path, api.OrderInviteRequest{Order: "A\nB"}, 400, protocol.CodeInvalid},
		{"a long order", path, api.OrderInviteRequest{Order: strings.Repeat("9", MaxOrderRefBytes+1)}, 400, protocol.CodeInvalid},
		{"a buyer with spaces around", path, api.OrderInviteRequest{Order: "A9", Buyer: " u "}, 400, protocol.CodeInvalid},
		{"too many uses", path, api.OrderInviteRequest{Order: "A9", Uses: MaxOrderInviteUses + 1}, 400, protocol.CodeInvalid},
		{"too long a life", path, api.OrderInviteRequest{Order: "A9", ExpiresIn: 91 * 24 * 3600}, 400, protocol.CodeInvalid},
		{"a group not known", "/api/v1/merchant/groups/" + protocol.GroupID{1}.String() + "/order-invites", api.OrderInviteRequest{Order: "A9"}, 404, protocol.CodeUnknownGroup},
		{"a group the service is not admin of", "/api/v1/merchant/groups/" + other.String() + "/order-invites", api.OrderInviteRequest{Order: "A9"}, 403, protocol.CodeForbidden},
		{"a bad group ID", "/api/v1/merchant/groups/xyz/order-invites", api.OrderInviteRequest{Order: "A9"}, 400, protocol.CodeInvalid},
	} {
		status, e := erp.call("POST", c.path, c.req, nil)
		wantError(t, c.name, status, e, c.status, c.code)
		if len(e.Message) < 20 {
			t.Fatalf("%s: the reason %q says too little", c.name, e.Message)
		}
	}
	admin.mustCall("GET", "/api/v1/groups/"+g.Group, nil, &view)
	if len(view.Invites) != before {
		t.Fatalf("bad requests made invites: %d, before %d", len(view.Invites), before)
	}
}

// merchantClient signs n's admin in, makes an API token with scopes and
// returns the admin's session and a client of the token.
func merchantClient(t testing.TB, n *testNode, scopes ...string) (admin, erp *apiClient) {
	t.Helper()
	admin = newAPI(t, n, n.admin).signIn()
	var tok api.NewToken
	admin.mustCall("POST", "/api/v1/merchant/tokens", api.TokenRequest{Name: "erp", Scopes: scopes}, &tok)
	return admin, tokenClient(t, n, tok.Token)
}

// TestMerchantLists pages through the order groups (by order ID, by
// state) and lists the broadcasts, latest first, and the live codes.
func TestMerchantLists(t *testing.T) {
	a := startNode(t, "")
	_, erp := merchantClient(t, a, "groups", "orders")
	for _, o := range []string{"C3", "C1", "C5", "C2", "C4"} {
		erp.mustCall("POST", "/api/v1/merchant/orders", api.OrderGroupRequest{Order: o}, nil)
	}
	for _, o := range []string{"C2", "C4"} {
		erp.mustCall("POST", "/api/v1/merchant/orders/"+o+"/state", api.OrderStateRequest{State: "closed"}, nil)
	}
	pages := func(query string) (got []string) {
		after := ""
		for range 10 {
			var l api.OrderList
			erp.mustCall("GET", "/api/v1/merchant/orders?"+query+"&after="+after, nil, &l)
			for _, o := range l.Orders {
				got = append(got, o.Order+":"+o.State)
				if o.BuyerInvite != nil {
					t.Errorf("a listed order carries its invites: %+v", o)
				}
			}
			if l.Next == "" {
				return got
			}
			after = l.Next
		}
		t.Fatalf("%s: more than 10 pages", query)
		return nil
	}
	if got, want := strings.Join(pages("limit=2"), " "), "C1:accepted C2:closed C3:accepted C4:closed C5:accepted"; got != want {
		t.Errorf("pages of 2: %s, want %s", got, want)
	}
	if got, want := strings.Join(pages("limit=1&state=closed"), " "), "C2:closed C4:closed"; got != want {
		t.Errorf("closed, pages of 1: %s, want %s", got, want)
	}
	var l api.OrderList
	erp.mustCall("GET", "/api/v1/merchant/orders?limit=3", nil, &l)
	if len(l.Orders) != 3 || l.Next != "C3" {
		t.Errorf("a page of 3: %d orders, next %q", len(l.Orders), l.Next)
	}
	l = api.OrderList{}
	erp.mustCall("GET", "/api/v1/merchant/orders?limit=5", nil, &l)
	if len(l.Orders) != 5 || l.Next != "" {
		t.Errorf("the last page: %d orders, next %q", len(l.Orders), l.Next)
	}

	var svc api.ServiceInfo
	erp.mustCall("GET", "/api/v1/merchant/service", nil, &svc)
	now := time.Now()
	for i, at := range []time.Time{now.Add(2 * time.Hour), now.Add(time.Hour), now.Add(3 * time.Hour)} {
		erp.mustCall("POST", "/api/v1/merchant/broadcasts", api.BroadcastRequest{Text: fmt.Sprint("b", i), All: true, At: uint64(at.UnixMilli())}, nil)
	}
	var bl api.BroadcastList
	erp.mustCall("GET", "/api/v1/merchant/broadcasts", nil, &bl)
	var texts []string
	for _, b := range bl.Broadcasts {
		texts = append(texts, b.Text+":"+b.State)
	}
	if got, want := strings.Join(texts, " "), "b2:scheduled b0:scheduled b1:scheduled"; got != want {
		t.Errorf("broadcasts: %s, want %s", got, want)
	}

	erp.mustCall("POST", "/api/v1/merchant/families", api.FamilyRequest{Name: "fans A"}, nil)
	erp.mustCall("POST", "/api/v1/merchant/families", api.FamilyRequest{Name: "fans B"}, nil)
	var fl api.FamilyList
	erp.mustCall("GET", "/api/v1/merchant/families", nil, &fl)
	names := map[string]bool{}
	for _, f := range fl.Families {
		names[f.Name] = len(f.Shards) == 1 && f.QR != ""
	}
	if len(fl.Families) != 2 || !names["fans A"] || !names["fans B"] {
		t.Errorf("live codes: %+v", names)
	}
}
