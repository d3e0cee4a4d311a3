package protocol

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// conversationInvite is an invite by k into a conversation group (not the
// harness's group), valid for an hour from the harness's clock.
func (h *harness) conversationInvite(k *Key, mod func(*Invite)) []byte {
	h.t.Helper()
	inv := Invite{
		Group: GroupID(sum([]byte("conversation of " + k.ID().String()))), Host: kHome.ID(), Inviter: k.ID(),
		Addrs: [][]byte{mustMultiaddr(h.t, "/ip4/127.0.0.1/tcp/4002")}, Expires: h.now + 3_600_000, MaxUses: MaxContactTargets,
		Nonce: h.nextNonce(),
	}
	if mod != nil {
		mod(&inv)
	}
	si, err := inv.Sign(k)
	if err != nil {
		h.t.Fatal(err)
	}
	return si.Raw
}

// offer signs a contact offer by k to the people to.
func (h *harness) offer(k *Key, to []*Key, mod func(*Contact)) *SignedContact {
	h.t.Helper()
	c := Contact{Group: h.st.Group, From: k.ID(), Invite: h.conversationInvite(k, nil), Note: "about order 1024"}
	for _, t := range to {
		c.To = append(c.To, t.ID())
	}
	if mod != nil {
		mod(&c)
	}
	sc, err := c.Sign(k)
	if err != nil {
		h.t.Fatal(err)
	}
	return sc
}

