package protocol

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// Users of the checkpoint scenario besides the cast of newGroup.
var (
	kReq1 = testKey(20) // asks to join; approved after the middle
	kReq2 = testKey(21) // asks to join; rejected after the middle
	kReq3 = testKey(22) // asks to join; approved before the middle
)

// cpGroup is a group whose log leaves every part of the state filled: the
// state at mid holds at least two entries of each map.
type cpGroup struct {
	*harness
	mid     uint64          // a seq whose state has every map filled
	invites []*SignedInvite // registered invites A–F
	priced  uint64          // a message of the owner, edited twice
}

// newCPGroup builds the checkpoint scenario from real signed events.
func newCPGroup(t testing.TB) *cpGroup {
	t.Helper()
	h := newGroup(t)
	g := &cpGroup{harness: h}
	// Profiles, with and without avatars (with and without a size in pixels).
	h.must(kMember, NewProfileBody(testProfile))
	h.must(kAdmin, NewProfileBody(Profile{Nick: "店长"}))
	h.must(kOwner, NewProfileBody(Profile{Name: "Owner", Avatar: &BlobRef{Hash: sha256.Sum256([]byte("o")), MIME: "image/png", Size: 900}}))
	h.must(kMember, NewTargetBody(KindRecall, h.msgMember))
	h.must(kAdmin, NewTargetBody(KindRecall, h.msgBridge))
	h.must(kOwner, &UpdateBody{Settings{History: ptr(HistoryFromJoin), Description: ptr("green tea, oolong"),
		Avatar: ptr("https://shop.example/logo.png"), Public: ptr(true), Cap: ptr(uint32(50))}})
	h.must(kOwner, &AnnounceBody{Text: "公告: sale on Friday"})
	for _, seq := range []uint64{h.msgOwner, h.msgAdmin, h.msgAdmin2} {
		h.must(kAdmin, NewTargetBody(KindPin, seq))
	}
	h.must(kAdmin, NewTargetBody(KindUnpin, h.msgAdmin))
	// Invites: A open with uses, B open for good, C used up, D and F
	// revoked (D expires later), E open until it expires.
	a := h.register(kOwner, func(i *Invite) { i.Expires, i.MaxUses, i.Ref = h.now+3_600_000, 3, "order-1" })
	h.must(kNew, joinWith(a))
	b := h.register(kAdmin, nil)
	c := h.register(kOwner, func(i *Invite) { i.MaxUses = 1 })
	h.must(kNew2, joinWith(c))
	d := h.register(kOwner, func(i *Invite) { i.Expires = h.now + 40_000 })
	h.must(kAdmin, &InviteRevokeBody{Invite: d.ID})
	e := h.register(kOwner, func(i *Invite) { i.Expires = h.now + 50_000 })
	f := h.register(kOwner, nil)
	h.must(kOwner, &InviteRevokeBody{Invite: f.ID})
	g.invites = []*SignedInvite{a, b, c, d, e, f}
	h.setPolicy(PolicyApproval)
	h.must(kReq1, NewJoinBody(KindJoinRequest, nil, "order 7"))
	h.must(kReq2, NewJoinBody(KindJoinRequest, nil, ""))
	h.must(kReq3, NewJoinBody(KindJoinRequest, nil, "please"))
	h.must(kAdmin, NewMemberBody(KindApprove, kReq3.ID(), ""))
	h.must(kOwner, NewMemberBody(KindBan, kOut.ID(), "spam"))
	h.must(kAdmin, &EditBody{Target: h.msgAdmin, Text: "hello from an admin (edited)"})
	g.priced = h.must(kOwner, msg("price list")).Seq
	h.must(kOwner, &EditBody{Target: g.priced, Text: "price list v2"})
	h.must(kOwner, &EditBody{Target: g.priced, Text: "price list v3"})
	// People of other networks, relayed by the bridge (since 1.3): one
	// muted, one removed, one banned.
	alice := &Bridged{Network: "irc", User: "alice", Name: "Alice"}
	bob := &Bridged{Network: "matrix", User: "@bob:example.org"}
	carol := &Bridged{Network: "xmpp", User: "carol@example.org/phone", Name: "Carol"}
	for _, p := range []*Bridged{alice, bob, carol} {
		h.must(kBridge, &MessageBody{Text: "hi from " + p.Network, Bridged: p})
	}
	h.must(kAdmin, &MuteBody{Member: alice.ID(kBridge.ID()), Until: h.now + 600_000})
	h.must(kAdmin, NewMemberBody(KindKick, bob.ID(kBridge.ID()), ""))
	h.must(kOwner, NewMemberBody(KindBan, carol.ID(kBridge.ID()), "spam"))
	// Mutes: until a time, for good, then kept by those who leave.
	h.must(kAdmin, &MuteBody{Member: kMember.ID(), Until: h.now + 600_000})
	h.must(kOwner, &MuteBody{Member: kMember2.ID()})
	h.must(kAdmin, &MuteBody{Member: kBridge.ID(), Until: h.now + 3_600_000})
	h.must(kMember2, &LeaveBody{})
	h.must(kAdmin, NewMemberBody(KindKick, kBridge.ID(), ""))
	h.must(kOwner, &MuteBody{Until: h.now + 30_000})
	h.must(kOwner, roleBody(kAdmin, RoleOwner))
	g.mid = h.st.Head

	// After the middle: expiries pass, mutes return and end, requests
	// close, ownership moves on.
	h.now += 60_000
	h.must(kAdmin2, msg("a minute later"))
	h.must(kMember2, joinWith(b))
	h.must(kAdmin, NewMemberBody(KindUnmute, kMember2.ID(), ""))
	h.must(kAdmin2, NewMemberBody(KindApprove, kReq1.ID(), ""))
	h.must(kAdmin2, NewMemberBody(KindReject, kReq2.ID(), ""))
	h.must(kAdmin2, NewMemberBody(KindApprove, bob.ID(kBridge.ID()), ""))
	h.must(kAdmin2, NewMemberBody(KindUnmute, alice.ID(kBridge.ID()), ""))
	h.must(kOwner, NewMemberBody(KindUnban, kBanned.ID(), ""))
	h.must(kAdmin2, NewTargetBody(KindUnpin, h.msgOwner))
	later := h.must(kReq3, msg("new here")).Seq
	h.must(kAdmin2, NewTargetBody(KindPin, later))
	h.must(kAdmin, NewTargetBody(KindRecall, h.msgAdmin2))
	h.must(kNew, &LeaveBody{})
	h.must(kNew, joinWith(a))
	h.must(kAdmin, &UpdateBody{Settings{Public: ptr(false), History: ptr(HistoryAll)}})
	h.must(kNew2, NewProfileBody(Profile{Bio: "regular"}))
	h.must(kAdmin2, roleBody(kNew, RoleBridge))
	h.must(kOwner, &EditBody{Target: g.priced, Text: "price list v4"})
	h.must(kReq3, &ReactionBody{Target: later, Emoji: "🍵"})
	h.must(kOwner, NewMemberBody(KindUnmute, kMember.ID(), ""))
	h.must(kAdmin, &MuteBody{})
	h.must(kReq1, NewProfileBody(Profile{Name: "Req", Avatar: testProfile.Avatar}))
	return g
}

// stateAt folds the events 1..seq of the scenario into a new state.
func (g *cpGroup) stateAt(t testing.TB, seq uint64) *State {
	t.Helper()
	s := NewState()
	for i := uint64(1); i <= seq; i++ {
		if err := s.Apply(g.events[i], g.look); err != nil {
			t.Fatalf("replaying event %d: %v", i, err)
		}
	}
	return s
}

