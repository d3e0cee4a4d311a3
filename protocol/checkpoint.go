package protocol

import (
	"bytes"
	"maps"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// DomainCheckpoint is the signing domain of checkpoints (since 1.2).
const DomainCheckpoint = "qun/1/checkpoint"

// MaxCheckpointSize bounds a signed checkpoint.
const MaxCheckpointSize = 64 << 20

// A checkpoint (since 1.2; docs/PROTOCOL.md, "Checkpoints") is the whole
// state of a group after one event, signed by the group's host and bound to
// that event's seq and ID. A node whose member may read a group only from
// their join on starts its replica from one instead of from event 1 and
// applies the events after it: the checkpoint carries every field of State
// (but the local Base), so the replica's state is the host's and every rule
// after it decides the same. Checkpoints are outside the log: they are not
// events and have no seq of their own. The payload is canonical: the maps
// of the state are written sorted by key, so a state has one encoding.
//
//	message Checkpoint {
//	  bytes group = 1; uint64 seq = 2; bytes event = 3; uint64 time = 4;
//	  bytes host = 5; bytes owner = 6; string name = 7; string description = 8;
//	  string avatar = 9; uint32 policy = 10; uint32 cap = 11; uint32 public = 12;
//	  uint32 history = 13; string announcement = 14; repeated uint64 pins = 15;
//	  repeated CMember members = 16; repeated bytes banned = 17;
//	  repeated CRequest requests = 18; repeated CInvite invites = 19;
//	  repeated CClosed closed = 20; uint64 mute_all_until = 21;
//	  repeated CLeftMuted left_muted = 22; repeated CRecall recalled = 23;
//	  repeated CEdit edited = 24;
//	  repeated CBridged bridged = 25; // since 1.3
//	  uint64 closed_at = 26;          // since 1.4
//	  Rules rules = 27;               // since 1.4 (protocol/rules.go)
//	  uint64 announced_at = 28;       // since 1.4
//	  repeated CConfirm confirmed = 29; // since 1.4
//	}
//	message CConfirm { bytes user = 1; uint64 seq = 2; } // since 1.4
//	message CMember    { bytes user = 1; uint32 role = 2; bytes home = 3; uint64 joined = 4;
//	                     uint64 from = 5; uint64 muted_until = 6; Profile profile = 7;
//	                     uint64 last_message = 8; } // last_message since 1.5
//	message CRequest   { bytes user = 1; bytes home = 2; uint64 seq = 3; string note = 4; }
//	message CInvite    { bytes id = 1; bytes inviter = 2; uint64 expires = 3; uint32 max_uses = 4;
//	                     uint32 uses = 5; string ref = 6; }
//	message CClosed    { bytes id = 1; uint64 expires = 2; uint32 revoked = 3; }
//	message CLeftMuted { bytes user = 1; uint64 until = 2; }
//	message CRecall    { uint64 seq = 1; uint64 by_seq = 2; bytes by = 3; }
//	message CEdit      { uint64 seq = 1; uint64 edit = 2; }
//	message CBridged   { bytes id = 1; bytes bridge = 2; string network = 3; string user = 4;
//	                     string name = 5; uint64 first = 6; uint64 muted_until = 7; uint32 removed = 8; }

// checkpointRepeated are the repeated fields of Checkpoint.
var checkpointRepeated = []protowire.Number{15, 16, 17, 18, 19, 20, 22, 23, 24, 25, 29}

// EncodeCheckpoint returns the canonical checkpoint payload of the state
// (everything but Base, which is local).
func (s *State) EncodeCheckpoint() []byte {
	var e encoder
	e.b = make([]byte, 0, 512+len(s.Members)*128+len(s.Invites)*96+len(s.Closed)*48)
	e.key(1, s.Group)
	e.varint(2, s.Head)
	e.key(3, s.HeadID)
	e.varint(4, s.HeadTime)
	e.key(5, s.Host)
	e.key(6, s.Owner)
	e.string(7, s.Name)
	e.string(8, s.Description)
	e.string(9, s.Avatar)
	e.varint(10, uint64(s.Policy))
	e.varint(11, uint64(s.Cap))
	e.bool(12, s.Public)
	e.varint(13, uint64(s.History))
	e.string(14, s.Announcement)
	for _, p := range s.Pins {
		e.varint(15, p)
	}
	var sub encoder // one scratch buffer for every entry
	for _, u := range sortedIDs(s.Members) {
		m := s.Members[u]
		sub.b = sub.b[:0]
		sub.key(1, u)
		sub.varint(2, uint64(m.Role))
		sub.key(3, m.Home)
		sub.varint(4, m.Joined)
		sub.varint(5, m.From)
		sub.varint(6, m.MutedUntil)
		if !m.Profile.IsZero() {
			sub.bytesAlways(7, (&ProfileBody{Profile: m.Profile}).Encode())
		}
		sub.varint(8, m.LastMessage)
		e.bytesAlways(16, sub.b)
	}
	for _, u := range sortedIDs(s.Banned) {
		e.bytesAlways(17, u[:])
	}
	for _, u := range sortedIDs(s.Requests) {
		r := s.Requests[u]
		sub.b = sub.b[:0]
		sub.key(1, u)
		sub.key(2, r.Home)
		sub.varint(3, r.Seq)
		sub.string(4, r.Note)
		e.bytesAlways(18, sub.b)
	}
	for _, id := range sortedIDs(s.Invites) {
		inv := s.Invites[id]
		sub.b = sub.b[:0]
		sub.key(1, id)
		sub.key(2, inv.Inviter)
		sub.varint(3, inv.Expires)
		sub.varint(4, uint64(inv.MaxUses))
		sub.varint(5, uint64(inv.Uses))
		sub.string(6, inv.Ref)
		e.bytesAlways(19, sub.b)
	}
	for _, id := range sortedIDs(s.Closed) {
		c := s.Closed[id]
		sub.b = sub.b[:0]
		sub.key(1, id)
		sub.varint(2, c.Expires)
		sub.bool(3, c.Revoked)
		e.bytesAlways(20, sub.b)
	}
	e.varint(21, s.MuteAllUntil)
	for _, u := range sortedIDs(s.LeftMuted) {
		sub.b = sub.b[:0]
		sub.key(1, u)
		sub.varint(2, s.LeftMuted[u])
		e.bytesAlways(22, sub.b)
	}
	for _, seq := range slices.Sorted(maps.Keys(s.Recalled)) {
		r := s.Recalled[seq]
		sub.b = sub.b[:0]
		sub.varint(1, seq)
		sub.varint(2, r.Seq)
		sub.key(3, r.By)
		e.bytesAlways(23, sub.b)
	}
	for _, seq := range slices.Sorted(maps.Keys(s.Edited)) {
		sub.b = sub.b[:0]
		sub.varint(1, seq)
		sub.varint(2, s.Edited[seq])
		e.bytesAlways(24, sub.b)
	}
	for _, u := range sortedIDs(s.Bridged) {
		p := s.Bridged[u]
		sub.b = sub.b[:0]
		sub.key(1, u)
		sub.key(2, p.Bridge)
		sub.string(3, p.Network)
		sub.string(4, p.User)
		sub.string(5, p.Name)
		sub.varint(6, p.First)
		sub.varint(7, p.MutedUntil)
		sub.bool(8, p.Removed)
		e.bytesAlways(25, sub.b)
	}
	e.varint(26, s.ClosedAt)
	if s.Rules != nil {
		e.bytesAlways(27, s.Rules.encode())
	}
	e.varint(28, s.AnnouncedAt)
	for _, u := range sortedIDs(s.Confirmed) {
		sub.b = sub.b[:0]
		sub.key(1, u)
		sub.varint(2, s.Confirmed[u])
		e.bytesAlways(29, sub.b)
	}
	return e.b
}

// sortedIDs returns the keys of m in ascending byte order.
func sortedIDs[K ~[32]byte, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b K) int { return bytes.Compare(a[:], b[:]) })
	return keys
}

