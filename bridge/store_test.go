package bridge

import (
	"slices"
	"strings"
	"testing"

	"github.com/qunchat/qun/protocol"
)

// TestStore: the mapping both ways, cursors and tokens survive a reopen;
// a cursor never goes back; malformed names are refused, nothing stored.
func TestStore(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	gid := protocol.GroupID{1, 2, 3}
	ev := EventRef{Group: gid, Seq: 42}
	irc := Remote{Connector: "irc.libera", Channel: "#tea", ID: "irc-7"}
	mx := Remote{Connector: "matrix.hs", Channel: "!room:example.org", ID: "$ev:example.org"}
	// Parts that would run together without their lengths.
	tricky := Remote{Connector: "irc.libera", Channel: "#te", ID: "airc-7"}
	for _, r := range []Remote{irc, mx} {
		if err := s.Link(r, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Link(tricky, EventRef{Group: gid, Seq: 43}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCursor(gid, 42); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCursor(gid, 40); err != nil { // a late, older ack
		t.Fatal(err)
	}
	if err := s.SetToken("matrix.hs", "s72594_4483_1934"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Remote{{Channel: "#tea", ID: "1"}, {Connector: "irc.x", ID: "1"}, {Connector: "irc.x", Channel: "#a"},
		{Connector: "irc.x", Channel: "#a", ID: strings.Repeat("x", maxRemotePart+1)}, {Connector: "irc.x", Channel: "#a", ID: "\xff"}} {
		if err := s.Link(bad, ev); err == nil {
			t.Errorf("linked %+v", bad)
		}
	}
	if err := s.Link(irc, EventRef{Group: gid}); err == nil {
		t.Error("linked to seq 0")
	}
	s.Close()

	s, err = OpenStore(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, r := range []Remote{irc, mx} {
		if got, ok, err := s.EventOf(r); err != nil || !ok || got != ev {
			t.Fatalf("event of %+v after a reopen: %+v %v %v", r, got, ok, err)
		}
	}
	if got, ok, _ := s.EventOf(tricky); !ok || got.Seq != 43 {
		t.Fatalf("the tricky remote maps to %+v", got)
	}
	if _, ok, err := s.EventOf(Remote{Connector: "irc.libera", Channel: "#tea", ID: "unknown"}); ok || err != nil {
		t.Fatalf("an unknown remote: %v %v", ok, err)
	}
	rs, err := s.RemotesOf(ev)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(rs, func(a, b Remote) int { return strings.Compare(a.Connector, b.Connector) })
	if !slices.Equal(rs, []Remote{irc, mx}) {
		t.Fatalf("remotes of the event: %+v", rs)
	}
	if c, ok, err := s.Cursor(gid); err != nil || !ok || c != 42 {
		t.Fatalf("cursor %d %v %v, want 42 (it never goes back)", c, ok, err)
	}
	if _, ok, _ := s.Cursor(protocol.GroupID{9}); ok {
		t.Fatal("a cursor for a group never relayed")
	}
	if tok, ok, err := s.Token("matrix.hs"); err != nil || !ok || tok != "s72594_4483_1934" {
		t.Fatalf("token %q %v %v", tok, ok, err)
	}
}
