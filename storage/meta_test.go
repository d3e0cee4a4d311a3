package storage

import (
	"errors"
	"slices"
	"testing"
)

// Meta keys written by a batch commit with its events, survive a reopen,
// are listed by prefix under their own scope, and a nil value deletes.
// A batch whose meta key is invalid stores nothing, events included.
func TestBatchMeta(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	g := gid(1)
	mustCommit(t, s, Batch{Group: g, Events: evs(g, 1, 2, 10), Meta: []MetaWrite{
		{Scope: NodeScope, Key: "member/a/1", Val: []byte{}},
		{Scope: NodeScope, Key: "member/a/2", Val: []byte("x")},
		{Scope: NodeScope, Key: "member/b/1", Val: []byte{}},
		{Scope: g, Key: "member/a/9", Val: []byte{}},
	}})
	err := s.Commit(Batch{Group: g, Events: evs(g, 3, 3, 10), Meta: []MetaWrite{{Scope: NodeScope, Key: ""}}})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty meta key: %v, want ErrInvalid", err)
	}
	wantHead(t, s, g, 2)
	mustCommit(t, s, Batch{Group: g, Events: evs(g, 3, 3, 10), Meta: []MetaWrite{{Scope: NodeScope, Key: "member/a/1"}}})
	s.Close()

	s = openT(t, dir)
	defer s.Close()
	wantHead(t, s, g, 3)
	keys, err := s.MetaKeys(NodeScope, "member/a/")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"member/a/2"}; !slices.Equal(keys, want) {
		t.Fatalf("keys %q, want %q", keys, want)
	}
	if v, ok, _ := s.Meta(NodeScope, "member/a/2"); !ok || string(v) != "x" {
		t.Fatalf("value %q %v", v, ok)
	}
	all, _ := s.MetaKeys(NodeScope, "member/")
	if len(all) != 2 {
		t.Fatalf("all keys %q", all)
	}
	gs, _ := s.Groups()
	if !slices.Equal(gs, []GroupID{g}) {
		t.Fatalf("groups %v: NodeScope must not be listed", gs)
	}
}
