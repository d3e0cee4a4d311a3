package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
)

// TestChatRemovedTmux: a member kicked while `qun chat` runs sees one line,
// "you were removed from this group", and nothing sent after the kick.
func TestChatRemovedTmux(t *testing.T) {
	sc := newChatScene(t, "Tea shop")
	a, shop, gid, bobKey := sc.a, sc.shop, sc.gid, sc.bobKey
	ctx := context.Background()
	cmd := fmt.Sprintf("%s chat %s --api %s --key %s; echo chat exited $?; sleep 60", binary(t), gid, a.api, bobKey)
	p := startTmux(t, 80, 24, cmd)
	p.waitText("you joined")
	if _, err := shop.Send(ctx, gid, protocol.MessageBody{Text: "before the kick"}); err != nil {
		t.Fatal(err)
	}
	p.waitText("before the kick")
	if _, err := shop.Kick(ctx, gid, sc.bobID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := shop.Send(ctx, gid, protocol.MessageBody{Text: "secret after the kick"}); err != nil {
		t.Fatal(err)
	}
	s := p.waitText("you were removed from this group")
	// A moment for anything that would (wrongly) follow to arrive.
	if _, err := shop.Send(ctx, gid, protocol.MessageBody{Text: "second secret"}); err != nil {
		t.Fatal(err)
	}
	// An observation window: nothing may follow the removal within 1 s.
	wctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	waitFor(t, ctx, "the observation window to pass", func() bool {
		s = p.screen()
		if strings.Contains(s, "secret") {
			t.Fatalf("an event after the kick reached the chat:\n%s", s)
		}
		return wctx.Err() != nil
	})
	if n := strings.Count(s, "you were removed from this group"); n != 1 {
		t.Fatalf("the removal is shown %d times:\n%s", n, s)
	}
	p.keys("/quit", true)
	p.waitText("chat exited 0")
}
