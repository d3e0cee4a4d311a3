package protocol

import (
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
)

// lifeGroup folds events built as decoded values, without signatures or
// encoding (Apply verifies no signature and reads only decoded fields), so
// that a group's whole life of millions of events runs in seconds.
type lifeGroup struct {
	t   testing.TB
	st  *State
	now uint64
	n   uint64 // counter for nonces and fake IDs
}

func newLifeGroup(t testing.TB) *lifeGroup {
	h := newHarness(t)
	h.must(kOwner, createBody("Order groups", PolicyInvite))
	return &lifeGroup{t: t, st: h.st, now: h.now}
}

func (g *lifeGroup) id() (id [32]byte) {
	g.n++
	binary.BigEndian.PutUint64(id[:], g.n)
	id[31] = 0xee
	return id
}

// apply folds body by author as the next event, one second after the last.
func (g *lifeGroup) apply(author UserID, b Body) error {
	g.t.Helper()
	g.now += 1000
	sub := &SignedSubmission{
		Submission: Submission{Group: g.st.Group, Kind: b.Kind(), Author: author, Time: g.now},
		ID:         SubmissionID(g.id()), bd: b,
	}
	ev := &SignedEvent{
		Event: Event{Group: g.st.Group, Seq: g.st.Head + 1, Prev: g.st.HeadID, Time: g.now, Via: kHome.ID()},
		ID:    EventID(g.id()), Sub: sub,
	}
	if err := g.st.Check(sub, ev.Via, ev.Time, nil); err != nil {
		return err
	}
	return g.st.Apply(ev, nil)
}

func (g *lifeGroup) must(author UserID, b Body) {
	g.t.Helper()
	if err := g.apply(author, b); err != nil {
		g.t.Fatalf("event %d (%s): %v", g.st.Head+1, b.Kind(), err)
	}
}

// invite makes an invite of the owner (not signed: see lifeGroup).
func (g *lifeGroup) invite(expires uint64, maxUses uint32) *SignedInvite {
	return &SignedInvite{
		Invite: Invite{Group: g.st.Group, Host: kHost.ID(), Inviter: kOwner.ID(), Expires: expires, MaxUses: maxUses},
		ID:     InviteID(g.id()),
	}
}

func (g *lifeGroup) held() int { return len(g.st.Invites) + len(g.st.Closed) }

// TestInvitesOverALife: a merchant makes a one-use invite per order, valid
// for an hour; a customer joins with it and leaves. A million invites over
// the group's life keep its state bounded, and every old invite is refused
// with the right reason.
func TestInvitesOverALife(t *testing.T) {
	orders := 1_000_000
	if raceEnabled || testing.Short() {
		orders = 100_000
	}
	const ttl = 3_600_000 // one hour; three events (three seconds) per order
	g := newLifeGroup(t)
	customers := []UserID{kNew.ID(), kNew2.ID()}
	var first, revoked, last *SignedInvite
	maxHeld := 0
	for i := range orders {
		inv := g.invite(g.now+1000+ttl, 1)
		g.must(kOwner.ID(), &InviteCreateBody{Invite: inv})
		if i%1000 == 7 { // now and then an order is cancelled: its invite is revoked
			g.must(kOwner.ID(), &InviteRevokeBody{Invite: inv.ID})
			revoked = inv
			continue
		}
		c := customers[i%2]
		g.must(c, &JoinBody{kind: KindJoin, Invite: inv})
		g.must(c, &LeaveBody{})
		if first == nil {
			first = inv
		}
		last = inv
		maxHeld = max(maxHeld, g.held())
	}
	// At most an hour of invites is held: one per three seconds.
	if bound := ttl/3000 + 2; maxHeld > bound || len(g.st.expiry) != g.held() {
		t.Errorf("the state held up to %d invites (bound %d); %d in the expiry index, %d held now", maxHeld, bound, len(g.st.expiry), g.held())
	}
	if len(g.st.Invites) != 0 {
		t.Errorf("%d invites open after every one was used or revoked", len(g.st.Invites))
	}
	snap, err := g.st.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d orders, %d events: %d invites held at most, %d now; snapshot %d bytes", orders, g.st.Head, maxHeld, g.held(), len(snap))
	if len(snap) > 200_000 {
		t.Errorf("snapshot of %d bytes", len(snap))
	}

	// The refusals name the reason, for invites in the state and long gone.
	for _, c := range []struct {
		name string
		inv  *SignedInvite
		want *Error
	}{
		{"the first invite, long expired", first, ErrInviteExpired},
		{"the last invite, used up", last, ErrInviteUsedUp},
		{"the last revoked invite", revoked, ErrInviteRevoked},
		{"an invite never registered", g.invite(g.now+ttl, 1), ErrInviteUnknown},
	} {
		if err := g.apply(kOut.ID(), &JoinBody{kind: KindJoin, Invite: c.inv}); !errors.Is(err, c.want) {
			t.Errorf("join with %s: %v, want %s", c.name, err, c.want.Code)
		}
	}
	for _, c := range []struct {
		name string
		inv  *SignedInvite
		want *Error
	}{
		{"the first invite again", first, ErrInviteExpired},
		{"the last invite again", last, ErrConflict},
		{"the last revoked invite again", revoked, ErrConflict},
	} {
		if err := g.apply(kOwner.ID(), &InviteCreateBody{Invite: c.inv}); !errors.Is(err, c.want) {
			t.Errorf("registering %s: %v, want %s", c.name, err, c.want.Code)
		}
	}
}