// sameState reports whether a and b are the same state: reflect.DeepEqual
// but for Pins, which unpinning the last pin leaves empty but not nil (no
// rule sees the difference; the gob snapshot loses it too).
func sameState(a, b *State) bool {
	a2, b2 := *a, *b
	for _, s := range []*State{&a2, &b2} {
		if len(s.Pins) == 0 {
			s.Pins = nil
		}
	}
	return reflect.DeepEqual(&a2, &b2)
}

func mustDecodeCheckpoint(t testing.TB, raw []byte) *SignedCheckpoint {
	t.Helper()
	c, err := DecodeCheckpoint(raw)
	if err != nil {
		t.Fatalf("decoding a checkpoint: %v", err)
	}
	return c
}

// TestCheckpointRoundTrip: the checkpoint after every event of the
// scenario decodes to the same state, is canonical and verifies.
func TestCheckpointRoundTrip(t *testing.T) {
	g := newCPGroup(t)
	s := NewState()
	for seq := uint64(1); seq <= g.st.Head; seq++ {
		if err := s.Apply(g.events[seq], g.look); err != nil {
			t.Fatal(err)
		}
		raw := SignCheckpoint(kHost, s)
		c := mustDecodeCheckpoint(t, raw)
		if err := c.Verify(kHost.ID()); err != nil {
			t.Fatalf("seq %d: %v", seq, err)
		}
		if !sameState(c.State, s) {
			t.Fatalf("seq %d: the decoded state differs:\n got %+v\nwant %+v", seq, c.State, s)
		}
		if c.State.Base != 0 {
			t.Fatalf("seq %d: decoded Base %d", seq, c.State.Base)
		}
		if re := c.State.EncodeCheckpoint(); !bytes.Equal(re, c.Payload()) {
			t.Fatalf("seq %d: decode then encode changes the payload", seq)
		}
		if !bytes.Equal(encodeSigned(c.Payload(), c.sig), raw) {
			t.Fatalf("seq %d: the envelope does not round-trip", seq)
		}
	}
	mid := g.stateAt(t, g.mid)
	for what, n := range map[string]int{
		"members": len(mid.Members), "banned": len(mid.Banned), "requests": len(mid.Requests),
		"invites": len(mid.Invites), "closed": len(mid.Closed), "left muted": len(mid.LeftMuted),
		"recalled": len(mid.Recalled), "edited": len(mid.Edited), "pins": len(mid.Pins),
	} {
		if n < 2 {
			t.Errorf("the state at the middle has %d %s; the tests need 2", n, what)
		}
	}
	if mid.MuteAllUntil == 0 || mid.Members[kMember.ID()].MutedUntil == 0 || mid.Members[kNew.ID()].From == 0 ||
		!mid.Public || mid.History != HistoryFromJoin || mid.Owner != kAdmin.ID() || mid.LeftMuted[kMember2.ID()] != Forever {
		t.Errorf("the state at the middle misses a case: %+v", mid)
	}
	if s.MuteAllUntil != Forever || s.History != HistoryAll || s.Public {
		t.Errorf("the last state misses a case: %+v", s)
	}
}

// TestCheckpointDecodedStateIsUsable: the state of a checkpoint of a new
// group has every map (empty, not nil), and owns its memory.
func TestCheckpointDecodedStateIsUsable(t *testing.T) {
	h := newHarness(t)
	h.must(kOwner, createBody("Tea shop", PolicyOpen))
	c := mustDecodeCheckpoint(t, SignCheckpoint(kHost, h.st))
	s := c.State
	if s.Members == nil || s.Banned == nil || s.Requests == nil || s.Invites == nil || s.Closed == nil ||
		s.LeftMuted == nil || s.Recalled == nil || s.Edited == nil {
		t.Fatalf("a map of the decoded state is nil: %+v", s)
	}
	if !sameState(s, h.st) {
		t.Fatalf("decoded %+v, want %+v", s, h.st)
	}
	g := newCPGroup(t)
	raw := SignCheckpoint(kHost, g.st)
	c = mustDecodeCheckpoint(t, raw)
	for i := range raw {
		raw[i] = 0
	}
	if !sameState(c.State, g.st) {
		t.Fatal("the decoded state aliases the input bytes")
	}
}

// TestCheckpointCanonical: one state has one encoding, whatever the order
// its maps were filled in.
func TestCheckpointCanonical(t *testing.T) {
	g := newCPGroup(t)
	s := g.stateAt(t, g.mid)
	want := s.EncodeCheckpoint()
	for range 10 { // map iteration order changes from run to run
		if !bytes.Equal(s.EncodeCheckpoint(), want) {
			t.Fatal("two encodings of one state differ")
		}
	}
	// The same state with every map filled in ascending, then in
	// descending key order.
	for _, desc := range []bool{false, true} {
		c := *s
		c.Members = refill(s.Members, desc)
		c.Banned = refill(s.Banned, desc)
		c.Requests = refill(s.Requests, desc)
		c.Invites = refill(s.Invites, desc)
		c.Closed = refill(s.Closed, desc)
		c.LeftMuted = refill(s.LeftMuted, desc)
		c.Recalled = refillSeq(s.Recalled, desc)
		c.Edited = refillSeq(s.Edited, desc)
		if !bytes.Equal(c.EncodeCheckpoint(), want) {
			t.Fatalf("filled in order desc=%v: another encoding", desc)
		}
	}
	// Pins keep the state's order: it is what unpin keeps.
	c := *s
	c.Pins = slices.Clone(s.Pins)
	slices.Reverse(c.Pins)
	if bytes.Equal(c.EncodeCheckpoint(), want) {
		t.Fatal("pins in another order encode the same")
	}
	d := mustDecodeCheckpoint(t, kHost.Sign(DomainCheckpoint, c.EncodeCheckpoint()))
	if !slices.Equal(d.State.Pins, c.Pins) {
		t.Fatalf("pins decoded as %v, want %v", d.State.Pins, c.Pins)
	}
}

func refill[K ~[32]byte, V any](m map[K]V, desc bool) map[K]V {
	keys := sortedIDs(m)
	if desc {
		slices.Reverse(keys)
	}
	out := make(map[K]V, len(m))
	for _, k := range keys {
		out[k] = m[k]
	}
	return out
}

