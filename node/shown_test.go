package node

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestShownGroups plays "展示我加入的群聊" on three nodes: Mei (home B)
// shows three groups hosted by A on her profile and signs it into a chat
// hosted by B; Lee (home C), who shares only that chat with her, reads her
// profile there, asks about each group through his own node (which asks
// A), applies to the approval group and is approved, and joins the open
// one. The invite-only group tells nothing but that; a claim naming the
// wrong host learns nothing of the group; Mei cannot show a group she is
// not in.
func TestShownGroups(t *testing.T) {
	a, b, c := startNode(t, ""), startNode(t, ""), startNode(t, "")
	for _, n := range []*testNode{b, c} {
		n.Host().Peerstore().AddAddrs(a.PeerID(), a.Host().Addrs(), time.Hour)
	}
	c.Host().Peerstore().AddAddrs(b.PeerID(), b.Host().Addrs(), time.Hour)
	fans := createGroup(t, a, "茶友群", protocol.PolicyOpen)
	vip := createGroup(t, a, "VIP 群", protocol.PolicyApproval)
	staff := createGroup(t, a, "Staff only", protocol.PolicyInvite)
	notHers := createGroup(t, a, "another", protocol.PolicyOpen)
	chat := createGroup(t, b, "Tea chat", protocol.PolicyInvite)

	mei, lee := newKey(t), newKey(t)
	for _, gid := range []protocol.GroupID{fans, vip, staff} {
		join(t, b, mei, invite(t, a, a.admin, gid, a, 1, time.Hour))
	}
	join(t, b, mei, invite(t, b, b.admin, chat, b, 1, time.Hour))
	join(t, c, lee, invite(t, b, b.admin, chat, b, 1, time.Hour))

	// Mei chooses what to show; a group she is not in, too many groups
	// and a malformed ID are refused, and stored is what was accepted.
	cm := newAPI(t, b, mei).signIn()
	for _, bad := range []struct {
		what   string
		groups []string
		status int
		code   protocol.Code
	}{
		{"a group she is not in", []string{fans.String(), notHers.String()}, 403, protocol.CodeNotMember},
		{"a malformed group", []string{"tea"}, 400, protocol.CodeInvalid},
		{"eleven groups", strings.Split(strings.Repeat(fans.String()+",", 11)[:65*11-1], ","), 400, protocol.CodeInvalid},
	} {
		status, e := cm.call("PUT", "/api/v1/me/profile", api.MyProfile{Name: "Mei", Groups: bad.groups}, nil)
		wantError(t, bad.what, status, e, bad.status, bad.code)
	}
	var mine api.MyProfile
	cm.mustCall("PUT", "/api/v1/me/profile", api.MyProfile{Name: "Mei", Groups: []string{vip.String(), fans.String(), staff.String()}}, &mine)
	mine = api.MyProfile{}
	cm.mustCall("GET", "/api/v1/me/profile", nil, &mine)
	if len(mine.Shown) != 3 || mine.Shown[0].Group != vip.String() || mine.Shown[0].Host != a.ID().String() || len(mine.Shown[0].HostAddrs) == 0 {
		t.Fatalf("what the profile shows: %+v", mine.Shown)
	}
	// Her client signs it into the chat.
	prof := protocol.Profile{Name: mine.Name}
	for _, v := range mine.Shown {
		g, err := v.ShownGroup()
		if err != nil {
			t.Fatal(err)
		}
		prof.Groups = append(prof.Groups, g)
	}
	if _, e := cm.submit(chat, protocol.NewProfileBody(prof)); e != nil {
		t.Fatalf("the profile event: %+v", e)
	}

	// Lee sees her groups in the chat, through his node.
	cl := newAPI(t, c, lee).signIn()
	var shown []api.ShownGroupView
	waitFor(t, 10*time.Second, "Mei's shown groups on Lee's node", func() bool {
		var v api.GroupView
		cl.mustCall("GET", "/api/v1/groups/"+chat.String(), nil, &v)
		for _, m := range v.MemberList {
			if m.User == mei.ID().String() {
				shown = m.Groups
			}
		}
		return len(shown) == 3
	})
	about := func(v api.ShownGroupView, host string) (api.DirectoryGroup, int, *api.ErrorJSON) {
		q := "?host=" + host
		for _, ad := range v.HostAddrs {
			q += "&addr=" + strings.ReplaceAll(ad, "/", "%2F")
		}
		var d api.DirectoryGroup
		status, e := cl.call("GET", "/api/v1/groups/"+v.Group+"/about"+q, nil, &d)
		return d, status, e
	}
	d, status, e := about(shown[0], shown[0].Host)
	if e != nil || d.Name != "VIP 群" || d.Policy != "approval" || d.Members != 2 || d.Cap == 0 {
		t.Fatalf("about the approval group: %d %+v %+v", status, e, d)
	}
	d, _, e = about(shown[1], shown[1].Host)
	if e != nil || d.Name != "茶友群" || d.Policy != "open" {
		t.Fatalf("about the open group: %+v %+v", e, d)
	}
	// The invite-only group says only that.
	_, status, e = about(shown[2], shown[2].Host)
	wantError(t, "about an invite-only group", status, e, 403, protocol.CodeInviteRequired)
	if strings.Contains(e.Message, "Staff") {
		t.Errorf("the refusal names the group: %q", e.Message)
	}
	// A claim with the wrong host: B holds the group as a replica, not as
	// its host, and says nothing of it.
	wrong := shown[0]
	wrong.HostAddrs = nil
	for _, ad := range b.Addrs() {
		wrong.HostAddrs = append(wrong.HostAddrs, ad.String())
	}
	_, status, e = about(wrong, b.ID().String())
	wantError(t, "about, asking a node that is not the host", status, e, 404, protocol.CodeUnknownGroup)
	// Bad questions.
	status, e = cl.call("GET", "/api/v1/groups/"+vip.String()+"/about", nil, nil)
	wantError(t, "about without a host", status, e, 404, protocol.CodeUnknownGroup)
	status, e = cl.call("GET", "/api/v1/groups/"+vip.String()+"/about?host=nobody", nil, nil)
	wantError(t, "about with a malformed host", status, e, 400, protocol.CodeInvalid)
	status, e = cl.call("GET", "/api/v1/groups/"+vip.String()+"/about?host="+a.ID().String()+"&addr=nowhere", nil, nil)
	wantError(t, "about with a malformed address", status, e, 400, protocol.CodeInvalid)
	status, e = newAPI(t, c, lee).call("GET", "/api/v1/groups/"+vip.String()+"/about?host="+a.ID().String(), nil, nil)
	wantError(t, "about without a session", status, e, 401, protocol.CodeUnauthenticated)

	// Lee applies to the approval group from Mei's profile and is approved.
	if _, e := cl.submitVia(vip, protocol.NewJoinBody(protocol.KindJoinRequest, nil, "Mei sent me"), shown[0].HostAddrs); e != nil {
		t.Fatalf("applying: %+v", e)
	}
	mustSubmit(t, a, a.admin, vip, protocol.NewMemberBody(protocol.KindApprove, lee.ID(), ""))
	// And joins the open one directly.
	if _, e := cl.submitVia(fans, protocol.NewJoinBody(protocol.KindJoin, nil, ""), shown[1].HostAddrs); e != nil {
		t.Fatalf("joining: %+v", e)
	}
	waitFor(t, 10*time.Second, "Lee in both groups on his node", func() bool {
		var groups []api.MyGroup
		cl.mustCall("GET", "/api/v1/me/groups", nil, &groups)
		in := 0
		for _, g := range groups {
			if (g.Group == vip.String() || g.Group == fans.String()) && !g.Pending {
				in++
			}
		}
		return in == 2
	})
	// Now his node holds the group and answers from what it holds.
	if d, _, e = about(shown[0], ""); e != nil || d.Members != 3 {
		t.Errorf("about the group Lee is in: %+v %+v", e, d)
	}
}

