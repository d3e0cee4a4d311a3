package bridge

import (
	"crypto/sha256"
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
	if err := s.SetCursor(gid, "irc.libera:#tea", 42); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCursor(gid, "irc.libera:#tea", 40); err != nil { // a late, older ack
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
	if c, ok, err := s.Cursor(gid, "irc.libera:#tea"); err != nil || !ok || c != 42 {
		t.Fatalf("cursor %d %v %v, want 42 (it never goes back)", c, ok, err)
	}
	if _, ok, _ := s.Cursor(gid, "matrix.hs:!room:example.org"); ok {
		t.Fatal("a cursor for a group never relayed")
	}
	if tok, ok, err := s.Token("matrix.hs"); err != nil || !ok || tok != "s72594_4483_1934" {
		t.Fatalf("token %q %v %v", tok, ok, err)
	}
}

// TestStorePending: a pending submission is found by its remote message
// and by its submission's ID, survives a reopen, and Settle turns it into
// the link in one write; Drop ends it without one.
func TestStorePending(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	gid := protocol.GroupID{7}
	a := Pending{Remote: Remote{Connector: "irc.libera", Channel: "#tea", ID: "irc-1"}, Group: gid, Raw: []byte("signed bytes a")}
	b := Pending{Remote: Remote{Connector: "irc.libera", Channel: "#tea", ID: "irc-2"}, Group: gid, Raw: []byte("signed bytes b")}
	for _, p := range []Pending{a, b} {
		if err := s.Pend(p); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	if s, err = OpenStore(dir, nil); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ps, err := s.Pendings()
	if err != nil || len(ps) != 2 || ps[0].Remote != a.Remote || string(ps[0].Raw) != "signed bytes a" || ps[0].Group != gid {
		t.Fatalf("pendings after a reopen: %+v %v", ps, err)
	}
	subA := protocol.SubmissionID(sha256.Sum256(a.Raw))
	if r, ok, err := s.PendingSource(subA); err != nil || !ok || r != a.Remote {
		t.Fatalf("source of a: %+v %v %v", r, ok, err)
	}
	if ok, _ := s.IsPending(a.Remote); !ok {
		t.Fatal("a is not pending")
	}
	ev := EventRef{Group: gid, Seq: 9}
	if err := s.Settle(a, ev); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.IsPending(a.Remote); ok {
		t.Fatal("a is still pending after Settle")
	}
	if _, ok, _ := s.PendingSource(subA); ok {
		t.Fatal("a's submission is still pending after Settle")
	}
	if got, ok, _ := s.EventOf(a.Remote); !ok || got != ev {
		t.Fatalf("a settled as %+v %v", got, ok)
	}
	if id, ok, _ := s.RemoteIn(ev, "irc.libera", "#tea"); !ok || id != "irc-1" {
		t.Fatalf("the copy in #tea: %q %v", id, ok)
	}
	if _, ok, _ := s.RemoteIn(ev, "irc.libera", "#other"); ok {
		t.Fatal("a copy in a channel it never went to")
	}
	if err := s.Drop(b); err != nil {
		t.Fatal(err)
	}
	if ps, _ := s.Pendings(); len(ps) != 0 {
		t.Fatalf("pendings left: %+v", ps)
	}
	if _, ok, _ := s.EventOf(b.Remote); ok {
		t.Fatal("a dropped submission left a link")
	}
}