// TestContactRules: who may offer a private conversation to whom in a
// group, checked against the group's state: a member writes to the staff,
// the staff to anyone, never a member to other members, never an outsider.
func TestContactRules(t *testing.T) {
	h := newGroup(t)
	cases := []struct {
		name string
		from *Key
		to   []*Key
		want Code // 0: accepted
	}{
		{"a member to an admin", kMember, []*Key{kAdmin}, 0},
		{"a member to the owner and both admins", kMember, []*Key{kOwner, kAdmin, kAdmin2}, 0},
		{"an admin to a member", kAdmin, []*Key{kMember}, 0},
		{"the owner to two members", kOwner, []*Key{kMember, kMember2}, 0},
		{"a bridge to an admin", kBridge, []*Key{kAdmin}, 0},
		{"a member to a member", kMember, []*Key{kMember2}, CodeForbidden},
		{"a member to an admin and a member", kMember, []*Key{kAdmin, kMember2}, CodeForbidden},
		{"a member to the bridge", kMember, []*Key{kBridge}, CodeForbidden},
		{"an outsider to an admin", kOut, []*Key{kAdmin}, CodeNotMember},
		{"a banned user to the owner", kBanned, []*Key{kOwner}, CodeBanned},
		{"an admin to an outsider", kAdmin, []*Key{kOut}, CodeNotMember},
		{"a member to an admin and an outsider", kMember, []*Key{kAdmin, kOut}, CodeNotMember},
	}
	requests := []struct {
		name string
		from *Key
		to   []*Key
		want Code
	}{
		{"a member asks an admin", kMember, []*Key{kAdmin}, 0},
		{"a member asks the owner and an admin", kMember, []*Key{kOwner, kAdmin2}, 0},
		{"an admin asks the owner", kAdmin, []*Key{kOwner}, 0},
		{"an admin asks a member", kAdmin, []*Key{kMember}, CodeForbidden},
		{"a member asks a member", kMember, []*Key{kMember2}, CodeForbidden},
		{"an outsider asks the owner", kOut, []*Key{kOwner}, CodeNotMember},
	}
	for _, tc := range requests {
		t.Run("request/"+tc.name, func(t *testing.T) {
			c := h.offer(tc.from, tc.to, func(c *Contact) { c.Invite = nil })
			if !c.IsRequest() || c.Verify() != nil {
				t.Fatalf("not a verified request: %v", c.Verify())
			}
			err := h.st.CheckContact(c, h.now)
			if tc.want == 0 && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tc.want != 0 && (err == nil || AsError(err).Code != tc.want) {
				t.Fatalf("got %v (%s), want %s", err, codeOf(err), tc.want)
			}
			if got := c.Lapses(1000); got != 1000+MaxContactLife {
				t.Fatalf("a request lapses at %d", got)
			}
		})
	}
	for _, tc := range cases {
		t.Run("offer/"+tc.name, func(t *testing.T) {
			c := h.offer(tc.from, tc.to, nil)
			if err := c.Verify(); err != nil {
				t.Fatal(err)
			}
			err := h.st.CheckContact(c, h.now)
			if tc.want == 0 && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tc.want != 0 && (err == nil || AsError(err).Code != tc.want) {
				t.Fatalf("got %v (%s), want %s", err, codeOf(err), tc.want)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		c := h.offer(kMember, []*Key{kAdmin}, nil)
		if err := h.st.CheckContact(c, c.Conversation.Expires); AsError(err).Code != CodeInviteExpired {
			t.Fatalf("got %v, want invite_expired", err)
		}
	})
	t.Run("longer than 7 days", func(t *testing.T) {
		c := h.offer(kMember, []*Key{kAdmin}, nil)
		now := c.Conversation.Expires - MaxContactLife - 1
		if err := h.st.CheckContact(c, now); AsError(err).Code != CodeInvalid {
			t.Fatalf("got %v, want invalid", err)
		}
		if err := h.st.CheckContact(c, now+1); err != nil {
			t.Fatalf("exactly 7 days: %v", err)
		}
	})
	t.Run("another group", func(t *testing.T) {
		c := h.offer(kMember, []*Key{kAdmin}, func(c *Contact) { c.Group = GroupID(sum([]byte("other"))) })
		if err := h.st.CheckContact(c, h.now); AsError(err).Code != CodeInvalid {
			t.Fatalf("got %v, want invalid", err)
		}
	})
}

// TestContactDecode: the shape of an offer, and every signature checked.
func TestContactDecode(t *testing.T) {
	h := newGroup(t)
	good := h.offer(kMember, []*Key{kOwner, kAdmin}, nil)
	if !slices.IsSortedFunc(good.To, func(a, b UserID) int { return bytes.Compare(a[:], b[:]) }) {
		t.Fatal("Sign does not sort the people an offer is for")
	}
	back, err := DecodeContact(good.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.Verify(); err != nil {
		t.Fatal(err)
	}
	if back.ID != good.ID || back.Note != "about order 1024" || len(back.To) != 2 || back.Conversation.Group == h.st.Group {
		t.Fatalf("round trip: %+v", back.Contact)
	}
	if re := back.Encode(); !bytes.Equal(re, back.pay) {
		t.Fatal("not canonical")
	}

	// raw signs a payload built by hand (bypassing Sign's sorting).
	raw := func(c Contact) []byte { return kMember.Sign(DomainContact, c.Encode()) }
	base := func() Contact {
		return Contact{Group: h.st.Group, From: kMember.ID(), To: []UserID{kAdmin.ID()}, Invite: h.conversationInvite(kMember, nil)}
	}
	many := make([]UserID, MaxContactTargets+1)
	for i := range many {
		many[i] = UserID(sum([]byte{byte(i)}))
	}
	slices.SortFunc(many, func(a, b UserID) int { return bytes.Compare(a[:], b[:]) })
	refused := []struct {
		name string
		raw  []byte
		want Code
	}{
		{"no one to", raw(func() Contact { c := base(); c.To = nil; return c }()), CodeInvalid},
		{"to the sender", raw(func() Contact { c := base(); c.To = []UserID{kMember.ID()}; return c }()), CodeInvalid},
		{"to unsorted", raw(func() Contact {
			c := base()
			c.To = []UserID{kOwner.ID(), kAdmin.ID()}
			slices.SortFunc(c.To, func(a, b UserID) int { return bytes.Compare(b[:], a[:]) })
			return c
		}()), CodeMalformed},
		{"to twice", raw(func() Contact { c := base(); c.To = []UserID{kAdmin.ID(), kAdmin.ID()}; return c }()), CodeMalformed},
		{"to too many", raw(func() Contact { c := base(); c.To = many; return c }()), CodeInvalid},
		{"invite of someone else", raw(func() Contact { c := base(); c.Invite = h.conversationInvite(kAdmin, nil); return c }()), CodeInvalid},
		{"invite into the group itself", raw(func() Contact {
			c := base()
			c.Invite = h.conversationInvite(kMember, func(i *Invite) { i.Group = h.st.Group })
			return c
		}()), CodeInvalid},
		{"invite without expiry", raw(func() Contact {
			c := base()
			c.Invite = h.conversationInvite(kMember, func(i *Invite) { i.Expires = 0 })
			return c
		}()), CodeInvalid},
		{"invite with too few uses", raw(func() Contact {
			c := base()
			c.To = []UserID{kOwner.ID(), kAdmin.ID()}
			slices.SortFunc(c.To, func(a, b UserID) int { return bytes.Compare(a[:], b[:]) })
			c.Invite = h.conversationInvite(kMember, func(i *Invite) { i.MaxUses = 1 })
			return c
		}()), CodeInvalid},
		{"invite with a reference", raw(func() Contact {
			c := base()
			c.Invite = h.conversationInvite(kMember, func(i *Invite) { i.Ref = "order-7" })
			return c
		}()), CodeInvalid},
		{"a broken invite", raw(func() Contact { c := base(); c.Invite = []byte{0x0a, 0x01}; return c }()), CodeMalformed},
		{"a note too long", raw(func() Contact { c := base(); c.Note = strings.Repeat("a", MaxReasonRunes+1); return c }()), CodeInvalid},
		{"a later field", func() []byte { c := base(); return kMember.Sign(DomainContact, cat(c.Encode(), vf(7, 1))) }(), CodeUpgradeNeeded},
		{"too large", make([]byte, MaxContactSize+1), CodeTooLarge},
		{"truncated", good.Raw[:len(good.Raw)-1], CodeMalformed},
	}
	for _, tc := range refused {
		if _, err := DecodeContact(tc.raw); err == nil || AsError(err).Code != tc.want {
			t.Errorf("%s: got %v (%s), want %s", tc.name, err, codeOf(err), tc.want)
		}
	}

	// Signatures: the offer's by its sender, the invite's by its inviter.
	forged := kAdmin.Sign(DomainContact, good.pay)
	if c, err := DecodeContact(forged); err != nil || AsError(c.Verify()).Code != CodeBadSignature {
		t.Errorf("an offer signed by another key: decode %v, verify %v", err, c.Verify())
	}
	otherDomain := kMember.Sign(DomainInvite, good.pay)
	if c, err := DecodeContact(otherDomain); err != nil || c.Verify() == nil {
		t.Error("an offer signed in another domain verifies")
	}
	inv, _ := DecodeInvite(base().Invite)
	forgedInv := kAdmin.Sign(DomainInvite, inv.pay)
	badInv := encodeSigned(inv.pay, forgedInv[len(forgedInv)-64:])
	c := base()
	c.Invite = badInv
	if sc, err := DecodeContact(raw(c)); err != nil || AsError(sc.Verify()).Code != CodeBadSignature {
		t.Errorf("an offer whose invite is forged: decode %v", err)
	}
}
