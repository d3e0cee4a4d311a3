package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// wsCollect reads a WebSocket's messages into a channel until it closes.
func wsCollect(conn *websocket.Conn) <-chan api.WSServerMessage {
	ch := make(chan api.WSServerMessage, 4096)
	go func() {
		defer close(ch)
		for {
			_, b, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			var m api.WSServerMessage
			if json.Unmarshal(b, &m) == nil {
				ch <- m
			}
		}
	}()
	return ch
}

// wsUntil reads messages until one satisfies stop, within the deadline,
// and returns every message read.
func wsUntil(t *testing.T, ch <-chan api.WSServerMessage, d time.Duration, stop func(api.WSServerMessage) bool) []api.WSServerMessage {
	t.Helper()
	var got []api.WSServerMessage
	timeout := time.After(d)
	for {
		select {
		case m, ok := <-ch:
			if !ok {
				t.Fatalf("connection closed after %d messages", len(got))
			}
			got = append(got, m)
			if stop(m) {
				return got
			}
		case <-timeout:
			t.Fatalf("no matching message within %s; got %d messages, last %+v", d, len(got), got[max(0, len(got)-1):])
		}
	}
}

// TestRemovedMembersWebSocketEnds: a kicked and a banned member, each with
// an open WebSocket on a private group, receive nothing sequenced after
// their removal, and get a typed "ended" message; another member keeps
// receiving every event; API reads then refuse with 403.
func TestRemovedMembersWebSocketEnds(t *testing.T) {
	a := startNode(t, "")
	gid := createGroup(t, a, "private shop", protocol.PolicyOpen) // anyone may join; only members read
	admin := newAPI(t, a, a.admin).signIn()
	type member struct {
		api *apiClient
		ch  <-chan api.WSServerMessage
	}
	members := map[string]*member{}
	for _, name := range []string{"kicked", "banned", "left", "stays"} {
		c := newAPI(t, a, newKey(t)).signIn()
		if _, e := c.submit(gid, protocol.NewJoinBody(protocol.KindJoin, nil, "")); e != nil {
			t.Fatalf("%s joins: %s", name, e.Message)
		}
		conn := wsDial(t, c)
		wsSend(t, conn, api.WSClientMessage{Type: "subscribe", Group: gid.String(), From: 1})
		members[name] = &member{api: c, ch: wsCollect(conn)}
	}
	// Traffic keeps flowing while members are removed.
	stop := make(chan struct{})
	traffic := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				traffic <- nil
				return
			default:
			}
			if _, e := admin.submit(gid, text(fmt.Sprintf("m%d", i))); e != nil {
				traffic <- errors.New(e.Message)
				return
			}
		}
	}()
	kick, e := admin.submit(gid, protocol.NewMemberBody(protocol.KindKick, members["kicked"].api.key.ID(), "spam"))
	if e != nil {
		t.Fatal(e.Message)
	}
	ban, e := admin.submit(gid, protocol.NewMemberBody(protocol.KindBan, members["banned"].api.key.ID(), "abuse"))
	if e != nil {
		t.Fatal(e.Message)
	}
	leave, e := members["left"].api.submit(gid, &protocol.LeaveBody{})
	if e != nil {
		t.Fatal(e.Message)
	}
	for i := range 30 {
		if _, e := admin.submit(gid, text(fmt.Sprintf("after %d", i))); e != nil {
			t.Fatal(e.Message)
		}
	}
	close(stop)
	if err := <-traffic; err != nil {
		t.Fatal(err)
	}
	last := a.headNow(t, gid)

	// The member who stays receives every event, in order.
	got := wsUntil(t, members["stays"].ch, 20*time.Second, func(m api.WSServerMessage) bool {
		return m.Type == "event" && m.Event.Seq == last
	})
	next := uint64(1)
	for _, m := range got {
		if m.Type == "ended" {
			t.Fatalf("member who stays got %+v", m)
		}
		if m.Type == "event" {
			if m.Event.Seq != next {
				t.Fatalf("member who stays got event %d, want %d", m.Event.Seq, next)
			}
			next++
		}
	}

	for _, c := range []struct {
		name  string
		at    uint64
		code  protocol.Code
		read  protocol.Code
		sayIt string
	}{
		{"kicked", kick.Seq, protocol.CodeNotMember, protocol.CodePrivate, "removed"},
		{"banned", ban.Seq, protocol.CodeBanned, protocol.CodeBanned, "banned"},
		{"left", leave.Seq, protocol.CodeNotMember, protocol.CodePrivate, "left"},
	} {
		m := members[c.name]
		got := wsUntil(t, m.ch, 20*time.Second, func(m api.WSServerMessage) bool { return m.Type == "ended" })
		var lastSeen uint64
		for _, msg := range got {
			if msg.Type == "event" {
				lastSeen = msg.Event.Seq
			}
		}
		end := got[len(got)-1]
		if lastSeen != c.at {
			t.Errorf("%s: last event delivered %d, want the removal %d", c.name, lastSeen, c.at)
		}
		if end.Group != gid.String() || end.Code != c.code.String() || !containsFold(end.Message, c.sayIt) {
			t.Errorf("%s: end message %+v", c.name, end)
		}
		// Nothing follows the end, even as the group goes on.
		select {
		case msg, ok := <-m.ch:
			if ok {
				t.Errorf("%s: after the end got %+v", c.name, msg)
			}
		case <-time.After(200 * time.Millisecond):
		}
		for _, path := range []string{
			"/api/v1/groups/" + gid.String(),
			"/api/v1/groups/" + gid.String() + "/events?from=1",
			"/api/v1/groups/" + gid.String() + "/events?before=0",
		} {
			status, e := m.api.call("GET", path, nil, nil)
			wantError(t, c.name+" reads "+path, status, e, 403, c.read)
		}
		var mine []api.MyGroup
		m.api.mustCall("GET", "/api/v1/me/groups", nil, &mine)
		if len(mine) != 0 {
			t.Errorf("%s: my groups %+v", c.name, mine)
		}
	}
}

func (n *testNode) headNow(t *testing.T, gid protocol.GroupID) uint64 {
	t.Helper()
	h, err := n.Head(gid)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
