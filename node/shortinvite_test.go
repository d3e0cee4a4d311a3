package node

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestShortInvites: the host gives an open invite a short handle (the same
// one when asked again, kept across a restart); anyone can resolve it to
// the full signed token and join with that; /j/HANDLE sends a browser to
// the web client's join page. Only the group's admins or the inviter may
// register one, only on the host, only for an open invite.
func TestShortInvites(t *testing.T) {
	a, b := startNode(t, ""), startNode(t, "")
	gid := createGroup(t, a, "shop", protocol.PolicyInvite)
	inv := invite(t, a, a.admin, gid, a, 0, time.Hour)
	owner := newAPI(t, a, a.admin).signIn()
	var s1, s2 api.ShortInvite
	owner.mustCall("POST", "/api/v1/invites/short", api.ShortInviteRequest{Token: inv.Token()}, &s1)
	owner.mustCall("POST", "/api/v1/invites/short", api.ShortInviteRequest{Token: "https://x.example/join#" + inv.Token()}, &s2)
	if len(s1.Handle) != ShortHandleLen || s2.Handle != s1.Handle || s1.Token != inv.Token() {
		t.Fatalf("short invites %+v and %+v", s1, s2)
	}
	if want := a.APIURL() + "/j/" + s1.Handle; s1.Link != want || len(s1.Link) > 64 {
		t.Fatalf("link %q, want %q", s1.Link, want)
	}

	// Anyone resolves it (no session) and joins with the token.
	var got api.ShortInvite
	st, e := newAPI(t, b, nil).call("GET", "/api/v1/invites/short/"+s1.Handle, nil, nil)
	wantError(t, "a short link of another node", st, e, 404, protocol.CodeInviteUnknown) // handles live on the host
	newAPI(t, a, nil).mustCall("GET", "/api/v1/invites/short/"+s1.Handle, nil, &got)
	if got.Token != inv.Token() {
		t.Fatalf("resolved %+v", got)
	}
	buyer := newKey(t)
	tok, err := protocol.ParseToken(got.Token)
	if err != nil {
		t.Fatal(err)
	}
	join(t, b, buyer, tok)

	// A browser is sent to the join page with the full token.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(s1.Link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/join#"+inv.Token() {
		t.Fatalf("GET %s: %d to %q", s1.Link, resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = noFollow.Get(a.APIURL() + "/j/zzzzzzzz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("an unknown short link answered %d", resp.StatusCode)
	}

	// Refusals.
	member := newAPI(t, b, buyer).signIn()
	st, e = newAPI(t, a, buyer).signIn().call("POST", "/api/v1/invites/short", api.ShortInviteRequest{Token: inv.Token()}, nil)
	wantError(t, "a member who is not the inviter", st, e, 403, protocol.CodeForbidden)
	st, e = member.call("POST", "/api/v1/invites/short", api.ShortInviteRequest{Token: inv.Token()}, nil)
	wantError(t, "on a member's node", st, e, 403, protocol.CodeForbidden)
	unreg := protocol.Invite{Group: gid, Host: a.ID(), Inviter: a.admin.ID(), Nonce: nonce()}
	si, err := unreg.Sign(a.admin)
	if err != nil {
		t.Fatal(err)
	}
	st, e = owner.call("POST", "/api/v1/invites/short", api.ShortInviteRequest{Token: si.Token()}, nil)
	wantError(t, "an unregistered invite", st, e, 404, protocol.CodeInviteUnknown)
	st, e = owner.call("POST", "/api/v1/invites/short", api.ShortInviteRequest{Token: "garbage"}, nil)
	wantError(t, "a garbage token", st, e, 400, protocol.CodeMalformed)
	st, e = newAPI(t, a, nil).call("GET", "/api/v1/invites/short/0OIl0OIl", nil, nil)
	wantError(t, "a malformed handle", st, e, 400, protocol.CodeInvalid)
	st, e = newAPI(t, a, nil).call("GET", "/api/v1/invites/short/zzzzzzzz", nil, nil)
	wantError(t, "an unknown handle", st, e, 404, protocol.CodeInviteUnknown)
	if !strings.Contains(e.Message, "zzzzzzzz") {
		t.Fatalf("the refusal does not name the handle: %q", e.Message)
	}

	// Kept across a restart; the node does not take the node-wide data for a group.
	dir := a.dir
	a.Close()
	a = startNode(t, dir)
	newAPI(t, a, nil).mustCall("GET", "/api/v1/invites/short/"+s1.Handle, nil, &got)
	if got.Token != inv.Token() {
		t.Fatalf("after a restart %+v", got)
	}
	if groups := a.heldGroups(); len(groups) != 1 {
		t.Fatalf("after a restart the node holds %d groups, want 1", len(groups))
	}
}
