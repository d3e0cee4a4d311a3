package node

import (
	"fmt"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestEditsAndReactions: an edit shows in every answer as the message's
// text with "edited", also where the WebSocket had rendered the message
// before, on the host and a member's node; the edit and a reaction are
// pushed live to a subscriber; another member cannot edit it.
func TestEditsAndReactions(t *testing.T) {
	a, b := startNode(t, ""), startNode(t, "")
	gid := createGroup(t, a, "shop", protocol.PolicyInvite)
	bob, carol := newKey(t), newKey(t)
	inv := invite(t, a, a.admin, gid, a, 0, time.Hour)
	join(t, b, bob, inv)
	join(t, a, carol, inv)
	cb, cc := newAPI(t, b, bob).signIn(), newAPI(t, a, carol).signIn()
	r, e := cb.submit(gid, text("oolong 19.9 CNY"))
	if e != nil {
		t.Fatal(e.Message)
	}
	msg := r.Seq
	// A subscriber renders (and caches) the message, then stays to see
	// the edit and the reaction arrive.
	live := wsDial(t, cc)
	defer live.CloseNow()
	wsSend(t, live, api.WSClientMessage{Type: "subscribe", Group: gid.String(), From: msg})
	if m := wsRead(t, live); m.Type != "subscribed" {
		t.Fatalf("subscribe: %+v", m)
	}
	if m := wsRead(t, live); m.Event == nil || m.Event.Text != "oolong 19.9 CNY" {
		t.Fatalf("before the edit: %+v", m)
	}
	if _, e := cc.submit(gid, &protocol.EditBody{Target: msg, Text: "hijacked"}); e == nil || e.Code != protocol.CodeForbidden.String() {
		t.Fatalf("another member's edit: %+v, want forbidden", e)
	}
	ed, e := cb.submit(gid, &protocol.EditBody{Target: msg, Text: "oolong 29.9 CNY"})
	if e != nil {
		t.Fatal(e.Message)
	}
	re, e := cc.submit(gid, &protocol.ReactionBody{Target: msg, Emoji: "👍"})
	if e != nil {
		t.Fatal(e.Message)
	}
	for _, want := range []struct {
		seq  uint64
		kind string
	}{{ed.Seq, "edit"}, {re.Seq, "reaction"}} {
		m := wsRead(t, live)
		if m.Event == nil || m.Event.Seq != want.seq || m.Event.Kind != want.kind || m.Event.Target != msg {
			t.Fatalf("live: %+v, want %s %d on %d", m.Event, want.kind, want.seq, msg)
		}
	}
	waitHead(t, 10*time.Second, gid, re.Seq, a, b)
	for _, c := range []*apiClient{cc, cb} {
		var page api.EventsPage
		c.mustCall("GET", fmt.Sprintf("/api/v1/groups/%s/events?from=%d&limit=1", gid, msg), nil, &page)
		ws := wsDial(t, c)
		wsSend(t, ws, api.WSClientMessage{Type: "subscribe", Group: gid.String(), From: msg})
		wsRead(t, ws)
		m := wsRead(t, ws)
		ws.CloseNow()
		for _, v := range []api.EventView{page.Events[0], *m.Event} {
			if v.Text != "oolong 29.9 CNY" || v.Edited == nil || v.Edited.Seq != ed.Seq {
				t.Fatalf("%s: the edited message reads %q, edited %+v", c.base, v.Text, v.Edited)
			}
		}
	}
}
