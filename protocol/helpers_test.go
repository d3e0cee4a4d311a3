package protocol

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"

	"github.com/multiformats/go-multiaddr"
)

// t0 is the host clock at the start of every test group (2023-11-14 22:13:20 UTC).
const t0 uint64 = 1_700_000_000_000

// testKey returns the key of the ed25519 seed made of 32 bytes n.
func testKey(n byte) *Key {
	return keyFromEd25519(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{n}, ed25519.SeedSize)))
}

// The cast of every test group.
var (
	kHost    = testKey(0xa0) // the host node
	kHome    = testKey(0xb0) // the home node that forwards every submission
	kOwner   = testKey(1)
	kAdmin   = testKey(2)
	kAdmin2  = testKey(3)
	kMember  = testKey(4)
	kMember2 = testKey(5)
	kBridge  = testKey(6)
	kOut     = testKey(7) // never joined
	kBanned  = testKey(8) // joined, then banned by the owner
	kNew     = testKey(9) // never joined, used for joins
	kNew2    = testKey(10)
)

func mustMultiaddr(t testing.TB, s string) []byte {
	t.Helper()
	m, err := multiaddr.NewMultiaddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return m.Bytes()
}

// harness folds events of one group built with real keys.
type harness struct {
	t      testing.TB
	host   *Key
	via    UserID
	st     *State
	events map[uint64]*SignedEvent
	now    uint64 // host clock, unix ms
	nonce  uint64

	// seqs of messages posted while building the base group
	msgOwner, msgAdmin, msgAdmin2, msgMember, msgMember2, msgBridge uint64
	last                                                            uint64 // set by some preps
}

func newHarness(t testing.TB) *harness {
	return &harness{t: t, host: kHost, via: kHome.ID(), st: NewState(), events: map[uint64]*SignedEvent{}, now: t0}
}

// look is the Lookup of the events applied so far; Time is the host time.
func (h *harness) look(seq uint64) (EventInfo, bool) {
	ev, ok := h.events[seq]
	if !ok {
		return EventInfo{}, false
	}
	return InfoOf(ev), true
}

func (h *harness) nextNonce() []byte {
	h.nonce++
	return binary.BigEndian.AppendUint64(nil, h.nonce)
}

// sub signs a submission of body by k at client time at.
func (h *harness) subAt(k *Key, b Body, at uint64) *SignedSubmission {
	h.t.Helper()
	s := Submission{Kind: b.Kind(), Author: k.ID(), Time: at, Nonce: h.nextNonce(), Body: b.Encode()}
	if b.Kind() != KindCreate {
		s.Group = h.st.Group
	}
	ss, err := s.Sign(k)
	if err != nil {
		h.t.Fatalf("signing %s: %v", b.Kind(), err)
	}
	return ss
}

func (h *harness) sub(k *Key, b Body) *SignedSubmission { return h.subAt(k, b, h.now) }

// wrap makes the host event that continues the chain with sub; mod may
// change the event before the host signs it.
func (h *harness) wrap(sub *SignedSubmission, mod func(*Event)) *SignedEvent {
	h.t.Helper()
	e := Event{Group: sub.GroupID(), Seq: h.st.Head + 1, Prev: h.st.HeadID, Time: h.now, Via: h.via, Submission: sub.Raw}
	if mod != nil {
		mod(&e)
	}
	ev, err := e.Sign(h.host)
	if err != nil {
		h.t.Fatalf("signing event: %v", err)
	}
	if err := ev.VerifyAll(h.host.ID()); err != nil {
		h.t.Fatalf("event does not verify: %v", err)
	}
	return ev
}

func (h *harness) event(k *Key, b Body) *SignedEvent { return h.wrap(h.sub(k, b), nil) }

