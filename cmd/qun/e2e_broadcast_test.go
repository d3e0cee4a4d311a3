package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestBroadcastSIGKILL: a broadcast scheduled to 100 groups, the node
// killed (SIGKILL) as it sends it: after the restart every group has it
// exactly once.
func TestBroadcastSIGKILL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p := startProc(t, t.TempDir())
	admin := p.client(t, p.adminKey(t))
	tok, err := admin.CreateToken(ctx, "live", []string{"groups"})
	if err != nil {
		t.Fatal(err)
	}
	shop := func() *client.Client {
		c, err := client.New(p.api, nil, client.WithAPIToken(tok.Token), client.WithTimeout(60*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	var gids []string
	for i := range 100 {
		g, err := shop().CreateMerchantGroup(ctx, api.MerchantGroupRequest{Name: fmt.Sprintf("粉丝群 %d", i+1), Policy: "open"})
		if err != nil {
			t.Fatal(err)
		}
		gids = append(gids, g.Group)
	}
	const live = "开播啦! The live stream starts now"
	b, err := shop().Broadcast(ctx, api.BroadcastRequest{Text: live, Link: "https://live.example/shop", MentionAll: true, Groups: gids, At: uint64(time.Now().Add(1500 * time.Millisecond).UnixMilli())})
	if err != nil {
		t.Fatal(err)
	}
	if b.State != "scheduled" || b.Groups != 100 {
		t.Fatalf("the broadcast: %+v", b)
	}

	// Kill the node as soon as the first group has it.
	heads := func(c *client.Client) (sent int) {
		gs, err := c.Groups(ctx)
		if err != nil {
			return -1
		}
		for _, g := range gs {
			if g.Head >= 3 { // create, the service's name, the broadcast
				sent++
			}
		}
		return sent
	}
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	before := 0
	for before == 0 {
		select {
		case <-tick.C:
			before = heads(admin)
		case <-deadline:
			t.Fatal("the broadcast did not start")
		}
	}
	p.kill()
	t.Logf("the node was killed with the broadcast in %d of 100 groups (as last seen)", before)

	p.restart()
	admin = p.client(t, p.adminKey(t))
	waitStatus := time.After(60 * time.Second)
	for {
		st, err := shop().BroadcastStatus(ctx, b.ID)
		if err == nil && st.State == "sent" {
			if st.Done != 100 || len(st.Failed) != 0 {
				t.Fatalf("after the restart: %+v", st)
			}
			break
		}
		select {
		case <-tick.C:
		case <-waitStatus:
			t.Fatalf("the broadcast was not finished after the restart: %+v %v", st, err)
		}
	}
	for _, s := range gids {
		gid, _ := protocol.ParseGroupID(s)
		n := 0
		for ev, err := range admin.History(ctx, gid, 1, 0) {
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind == "message" && ev.Text == live {
				n++
				if !ev.MentionAll || ev.Link != "https://live.example/shop" {
					t.Fatalf("group %s: the broadcast lost its link or @all: %+v", s, ev)
				}
			}
		}
		if n != 1 {
			t.Fatalf("group %s has the broadcast %d times, want once", s, n)
		}
	}
}
