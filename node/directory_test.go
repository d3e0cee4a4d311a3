package node

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestShopProfile plays the directory: the merchant lists an open and an
// approval group on the node's profile; a fan on another home node reads
// the profile without a session, joins the open group with the
// directory's invite (counted as "directory"), applies to the other and is
// approved; a group made invite-only drops out of the profile; every bad
// setting is refused with a reason and stores nothing.
func TestShopProfile(t *testing.T) {
	a, b := startNode(t, ""), startNode(t, "")
	admin, erp := merchantClient(t, a, "groups")
	mk := func(name, policy string) string {
		var g api.MerchantGroup
		erp.mustCall("POST", "/api/v1/merchant/groups", api.MerchantGroupRequest{Name: name, Policy: policy}, &g)
		return g.Group
	}
	fans, vip, staff := mk("茶友群", "open"), mk("VIP 群", "approval"), mk("Staff", "invite")

	var set api.ShopProfileSettings
	erp.mustCall("GET", "/api/v1/merchant/profile", nil, &set)
	if set.Name != DefaultServiceName || len(set.Groups) != 0 {
		t.Fatalf("the default profile: %+v", set)
	}
	ghost := &api.BlobRefView{Hash: strings.Repeat("ab", 32), MIME: "image/jpeg", Size: 100, Width: 10, Height: 10}
	for _, bad := range []struct {
		what   string
		p      api.ShopProfileSettings
		status int
		code   protocol.Code
	}{
		{"no name", api.ShopProfileSettings{Groups: []string{fans}}, 400, protocol.CodeInvalid},
		{"a name too long", api.ShopProfileSettings{Name: strings.Repeat("茶", protocol.MaxNameRunes+1)}, 400, protocol.CodeInvalid},
		{"a description too long", api.ShopProfileSettings{Name: "x", Description: strings.Repeat("d", protocol.MaxDescriptionRunes+1)}, 400, protocol.CodeInvalid},
		{"an avatar not uploaded", api.ShopProfileSettings{Name: "x", Avatar: ghost}, 400, protocol.CodeInvalid},
		{"an invite-only group", api.ShopProfileSettings{Name: "x", Groups: []string{fans, staff}}, 400, protocol.CodeInvalid},
		{"a group listed twice", api.ShopProfileSettings{Name: "x", Groups: []string{fans, fans}}, 400, protocol.CodeInvalid},
		{"a group not known", api.ShopProfileSettings{Name: "x", Groups: []string{protocol.GroupID{3}.String()}}, 404, protocol.CodeUnknownGroup},
		{"a malformed group", api.ShopProfileSettings{Name: "x", Groups: []string{"tea"}}, 400, protocol.CodeInvalid},
	} {
		status, e := erp.call("PUT", "/api/v1/merchant/profile", bad.p, nil)
		wantError(t, bad.what, status, e, bad.status, bad.code)
		if e.Message == "" {
			t.Errorf("%s: no reason", bad.what)
		}
	}
	set = api.ShopProfileSettings{}
	erp.mustCall("GET", "/api/v1/merchant/profile", nil, &set)
	if set.Name != DefaultServiceName || len(set.Groups) != 0 {
		t.Fatalf("a refused setting was stored: %+v", set)
	}
	member := newAPI(t, a, newKey(t)).signIn()
	status, e := tokenClient(t, a, member.token).call("PUT", "/api/v1/merchant/profile", api.ShopProfileSettings{Name: "mine"}, nil)
	wantError(t, "a member's session", status, e, 403, protocol.CodeForbidden)

	att, st, ue := admin.upload("image/jpeg", photo(t))
	if st != 200 {
		t.Fatalf("avatar upload: %d %v", st, ue)
	}
	want := api.ShopProfileSettings{Name: "小茶馆", Description: "龙井、碧螺春，每周上新", Avatar: &att.BlobRefView, Groups: []string{vip, fans}}
	erp.mustCall("PUT", "/api/v1/merchant/profile", want, &set)

	// Anyone reads the profile.
	profile := func() api.ShopProfile {
		t.Helper()
		resp, err := http.Get(a.APIURL() + "/api/v1/profile")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var p api.ShopProfile
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&p) != nil {
			t.Fatalf("GET /api/v1/profile: %d", resp.StatusCode)
		}
		return p
	}
	p := profile()
	if p.Name != want.Name || p.Description != want.Description || p.Node != a.PeerID().String() || len(p.HostAddrs) == 0 || p.Avatar == "" {
		t.Fatalf("the profile: %+v", p)
	}
	if len(p.Groups) != 2 || p.Groups[0].Group != vip || p.Groups[1].Group != fans {
		t.Fatalf("the profile's groups: %+v", p.Groups)
	}
	if g := p.Groups[0]; g.Name != "VIP 群" || g.Policy != "approval" || g.Token != "" || g.Members != 1 {
		t.Errorf("the approval group: %+v", g)
	}
	if g := p.Groups[1]; g.Name != "茶友群" || g.Policy != "open" || g.Token == "" || g.Members != 1 {
		t.Errorf("the open group: %+v", g)
	}
	resp, err := http.Get(a.APIURL() + p.Avatar)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" || uint64(len(img)) != att.Size {
		t.Errorf("the avatar: %d %s, %d bytes (want %d)", resp.StatusCode, resp.Header.Get("Content-Type"), len(img), att.Size)
	}

	// A fan on node b joins the open group with the directory's invite …
	fan := newAPI(t, b, newKey(t)).signIn()
	tok, err := base64.RawURLEncoding.DecodeString(p.Groups[1].Token)
	if err != nil {
		t.Fatal(err)
	}
	fansID, _ := protocol.ParseGroupID(fans)
	if _, e := fan.submit(fansID, protocol.NewJoinBody(protocol.KindJoin, tok, "")); e != nil {
		t.Fatalf("joining from the profile: %+v", e)
	}
	// … and applies to the approval group, found through the profile's
	// host addresses.
	vipID, _ := protocol.ParseGroupID(vip)
	if _, e := fan.submitVia(vipID, protocol.NewJoinBody(protocol.KindJoinRequest, nil, "I bought the 龙井"), p.HostAddrs); e != nil {
		t.Fatalf("applying from the profile: %+v", e)
	}
	var view api.GroupView
	waitFor(t, 10*time.Second, "the request on the host", func() bool {
		admin.mustCall("GET", "/api/v1/groups/"+vip, nil, &view)
		return len(view.Requests) == 1
	})
	// The service approves (the shop's staff would, in the web client).
	if _, _, err := a.serviceSubmit(t.Context(), protocol.KindApprove, vipID, protocol.NewMemberBody(protocol.KindApprove, fan.key.ID(), "")); err != nil {
		t.Fatalf("approving: %v", err)
	}
	waitFor(t, 10*time.Second, "the fan approved, on their home node", func() bool {
		var mine []api.MyGroup
		fan.mustCall("GET", "/api/v1/me/groups", nil, &mine)
		n := 0
		for _, g := range mine {
			if (g.Group == vip || g.Group == fans) && !g.Pending && g.Role != "" {
				n++
			}
		}
		return n == 2
	})
	p = profile()
	if p.Groups[0].Members != 2 || p.Groups[1].Members != 2 {
		t.Errorf("members after the joins: %d and %d, want 2 and 2", p.Groups[0].Members, p.Groups[1].Members)
	}

	// The join through the profile counts as coming from the directory.
	var an api.Analytics
	erp.mustCall("GET", "/api/v1/merchant/groups/"+fans+"/analytics?days=1", nil, &an)
	if got := an.Days[len(an.Days)-1].Joins["directory"]; got != 1 {
		t.Errorf("joins from the directory: %d, want 1 (%+v)", got, an.Days)
	}

	// A group made invite-only drops out of the profile.
	invOnly := protocol.PolicyInvite
	if _, _, err := a.serviceSubmit(t.Context(), protocol.KindUpdate, vipID, &protocol.UpdateBody{Settings: protocol.Settings{Policy: &invOnly}}); err != nil {
		t.Fatal(err)
	}
	if p = profile(); len(p.Groups) != 1 || p.Groups[0].Group != fans {
		t.Errorf("the profile after the group became invite-only: %+v", p.Groups)
	}
}