func refillSeq[V any](m map[uint64]V, desc bool) map[uint64]V {
	keys := make([]uint64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if desc {
		slices.Reverse(keys)
	}
	out := make(map[uint64]V, len(m))
	for _, k := range keys {
		out[k] = m[k]
	}
	return out
}

// TestCheckpointVerify: only the group's host's signature under the
// checkpoint domain verifies, and no byte can change.
func TestCheckpointVerify(t *testing.T) {
	g := newCPGroup(t)
	s := g.stateAt(t, g.mid)
	raw := SignCheckpoint(kHost, s)
	c := mustDecodeCheckpoint(t, raw)
	if err := c.Verify(kHost.ID()); err != nil {
		t.Fatal(err)
	}
	if err := c.Verify(kOwner.ID()); !errors.Is(err, ErrBadSignature) {
		t.Errorf("verified with another key: %v", err)
	}
	// Signed by another key: the state names kHost, the signer is kOut.
	forged := mustDecodeCheckpoint(t, SignCheckpoint(kOut, s))
	if err := forged.Verify(kHost.ID()); !errors.Is(err, ErrBadSignature) {
		t.Errorf("a checkpoint signed by another key verifies for the host: %v", err)
	}
	// The host's key, but the state names another host.
	other := *s
	other.Host = kOut.ID()
	if err := mustDecodeCheckpoint(t, SignCheckpoint(kHost, &other)).Verify(kHost.ID()); !errors.Is(err, ErrInvalid) {
		t.Errorf("a checkpoint naming another host: %v, want invalid", err)
	}
	// The same payload under another domain.
	for _, domain := range []string{DomainNotice, DomainEvent} {
		c := mustDecodeCheckpoint(t, kHost.Sign(domain, s.EncodeCheckpoint()))
		if err := c.Verify(kHost.ID()); !errors.Is(err, ErrBadSignature) {
			t.Errorf("signed under %s: %v", domain, err)
		}
	}
	// One flipped bit anywhere: refused when decoded, or when verified.
	for i := range raw {
		for _, bit := range []byte{0x01, 0x80} {
			b := bytes.Clone(raw)
			b[i] ^= bit
			c, err := DecodeCheckpoint(b)
			if err == nil {
				err = c.Verify(kHost.ID())
			}
			if err == nil {
				t.Fatalf("byte %d of %d flipped (%#x): accepted", i, len(raw), bit)
			}
			if AsError(err).Code == CodeInternal {
				t.Fatalf("byte %d flipped: %v", i, err)
			}
		}
	}
}

// probes are submissions of every kind by every kind of author, against
// which TestCheckpointContinues compares the rules of two states.
func (g *cpGroup) probes() []*SignedSubmission {
	h := g.harness
	var bodies []struct {
		k *Key
		b Body
	}
	add := func(k *Key, b Body) {
		bodies = append(bodies, struct {
			k *Key
			b Body
		}{k, b})
	}
	users := []*Key{kOwner, kAdmin, kAdmin2, kMember, kMember2, kBridge, kOut, kBanned, kNew, kNew2, kReq1, kReq2, kReq3}
	for _, k := range users {
		add(k, msg("probe"))
		add(k, &MessageBody{Text: "@all", MentionAll: true})
		add(k, NewJoinBody(KindJoin, nil, ""))
		add(k, NewJoinBody(KindJoinRequest, nil, "hi"))
		add(k, &LeaveBody{})
		add(k, NewProfileBody(Profile{Nick: "p"}))
		for _, inv := range g.invites {
			add(k, joinWith(inv))
		}
	}
	mods := []*Key{kOwner, kAdmin, kAdmin2, kMember}
	for _, k := range mods {
		add(k, &UpdateBody{Settings{Name: ptr("Renamed")}})
		add(k, &AnnounceBody{Text: "probe"})
		add(k, &MuteBody{})
		add(k, NewMemberBody(KindUnmute, UserID{}, ""))
		add(k, &InviteCreateBody{Token: h.invite(k, nil).Raw})
		for _, inv := range g.invites {
			add(k, &InviteRevokeBody{Invite: inv.ID})
			add(k, &InviteCreateBody{Token: inv.Raw})
		}
		for _, u := range users {
			add(k, &MuteBody{Member: u.ID(), Until: t0 + 10_000_000})
			add(k, NewMemberBody(KindUnmute, u.ID(), ""))
			add(k, NewMemberBody(KindKick, u.ID(), ""))
			add(k, NewMemberBody(KindBan, u.ID(), ""))
			add(k, NewMemberBody(KindUnban, u.ID(), ""))
			add(k, NewMemberBody(KindApprove, u.ID(), ""))
			add(k, NewMemberBody(KindReject, u.ID(), ""))
			add(k, roleBody(u, RoleAdmin))
			add(k, roleBody(u, RoleBridge))
			add(k, roleBody(u, RoleOwner))
		}
	}
	for seq := uint64(1); seq <= h.st.Head+1; seq++ {
		for _, k := range []*Key{kAdmin, kMember} {
			for _, kind := range []Kind{KindPin, KindUnpin, KindRecall} {
				add(k, NewTargetBody(kind, seq))
			}
			add(k, &ReactionBody{Target: seq, Emoji: "👍"})
			add(k, &EditBody{Target: seq, Text: "probe"})
		}
	}
	subs := make([]*SignedSubmission, len(bodies))
	for i, kb := range bodies {
		subs[i] = h.sub(kb.k, kb.b)
	}
	return subs
}

// targetOf returns the seq of the earlier event a submission's rule looks
// up (0: none).
func targetOf(sub *SignedSubmission) uint64 {
	switch b := sub.DecodedBody().(type) {
	case *TargetBody:
		if b.kind != KindUnpin {
			return b.Seq
		}
	case *ReactionBody:
		return b.Target
	case *EditBody:
		return b.Target
	}
	return 0
}

// TestCheckpointContinues is the point of checkpoints: a replica started
// from the checkpoint at any seq N, given the events after N, applies them
// exactly as the state folded from event 1 does, and the rules decide every
// submission the same at every step. The one difference is by design: a
// rule about a message at or before N, which the replica does not hold,
// is taken on the host's word (State.target), so where the full state
// accepts, the replica accepts too.
func TestCheckpointContinues(t *testing.T) {
	g := newCPGroup(t)
	probes := g.probes()
	head := g.st.Head
	step := uint64(1)
	if testing.Short() || raceEnabled {
		step = 5
	}
	for n := uint64(1); n < head; n += step {
		full := g.stateAt(t, n)
		c := mustDecodeCheckpoint(t, SignCheckpoint(kHost, full))
		if err := c.Verify(kHost.ID()); err != nil {
			t.Fatal(err)
		}
		rep := c.State
		rep.Base = n
		repLook := func(seq uint64) (EventInfo, bool) {
			if seq <= n {
				t.Fatalf("checkpoint %d: the replica looked up event %d", n, seq)
			}
			return g.look(seq)
		}
		for seq := n + 1; seq <= head; seq++ {
			ev := g.events[seq]
			// The probes run right after the checkpoint, where the replica
			// differs most from the full state, then now and then (the
			// states are compared after every event).
			var run []*SignedSubmission
			if seq <= n+2 || seq%8 == 0 || seq == head {
				run = probes
			}
			for _, p := range run {
				want := full.Check(p, kHome.ID(), ev.Time, g.look)
				got := rep.Check(p, kHome.ID(), ev.Time, repLook)
				if ts := targetOf(p); ts != 0 && ts <= n {
					if want == nil && got != nil {
						t.Fatalf("checkpoint %d, before event %d: %s by %s on message %d: full state accepts, replica refuses: %v",
							n, seq, p.Kind, p.Author.Short(), ts, got)
					}
					continue
				}
				if codeOf(want) != codeOf(got) {
					t.Fatalf("checkpoint %d, before event %d: %s by %s: full state %s (%v), replica %s (%v)",
						n, seq, p.Kind, p.Author.Short(), codeOf(want), want, codeOf(got), got)
				}
			}
			if err := full.Apply(ev, g.look); err != nil {
				t.Fatal(err)
			}
			if err := rep.Apply(ev, repLook); err != nil {
				t.Fatalf("checkpoint %d: the replica refuses event %d (%s): %v", n, seq, ev.Sub.Kind, err)
			}
			rep.Base = 0
			same := sameState(rep, full)
			rep.Base = n
			if !same {
				t.Fatalf("checkpoint %d, after event %d (%s): states differ:\nreplica %+v\n   full %+v", n, seq, ev.Sub.Kind, rep, full)
			}
		}
		// A checkpoint of the replica is the host's checkpoint.
		if !bytes.Equal(rep.EncodeCheckpoint(), full.EncodeCheckpoint()) {
			t.Fatalf("checkpoint %d: the replica's final checkpoint differs", n)
		}
	}
}

// --- refusals ---

// pbf is one field of a payload, for hand-made near misses.
type pbf struct {
	num protowire.Number
	typ protowire.Type
	u   uint64
	b   []byte
}

func (f pbf) enc() []byte {
	if f.typ == protowire.VarintType {
		return vf(f.num, f.u)
	}
	return bf(f.num, f.b)
}

func parseFields(t testing.TB, b []byte) []pbf {
	t.Helper()
	var out []pbf
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatal("bad tag")
		}
		b = b[n:]
		f := pbf{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.u, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
		default:
			t.Fatalf("wire type %d", typ)
		}
		if n < 0 {
			t.Fatal("bad value")
		}
		b = b[n:]
		out = append(out, f)
	}
	return out
}

