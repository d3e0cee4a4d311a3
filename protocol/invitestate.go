package protocol

import (
	"bytes"
	"slices"
)

// The life of an invite in a group's state (docs/PROTOCOL.md, "Invites in
// the state"). An invite_create event opens it; it closes when it is revoked
// or used up, and leaves the state at the first event whose host time is at
// or after its expiry. A closed invite keeps only its expiry and why it
// closed, so that the same token is refused with the right reason and can
// never be registered again while it could still admit anyone; once it has
// expired, its own expiry refuses it. The log keeps every invite forever;
// the state holds at most MaxInvites open and MaxHeldInvites open or closed
// invites, so a group takes any number of invites over its life.

// InviteState is an open invite: registered, not expired, not revoked, not
// used up.
type InviteState struct {
	Inviter UserID
	Expires uint64 // unix ms; 0 never
	MaxUses uint32 // 0 unlimited
	Uses    uint32
	Ref     string
}

// ClosedInvite is what a group keeps of a revoked or used-up invite until
// its expiry (for the life of the group if it has none).
type ClosedInvite struct {
	Expires uint64 // unix ms; 0 never
	Revoked bool   // false: used up
}

// inviteExpiry is an entry of State.expiry: the invites of Invites and
// Closed that expire, ordered by (at, id).
type inviteExpiry struct {
	at uint64
	id InviteID
}

func (a inviteExpiry) cmp(b inviteExpiry) int {
	switch {
	case a.at < b.at:
		return -1
	case a.at > b.at:
		return 1
	}
	return bytes.Compare(a.id[:], b.id[:])
}

// trackExpiry records that invite id leaves the state at time at (0: never).
func (s *State) trackExpiry(id InviteID, at uint64) {
	if at == 0 {
		return
	}
	e := inviteExpiry{at, id}
	i, _ := slices.BinarySearchFunc(s.expiry, e, inviteExpiry.cmp)
	s.expiry = slices.Insert(s.expiry, i, e)
}

// dropExpired removes the invites, open or closed, whose expiry is at or
// before now. Apply calls it with the time of each event it applies.
func (s *State) dropExpired(now uint64) {
	n := 0
	for n < len(s.expiry) && s.expiry[n].at <= now {
		delete(s.Invites, s.expiry[n].id)
		delete(s.Closed, s.expiry[n].id)
		n++
	}
	// Re-slicing shrinks the capacity too, so the next growth copies only
	// what is left: the array stays within a small factor of the live entries.
	s.expiry = s.expiry[n:]
	if len(s.expiry) == 0 {
		s.expiry = nil
	}
}

// rebuildExpiry derives the expiry index from Invites and Closed (after a
// snapshot is decoded).
func (s *State) rebuildExpiry() {
	s.expiry = nil
	for id, inv := range s.Invites {
		if inv.Expires != 0 {
			s.expiry = append(s.expiry, inviteExpiry{inv.Expires, id})
		}
	}
	for id, c := range s.Closed {
		if c.Expires != 0 {
			s.expiry = append(s.expiry, inviteExpiry{c.Expires, id})
		}
	}
	slices.SortFunc(s.expiry, inviteExpiry.cmp)
}

// openInvite returns the open invite id at time now (nil if it is not open
// or has expired by now).
func (s *State) openInvite(id InviteID, now uint64) *InviteState {
	inv := s.Invites[id]
	if inv == nil || (inv.Expires != 0 && inv.Expires <= now) {
		return nil
	}
	return inv
}

// closedInvite returns the closed invite id at time now.
func (s *State) closedInvite(id InviteID, now uint64) (ClosedInvite, bool) {
	c, ok := s.Closed[id]
	if !ok || (c.Expires != 0 && c.Expires <= now) {
		return ClosedInvite{}, false
	}
	return c, true
}

// inviteCounts returns how many invites are open and closed at time now:
// those the state holds, less those that expired since the last event
// applied (which Apply drops with the next event).
func (s *State) inviteCounts(now uint64) (open, closed int) {
	open, closed = len(s.Invites), len(s.Closed)
	for _, e := range s.expiry {
		if e.at > now {
			break
		}
		if _, ok := s.Invites[e.id]; ok {
			open--
		} else {
			closed--
		}
	}
	return open, closed
}

