package node

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestRecallHidesText: once a message is recalled, no answer of the
// light-client API carries its text or its signed bytes — forward and
// backward pages, a WebSocket catch-up that had rendered it before, on the
// host and on a member's node, and after a restart (snapshot or replay).
// What is left is a tombstone naming who recalled it.
func TestRecallHidesText(t *testing.T) {
	a, b := startNode(t, ""), startNode(t, "")
	gid := createGroup(t, a, "shop", protocol.PolicyInvite)
	bob := newKey(t)
	join(t, b, bob, invite(t, a, a.admin, gid, a, 1, time.Hour))
	const secret = "my phone is 138 0013 8000"
	owner := newAPI(t, a, a.admin).signIn()
	cb := newAPI(t, b, bob).signIn()
	r, e := cb.submit(gid, &protocol.MessageBody{Text: secret, Link: "https://shop.example/x"})
	if e != nil {
		t.Fatal(e.Message)
	}
	msg := r.Seq
	if _, e := cb.submit(gid, text("after")); e != nil {
		t.Fatal(e.Message)
	}
	waitHead(t, 10*time.Second, gid, msg+1, a, b)
	// The WebSocket renders (and caches) the message before the recall.
	conn := wsDial(t, owner)
	wsSend(t, conn, api.WSClientMessage{Type: "subscribe", Group: gid.String(), From: msg})
	if m := wsRead(t, conn); m.Type != "subscribed" {
		t.Fatalf("subscribe: %+v", m)
	}
	if m := wsRead(t, conn); m.Type != "event" || m.Event.Text != secret {
		t.Fatalf("before the recall the message reads %+v", m.Event)
	}
	conn.CloseNow()

	rc, e := cb.submit(gid, protocol.NewTargetBody(protocol.KindRecall, msg))
	if e != nil {
		t.Fatal(e.Message)
	}
	waitHead(t, 10*time.Second, gid, rc.Seq, a, b)

	check := func(where string, n *testNode, k *protocol.Key) {
		t.Helper()
		c := newAPI(t, n, k).signIn()
		var views []api.EventView
		var page api.EventsPage
		c.mustCall("GET", fmt.Sprintf("/api/v1/groups/%s/events?from=1&limit=100", gid), nil, &page)
		views = append(views, page.Events...)
		var back api.BackwardPage
		c.mustCall("GET", fmt.Sprintf("/api/v1/groups/%s/events?before=0&limit=100", gid), nil, &back)
		views = append(views, back.Events...)
		ws := wsDial(t, c)
		defer ws.CloseNow()
		// From the message on: the frames rendered before the recall are cached.
		wsSend(t, ws, api.WSClientMessage{Type: "subscribe", Group: gid.String(), From: msg})
		if m := wsRead(t, ws); m.Type != "subscribed" {
			t.Fatalf("%s: subscribe: %+v", where, m)
		}
		for seq := msg; seq <= rc.Seq; seq++ {
			m := wsRead(t, ws)
			if m.Type != "event" {
				t.Fatalf("%s: WebSocket sent %+v", where, m)
			}
			views = append(views, *m.Event)
		}
		found := 0
		for _, v := range views {
			raw := v.Raw
			if v.Seq != msg {
				if v.Raw == "" {
					t.Fatalf("%s: event %d lost its signed bytes", where, v.Seq)
				}
				continue
			}
			found++
			if v.Text != "" || v.Link != "" || raw != "" || strings.Contains(fmt.Sprint(v), secret) {
				t.Fatalf("%s: the recalled message is still readable: %+v", where, v)
			}
			if v.Recalled == nil || v.Recalled.Seq != rc.Seq || v.Recalled.By != bob.ID().String() {
				t.Fatalf("%s: tombstone %+v, want recalled by %s at %d", where, v.Recalled, bob.ID(), rc.Seq)
			}
		}
		if found != 3 {
			t.Fatalf("%s: the recalled message appeared %d times in the answers, want 3", where, found)
		}
	}
	check("host", a, a.admin)
	check("member's node", b, bob)
	// After a restart (state from the stored snapshot or the log).
	dir := a.dir
	a.Close()
	a = startNode(t, dir)
	check("host after restart", a, a.admin)
}