// SignCheckpoint signs the checkpoint of s with the host's key and returns
// the signed envelope.
func SignCheckpoint(host *Key, s *State) []byte {
	return host.Sign(DomainCheckpoint, s.EncodeCheckpoint())
}

// SignedCheckpoint is a decoded, not yet verified, checkpoint. State is
// built from NewState, with its invite expiry index; its Base is 0: the
// caller that starts a replica from it sets Base to State.Head.
type SignedCheckpoint struct {
	State    *State
	pay, sig []byte
}

// Payload returns the signed payload bytes (they alias the decoded input);
// its length is the size of the checkpoint's state on the wire.
func (c *SignedCheckpoint) Payload() []byte { return c.pay }

// Verify checks that the group's host signed the checkpoint and that the
// checkpoint names that host.
func (c *SignedCheckpoint) Verify(host UserID) error {
	if !VerifyRaw(host, DomainCheckpoint, c.pay, c.sig) {
		return Errorf(CodeBadSignature, "the host's signature on the checkpoint does not verify")
	}
	if c.State.Host != host {
		return invalid("the checkpoint names host %s, not %s", c.State.Host.Short(), host.Short())
	}
	return nil
}

// DecodeCheckpoint decodes a signed checkpoint and checks its state: the
// canonical form, the limits the events enforce, and that it is a state
// the rules can reach (one owner, seqs up to the checkpoint's, no expired
// invite…). A field this revision does not define, in the checkpoint or
// in one of its entries, is refused with CodeUpgradeNeeded: a later
// revision may add state. It does not verify the signature: call Verify
// with the group's host.
func DecodeCheckpoint(raw []byte) (*SignedCheckpoint, error) {
	env, err := decodeSigned(raw, MaxCheckpointSize)
	if err != nil {
		return nil, err
	}
	d := checkpointDecoder{s: NewState()}
	if err := walk(env.payload, checkpointRepeated, nil, d.field); err != nil {
		return nil, err
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	d.s.rebuildExpiry()
	return &SignedCheckpoint{State: d.s, pay: env.payload, sig: env.sig}, nil
}

// checkpointDecoder decodes the fields of a Checkpoint into s. Fields come
// in ascending order, so the checks of an entry against the seq, the time
// and the entries of earlier fields are made as it is read (a missing seq
// or time skips them; finish refuses it).
type checkpointDecoder struct {
	s       *State
	owners  int      // members with the owner role
	lastKey [32]byte // key of the previous entry of the current map field
	lastSeq uint64   // key of the previous entry of recalled or edited
	lastNum protowire.Number
}

// ascending checks that an entry's key follows the previous one of its
// field: the maps are written sorted, each key once.
func (d *checkpointDecoder) ascending(f field, key [32]byte) error {
	if d.lastNum == f.num && bytes.Compare(d.lastKey[:], key[:]) >= 0 {
		return malformed("field %d: entries out of order or repeated", f.num)
	}
	d.lastNum, d.lastKey = f.num, key
	return nil
}

func (d *checkpointDecoder) ascendingSeq(f field, seq uint64) error {
	if d.lastNum == f.num && d.lastSeq >= seq {
		return malformed("field %d: entries out of order or repeated", f.num)
	}
	d.lastNum, d.lastSeq = f.num, seq
	return nil
}

// atMostSeq checks a seq of the state against the checkpoint's seq.
func (d *checkpointDecoder) atMostSeq(v uint64, what string) error {
	if d.s.Head != 0 && v > d.s.Head {
		return invalid("%s %d is after the checkpoint's seq %d", what, v, d.s.Head)
	}
	return nil
}

// notExpired checks that an invite held by the state has not expired by the
// checkpoint's time: Apply drops those.
func (d *checkpointDecoder) notExpired(expires uint64) error {
	if expires != 0 && d.s.HeadTime != 0 && expires <= d.s.HeadTime {
		return invalid("an invite that expired at %s is still in the state at %s", FormatTime(expires), FormatTime(d.s.HeadTime))
	}
	return nil
}

func (d *checkpointDecoder) field(f field) error {
	s := d.s
	var err error
	switch f.num {
	case 1:
		return bytes32(f, (*[32]byte)(&s.Group))
	case 2:
		s.Head = f.u
		return wantVarint(f)
	case 3:
		return bytes32(f, (*[32]byte)(&s.HeadID))
	case 4:
		s.HeadTime = f.u
		return wantVarint(f)
	case 5:
		return bytes32(f, (*[32]byte)(&s.Host))
	case 6:
		return bytes32(f, (*[32]byte)(&s.Owner))
	case 7:
		s.Name, err = text(f, MaxNameRunes, "the group name")
	case 8:
		s.Description, err = text(f, MaxDescriptionRunes, "the description")
	case 9:
		s.Avatar, err = urlText(f, "the avatar URL")
	case 10:
		var v uint32
		if v, err = u32(f); err == nil {
			s.Policy = Policy(v)
			if s.Policy < PolicyOpen || s.Policy > PolicyInvite {
				return invalid("unknown join policy %d", v)
			}
		}
	case 11:
		var v uint32
		if v, err = u32(f); err == nil {
			s.Cap = v
			if v > MaxMemberCap {
				return invalid("member cap %d exceeds the limit of %d", v, MaxMemberCap)
			}
		}
	case 12:
		if err = wantVarint(f); err == nil && f.u != 1 {
			return malformed("field 12 is a bool")
		}
		s.Public = true
	case 13:
		var v uint32
		if v, err = u32(f); err == nil {
			s.History = History(v)
			if s.History != HistoryAll && s.History != HistoryFromJoin {
				return invalid("history setting must be 1 (all) or 2 (from join), not %d", v)
			}
		}
	case 14:
		s.Announcement, err = text(f, MaxTextRunes, "the announcement")
	case 15:
		err = d.pin(f)
	case 16:
		err = d.member(f)
	case 17:
		var u UserID
		if err = bytes32(f, (*[32]byte)(&u)); err != nil {
			return err
		}
		if err = d.ascending(f, u); err != nil {
			return err
		}
		if s.Members[u] != nil {
			return invalid("%s is both a member and banned", u.Short())
		}
		s.Banned[u] = true
	case 18:
		err = d.request(f)
	case 19:
		err = d.invite(f)
	case 20:
		err = d.closed(f)
	case 21:
		s.MuteAllUntil = f.u
		return wantVarint(f)
	case 22:
		err = d.leftMuted(f)
	case 23:
		err = d.recall(f)
	case 24:
		err = d.edit(f)
	case 25:
		err = d.bridged(f)
	case 26:
		if err = wantVarint(f); err == nil && (f.u == 0 || d.s.Head != 0 && f.u > d.s.Head) {
			return invalid("closed_at %d is not an event up to the checkpoint's seq", f.u)
		}
		s.ClosedAt = f.u
	case 27:
		if err = wantBytes(f); err != nil {
			return err
		}
		r := &Rules{}
		if err = r.decode(f.b); err == nil && r.IsEmpty() {
			err = invalid("field 27 holds no rule; a group without rules leaves it out")
		}
		s.Rules = r
	case 28:
		if err = wantVarint(f); err == nil && d.s.Head != 0 && f.u > d.s.Head {
			return invalid("announced_at %d is after the checkpoint's seq", f.u)
		}
		s.AnnouncedAt = f.u
	case 29:
		err = d.confirmed(f)
	default:
		return unknownField(f)
	}
	return err
}

func (d *checkpointDecoder) pin(f field) error {
	if err := wantVarint(f); err != nil {
		return err
	}
	if len(d.s.Pins) >= MaxPins {
		return invalid("a group has at most %d pinned messages", MaxPins)
	}
	if d.s.Head != 0 && f.u >= d.s.Head {
		return invalid("pinned message %d is not before the checkpoint's seq %d", f.u, d.s.Head)
	}
	if slices.Contains(d.s.Pins, f.u) {
		return invalid("message %d is pinned twice", f.u)
	}
	d.s.Pins = append(d.s.Pins, f.u)
	return nil
}

func (d *checkpointDecoder) member(f field) error {
	if err := wantBytes(f); err != nil {
		return err
	}
	var u UserID
	m := &Member{}
	err := walk(f.b, nil, nil, func(f field) error {
		switch f.num {
		case 1:
			return bytes32(f, (*[32]byte)(&u))
		case 2:
			v, err := u32(f)
			if err != nil {
				return err
			}
			m.Role = Role(v)
			if m.Role < RoleMember || m.Role > RoleBridge {
				return invalid("unknown role %d", v)
			}
		case 3:
			return bytes32(f, (*[32]byte)(&m.Home))
		case 4:
			m.Joined = f.u
			return wantVarint(f)
		case 5:
			m.From = f.u
			return wantVarint(f)
		case 6:
			m.MutedUntil = f.u
			return wantVarint(f)
		case 7:
			if err := wantBytes(f); err != nil {
				return err
			}
			var p ProfileBody
			if err := p.decode(f.b); err != nil {
				return err
			}
			m.Profile = p.Profile
		case 8:
			m.LastMessage = f.u
			return wantVarint(f)
		default:
			return unknownField(f)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if u.IsZero() || m.Role == 0 || m.Home.IsZero() || m.Joined == 0 {
		return invalid("a member entry names the user, their role, their home node and the seq that admitted them")
	}
	if err := d.ascending(f, u); err != nil {
		return err
	}
	if len(d.s.Members) >= MaxMemberCap {
		return invalid("a group has at most %d members", MaxMemberCap)
	}
	if err := d.atMostSeq(m.Joined, "the join of "+u.Short()); err != nil {
		return err
	}
	if m.From != 0 && m.From != m.Joined {
		return invalid("%s may read from event %d, neither the whole log nor from their join (%d)", u.Short(), m.From, m.Joined)
	}
	if m.Role == RoleOwner {
		if d.owners++; d.owners > 1 {
			return invalid("two members have the owner role")
		}
	}
	d.s.Members[u] = m
	return nil
}

func (d *checkpointDecoder) request(f field) error {
	if err := wantBytes(f); err != nil {
		return err
	}
	var u UserID
	r := &Request{}
	err := walk(f.b, nil, nil, func(f field) error {
		var err error
		switch f.num {
		case 1:
			err = bytes32(f, (*[32]byte)(&u))
		case 2:
			err = bytes32(f, (*[32]byte)(&r.Home))
		case 3:
			r.Seq = f.u
			err = wantVarint(f)
		case 4:
			r.Note, err = text(f, MaxReasonRunes, "the note")
		default:
			err = unknownField(f)
		}
		return err
	})
	if err != nil {
		return err
	}
	if u.IsZero() || r.Home.IsZero() || r.Seq == 0 {
		return invalid("a join request entry names the user, their home node and the request's seq")
	}
	if err := d.ascending(f, u); err != nil {
		return err
	}
	if len(d.s.Requests) >= MaxPending {
		return invalid("a group has at most %d open join requests", MaxPending)
	}
	if err := d.atMostSeq(r.Seq, "the join request of "+u.Short()); err != nil {
		return err
	}
	if d.s.Members[u] != nil || d.s.Banned[u] {
		return invalid("%s has an open join request but is a member or banned", u.Short())
	}
	d.s.Requests[u] = r
	return nil
}

func (d *checkpointDecoder) invite(f field) error {
	if err := wantBytes(f); err != nil {
		return err
	}
	var id InviteID
	inv := &InviteState{}
	err := walk(f.b, nil, nil, func(f field) error {
		var err error
		switch f.num {
		case 1:
			err = bytes32(f, (*[32]byte)(&id))
		case 2:
			err = bytes32(f, (*[32]byte)(&inv.Inviter))
		case 3:
			inv.Expires = f.u
			err = wantVarint(f)
		case 4:
			inv.MaxUses, err = u32(f)
		case 5:
			inv.Uses, err = u32(f)
		case 6:
			inv.Ref, err = text(f, MaxRefBytes, "the invite reference")
		default:
			err = unknownField(f)
		}
		return err
	})
	if err != nil {
		return err
	}
	if id == (InviteID{}) || inv.Inviter.IsZero() {
		return invalid("an open invite entry names the invite and its inviter")
	}
	if err := d.ascending(f, id); err != nil {
		return err
	}
	if len(d.s.Invites) >= MaxInvites {
		return invalid("a group has at most %d open invites", MaxInvites)
	}
	if inv.MaxUses > MaxInviteUses {
		return invalid("an invite allows at most %d uses", MaxInviteUses)
	}
	if inv.MaxUses != 0 && inv.Uses >= inv.MaxUses {
		return invalid("an open invite with %d uses of %d is used up", inv.Uses, inv.MaxUses)
	}
	if err := d.notExpired(inv.Expires); err != nil {
		return err
	}
	d.s.Invites[id] = inv
	return nil
}

func (d *checkpointDecoder) closed(f field) error {
	if err := wantBytes(f); err != nil {
		return err
	}
	var id InviteID
	var c ClosedInvite
	err := walk(f.b, nil, nil, func(f field) error {
		var err error
		switch f.num {
		case 1:
			err = bytes32(f, (*[32]byte)(&id))
		case 2:
			c.Expires = f.u
			err = wantVarint(f)
		case 3:
			if err = wantVarint(f); err == nil && f.u != 1 {
				err = malformed("field 3 is a bool")
			}
			c.Revoked = true
		default:
			err = unknownField(f)
		}
		return err
	})
	if err != nil {
		return err
	}
	if id == (InviteID{}) {
		return invalid("a closed invite entry names the invite")
	}
	if err := d.ascending(f, id); err != nil {
		return err
	}
	if len(d.s.Invites)+len(d.s.Closed) >= MaxHeldInvites {
		return invalid("a group holds at most %d open and closed invites", MaxHeldInvites)
	}
	if d.s.Invites[id] != nil {
		return invalid("invite %s is both open and closed", id)
	}
	if err := d.notExpired(c.Expires); err != nil {
		return err
	}
	d.s.Closed[id] = c
	return nil
}

func (d *checkpointDecoder) leftMuted(f field) error {
	if err := wantBytes(f); err != nil {
		return err
	}
	var u UserID
	var until uint64
	err := walk(f.b, nil, nil, func(f field) error {
		switch f.num {
		case 1:
			return bytes32(f, (*[32]byte)(&u))
		case 2:
			until = f.u
			return wantVarint(f)
		}
		return unknownField(f)
	})
	if err != nil {
		return err
	}
	if u.IsZero() || until == 0 {
		return invalid("a left-muted entry names the user and the end of their mute")
	}
	if err := d.ascending(f, u); err != nil {
		return err
	}
	if d.s.Members[u] != nil {
		return invalid("%s is a member, yet their mute is kept for their return", u.Short())
	}
	d.s.LeftMuted[u] = until
	return nil
}

func (d *checkpointDecoder) recall(f field) error {
	if err := wantBytes(f); err != nil {
		return err
	}
	var seq uint64
	var r Recall
	err := walk(f.b, nil, nil, func(f field) error {
		switch f.num {
		case 1:
			seq = f.u
			return wantVarint(f)
		case 2:
			r.Seq = f.u
			return wantVarint(f)
		case 3:
			return bytes32(f, (*[32]byte)(&r.By))
		}
		return unknownField(f)
	})
	if err != nil {
		return err
	}
	if seq == 0 || r.Seq == 0 || r.By.IsZero() {
		return invalid("a recall entry names the message, the recall's seq and its author")
	}
	if err := d.ascendingSeq(f, seq); err != nil {
		return err
	}
	if err := d.later(seq, r.Seq, "recall"); err != nil {
		return err
	}
	d.s.Recalled[seq] = r
	return nil
}

func (d *checkpointDecoder) edit(f field) error {
	if err := wantBytes(f); err != nil {
		return err
	}
	var seq, edit uint64
	err := walk(f.b, nil, nil, func(f field) error {
		switch f.num {
		case 1:
			seq = f.u
			return wantVarint(f)
		case 2:
			edit = f.u
			return wantVarint(f)
		}
		return unknownField(f)
	})
	if err != nil {
		return err
	}
	if seq == 0 || edit == 0 {
		return invalid("an edit entry names the message and the edit's seq")
	}
	if err := d.ascendingSeq(f, seq); err != nil {
		return err
	}
	if err := d.later(seq, edit, "edit"); err != nil {
		return err
	}
	d.s.Edited[seq] = edit
	return nil
}

func (d *checkpointDecoder) bridged(f field) error {
	if err := wantBytes(f); err != nil {
		return err
	}
	var id UserID
	p := &BridgedPerson{}
	err := walk(f.b, nil, nil, func(f field) error {
		var err error
		switch f.num {
		case 1:
			err = bytes32(f, (*[32]byte)(&id))
		case 2:
			err = bytes32(f, (*[32]byte)(&p.Bridge))
		case 3:
			if err = wantBytes(f); err == nil {
				p.Network, err = networkName(f.b)
			}
		case 4:
			if err = wantBytes(f); err == nil {
				p.User, err = remoteUser(f.b)
			}
		case 5:
			p.Name, err = profileText(f, MaxDisplayNameRunes, "the bridged person's name")
		case 6:
			p.First = f.u
			err = wantVarint(f)
		case 7:
			p.MutedUntil = f.u
			err = wantVarint(f)
		case 8:
			if err = wantVarint(f); err == nil && f.u != 1 {
				err = malformed("field 8 is a bool")
			}
			p.Removed = true
		default:
			err = unknownField(f)
		}
		return err
	})
	if err != nil {
		return err
	}
	if id.IsZero() || p.Bridge.IsZero() || p.Network == "" || p.User == "" || p.First == 0 {
		return invalid("a bridged person's entry names them, their bridge, network and ID, and their first message")
	}
	if BridgedID(p.Bridge, p.Network, p.User) != id {
		return invalid("bridged person %s is not the identity of %s on %s relayed by %s", id.Short(), p.User, p.Network, p.Bridge.Short())
	}
	if err := d.ascending(f, id); err != nil {
		return err
	}
	if len(d.s.Bridged) >= MaxBridged {
		return invalid("a group holds at most %d bridged people", MaxBridged)
	}
	if err := d.atMostSeq(p.First, "the first message of "+id.Short()); err != nil {
		return err
	}
	d.s.Bridged[id] = p
	return nil
}

// later checks that the event by (a recall, an edit) of message seq follows
// it and is at most the checkpoint's seq.
func (d *checkpointDecoder) later(seq, by uint64, what string) error {
	if by <= seq {
		return invalid("the %s of message %d is event %d, not after it", what, seq, by)
	}
	if d.s.Head != 0 && by > d.s.Head {
		return invalid("the %s of message %d is event %d, after the checkpoint's seq %d", what, seq, by, d.s.Head)
	}
	return nil
}

// finish checks what the whole checkpoint must hold, once every field is read.
func (d *checkpointDecoder) finish() error {
	s := d.s
	switch {
	case s.Group.IsZero() || s.Head == 0 || s.HeadID == (EventID{}) || s.HeadTime == 0:
		return invalid("a checkpoint names its group, seq, event and time")
	case s.Host.IsZero() || s.Owner.IsZero():
		return invalid("a checkpoint names the group's host and owner")
	case s.Name == "":
		return invalid("a group needs a name")
	case s.Policy == 0 || s.Cap == 0:
		return invalid("a checkpoint gives the group's join policy and member cap")
	}
	if m := s.Members[s.Owner]; m == nil || m.Role != RoleOwner {
		return invalid("the owner %s is not the member with the owner role", s.Owner.Short())
	}
	return nil
}

func (d *checkpointDecoder) confirmed(f field) error {
	if err := wantBytes(f); err != nil {
		return err
	}
	var u UserID
	var seq uint64
	err := walk(f.b, nil, nil, func(f field) error {
		switch f.num {
		case 1:
			return bytes32(f, (*[32]byte)(&u))
		case 2:
			seq = f.u
			return wantVarint(f)
		}
		return unknownField(f)
	})
	if err != nil {
		return err
	}
	if err := d.ascending(f, u); err != nil {
		return err
	}
	switch {
	case d.s.AnnouncedAt == 0:
		return invalid("a confirmation without an announcement")
	case seq <= d.s.AnnouncedAt || d.s.Head != 0 && seq > d.s.Head:
		return invalid("the confirmation of %s is not an event after the announcement", u.Short())
	case d.s.Members[u] == nil:
		return invalid("%s confirmed the announcement but is not a member", u.Short())
	}
	d.s.Confirmed[u] = seq
	return nil
}
