package node

import (
	"reflect"
	"strings"
	"testing"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestMyProfile: the profile a user keeps on their home node is checked
// with the rules of a profile event (what no group would accept is refused
// and nothing is stored), is the user's own, and survives a restart.
func TestMyProfile(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir)
	mei, bob := newKey(t), newKey(t)
	cm := newAPI(t, n, mei).signIn()
	var p api.MyProfile
	cm.mustCall("GET", "/api/v1/me/profile", nil, &p)
	if p.Name != "" || p.Bio != "" || p.Avatar != nil || len(p.Groups) > 0 {
		t.Fatalf("a new user's profile: %+v", p)
	}
	want := api.MyProfile{Name: "王小明", Bio: "喜欢喝茶"}
	cm.mustCall("PUT", "/api/v1/me/profile", want, &p)
	// An avatar is kept too, once the node holds its image: members'
	// nodes fetch it from here.
	ghost := &api.BlobRefView{Hash: strings.Repeat("ab", 32), MIME: "image/jpeg", Size: 100, Width: 10, Height: 10}
	status, e := cm.call("PUT", "/api/v1/me/profile", api.MyProfile{Name: want.Name, Avatar: ghost}, nil)
	wantError(t, "an avatar the node does not hold", status, e, 400, protocol.CodeInvalid)
	att, st, ue := cm.upload("image/jpeg", photo(t))
	if st != 200 {
		t.Fatalf("avatar upload: %d %v", st, ue)
	}
	cm.mustCall("PUT", "/api/v1/me/profile", api.MyProfile{Name: want.Name, Avatar: &att.BlobRefView}, &p)
	p = api.MyProfile{}
	cm.mustCall("GET", "/api/v1/me/profile", nil, &p)
	if p.Avatar == nil || p.Avatar.Hash != att.Hash || p.Avatar.Width != 640 || p.Bio != "" {
		t.Fatalf("the profile with an avatar: %+v", p)
	}
	cm.mustCall("PUT", "/api/v1/me/profile", want, &p)
	for _, bad := range []struct {
		what string
		p    api.MyProfile
	}{
		{"a control character", api.MyProfile{Name: "a\x07b"}},
		{"a leading space", api.MyProfile{Name: " Mei"}},
		{"33 characters", api.MyProfile{Name: strings.Repeat("名", 33)}},
		{"a bio of 161 characters", api.MyProfile{Bio: strings.Repeat("x", 161)}},
	} {
		status, e := cm.call("PUT", "/api/v1/me/profile", bad.p, nil)
		wantError(t, bad.what, status, e, 400, protocol.CodeInvalid)
	}
	cb := newAPI(t, n, bob).signIn()
	p = api.MyProfile{}
	cb.mustCall("GET", "/api/v1/me/profile", nil, &p)
	if p.Name != "" || p.Bio != "" || p.Avatar != nil || len(p.Groups) > 0 {
		t.Fatalf("another user sees %+v", p)
	}
	n.Close()
	n = startNode(t, dir)
	p = api.MyProfile{}
	newAPI(t, n, mei).signIn().mustCall("GET", "/api/v1/me/profile", nil, &p)
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("after a restart: %+v, want %+v", p, want)
	}
}

// The invite preview names the inviter as the group shows them.
func TestPreviewInviterName(t *testing.T) {
	a := startNode(t, "")
	gid := createGroup(t, a, "shop", protocol.PolicyInvite)
	inv := invite(t, a, a.admin, gid, a, 0, 0)
	var p api.InvitePreview
	anon := &apiClient{t: t, base: a.APIURL()}
	anon.mustCall("GET", "/api/v1/invites/preview?token="+inv.Token(), nil, &p)
	if p.InviterName != "" {
		t.Fatalf("inviter name without a profile: %q", p.InviterName)
	}
	mustSubmit(t, a, a.admin, gid, protocol.NewProfileBody(protocol.Profile{Name: "Tea Shop", Nick: "店长"}))
	anon.mustCall("GET", "/api/v1/invites/preview?token="+inv.Token(), nil, &p)
	if p.InviterName != "店长" {
		t.Fatalf("inviter name %q, want the nick", p.InviterName)
	}
}
