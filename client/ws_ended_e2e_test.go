package client_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
)

// TestWSKickedSubscriptionEnds: a member kicked while subscribed gets the
// kick as its last event, then an *EndedError on Errors; the Subscription
// does not subscribe to the group again, even across reconnects, and
// nothing sequenced after the kick arrives.
func TestWSKickedSubscriptionEnds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, shop := startNode(t)
	host, err := protocol.ParseUserID(n.NodeInfo().PeerID)
	if err != nil {
		t.Fatal(err)
	}
	name := "Tea shop"
	gid, _, err := shop.CreateGroup(ctx, host, protocol.Settings{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	inv, _, err := shop.CreateInvite(ctx, gid, 1, time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, strings.TrimPrefix(n.APIURL(), "http://"))
	key, _ := protocol.NewKey()
	member, err := client.New(proxy.URL(), key)
	if err != nil {
		t.Fatal(err)
	}
	joined, err := member.Join(ctx, inv.Token())
	if err != nil {
		t.Fatal(err)
	}
	sub, err := member.Subscribe(ctx, map[protocol.GroupID]uint64{gid: 1},
		client.WithBackoff(20*time.Millisecond, 100*time.Millisecond), client.WithPingInterval(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for seq := uint64(0); seq < joined.Seq; { // subscribed: the catch-up arrives
		select {
		case ev := <-sub.Events():
			seq = ev.Seq
		case <-ctx.Done():
			t.Fatal("no catch-up")
		}
	}
	kick, err := shop.Kick(ctx, gid, key.ID(), "")
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := shop.Send(ctx, gid, protocol.MessageBody{Text: "after the kick"}); err != nil {
			t.Fatal(err)
		}
	}
	var last uint64
	var ended *client.EndedError
	deadline := time.After(20 * time.Second)
	for ended == nil {
		select {
		case ev := <-sub.Events():
			last = ev.Seq
		case err := <-sub.Errors():
			if !errors.As(err, &ended) {
				t.Fatalf("error before the end: %v", err)
			}
		case <-deadline:
			t.Fatalf("no end; last event %d", last)
		}
	}
	// Events delivered before the end are in the channel already.
	for drained := false; !drained; {
		select {
		case ev := <-sub.Events():
			last = ev.Seq
		default:
			drained = true
		}
	}
	if ended.Group != gid || !errors.Is(ended, protocol.ErrNotMember) || !strings.Contains(ended.Error(), "removed") {
		t.Fatalf("end: %v", ended)
	}
	if last != kick.Seq {
		t.Fatalf("last event %d, want the kick %d", last, kick.Seq)
	}
	if _, ok := sub.Last(gid); ok {
		t.Fatal("the ended group is still subscribed")
	}
	// A reconnect does not subscribe to the group again: no refusal follows.
	proxy.setCut(true)
	waitUntil(t, 10*time.Second, "the cut to be noticed", func() bool { return !sub.Connected() })
	proxy.setCut(false)
	waitUntil(t, 10*time.Second, "a reconnect", sub.Connected)
	if _, err := shop.Send(ctx, gid, protocol.MessageBody{Text: "later"}); err != nil {
		t.Fatal(err)
	}
	quiet := time.After(500 * time.Millisecond)
	for {
		select {
		case ev := <-sub.Events():
			t.Fatalf("event %d after the end", ev.Seq)
		case err := <-sub.Errors():
			var ge *client.GroupError
			if errors.As(err, &ge) || errors.As(err, &ended) {
				t.Fatalf("the group was subscribed again: %v", err)
			}
		case <-quiet:
			return
		}
	}
}