func joinFields(fs []pbf) []byte {
	var b []byte
	for _, f := range fs {
		b = append(b, f.enc()...)
	}
	return b
}

// fieldEdit changes the fields of a message.
type fieldEdit func(t testing.TB, fs []pbf) []pbf

func varintField(num protowire.Number, v uint64) pbf {
	return pbf{num: num, typ: protowire.VarintType, u: v}
}
func bytesField(num protowire.Number, v []byte) pbf {
	return pbf{num: num, typ: protowire.BytesType, b: v}
}

// drop removes field num.
func drop(num protowire.Number) fieldEdit {
	return func(t testing.TB, fs []pbf) []pbf {
		out := slices.DeleteFunc(slices.Clone(fs), func(f pbf) bool { return f.num == num })
		if len(out) == len(fs) {
			t.Fatalf("no field %d to drop", num)
		}
		return out
	}
}

// put replaces field num (every occurrence) by f, in its place in the order.
func put(f pbf) fieldEdit {
	return func(t testing.TB, fs []pbf) []pbf {
		out := slices.DeleteFunc(slices.Clone(fs), func(g pbf) bool { return g.num == f.num })
		i := 0
		for i < len(out) && out[i].num < f.num {
			i++
		}
		return slices.Insert(out, i, f)
	}
}

// nth returns the index of the i-th occurrence of field num.
func nth(t testing.TB, fs []pbf, num protowire.Number, i int) int {
	t.Helper()
	for j, f := range fs {
		if f.num == num {
			if i == 0 {
				return j
			}
			i--
		}
	}
	t.Fatalf("no occurrence %d of field %d", i, num)
	return -1
}

// inEntry applies edits to the first entry of the repeated field num.
func inEntry(num protowire.Number, edits ...fieldEdit) fieldEdit {
	return inNth(num, 0, edits...)
}

func inNth(num protowire.Number, i int, edits ...fieldEdit) fieldEdit {
	return func(t testing.TB, fs []pbf) []pbf {
		out := slices.Clone(fs)
		j := nth(t, out, num, i)
		sub := parseFields(t, out[j].b)
		for _, e := range edits {
			sub = e(t, sub)
		}
		out[j].b = joinFields(sub)
		return out
	}
}

// swapFirst swaps the first two entries of the repeated field num.
func swapFirst(num protowire.Number) fieldEdit {
	return func(t testing.TB, fs []pbf) []pbf {
		out := slices.Clone(fs)
		i, j := nth(t, out, num, 0), nth(t, out, num, 1)
		out[i], out[j] = out[j], out[i]
		return out
	}
}

// dupFirst repeats the first entry of the repeated field num.
func dupFirst(num protowire.Number) fieldEdit {
	return func(t testing.TB, fs []pbf) []pbf {
		i := nth(t, fs, num, 0)
		return slices.Insert(slices.Clone(fs), i, fs[i])
	}
}

// appendRaw adds bytes after the payload.
func appendRaw(b []byte) fieldEdit {
	return func(t testing.TB, fs []pbf) []pbf {
		return append(slices.Clone(fs), pbf{num: -1, b: b})
	}
}

var zero32 = make([]byte, 32)

// synthID returns a distinct 32-byte ID for synthetic entries.
func synthID(tag byte, i int) (id [32]byte) {
	id[0] = 0xee
	id[1] = tag
	binary.BigEndian.PutUint32(id[2:], uint32(i))
	return id
}

type cpCase struct {
	name  string
	state func(s *State) // changes the state before it is encoded, or
	edits []fieldEdit    // changes the encoded payload
	raw   func(t testing.TB, payload []byte) []byte
	want  *Error // nil: accepted
}

func (tc cpCase) payload(t testing.TB, base *State) []byte {
	t.Helper()
	s := base
	if tc.state != nil {
		s = copyState(t, base)
		tc.state(s)
	}
	p := s.EncodeCheckpoint()
	if len(tc.edits) > 0 {
		fs := parseFields(t, p)
		for _, e := range tc.edits {
			fs = e(t, fs)
		}
		p = nil
		for _, f := range fs {
			if f.num == -1 {
				p = append(p, f.b...)
			} else {
				p = append(p, f.enc()...)
			}
		}
	}
	return p
}

// copyState returns a deep copy of s, through its checkpoint.
func copyState(t testing.TB, s *State) *State {
	t.Helper()
	return mustDecodeCheckpoint(t, kHost.Sign(DomainCheckpoint, s.EncodeCheckpoint())).State
}

