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

// ScanMeta returns every group scope's values of the asked keys in one
// pass, skipping NodeScope, with nil for absent keys.
func TestScanMeta(t *testing.T) {
	s := openT(t, t.TempDir())
	defer s.Close()
	for i, g := range []GroupID{gid(2), gid(1), gid(3)} {
		if err := s.SetMeta(g, "host", []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, kv := range []struct {
		g   GroupID
		key string
	}{{gid(1), "indexed"}, {gid(1), "hos"}, {gid(1), "hostx"}, {NodeScope, "host"}} {
		if err := s.SetMeta(kv.g, kv.key, []byte{}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ScanMeta("host", "indexed")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Group != gid(1) || got[1].Group != gid(2) || got[2].Group != gid(3) {
		t.Fatalf("groups %v", got)
	}
	if string(got[0].Vals[0]) != "\x01" || got[0].Vals[1] == nil || got[1].Vals[1] != nil || string(got[2].Vals[0]) != "\x02" {
		t.Fatalf("values %q %q %q", got[0].Vals, got[1].Vals, got[2].Vals)
	}
}
