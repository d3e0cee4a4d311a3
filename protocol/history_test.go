package protocol

import (
	"bytes"
	"reflect"
	"testing"
)

// TestHistorySettingWire: settings field 8 (since 1.2) round-trips in a
// create (after the host, field 7) and in an update, alone or not; values
// other than 1 and 2 are refused.
func TestHistorySettingWire(t *testing.T) {
	name, join := "群", HistoryFromJoin
	create := &CreateBody{Settings: Settings{Name: &name, History: &join}, Host: kHost.ID()}
	enc := create.Encode()
	if i, j := bytes.Index(enc, []byte{0x3a, 0x20}), bytes.Index(enc, []byte{0x40, 0x02}); i < 0 || j < i {
		t.Fatalf("create body %x: field 8 must follow field 7", enc)
	}
	got, err := DecodeBody(KindCreate, enc)
	if err != nil {
		t.Fatal(err)
	}
	if h := got.(*CreateBody).History; h == nil || *h != HistoryFromJoin {
		t.Fatalf("decoded history %v", h)
	}
	up := &UpdateBody{Settings{History: ptr(HistoryAll)}}
	got, err = DecodeBody(KindUpdate, up.Encode())
	if err != nil {
		t.Fatalf("an update of the history alone: %v", err)
	}
	if h := got.(*UpdateBody).History; h == nil || *h != HistoryAll {
		t.Fatalf("decoded history %v", h)
	}
	for _, v := range []byte{3, 0x7f} {
		if _, err := DecodeBody(KindUpdate, []byte{0x40, v}); codeOf(err) != "invalid" {
			t.Errorf("history %d: %v, want invalid", v, err)
		}
	}
	if HistoryFromJoin.String() != "join" || HistoryAll.String() != "all" || History(0).String() != "all" {
		t.Error("history names")
	}
}

// TestReadFrom: who reads from where, and which nodes may hold what.
func TestReadFrom(t *testing.T) {
	h := newGroup(t) // history all: everyone reads everything
	if f := h.st.ReadFrom(kMember.ID()); f != 1 {
		t.Fatalf("a member admitted under 'all' reads from %d", f)
	}
	h.must(kOwner, &UpdateBody{Settings{History: ptr(HistoryFromJoin)}})
	if f := h.st.ReadFrom(kMember.ID()); f != 1 {
		t.Fatalf("the switch changed an earlier member's read-from to %d", f)
	}
	other := testKey(0xc0).ID()
	h.via = other
	j := h.must(kNew, NewJoinBody(KindJoin, nil, "")).Seq
	if f := h.st.ReadFrom(kNew.ID()); f != j {
		t.Fatalf("a member admitted under 'join' at %d reads from %d", j, f)
	}
	if f, ok := h.st.NodeFrom(other); !ok || f != j {
		t.Fatalf("NodeFrom(her node) = %d %v, want %d", f, ok, j)
	}
	if f, ok := h.st.NodeFrom(kHome.ID()); !ok || f != 1 {
		t.Fatalf("NodeFrom(the others' node) = %d %v, want 1", f, ok)
	}
	if f, ok := h.st.NodeFrom(kHost.ID()); !ok || f != 1 {
		t.Fatalf("NodeFrom(host) = %d %v", f, ok)
	}
	if _, ok := h.st.NodeFrom(testKey(0xc1).ID()); ok {
		t.Fatal("a node of nobody may hold the group")
	}
	// A second member on her node who reads everything lowers its bound.
	h.must(kNew, &LeaveBody{})
	if _, ok := h.st.NodeFrom(other); ok {
		t.Fatal("her node may hold the group after she left")
	}
	j2 := h.must(kNew, NewJoinBody(KindJoin, nil, "")).Seq
	if f := h.st.ReadFrom(kNew.ID()); f != j2 {
		t.Fatalf("after rejoining at %d she reads from %d", j2, f)
	}
	// Approval admits with the approval's seq.
	h.setPolicy(PolicyApproval)
	h.must(kNew2, NewJoinBody(KindJoinRequest, nil, "please"))
	h.via = kHome.ID()
	ap := h.must(kAdmin, NewMemberBody(KindApprove, kNew2.ID(), "")).Seq
	if f := h.st.ReadFrom(kNew2.ID()); f != ap {
		t.Fatalf("a member approved at %d reads from %d", ap, f)
	}
	// Back to 'all': later admissions read everything, earlier keep theirs.
	h.must(kOwner, &UpdateBody{Settings{History: ptr(HistoryAll)}})
	if f := h.st.ReadFrom(kNew.ID()); f != j2 {
		t.Fatalf("switching back changed her read-from to %d", f)
	}
	// A public group is readable whole.
	h.must(kOwner, &UpdateBody{Settings{Public: ptr(true)}})
	if f, ok := h.st.NodeFrom(other); f != 1 || !ok || h.st.ReadFrom(kNew.ID()) != 1 {
		t.Fatal("a public group keeps read-from bounds")
	}
}

// TestBaseTakesOlderTargetsOnTrust: a replica started from the state at B
// (a checkpoint) holds no event up to B; a later recall, edit, reaction or
// pin of such a message applies on the host's word and the replica ends in
// the host's state. Without Base the same replica refuses the recall: it
// cannot look the message up.
func TestBaseTakesOlderTargetsOnTrust(t *testing.T) {
	h := newGroup(t)
	old := h.must(kMember, msg("before the checkpoint")).Seq
	oldAdmin := h.msgAdmin
	base := h.st.Head
	replica := normalized(t, h.st)
	replica.Base = base
	blind := func(seq uint64) (EventInfo, bool) { // the replica's store: nothing up to base
		if seq <= base {
			return EventInfo{}, false
		}
		return h.look(seq)
	}
	noBase := normalized(t, h.st)

	evs := []*SignedEvent{
		h.must(kMember, &EditBody{Target: old, Text: "edited after"}),
		h.must(kMember2, &ReactionBody{Target: old, Emoji: "👍"}),
		h.must(kOwner, NewTargetBody(KindPin, oldAdmin)),
		h.must(kOwner, NewTargetBody(KindRecall, old)),
	}
	for _, ev := range evs {
		if err := replica.Apply(ev, blind); err != nil {
			t.Fatalf("the replica refused %s of an event before its base: %v", ev.Sub.Kind, err)
		}
	}
	replica.Base = 0
	if want := normalized(t, h.st); !reflect.DeepEqual(normalized(t, replica), want) {
		t.Fatalf("the replica's state differs from the host's:\n%+v\n%+v", replica, want)
	}
	if err := noBase.Apply(evs[0], blind); err == nil {
		t.Fatal("without a base the blind replica accepted an edit it cannot check: the test proves nothing")
	}
	// Targets after the base are still checked.
	mine := h.must(kMember, msg("after the checkpoint")).Seq
	r3 := normalized(t, h.st)
	r3.Base = base
	if err := r3.Apply(h.event(kMember2, &EditBody{Target: mine, Text: "not yours"}), h.look); codeOf(err) != "forbidden" {
		t.Fatalf("an edit of another's message after the base: %v, want forbidden", err)
	}
}
