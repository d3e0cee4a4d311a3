package node

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestInviteRefPrivate: an invite's order number is shown to the group's
// admins, never to the person invited nor to other members. A token that
// carries one is refused at registration (anyone given the token could
// read it); the reference set on the host appears in the admin's view, on
// the invite and on the buyer who joined with it, and nowhere in what the
// buyer or another member can read: the preview, the group view, the
// history pages.
func TestInviteRefPrivate(t *testing.T) {
	a := startNode(t, "")
	b := startNode(t, "")
	gid := createGroup(t, a, "order 42", protocol.PolicyInvite)
	owner := newAPI(t, a, a.admin).signIn()

	// A token with the reference inside is refused, and nothing is stored.
	leaky := protocol.Invite{Group: gid, Host: a.ID(), Inviter: a.admin.ID(), MaxUses: 1, Nonce: nonce(), Ref: "ORDER-42"}
	for _, m := range a.Host().Addrs() {
		leaky.Addrs = append(leaky.Addrs, m.Bytes())
	}
	si, err := leaky.Sign(a.admin)
	if err != nil {
		t.Fatal(err)
	}
	head, _ := a.Head(gid)
	_, e := owner.submit(gid, &protocol.InviteCreateBody{Token: si.Raw})
	if e == nil || e.Code != "invalid" || !strings.Contains(e.Message, "reference") {
		t.Fatalf("a token carrying its reference: %+v", e)
	}
	if h, _ := a.Head(gid); h != head {
		t.Fatal("the refused registration was stored")
	}

	// The way it is done: a token without it, the reference on the host.
	inv := invite(t, a, a.admin, gid, a, 1, time.Hour)
	path := "/api/v1/groups/" + gid.String() + "/invites/" + inv.ID.String() + "/ref"
	buyer, other := newKey(t), newKey(t)
	cb := newAPI(t, b, buyer).signIn()
	stranger := newAPI(t, a, other).signIn()
	status, e := stranger.call("PUT", path, api.InviteRefRequest{Ref: "ORDER-42"}, nil)
	wantError(t, "a reference set by a non-admin", status, e, 403, protocol.CodeForbidden)
	status, e = owner.call("PUT", path, api.InviteRefRequest{Ref: "ORDER\n42"}, nil)
	wantError(t, "a reference of two lines", status, e, 400, protocol.CodeInvalid)
	owner.mustCall("PUT", path, api.InviteRefRequest{Ref: "ORDER-42"}, nil)

	// The buyer previews and joins through their own node.
	var p json.RawMessage
	cb.mustCall("GET", "/api/v1/invites/preview?token="+inv.Token(), nil, &p)
	join(t, b, buyer, inv)
	mustSubmit(t, b, buyer, gid, text("when does it ship?"))
	inv2 := invite(t, a, a.admin, gid, a, 0, 0)
	join(t, a, other, inv2)
	ev := mustSubmit(t, a, other, gid, text("hi"))
	waitHead(t, 10*time.Second, gid, ev.Seq, b)
	status, e = cb.call("PUT", path, api.InviteRefRequest{Ref: "ORDER-43"}, nil)
	wantError(t, "a reference set on a node that is not the host", status, e, 403, protocol.CodeNotHost)

	var admin api.GroupView
	owner.mustCall("GET", "/api/v1/groups/"+gid.String(), nil, &admin)
	var got string
	for _, m := range admin.MemberList {
		if m.User == buyer.ID().String() {
			got = m.Ref
		}
	}
	if got != "ORDER-42" {
		t.Fatalf("the admin's view of the buyer: ref %q, want ORDER-42", got)
	}
	if inv.Ref != "" {
		t.Fatal("the token carries the reference")
	}
	// Everything the buyer and the other member can read, on either node.
	reads := map[string]json.RawMessage{"preview": p}
	for name, c := range map[string]*apiClient{"buyer on B": cb, "member on A": stranger} {
		var g, evs json.RawMessage
		c.mustCall("GET", "/api/v1/groups/"+gid.String(), nil, &g)
		c.mustCall("GET", "/api/v1/groups/"+gid.String()+"/events?from=1&limit=1000", nil, &evs)
		reads[name+" group"], reads[name+" events"] = g, evs
	}
	for name, raw := range reads {
		if strings.Contains(string(raw), "ORDER-42") {
			t.Errorf("%s shows the order number: %s", name, raw)
		}
	}
}
