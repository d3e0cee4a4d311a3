package testserver

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/node"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// Qun nodes on loopback for the bridge's tests.

// StartNode starts a node on loopback with its admin's client.
func StartNode(t testing.TB) (*node.Node, *client.Client) {
	t.Helper()
	dir := t.TempDir()
	n, err := node.New(node.Config{
		DataDir:          dir,
		ListenAddrs:      []string{"/ip4/127.0.0.1/tcp/0"},
		APIAddr:          "127.0.0.1:0",
		RatePerSecond:    -1,
		APIRatePerSecond: -1,
		SyncInterval:     200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		n.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	k, err := client.LoadKey(filepath.Join(dir, "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(n.APIURL(), k, client.WithTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return n, c
}

// UserOn makes a new user of node n.
func UserOn(t testing.TB, n *node.Node) *client.Client {
	t.Helper()
	k, err := protocol.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(n.APIURL(), k, client.WithTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// WaitUntil polls cond until it holds, failing after timeout.
func WaitUntil(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(10 * time.Millisecond) // poll interval of a bounded wait
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
	}
}

// World is a shop's group on its node, a buyer on a second node, and a
// bridge user on a platform's node, a member with the role bridge.
type World struct {
	Shop, BuyerNode, Platform *node.Node
	Owner, Buyer, BridgeUser  *client.Client
	GID                       protocol.GroupID
}

// NewWorld makes a World: an open group "茶馆" of the shop's owner (named
// 店长), the buyer (Bob) and the bridge user with the role bridge.
func NewWorld(t testing.TB, ctx context.Context) *World {
	t.Helper()
	w := &World{}
	w.Shop, w.Owner = StartNode(t)
	w.BuyerNode, _ = StartNode(t)
	w.Platform, _ = StartNode(t)
	for _, n := range []*node.Node{w.BuyerNode, w.Platform} {
		n.Host().Peerstore().AddAddrs(w.Shop.ID().PeerID(), w.Shop.Host().Addrs(), time.Hour)
	}
	w.Buyer = UserOn(t, w.BuyerNode)
	w.BridgeUser = UserOn(t, w.Platform)
	name, open := "茶馆", protocol.PolicyOpen
	gid, _, err := w.Owner.CreateGroup(ctx, w.Shop.ID(), protocol.Settings{Name: &name, Policy: &open})
	if err != nil {
		t.Fatal(err)
	}
	w.GID = gid
	if _, err := w.Owner.SetMyProfile(ctx, api.MyProfile{Name: "店长"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Owner.SetProfile(ctx, gid, protocol.Profile{Name: "店长"}); err != nil {
		t.Fatal(err)
	}
	inv, _, err := w.Owner.CreateInvite(ctx, gid, 0, time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client.Client{w.Buyer, w.BridgeUser} {
		if _, err := c.Join(ctx, inv.Token()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Buyer.SetProfile(ctx, gid, protocol.Profile{Name: "Bob"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Owner.SetRole(ctx, gid, w.BridgeUser.Key().ID(), protocol.RoleBridge); err != nil {
		t.Fatal(err)
	}
	return w
}

// EventAt reads the event with seq, waiting for c's node to have it.
func EventAt(t testing.TB, ctx context.Context, c *client.Client, gid protocol.GroupID, seq uint64) api.EventView {
	t.Helper()
	var ev api.EventView
	WaitUntil(t, 20*time.Second, fmt.Sprintf("event %d on the node", seq), func() bool {
		page, err := c.Events(ctx, gid, seq, 1)
		if err != nil {
			t.Fatalf("event %d: %v", seq, err)
		}
		if len(page.Events) == 0 {
			return false
		}
		ev = page.Events[0]
		return true
	})
	return ev
}

// GroupHead is the group's last seq on c's node.
func GroupHead(t testing.TB, ctx context.Context, c *client.Client, gid protocol.GroupID) uint64 {
	t.Helper()
	v, err := c.Group(ctx, gid)
	if err != nil {
		t.Fatal(err)
	}
	return v.Head
}
