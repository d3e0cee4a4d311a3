package node

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
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

// TestEarlierVersionsForAdmins: a message edited twice reads as its last
// version for members, on every path (history pages forward and backward,
// a WebSocket catching up after the edits and one that saw the first edit
// cached): no first text, no signed bytes that hold it, the first edit
// without its text. The group's admin reads every version.
func TestEarlierVersionsForAdmins(t *testing.T) {
	a := startNode(t, "")
	gid := createGroup(t, a, "shop", protocol.PolicyInvite)
	bob, carol := newKey(t), newKey(t)
	inv := invite(t, a, a.admin, gid, a, 0, time.Hour)
	join(t, a, bob, inv)
	join(t, a, carol, inv)
	cb, cc, admin := newAPI(t, a, bob).signIn(), newAPI(t, a, carol).signIn(), newAPI(t, a, a.admin).signIn()
	r, e := cb.submit(gid, text("call me at 138-0000-0000"))
	if e != nil {
		t.Fatal(e.Message)
	}
	msg := r.Seq
	first, e := cb.submit(gid, &protocol.EditBody{Target: msg, Text: "call me at 139-1111-1111"})
	if e != nil {
		t.Fatal(e.Message)
	}
	// A subscriber catches up now: the first edit is current, and cached.
	early := wsDial(t, cc)
	defer early.CloseNow()
	wsSend(t, early, api.WSClientMessage{Type: "subscribe", Group: gid.String(), From: msg})
	wsRead(t, early)
	wsRead(t, early)
	if m := wsRead(t, early); m.Event == nil || m.Event.Seq != first.Seq || m.Event.Text != "call me at 139-1111-1111" {
		t.Fatalf("the current edit: %+v", m.Event)
	}
	last, e := cb.submit(gid, &protocol.EditBody{Target: msg, Text: "message me in the app"})
	if e != nil {
		t.Fatal(e.Message)
	}
	earlier := []string{"138-0000-0000", "139-1111-1111"}
	leaks := func(v api.EventView) string {
		raw, _ := base64.StdEncoding.DecodeString(v.Raw)
		for _, s := range earlier {
			if strings.Contains(v.Text, s) || bytes.Contains(raw, []byte(s)) {
				return s
			}
		}
		return ""
	}
	reads := func(c *apiClient) map[string][]api.EventView {
		var fwd api.EventsPage
		var back api.BackwardPage
		c.mustCall("GET", fmt.Sprintf("/api/v1/groups/%s/events?from=%d", gid, msg), nil, &fwd)
		c.mustCall("GET", fmt.Sprintf("/api/v1/groups/%s/events?before=%d", gid, last.Seq+1), nil, &back)
		out := map[string][]api.EventView{"forward page": fwd.Events, "backward page": back.Events}
		// From the message, and from the first edit (whose frame the
		// early subscriber had cached while it was current).
		for _, from := range []uint64{first.Seq, msg} {
			ws := wsDial(t, c)
			defer ws.CloseNow()
			wsSend(t, ws, api.WSClientMessage{Type: "subscribe", Group: gid.String(), From: from})
			wsRead(t, ws)
			var live []api.EventView
			for range last.Seq - from + 1 {
				live = append(live, *wsRead(t, ws).Event)
			}
			out[fmt.Sprintf("WebSocket from %d", from)] = live
		}
		return out
	}
	for name, views := range reads(cc) {
		for _, v := range views {
			if s := leaks(v); s != "" {
				t.Errorf("member, %s: event %d (%s) shows the earlier version %q", name, v.Seq, v.Kind, s)
			}
			if v.Seq == msg && (v.Text != "message me in the app" || v.Edited == nil || v.Edited.Seq != last.Seq) {
				t.Errorf("member, %s: the message reads %+v", name, v)
			}
			if v.Seq == first.Seq && !v.Superseded {
				t.Errorf("member, %s: the first edit is not marked superseded: %+v", name, v)
			}
		}
	}
	var seen []string
	for _, v := range reads(admin)["forward page"] {
		if s := leaks(v); s != "" {
			seen = append(seen, s)
		}
	}
	if len(seen) != 2 {
		t.Errorf("the admin reads the earlier versions %v, want both", seen)
	}
}