// TestCheckpointRefusals: every rule of the decoder, each by a case that
// breaks only it (or, for limits, reaches it).
func TestCheckpointRefusals(t *testing.T) {
	g := newCPGroup(t)
	base := g.stateAt(t, g.mid)
	// mutate edits the mid state: the scenario's entries, by key.
	member := func(k *Key, f func(m *Member)) func(s *State) {
		return func(s *State) { f(s.Members[k.ID()]) }
	}
	invA, invB, invD := g.invites[0].ID, g.invites[1].ID, g.invites[3].ID
	long := func(n int) string { return strings.Repeat("茶", n) }

	cases := []cpCase{
		{name: "valid"},
		// the canonical form
		{name: "trailing byte", edits: []fieldEdit{appendRaw([]byte{0x08})}, want: ErrMalformed},
		{name: "fields out of order", raw: func(t testing.TB, p []byte) []byte {
			fs := parseFields(t, p)
			fs[0], fs[1] = fs[1], fs[0]
			return joinFields(fs)
		}, want: ErrMalformed},
		{name: "non-minimal seq", raw: func(t testing.TB, p []byte) []byte {
			fs := parseFields(t, p)
			i := nth(t, fs, 2, 0)
			v := append(protowire.AppendTag(nil, 2, protowire.VarintType), protowire.AppendVarint(nil, fs[i].u)...)
			v[len(v)-1] |= 0x80
			v = append(v, 0x00)
			return cat(joinFields(fs[:i]), v, joinFields(fs[i+1:]))
		}, want: ErrMalformed},
		{name: "zero mute_all_until", edits: []fieldEdit{put(varintField(21, 0))}, want: ErrMalformed},
		{name: "empty description", edits: []fieldEdit{put(bytesField(8, nil))}, want: ErrMalformed},
		{name: "fixed64 field", edits: []fieldEdit{appendRaw([]byte{0xc9, 0x01, 1, 2, 3, 4, 5, 6, 7, 8})}, want: ErrMalformed},

		// fields of a later revision
		{name: "unknown field", edits: []fieldEdit{appendRaw(vf(30, 1))}, want: ErrUpgradeNeeded},
		{name: "unknown field, then broken shape", edits: []fieldEdit{drop(7), appendRaw(vf(30, 1))}, want: ErrUpgradeNeeded},
		{name: "unknown member field", edits: []fieldEdit{inEntry(16, put(varintField(9, 1)))}, want: ErrUpgradeNeeded},
		{name: "unknown profile field", edits: []fieldEdit{inNth(16, profileIndex(t, base, kMember), inEntry(7, put(varintField(6, 1))))}, want: ErrUpgradeNeeded},
		{name: "unknown request field", edits: []fieldEdit{inEntry(18, put(varintField(5, 1)))}, want: ErrUpgradeNeeded},
		{name: "unknown invite field", edits: []fieldEdit{inEntry(19, put(varintField(7, 1)))}, want: ErrUpgradeNeeded},
		{name: "unknown closed field", edits: []fieldEdit{inEntry(20, put(varintField(4, 1)))}, want: ErrUpgradeNeeded},
		{name: "unknown left-muted field", edits: []fieldEdit{inEntry(22, put(varintField(3, 1)))}, want: ErrUpgradeNeeded},
		{name: "unknown recall field", edits: []fieldEdit{inEntry(23, put(varintField(4, 1)))}, want: ErrUpgradeNeeded},
		{name: "unknown edit field", edits: []fieldEdit{inEntry(24, put(varintField(3, 1)))}, want: ErrUpgradeNeeded},

		// the head and the settings
		{name: "no group", edits: []fieldEdit{drop(1)}, want: ErrInvalid},
		{name: "no seq", edits: []fieldEdit{drop(2)}, want: ErrInvalid},
		{name: "no event", edits: []fieldEdit{drop(3)}, want: ErrInvalid},
		{name: "no time", edits: []fieldEdit{drop(4)}, want: ErrInvalid},
		{name: "no host", edits: []fieldEdit{drop(5)}, want: ErrInvalid},
		{name: "no owner", edits: []fieldEdit{drop(6)}, want: ErrInvalid},
		{name: "no name", edits: []fieldEdit{drop(7)}, want: ErrInvalid},
		{name: "no policy", edits: []fieldEdit{drop(10)}, want: ErrInvalid},
		{name: "no cap", edits: []fieldEdit{drop(11)}, want: ErrInvalid},
		{name: "zero group", edits: []fieldEdit{put(bytesField(1, zero32))}, want: ErrMalformed},
		{name: "zero event", edits: []fieldEdit{put(bytesField(3, zero32))}, want: ErrMalformed},
		{name: "zero host", edits: []fieldEdit{put(bytesField(5, zero32))}, want: ErrMalformed},
		{name: "zero owner", edits: []fieldEdit{put(bytesField(6, zero32))}, want: ErrMalformed},
		{name: "short group", edits: []fieldEdit{put(bytesField(1, []byte{1}))}, want: ErrMalformed},
		{name: "seq as bytes", edits: []fieldEdit{put(bytesField(2, []byte{1}))}, want: ErrMalformed},
		{name: "time as bytes", edits: []fieldEdit{put(bytesField(4, []byte{1}))}, want: ErrMalformed},
		{name: "name too long", state: func(s *State) { s.Name = long(MaxNameRunes + 1) }, want: ErrInvalid},
		{name: "name at the limit", state: func(s *State) { s.Name = long(MaxNameRunes) }},
		{name: "name not UTF-8", state: func(s *State) { s.Name = "tea\xff" }, want: ErrInvalid},
		{name: "description too long", state: func(s *State) { s.Description = long(MaxDescriptionRunes + 1) }, want: ErrInvalid},
		{name: "avatar not a URL", state: func(s *State) { s.Avatar = "https://Shop.example/" }, want: ErrInvalid},
		{name: "announcement too long", state: func(s *State) { s.Announcement = long(MaxTextRunes + 1) }, want: ErrInvalid},
		{name: "announcement at the limit", state: func(s *State) { s.Announcement = long(MaxTextRunes) }},
		{name: "unknown policy", state: func(s *State) { s.Policy = 4 }, want: ErrInvalid},
		{name: "policy over 32 bits", edits: []fieldEdit{put(varintField(10, 1<<32+1))}, want: ErrMalformed},
		{name: "cap over the limit", state: func(s *State) { s.Cap = MaxMemberCap + 1 }, want: ErrInvalid},
		{name: "cap at the limit", state: func(s *State) { s.Cap = MaxMemberCap }},
		{name: "public 2", edits: []fieldEdit{put(varintField(12, 2))}, want: ErrMalformed},
		{name: "unknown history", state: func(s *State) { s.History = 3 }, want: ErrInvalid},
		{name: "history all", state: func(s *State) { s.History = HistoryAll }},
		{name: "history unset", state: func(s *State) { s.History = 0 }},
		{name: "mute_all_until as bytes", edits: []fieldEdit{put(bytesField(21, []byte{1}))}, want: ErrMalformed},

		// pins
		{name: "pin as bytes", edits: []fieldEdit{put(bytesField(15, []byte{1}))}, want: ErrMalformed},
		{name: "pin twice", state: func(s *State) { s.Pins = []uint64{3, 3} }, want: ErrInvalid},
		{name: "pin of the checkpoint's event", state: func(s *State) { s.Pins = []uint64{s.Head} }, want: ErrInvalid},
		{name: "pin just before it", state: func(s *State) { s.Pins = []uint64{s.Head - 1} }},
		{name: "pins over the limit", state: func(s *State) { s.Pins = seqs(1, MaxPins+1) }, want: ErrInvalid},
		{name: "pins at the limit", state: func(s *State) { s.Pins = seqs(1, MaxPins) }},

		// members
		{name: "member as a varint", edits: []fieldEdit{put(varintField(16, 1))}, want: ErrMalformed},
		{name: "members out of order", edits: []fieldEdit{swapFirst(16)}, want: ErrMalformed},
		{name: "member twice", edits: []fieldEdit{dupFirst(16)}, want: ErrMalformed},
		{name: "member without user", edits: []fieldEdit{inEntry(16, drop(1))}, want: ErrInvalid},
		{name: "member without role", edits: []fieldEdit{inEntry(16, drop(2))}, want: ErrInvalid},
		{name: "member without home", edits: []fieldEdit{inEntry(16, drop(3))}, want: ErrInvalid},
		{name: "member without join", edits: []fieldEdit{inEntry(16, drop(4))}, want: ErrInvalid},
		{name: "member of zero key", edits: []fieldEdit{inEntry(16, put(bytesField(1, zero32)))}, want: ErrMalformed},
		{name: "member home zero", edits: []fieldEdit{inEntry(16, put(bytesField(3, zero32)))}, want: ErrMalformed},
		{name: "member joined as bytes", edits: []fieldEdit{inEntry(16, put(bytesField(4, []byte{1})))}, want: ErrMalformed},
		{name: "member from as bytes", edits: []fieldEdit{inEntry(16, put(bytesField(5, []byte{1})))}, want: ErrMalformed},
		{name: "member mute as bytes", edits: []fieldEdit{inEntry(16, put(bytesField(6, []byte{1})))}, want: ErrMalformed},
		{name: "member profile as a varint", edits: []fieldEdit{inEntry(16, put(varintField(7, 1)))}, want: ErrMalformed},
		{name: "member empty profile", edits: []fieldEdit{inEntry(16, put(bytesField(7, nil)))}, want: ErrMalformed},
		{name: "unknown role", state: member(kMember, func(m *Member) { m.Role = RoleBridge + 1 }), want: ErrInvalid},
		{name: "role over 32 bits", edits: []fieldEdit{inEntry(16, put(varintField(2, 1<<32+2)))}, want: ErrMalformed},
		{name: "bridge role", state: member(kMember, func(m *Member) { m.Role = RoleBridge })},
		{name: "two owners", state: member(kOwner, func(m *Member) { m.Role = RoleOwner }), want: ErrInvalid},
		{name: "owner is an admin", state: func(s *State) { s.Owner = kOwner.ID() }, want: ErrInvalid},
		{name: "owner not a member", state: func(s *State) { s.Owner = kOut.ID() }, want: ErrInvalid},
		{name: "no member is owner", state: member(kAdmin, func(m *Member) { m.Role = RoleAdmin }), want: ErrInvalid},
		{name: "joined after the seq", state: member(kMember, func(m *Member) { m.Joined = base.Head + 1 }), want: ErrInvalid},
		{name: "joined at the seq", state: member(kMember, func(m *Member) { m.Joined = base.Head })},
		{name: "from after the seq", state: member(kNew, func(m *Member) { m.From, m.Joined = base.Head+1, base.Head }), want: ErrInvalid},
		{name: "from not the join", state: member(kNew, func(m *Member) { m.From = m.Joined - 1 }), want: ErrInvalid},
		{name: "from the join", state: member(kMember, func(m *Member) { m.From = m.Joined })},
		{name: "muted forever", state: member(kMember, func(m *Member) { m.MutedUntil = Forever })},
		{name: "profile name too long", state: member(kMember, func(m *Member) { m.Profile.Name = long(MaxDisplayNameRunes + 1) }), want: ErrInvalid},
		{name: "profile nick with a control", state: member(kMember, func(m *Member) { m.Profile.Nick = "a\tb" }), want: ErrInvalid},
		{name: "profile avatar not an image", state: member(kMember, func(m *Member) { m.Profile.Avatar = &BlobRef{Hash: Hash{1}, MIME: "text/plain", Size: 1} }), want: ErrInvalid},
		{name: "members over the limit", state: addMembers(MaxMemberCap + 1), want: ErrInvalid},
		{name: "members at the limit", state: addMembers(MaxMemberCap)},

		// banned
		{name: "banned out of order", edits: []fieldEdit{swapFirst(17)}, want: ErrMalformed},
		{name: "banned twice", edits: []fieldEdit{dupFirst(17)}, want: ErrMalformed},
		{name: "banned zero key", edits: []fieldEdit{put(bytesField(17, zero32))}, want: ErrMalformed},
		{name: "banned member", state: func(s *State) { s.Banned[kMember.ID()] = true }, want: ErrInvalid},

		// requests
		{name: "request as a varint", edits: []fieldEdit{put(varintField(18, 1))}, want: ErrMalformed},
		{name: "requests out of order", edits: []fieldEdit{swapFirst(18)}, want: ErrMalformed},
		{name: "request twice", edits: []fieldEdit{dupFirst(18)}, want: ErrMalformed},
		{name: "request without user", edits: []fieldEdit{inEntry(18, drop(1))}, want: ErrInvalid},
		{name: "request without home", edits: []fieldEdit{inEntry(18, drop(2))}, want: ErrInvalid},
		{name: "request without seq", edits: []fieldEdit{inEntry(18, drop(3))}, want: ErrInvalid},
		{name: "request of zero key", edits: []fieldEdit{inEntry(18, put(bytesField(1, zero32)))}, want: ErrMalformed},
		{name: "request home zero", edits: []fieldEdit{inEntry(18, put(bytesField(2, zero32)))}, want: ErrMalformed},
		{name: "request seq as bytes", edits: []fieldEdit{inEntry(18, put(bytesField(3, []byte{1})))}, want: ErrMalformed},
		{name: "request note too long", state: func(s *State) { s.Requests[kReq1.ID()].Note = long(MaxReasonRunes + 1) }, want: ErrInvalid},
		{name: "request after the seq", state: func(s *State) { s.Requests[kReq1.ID()].Seq = s.Head + 1 }, want: ErrInvalid},
		{name: "request of a member", state: func(s *State) { s.Requests[kMember.ID()] = &Request{Home: kHome.ID(), Seq: 2} }, want: ErrInvalid},
		{name: "request of a banned user", state: func(s *State) { s.Requests[kOut.ID()] = &Request{Home: kHome.ID(), Seq: 2} }, want: ErrInvalid},
		{name: "requests over the limit", state: addRequests(MaxPending + 1), want: ErrInvalid},
		{name: "requests at the limit", state: addRequests(MaxPending)},

		// open invites
		{name: "invite as a varint", edits: []fieldEdit{put(varintField(19, 1))}, want: ErrMalformed},
		{name: "invites out of order", edits: []fieldEdit{swapFirst(19)}, want: ErrMalformed},
		{name: "invite twice", edits: []fieldEdit{dupFirst(19)}, want: ErrMalformed},
		{name: "invite without ID", edits: []fieldEdit{inEntry(19, drop(1))}, want: ErrInvalid},
		{name: "invite without inviter", edits: []fieldEdit{inEntry(19, drop(2))}, want: ErrInvalid},
		{name: "invite of zero ID", edits: []fieldEdit{inEntry(19, put(bytesField(1, zero32)))}, want: ErrMalformed},
		{name: "invite inviter zero", edits: []fieldEdit{inEntry(19, put(bytesField(2, zero32)))}, want: ErrMalformed},
		{name: "invite expiry as bytes", edits: []fieldEdit{inEntry(19, put(bytesField(3, []byte{1})))}, want: ErrMalformed},
		{name: "invite max uses over 32 bits", edits: []fieldEdit{inEntry(19, put(varintField(4, 1<<32)))}, want: ErrMalformed},
		{name: "invite uses over 32 bits", edits: []fieldEdit{inEntry(19, put(varintField(5, 1<<32)))}, want: ErrMalformed},
		{name: "invite ref too long", state: func(s *State) { s.Invites[invA].Ref = strings.Repeat("x", MaxRefBytes+1) }, want: ErrInvalid},
		{name: "invite max uses over the limit", state: func(s *State) { s.Invites[invA].MaxUses = MaxInviteUses + 1 }, want: ErrInvalid},
		{name: "invite max uses at the limit", state: func(s *State) { s.Invites[invA].MaxUses = MaxInviteUses }},
		{name: "invite used up", state: func(s *State) { s.Invites[invA].Uses = s.Invites[invA].MaxUses }, want: ErrInvalid},
		{name: "invite one use left", state: func(s *State) { s.Invites[invA].Uses = s.Invites[invA].MaxUses - 1 }},
		{name: "invite expired", state: func(s *State) { s.Invites[invA].Expires = s.HeadTime }, want: ErrInvalid},
		{name: "invite expiring next", state: func(s *State) { s.Invites[invA].Expires = s.HeadTime + 1 }},
		{name: "invites over the limit", state: addInvites(MaxInvites+1, 0), want: ErrInvalid},
		{name: "invites at the limit", state: addInvites(MaxInvites, 0)},

		// closed invites
		{name: "closed as a varint", edits: []fieldEdit{put(varintField(20, 1))}, want: ErrMalformed},
		{name: "closed out of order", edits: []fieldEdit{swapFirst(20)}, want: ErrMalformed},
		{name: "closed twice", edits: []fieldEdit{dupFirst(20)}, want: ErrMalformed},
		{name: "closed without ID", state: revokeAll, edits: []fieldEdit{inEntry(20, drop(1))}, want: ErrInvalid},
		{name: "closed of zero ID", edits: []fieldEdit{inEntry(20, put(bytesField(1, zero32)))}, want: ErrMalformed},
		{name: "closed expiry as bytes", edits: []fieldEdit{inEntry(20, put(bytesField(2, []byte{1})))}, want: ErrMalformed},
		{name: "closed revoked 2", edits: []fieldEdit{inEntry(20, put(varintField(3, 2)))}, want: ErrMalformed},
		{name: "closed and open", state: func(s *State) { s.Closed[invB] = ClosedInvite{Revoked: true} }, want: ErrInvalid},
		{name: "closed expired", state: func(s *State) { s.Closed[invD] = ClosedInvite{Expires: s.HeadTime, Revoked: true} }, want: ErrInvalid},
		{name: "held over the limit", state: addInvites(MaxInvites, MaxHeldInvites-MaxInvites+1), want: ErrInvalid},
		{name: "held at the limit", state: addInvites(MaxInvites, MaxHeldInvites-MaxInvites)},

		// left muted
		{name: "left muted as a varint", edits: []fieldEdit{put(varintField(22, 1))}, want: ErrMalformed},
		{name: "left muted out of order", edits: []fieldEdit{swapFirst(22)}, want: ErrMalformed},
		{name: "left muted twice", edits: []fieldEdit{dupFirst(22)}, want: ErrMalformed},
		{name: "left muted without user", edits: []fieldEdit{inEntry(22, drop(1))}, want: ErrInvalid},
		{name: "left muted without end", edits: []fieldEdit{inEntry(22, drop(2))}, want: ErrInvalid},
		{name: "left muted zero key", edits: []fieldEdit{inEntry(22, put(bytesField(1, zero32)))}, want: ErrMalformed},
		{name: "left muted end as bytes", edits: []fieldEdit{inEntry(22, put(bytesField(2, []byte{1})))}, want: ErrMalformed},
		{name: "left muted member", state: func(s *State) { s.LeftMuted[kMember.ID()] = Forever }, want: ErrInvalid},

		// recalled
		{name: "recall as a varint", edits: []fieldEdit{put(varintField(23, 1))}, want: ErrMalformed},
		{name: "recalled out of order", edits: []fieldEdit{swapFirst(23)}, want: ErrMalformed},
		{name: "recalled twice", edits: []fieldEdit{dupFirst(23)}, want: ErrMalformed},
		{name: "recall without message", edits: []fieldEdit{inEntry(23, drop(1))}, want: ErrInvalid},
		{name: "recall without its seq", edits: []fieldEdit{inEntry(23, drop(2))}, want: ErrInvalid},
		{name: "recall without author", edits: []fieldEdit{inEntry(23, drop(3))}, want: ErrInvalid},
		{name: "recall message as bytes", edits: []fieldEdit{inEntry(23, put(bytesField(1, []byte{1})))}, want: ErrMalformed},
		{name: "recall seq as bytes", edits: []fieldEdit{inEntry(23, put(bytesField(2, []byte{1})))}, want: ErrMalformed},
		{name: "recall author zero", edits: []fieldEdit{inEntry(23, put(bytesField(3, zero32)))}, want: ErrMalformed},
		{name: "recall before its message", state: func(s *State) { s.Recalled[5] = Recall{Seq: 5, By: kOwner.ID()} }, want: ErrInvalid},
		{name: "recall after the seq", state: func(s *State) { s.Recalled[5] = Recall{Seq: s.Head + 1, By: kOwner.ID()} }, want: ErrInvalid},
		{name: "recall at the seq", state: func(s *State) { s.Recalled[5] = Recall{Seq: s.Head, By: kOwner.ID()} }},

		// edited
		{name: "edit as a varint", edits: []fieldEdit{put(varintField(24, 1))}, want: ErrMalformed},
		{name: "edited out of order", edits: []fieldEdit{swapFirst(24)}, want: ErrMalformed},
		{name: "edited twice", edits: []fieldEdit{dupFirst(24)}, want: ErrMalformed},
		{name: "edit without message", edits: []fieldEdit{inEntry(24, drop(1))}, want: ErrInvalid},
		{name: "edit without its seq", edits: []fieldEdit{inEntry(24, drop(2))}, want: ErrInvalid},
		{name: "edit message as bytes", edits: []fieldEdit{inEntry(24, put(bytesField(1, []byte{1})))}, want: ErrMalformed},
		{name: "edit seq as bytes", edits: []fieldEdit{inEntry(24, put(bytesField(2, []byte{1})))}, want: ErrMalformed},
		{name: "edit before its message", state: func(s *State) { s.Edited[5] = 4 }, want: ErrInvalid},
		{name: "edit of itself", state: func(s *State) { s.Edited[5] = 5 }, want: ErrInvalid},
		{name: "edit after the seq", state: func(s *State) { s.Edited[5] = s.Head + 1 }, want: ErrInvalid},

		// bridged people (since 1.3)
		{name: "bridged as a varint", edits: []fieldEdit{put(varintField(25, 1))}, want: ErrMalformed},
		{name: "bridged out of order", edits: []fieldEdit{swapFirst(25)}, want: ErrMalformed},
		{name: "bridged twice", edits: []fieldEdit{dupFirst(25)}, want: ErrMalformed},
		{name: "bridged without ID", edits: []fieldEdit{inEntry(25, drop(1))}, want: ErrInvalid},
		{name: "bridged without bridge", edits: []fieldEdit{inEntry(25, drop(2))}, want: ErrInvalid},
		{name: "bridged without network", edits: []fieldEdit{inEntry(25, drop(3))}, want: ErrInvalid},
		{name: "bridged without user", edits: []fieldEdit{inEntry(25, drop(4))}, want: ErrInvalid},
		{name: "bridged without first", edits: []fieldEdit{inEntry(25, drop(6))}, want: ErrInvalid},
		{name: "bridged ID of someone else", edits: []fieldEdit{inEntry(25, put(bytesField(4, []byte("mallory"))))}, want: ErrInvalid},
		{name: "bridged network in capitals", state: func(s *State) {
			for id, p := range s.Bridged {
				p.Network = "IRC"
				delete(s.Bridged, id)
				s.Bridged[BridgedID(p.Bridge, p.Network, p.User)] = p
				return
			}
		}, want: ErrInvalid},
		{name: "bridged user with a newline", state: func(s *State) {
			for id, p := range s.Bridged {
				p.User = "al\nice"
				delete(s.Bridged, id)
				s.Bridged[BridgedID(p.Bridge, p.Network, p.User)] = p
				return
			}
		}, want: ErrInvalid},
		{name: "bridged first after the seq", state: func(s *State) {
			for _, p := range s.Bridged {
				p.First = s.Head + 1
				return
			}
		}, want: ErrInvalid},
		{name: "bridged removed as 2", edits: []fieldEdit{inNth(25, 0, put(varintField(8, 2)))}, want: ErrMalformed},
		{name: "unknown bridged field", edits: []fieldEdit{inEntry(25, put(varintField(9, 1)))}, want: ErrUpgradeNeeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.payload(t, base)
			if tc.raw != nil {
				p = tc.raw(t, p)
			}
			c, err := DecodeCheckpoint(kHost.Sign(DomainCheckpoint, p))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %s (%v)", codeOf(err), err)
				}
				if !bytes.Equal(c.State.EncodeCheckpoint(), p) {
					t.Fatal("accepted a non-canonical payload")
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %s (%v), want %s", codeOf(err), err, tc.want.Code)
			}
			if c != nil {
				t.Fatal("a refused checkpoint was returned")
			}
			if AsError(err).Msg == "" {
				t.Fatal("refusal without a sentence")
			}
		})
	}
}