// TestInviteExpiryDeterministic: every replica drops the same invites at
// the same seq, whatever order they were registered in, and a snapshot
// taken in between gives the same state as the fold.
func TestInviteExpiryDeterministic(t *testing.T) {
	g := newLifeGroup(t)
	t1 := g.now
	exp := []uint64{t1 + 5500, t1 + 3500, 0, t1 + 4500, t1 + 9500} // registered at t1+1000, +2000…
	var invs []*SignedInvite
	for _, e := range exp {
		inv := g.invite(e, 0)
		invs = append(invs, inv)
		g.must(kOwner.ID(), &InviteCreateBody{Invite: inv})
	}
	// now = t1+5000: the invites expiring at t1+3500 and t1+4500 left the
	// state with the events of t1+4000 and t1+5000.
	if len(g.st.Invites) != 3 || g.st.Invites[invs[1].ID] != nil || g.st.Invites[invs[3].ID] != nil {
		t.Fatalf("open invites %v", g.st.Invites)
	}
	snap, err := g.st.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	restored, err := UnmarshalSnapshot(snap)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(restored, g.st) {
		t.Fatalf("snapshot differs:\n%+v\n%+v", restored, g.st)
	}
	// An event at t1+5500 drops invite 0 at exactly that seq, in both.
	other := &lifeGroup{t: t, st: restored, now: g.now, n: g.n}
	g.must(kOwner.ID(), msg("tick"))
	other.must(kOwner.ID(), msg("tick"))
	if g.st.Invites[invs[0].ID] != nil || !reflect.DeepEqual(normalized(t, g.st), normalized(t, other.st)) {
		t.Errorf("after the expiry of invite 0: %v vs %v", g.st.Invites, other.st.Invites)
	}
	if len(g.st.Invites) != 2 || g.st.Invites[invs[2].ID] == nil {
		t.Errorf("the invite without expiry must stay: %v", g.st.Invites)
	}
}

// TestInviteSignatureVerified: the inviter's signature of a registered
// invite is checked with the author's (SignedSubmission.Verify), before the
// rules.
func TestInviteSignatureVerified(t *testing.T) {
	h := newGroup(t)
	inv := h.invite(kMember, nil)
	for name, token := range map[string][]byte{
		"forged":            kOut.Sign(DomainInvite, inv.Invite.Encode()),
		"another domain":    kMember.Sign(DomainSubmission, inv.Invite.Encode()),
		"a genuine invite ": inv.Raw,
	} {
		sub := h.sub(kMember, &InviteCreateBody{Token: token})
		err := sub.Verify()
		if name == "a genuine invite " {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: Verify gives %v, want bad_signature", name, err)
		}
		ev, err := (&Event{Group: h.st.Group, Seq: h.st.Head + 1, Prev: h.st.HeadID, Time: h.now, Via: kHome.ID(), Submission: sub.Raw}).Sign(kHost)
		if err != nil {
			t.Fatal(err)
		}
		if err := ev.VerifyAll(kHost.ID()); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: VerifyAll gives %v, want bad_signature", name, err)
		}
	}
}
