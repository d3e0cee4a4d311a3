package main

import (
	"strings"
	"testing"

	"github.com/qunchat/qun/protocol/api"
)

// People are shown by nick, then name, then short ID; two members with one
// name are told apart by the end of their IDs, also after a live rename.
func TestNames(t *testing.T) {
	const a, b, c = "12D3KooWAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1111", "12D3KooWBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB2222", "12D3KooWCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC3333"
	nm := newNames([]api.MemberView{{User: a, Name: "王小明", Nick: "老王"}, {User: b, Name: "Mei"}, {User: c}})
	if got := nm.of(a); got != "老王" {
		t.Errorf("nick first: %q", got)
	}
	if got := nm.of(b); got != "Mei" {
		t.Errorf("name: %q", got)
	}
	if got := nm.of(c); got != shortID(c) {
		t.Errorf("no profile: %q", got)
	}
	// c renames itself to Mei: both Meis get their ID ends.
	if !nm.learn(api.EventView{Kind: "profile", Author: c, Name: "Mei"}) {
		t.Error("a rename did not count as a change")
	}
	if nm.of(b) == nm.of(c) || !strings.Contains(nm.of(b), "2222") || !strings.Contains(nm.of(c), "3333") {
		t.Errorf("two Meis: %q and %q", nm.of(b), nm.of(c))
	}
	same := newNames([]api.MemberView{{User: b, Name: "Mei"}, {User: c, Name: "Mei"}})
	if same.of(b) == same.of(c) {
		t.Errorf("shared name not told apart: %q", same.of(b))
	}
	line := formatEvent(api.EventView{Seq: 7, Kind: "kick", Author: a, Member: b, Time: 1}, nm)
	if !strings.Contains(line, "老王 removed Mei") {
		t.Errorf("history line: %q", line)
	}
	if got := describeEvent(api.EventView{Kind: "profile", Author: b, Nick: "小美"}, nm); got != ` is now called "小美"` {
		t.Errorf("profile line: %q", got)
	}
}

// A message a bridge relayed shows the person of the other network, and
// moderation of them names them too (since 1.3).
func TestBridgedNames(t *testing.T) {
	const owner, bridge, alice = "12D3KooWAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1111", "12D3KooWBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB2222", "12D3KooWCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC3333"
	nm := newNames([]api.MemberView{{User: owner, Name: "店长"}, {User: bridge, Name: "IRC bridge"}},
		api.BridgedPersonView{BridgedView: api.BridgedView{ID: alice, Network: "irc", User: "alice", Name: "Alice"}, Bridge: bridge, First: 3})
	line := formatEvent(api.EventView{Seq: 3, Kind: "message", Author: bridge, Text: "hi from IRC", Time: 1,
		Bridged: &api.BridgedView{ID: alice, Network: "irc", User: "alice", Name: "Alice"}}, nm)
	if !strings.Contains(line, "Alice (irc): hi from IRC") {
		t.Errorf("relayed message: %q", line)
	}
	noName := formatEvent(api.EventView{Seq: 4, Kind: "message", Author: bridge, Text: "hi", Time: 1,
		Bridged: &api.BridgedView{ID: "x", Network: "matrix", User: "@bob:example.org"}}, nm)
	if !strings.Contains(noName, "@bob:example.org (matrix): hi") {
		t.Errorf("relayed message without a name: %q", noName)
	}
	if line := formatEvent(api.EventView{Seq: 5, Kind: "ban", Author: owner, Member: alice, Time: 1}, nm); !strings.Contains(line, "店长") || !strings.Contains(line, "Alice (irc)") {
		t.Errorf("ban of a bridged person: %q", line)
	}
}