// revokeAll marks every closed invite revoked, so that none is the bare ID.
func revokeAll(s *State) {
	for id, c := range s.Closed {
		c.Revoked = true
		s.Closed[id] = c
	}
}

// profileIndex returns the index among the members of the entry of k.
func profileIndex(t testing.TB, s *State, k *Key) int {
	t.Helper()
	i := slices.Index(sortedIDs(s.Members), k.ID())
	if i < 0 || s.Members[k.ID()].Profile.IsZero() {
		t.Fatalf("%s has no profile", k.ID().Short())
	}
	return i
}

func seqs(from, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = uint64(from + i)
	}
	return out
}

// addMembers fills the state up to n members.
func addMembers(n int) func(s *State) {
	return func(s *State) {
		s.Cap = MaxMemberCap
		for i := 0; len(s.Members) < n; i++ {
			s.Members[UserID(synthID(1, i))] = &Member{Role: RoleMember, Home: kHome.ID(), Joined: 1}
		}
	}
}

// addRequests fills the state up to n join requests.
func addRequests(n int) func(s *State) {
	return func(s *State) {
		for i := 0; len(s.Requests) < n; i++ {
			s.Requests[UserID(synthID(2, i))] = &Request{Home: kHome.ID(), Seq: 2, Note: "n"}
		}
	}
}