// normalized returns a deep copy of s (through the snapshot codec) for comparisons.
func normalized(t testing.TB, s *State) *State {
	t.Helper()
	b, err := s.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	c, err := UnmarshalSnapshot(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// apply applies ev; a refused event must leave the state unchanged.
func (h *harness) apply(ev *SignedEvent) error {
	h.t.Helper()
	before := normalized(h.t, h.st)
	err := h.st.Apply(ev, h.look)
	if err != nil {
		if after := normalized(h.t, h.st); !reflect.DeepEqual(before, after) {
			h.t.Errorf("refused event %d (%s) changed the state:\nbefore %+v\nafter  %+v", ev.Seq, ev.Sub.Kind, before, after)
		}
		return err
	}
	h.events[ev.Seq] = ev
	return nil
}

// must applies body by k and fails the test if it is refused; the host
// clock then moves one second on.
func (h *harness) must(k *Key, b Body) *SignedEvent {
	h.t.Helper()
	ev := h.event(k, b)
	if err := h.apply(ev); err != nil {
		h.t.Fatalf("%s by %s refused: %v", b.Kind(), k.ID().Short(), err)
	}
	h.now += 1000
	return ev
}

func msg(text string) *MessageBody { return &MessageBody{Text: text} }

func ptr[T any](v T) *T { return &v }

func createBody(name string, pol Policy) *CreateBody {
	return &CreateBody{Settings: Settings{Name: &name, Policy: &pol}, Host: kHost.ID()}
}

// newGroup builds the base group: an open group whose owner appointed two
// admins and a bridge, banned one user, and in which everyone posted once.
func newGroup(t testing.TB) *harness {
	t.Helper()
	h := newHarness(t)
	h.must(kOwner, createBody("Tea shop", PolicyOpen))
	for _, k := range []*Key{kAdmin, kAdmin2, kMember, kMember2, kBridge, kBanned} {
		h.must(k, NewJoinBody(KindJoin, nil, ""))
	}
	h.must(kOwner, &RoleBody{Member: kAdmin.ID(), Role: RoleAdmin})
	h.must(kOwner, &RoleBody{Member: kAdmin2.ID(), Role: RoleAdmin})
	h.must(kOwner, &RoleBody{Member: kBridge.ID(), Role: RoleBridge})
	h.must(kOwner, NewMemberBody(KindBan, kBanned.ID(), "spam"))
	h.msgOwner = h.must(kOwner, msg("welcome")).Seq
	h.msgAdmin = h.must(kAdmin, msg("hello from an admin")).Seq
	h.msgAdmin2 = h.must(kAdmin2, msg("hello from admin 2")).Seq
	h.msgMember = h.must(kMember, msg("hi")).Seq
	h.msgMember2 = h.must(kMember2, msg("hi too")).Seq
	h.msgBridge = h.must(kBridge, msg("relayed")).Seq
	return h
}

func (h *harness) setPolicy(p Policy) { h.must(kOwner, &UpdateBody{Settings{Policy: &p}}) }

// invite signs an invite of the group by k; mod may change it first.
func (h *harness) invite(k *Key, mod func(*Invite)) *SignedInvite {
	h.t.Helper()
	inv := Invite{
		Group: h.st.Group, Host: h.host.ID(), Inviter: k.ID(),
		Addrs: [][]byte{mustMultiaddr(h.t, "/ip4/127.0.0.1/tcp/4001")},
		Nonce: h.nextNonce(),
	}
	if mod != nil {
		mod(&inv)
	}
	si, err := inv.Sign(k)
	if err != nil {
		h.t.Fatalf("signing invite: %v", err)
	}
	return si
}

// register signs an invite by k and registers it with the group.
func (h *harness) register(k *Key, mod func(*Invite)) *SignedInvite {
	h.t.Helper()
	inv := h.invite(k, mod)
	h.must(k, &InviteCreateBody{Token: inv.Raw})
	return inv
}

func (h *harness) member(k *Key) *Member { return h.st.Members[k.ID()] }

// refuse applies body by k and checks that it is refused with want.
func (h *harness) refuse(k *Key, b Body, want *Error) {
	h.t.Helper()
	err := h.apply(h.event(k, b))
	if !errors.Is(err, want) {
		h.t.Errorf("%s by %s: got %v (%s), want %s", b.Kind(), k.ID().Short(), err, codeOf(err), want.Code)
	}
}

// codeOf names the code of err for messages ("accepted" for nil).
func codeOf(err error) string {
	if err == nil {
		return "accepted"
	}
	return AsError(err).Code.String()
}