// TestAboutRequestDecode: only one canonical 32-byte group field.
func TestAboutRequestDecode(t *testing.T) {
	gid := protocol.GroupID{1, 2, 3}
	if got, err := decodeAboutRequest(encodeAboutRequest(gid)); err != nil || got != gid {
		t.Fatalf("round trip: %v %v", got, err)
	}
	for i, bad := range [][]byte{
		nil, {}, encodeAboutRequest(protocol.GroupID{}), encodeAboutRequest(gid)[:20],
		append(encodeAboutRequest(gid), encodeAboutRequest(gid)...),
		append(encodeAboutRequest(gid), 0x10, 1),
		{0x08, 0x01},
	} {
		if _, err := decodeAboutRequest(bad); err == nil {
			t.Errorf("case %d (%x) decoded", i, bad)
		} else if pe := protocol.AsError(err); pe.Code != protocol.CodeMalformed && pe.Code != protocol.CodeUpgradeNeeded {
			t.Errorf("case %d: %v", i, fmt.Sprint(pe))
		}
	}
}

// FuzzAboutRequest: the about request decoder never panics, and what it
// takes encodes back to the same bytes.
func FuzzAboutRequest(f *testing.F) {
	f.Add(encodeAboutRequest(protocol.GroupID{9}))
	f.Add([]byte{0x0a, 0x01, 0x00})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		gid, err := decodeAboutRequest(b)
		if err == nil && string(encodeAboutRequest(gid)) != string(b) {
			t.Fatalf("%x decoded to %s, which encodes to %x", b, gid, encodeAboutRequest(gid))
		}
	})
}