// addInvites fills the state up to open open and closed closed invites.
func addInvites(open, closed int) func(s *State) {
	return func(s *State) {
		for i := 0; len(s.Invites) < open; i++ {
			s.Invites[InviteID(synthID(3, i))] = &InviteState{Inviter: kOwner.ID(), MaxUses: 1}
		}
		for i := 0; len(s.Closed) < closed; i++ {
			s.Closed[InviteID(synthID(4, i))] = ClosedInvite{Expires: s.HeadTime + 1}
		}
	}
}

// TestCheckpointSize: a checkpoint over MaxCheckpointSize is refused
// before it is decoded.
func TestCheckpointSize(t *testing.T) {
	if raceEnabled {
		t.Skip("allocates 64 MiB")
	}
	g := newCPGroup(t)
	p := g.st.EncodeCheckpoint()
	// Pad the payload with a field of a later revision: under the limit
	// it is decoded (upgrade_needed), over it refused before (too_large).
	under := kHost.Sign(DomainCheckpoint, cat(p, bf(30, make([]byte, MaxCheckpointSize-len(p)-200))))
	if _, err := DecodeCheckpoint(under); !errors.Is(err, ErrUpgradeNeeded) {
		t.Errorf("%d bytes: %v, want upgrade_needed", len(under), err)
	}
	over := kHost.Sign(DomainCheckpoint, cat(p, bf(30, make([]byte, MaxCheckpointSize-len(p)))))
	if len(over) <= MaxCheckpointSize {
		t.Fatalf("over is %d bytes", len(over))
	}
	if _, err := DecodeCheckpoint(over); !errors.Is(err, ErrTooLarge) {
		t.Errorf("%d bytes: %v, want too_large", len(over), err)
	}
}