// closeInvite moves an open invite to Closed.
func (s *State) closeInvite(id InviteID, revoked bool) {
	inv := s.Invites[id]
	delete(s.Invites, id)
	s.Closed[id] = ClosedInvite{Expires: inv.Expires, Revoked: revoked}
}

func (s *State) inviteCreate(author UserID, me *Member, inv *SignedInvite, now uint64) (func(), error) {
	if me.Role.rank() < RoleAdmin.rank() && s.Policy != PolicyOpen {
		return nil, Errorf(CodeForbidden, "only the owner and admins can create invites in this group")
	}
	if inv.Group != s.Group || inv.Host != s.Host {
		return nil, Errorf(CodeInvalid, "the invite is for another group or host")
	}
	if inv.Inviter != author {
		return nil, Errorf(CodeInvalid, "an invite is registered by its inviter")
	}
	if inv.Expires != 0 && inv.Expires <= now {
		return nil, Errorf(CodeInviteExpired, "the invite expired at %s, before it was registered", FormatTime(inv.Expires))
	}
	if s.openInvite(inv.ID, now) != nil {
		return nil, Errorf(CodeConflict, "the invite is already registered")
	}
	if c, ok := s.closedInvite(inv.ID, now); ok {
		return nil, Errorf(CodeConflict, "the invite was %s; an invite is registered only once: make a new one", closedWhy(c))
	}
	open, closed := s.inviteCounts(now)
	if open >= MaxInvites {
		return nil, Errorf(CodeInvalid, "the group has %d open invites, the most it may have; revoke some or wait until they expire", open)
	}
	if open+closed >= MaxHeldInvites {
		return nil, Errorf(CodeInvalid, "the group keeps %d invites that have not expired yet (%d of them revoked or used up), the most it may keep; wait until some expire, and give invites an expiry", open+closed, closed)
	}
	return func() {
		s.Invites[inv.ID] = &InviteState{Inviter: author, Expires: inv.Expires, MaxUses: inv.MaxUses, Ref: inv.Ref}
		s.trackExpiry(inv.ID, inv.Expires)
	}, nil
}

func closedWhy(c ClosedInvite) string {
	if c.Revoked {
		return "revoked"
	}
	return "used up"
}

func (s *State) inviteRevoke(author UserID, id InviteID, now uint64) (func(), error) {
	if inv := s.openInvite(id, now); inv != nil {
		if inv.Inviter != author && !s.IsAdmin(author) {
			return nil, Errorf(CodeForbidden, "only the inviter or an admin can revoke this invite")
		}
		return func() { s.closeInvite(id, true) }, nil
	}
	if c, ok := s.closedInvite(id, now); ok {
		return nil, Errorf(CodeConflict, "the invite is already %s", closedWhy(c))
	}
	return nil, Errorf(CodeNotFound, "no such invite in this group (never registered, or expired)")
}

// CheckInvite reports whether inv may admit a member at host time now, and
// returns its state. The refusals name the reason: expired (from the token's
// own expiry), revoked, used up, or never registered.
func (s *State) CheckInvite(inv *SignedInvite, now uint64) (*InviteState, error) {
	if inv.Group != s.Group {
		return nil, Errorf(CodeInvalid, "the invite is for another group")
	}
	if inv.Expires != 0 && now >= inv.Expires {
		return nil, Errorf(CodeInviteExpired, "invite expired at %s", FormatTime(inv.Expires))
	}
	if c, ok := s.closedInvite(inv.ID, now); ok {
		if c.Revoked {
			return nil, Errorf(CodeInviteRevoked, "this invite was revoked")
		}
		return nil, Errorf(CodeInviteUsedUp, "this invite has been used up")
	}
	st := s.openInvite(inv.ID, now)
	if st == nil {
		return nil, Errorf(CodeInviteUnknown, "this invite is not registered with the group")
	}
	return st, nil
}

// useInvite counts one use of the open invite id, closing it when it is used up.
func (s *State) useInvite(id InviteID) {
	inv := s.Invites[id]
	inv.Uses++
	if inv.MaxUses != 0 && inv.Uses >= inv.MaxUses {
		s.closeInvite(id, false)
	}
}
