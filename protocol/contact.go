package protocol

import (
	"bytes"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// DomainContact is the signing domain of contact offers (since 1.2).
const DomainContact = "qun/1/contact"

// Limits of a contact offer.
const (
	// MaxContactTargets bounds the people one offer goes to (the shop's
	// staff a buyer writes to).
	MaxContactTargets = 10
	// MaxContactLife bounds how long an offer (its invite) stays usable, in
	// ms: 7 days.
	MaxContactLife = 7 * 24 * 3600 * 1000
	// MaxContactSize bounds a signed contact offer.
	MaxContactSize = 8192
)

// A Contact (since 1.2; docs/PROTOCOL.md, "Private conversations") is
// between members of a group, so that what a buyer and a shop's staff say
// to each other (an address, a phone number) never goes into the group. It
// is one of two things:
//
//   - an offer (Invite set): the sender created a conversation (a group of
//     their own, invite only) and hands the people it names an invite
//     into it; they accept by joining;
//   - a request (no Invite): the sender asks the group's staff it names to
//     open a conversation with them; a staff member accepts by creating one
//     and sending the sender an offer.
//
// It travels through the host of the group both sides are in, which checks
// it against the group's state. It is not an event: no log holds it.
//
//	message Contact { uint64 version = 1; bytes group = 2; bytes from = 3;
//	                  repeated bytes to = 4; bytes invite = 5; string note = 6; }
type Contact struct {
	Group  GroupID  // field 2: the group both sides are members of
	From   UserID   // field 3: who offers (signs the offer and the invite)
	To     []UserID // field 4, repeated, ascending: who the offer is for
	Invite []byte   // field 5: a signed invite into the conversation (an offer), or nil (a request)
	Note   string   // field 6: what it is about, ≤ MaxReasonRunes
}

// SignedContact is a decoded, not yet verified, contact offer.
type SignedContact struct {
	Contact
	Raw []byte
	// ID is the SHA-256 of Raw: an offer sent twice is one offer.
	ID [32]byte
	// Conversation is the decoded invite of field 5 (nil for a request).
	Conversation *SignedInvite
	pay, sig     []byte
}

// Encode returns the canonical payload.
func (c *Contact) Encode() []byte {
	var e encoder
	e.varint(1, Version)
	e.key(2, c.Group)
	e.key(3, c.From)
	for _, u := range c.To {
		e.bytesAlways(4, u[:])
	}
	e.bytes(5, c.Invite)
	e.string(6, c.Note)
	return e.b
}

// Sign signs the offer with the offerer's key; To is sorted first.
func (c *Contact) Sign(k *Key) (*SignedContact, error) {
	if c.From != k.ID() {
		return nil, invalid("the offer's sender is not the signing key")
	}
	slices.SortFunc(c.To, func(a, b UserID) int { return bytes.Compare(a[:], b[:]) })
	return DecodeContact(k.Sign(DomainContact, c.Encode()))
}

// DecodeContact decodes a signed contact and checks its shape: the people
// it is for (1 to MaxContactTargets, ascending, not the sender) and, in an
// offer, an invite signed for another group by the sender, with an expiry
// and a use for each of them. It verifies no signature: call Verify.
func DecodeContact(raw []byte) (*SignedContact, error) {
	env, err := decodeSigned(raw, MaxContactSize)
	if err != nil {
		return nil, err
	}
	c := &SignedContact{Raw: raw, ID: sum(raw), pay: env.payload, sig: env.sig}
	var version uint64
	err = walk(env.payload, []protowire.Number{4}, nil, func(f field) error {
		switch f.num {
		case 1:
			version = f.u
			return wantVarint(f)
		case 2:
			return bytes32(f, (*[32]byte)(&c.Group))
		case 3:
			return bytes32(f, (*[32]byte)(&c.From))
		case 4:
			var u UserID
			if err := bytes32(f, (*[32]byte)(&u)); err != nil {
				return err
			}
			if n := len(c.To); n > 0 && bytes.Compare(c.To[n-1][:], u[:]) >= 0 {
				return malformed("field 4: the people an offer is for are ascending, each once")
			}
			if len(c.To) >= MaxContactTargets {
				return invalid("an offer goes to at most %d people", MaxContactTargets)
			}
			c.To = append(c.To, u)
		case 5:
			if err := wantBytes(f); err != nil {
				return err
			}
			c.Invite = f.b
		case 6:
			var err error
			c.Note, err = text(f, MaxReasonRunes, "the note")
			return err
		default:
			return unknownField(f)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if version > Version {
		return nil, upgradeNeeded("contact offer version %d is newer", version)
	}
	if version != Version {
		return nil, invalid("contact offer version %d is not supported", version)
	}
	if c.Group.IsZero() || c.From.IsZero() || len(c.To) == 0 {
		return nil, invalid("a contact names its group, its sender and the people it is for")
	}
	if slices.Contains(c.To, c.From) {
		return nil, invalid("a contact is for other people than its sender")
	}
	if c.Invite == nil {
		return c, nil // a request
	}
	inv, err := DecodeInvite(c.Invite)
	if err != nil {
		return nil, Errorf(AsError(err).Code, "the offer's invite: %v", err)
	}
	switch {
	case inv.Inviter != c.From:
		return nil, invalid("the offer's invite is not the sender's")
	case inv.Group == c.Group:
		return nil, invalid("the offer's invite is into the group itself, not into a private conversation")
	case inv.Expires == 0:
		return nil, invalid("the offer's invite needs an expiry (at most 7 days)")
	case inv.MaxUses != 0 && int(inv.MaxUses) < len(c.To):
		return nil, invalid("the offer's invite has %d uses for %d people", inv.MaxUses, len(c.To))
	case inv.Ref != "":
		return nil, invalid("the offer's invite carries a reference, which everyone given it could read")
	}
	c.Conversation = inv
	return c, nil
}

// Verify checks the sender's signatures on the contact and on its invite.
func (c *SignedContact) Verify() error {
	if !VerifyRaw(c.From, DomainContact, c.pay, c.sig) {
		return Errorf(CodeBadSignature, "the contact's signature does not verify")
	}
	if c.Conversation == nil {
		return nil
	}
	return c.Conversation.Verify()
}

// IsRequest reports whether the contact asks for a conversation (it
// carries no invite) rather than offers one.
func (c *SignedContact) IsRequest() bool { return c.Conversation == nil }

// Lapses returns when the contact stops being usable (unix ms): an offer's
// invite's expiry; a request MaxContactLife after received, the time it
// reached the node that keeps it.
func (c *SignedContact) Lapses(received uint64) uint64 {
	if c.Conversation == nil {
		return received + MaxContactLife
	}
	return c.Conversation.Expires
}

// CheckContact checks a contact against the state of its group at time
// now (unix ms): the sender and every person it is for are members, and
// one side is staff (the owner or an admin): the sender of an offer, or
// everyone it is for (a buyer writes to the shop, the shop to a buyer, a
// member never to other members through the group). A request goes to
// staff only: they open the conversation. An offer's invite is usable now
// and for at most MaxContactLife.
func (s *State) CheckContact(c *SignedContact, now uint64) error {
	if c.Group != s.Group {
		return invalid("the contact is for another group")
	}
	if s.Banned[c.From] {
		return Errorf(CodeBanned, "you are banned from this group")
	}
	from := s.Members[c.From]
	if from == nil {
		return Errorf(CodeNotMember, "only the group's members can open a private conversation with its people")
	}
	toStaff := true
	for _, u := range c.To {
		m := s.Members[u]
		if m == nil {
			return Errorf(CodeNotMember, "%s is not a member of the group", u.Short())
		}
		toStaff = toStaff && m.Role.Staff()
	}
	switch {
	case c.IsRequest() && !toStaff:
		return Errorf(CodeForbidden, "a request for a private conversation goes to the group's owner and admins only")
	case !from.Role.Staff() && !toStaff:
		return Errorf(CodeForbidden, "members can open a private conversation only with the group's owner and admins")
	case c.IsRequest():
		return nil
	}
	if exp := c.Conversation.Expires; exp <= now {
		return Errorf(CodeInviteExpired, "the offer's invite expired at %s", FormatTime(exp))
	} else if exp > now+MaxContactLife {
		return invalid("the offer's invite is valid for more than 7 days")
	}
	return nil
}