// TestCheckpointNeverPanics decodes every prefix of a checkpoint and every
// one-byte change of its payload's first kilobyte.
func TestCheckpointNeverPanics(t *testing.T) {
	g := newCPGroup(t)
	raw := SignCheckpoint(kHost, g.stateAt(t, g.mid))
	for i := range raw {
		if _, err := DecodeCheckpoint(raw[:i]); err == nil {
			t.Fatalf("prefix of %d bytes accepted", i)
		}
	}
	p := g.st.EncodeCheckpoint()
	for i := 0; i < len(p) && i < 1024; i++ {
		for _, v := range []byte{0x00, 0x01, 0x7f, 0x80, 0xff} {
			b := bytes.Clone(p)
			b[i] = v
			c, err := DecodeCheckpoint(kHost.Sign(DomainCheckpoint, b))
			if err != nil {
				wantCheckpointError(t, err)
				continue
			}
			if !bytes.Equal(c.State.EncodeCheckpoint(), b) {
				t.Fatalf("byte %d = %#x: accepted a non-canonical payload", i, v)
			}
		}
	}
}

func wantCheckpointError(t testing.TB, err error) {
	t.Helper()
	e, ok := err.(*Error)
	if !ok || !decodeCodes[e.Code] || e.Msg == "" {
		t.Fatalf("refusal %T %v", err, err)
	}
}

// TestCheckpointFieldOrder: the payload of the middle state holds every
// field of the schema, in its order.
func TestCheckpointFieldOrder(t *testing.T) {
	g := newCPGroup(t)
	s := g.stateAt(t, g.mid)
	fs := parseFields(t, s.EncodeCheckpoint())
	var nums []protowire.Number
	for _, f := range fs {
		if len(nums) == 0 || nums[len(nums)-1] != f.num {
			nums = append(nums, f.num)
		}
	}
	want := []protowire.Number{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 28}
	if !slices.Equal(nums, want) {
		t.Fatalf("fields %v, want %v", nums, want)
	}
	if got := fs[nth(t, fs, 12, 0)].u; got != 1 {
		t.Errorf("public = %d", got)
	}
	// A mute forever is the largest varint.
	var forever bool
	for _, f := range fs {
		if f.num == 22 {
			for _, sf := range parseFields(t, f.b) {
				forever = forever || (sf.num == 2 && sf.u == Forever)
			}
		}
	}
	if !forever {
		t.Error("no left mute of Forever in the payload")
	}
}

// TestCheckpointClosed: a closed group's checkpoint carries ClosedAt
// (field 26, since 1.4), and a replica started from it refuses what the
// host refuses; a closed_at of 0 or beyond the checkpoint is refused.
func TestCheckpointClosed(t *testing.T) {
	h := newGroup(t)
	h.must(kAdmin, &RulesBody{Rules: Rules{Welcome: "hi", RefuseLinks: true, RefuseWords: []string{"casino"}, Strikes: 3, Action: ActionMute}})
	ann := h.must(kOwner, &AnnounceBody{Text: "the rules are pinned"}).Seq
	h.must(kMember, NewTargetBody(KindConfirm, ann))
	h.must(kAdmin2, NewTargetBody(KindConfirm, ann))
	h.must(kAdmin, &CloseBody{Reason: "delivered"})
	closedAt := h.st.Head
	h.must(kAdmin, NewMemberBody(KindKick, kMember.ID(), "courier"))
	c := mustDecodeCheckpoint(t, SignCheckpoint(kHost, h.st))
	if c.State.ClosedAt != closedAt || c.State.Rules == nil || c.State.AnnouncedAt != ann || len(c.State.Confirmed) != 1 || !sameState(c.State, h.st) {
		t.Fatalf("the checkpoint's state: ClosedAt %d, want %d", c.State.ClosedAt, closedAt)
	}
	if err := c.State.Check(h.sub(kOwner, msg("hello")), kHome.ID(), h.now, h.look); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a message in the closed group of a checkpoint: %v, want forbidden", err)
	}
	open := newGroup(t).st
	if _, err := DecodeCheckpoint(kHost.Sign(DomainCheckpoint, cat(open.EncodeCheckpoint(), bf(27, nil)))); !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrMalformed) {
		t.Errorf("an empty rules field: %v", err)
	}
	for bad, want := range map[uint64]*Error{0: ErrMalformed, open.Head + 1: ErrInvalid} {
		raw := kHost.Sign(DomainCheckpoint, cat(open.EncodeCheckpoint(), vf(26, bad)))
		if _, err := DecodeCheckpoint(raw); !errors.Is(err, want) {
			t.Errorf("closed_at %d: %v, want %s", bad, err, want.Code)
		}
	}
}
