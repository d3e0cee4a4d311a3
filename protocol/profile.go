package protocol

import (
	"bytes"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// Profile is how a member appears in one group (kind profile, since 1.1):
// a display name, a bio, a nickname for this group (群昵称) and an avatar.
// An empty string, or a nil Avatar, is "not set".
//
// Names are display data, never identity: two members may show the same
// name or nick, and anyone may choose any name. A member is identified by
// their key (UserID) only; clients that show a name should make the key
// reachable (for example the short peer ID next to a repeated name).
type Profile struct {
	Name   string   // field 1: display name, ≤ MaxDisplayNameRunes
	Bio    string   // field 2: ≤ MaxBioRunes
	Nick   string   // field 3: nickname in this group, ≤ MaxNickRunes
	Avatar *BlobRef // field 4: an image/png, image/jpeg or image/webp of ≤ MaxAvatarBytes
	// Groups are the groups the member shows (field 5, since 1.5;
	// 展示我加入的群聊): ≤ MaxShownGroups, none twice.
	Groups []ShownGroup
}

// ShownGroup is a group a member shows on their profile (since 1.5): where
// others find its host, to ask the host about it and apply to join. It is
// the member's claim; the host's answer is what counts.
type ShownGroup struct {
	Group GroupID  // field 1
	Host  UserID   // field 2: the group's host
	Addrs [][]byte // field 3: the host's binary multiaddrs, ≤ MaxInviteAddrs
}

// IsZero reports whether nothing of the profile is set.
func (p Profile) IsZero() bool {
	return p.Name == "" && p.Bio == "" && p.Nick == "" && p.Avatar == nil && len(p.Groups) == 0
}

// Equal reports whether p and q are the same profile.
func (p Profile) Equal(q Profile) bool {
	return bytes.Equal((&ProfileBody{Profile: p}).Encode(), (&ProfileBody{Profile: q}).Encode())
}

// DisplayName is the name a client shows for the member in the group: the
// nick, else the name; empty when neither is set (show the peer ID).
func (p Profile) DisplayName() string {
	if p.Nick != "" {
		return p.Nick
	}
	return p.Name
}

// clone returns p with its own copy of the avatar and the groups.
func (p Profile) clone() Profile {
	if p.Avatar != nil {
		a := *p.Avatar
		p.Avatar = &a
	}
	if p.Groups != nil {
		gs := make([]ShownGroup, len(p.Groups))
		for i, g := range p.Groups {
			gs[i] = ShownGroup{Group: g.Group, Host: g.Host, Addrs: append([][]byte(nil), g.Addrs...)}
		}
		p.Groups = gs
	}
	return p
}

// avatarTypes are the media types a profile avatar may have.
var avatarTypes = [...]string{"image/png", "image/jpeg", "image/webp"}

// ProfileBody sets the author's profile in the group (kind 21, since 1.1):
// it replaces the whole profile, so a field left out is cleared, and an
// empty body clears the profile.
type ProfileBody struct{ Profile }

// NewProfileBody makes the body of a profile submission.
func NewProfileBody(p Profile) *ProfileBody { return &ProfileBody{Profile: p} }

// Kind implements Body.
func (*ProfileBody) Kind() Kind { return KindProfile }

// Encode implements Body.
func (b *ProfileBody) Encode() []byte {
	var e encoder
	e.string(1, b.Name)
	e.string(2, b.Bio)
	e.string(3, b.Nick)
	if b.Avatar != nil {
		e.bytesAlways(4, b.Avatar.encode())
	}
	for _, g := range b.Groups {
		e.bytesAlways(5, g.encode())
	}
	return e.b
}

func (g *ShownGroup) encode() []byte {
	var e encoder
	e.key(1, g.Group)
	e.key(2, g.Host)
	for _, a := range g.Addrs {
		e.bytesAlways(3, a)
	}
	return e.b
}

func (g *ShownGroup) decode(data []byte) error {
	err := walk(data, []protowire.Number{3}, nil, func(f field) error {
		switch f.num {
		case 1:
			return bytes32(f, (*[32]byte)(&g.Group))
		case 2:
			return bytes32(f, (*[32]byte)(&g.Host))
		case 3:
			if err := wantBytes(f); err != nil {
				return err
			}
			if len(g.Addrs) >= MaxInviteAddrs {
				return invalid("a shown group carries at most %d addresses", MaxInviteAddrs)
			}
			if err := checkMultiaddr(f.b); err != nil {
				return err
			}
			g.Addrs = append(g.Addrs, f.b)
			return nil
		default:
			return unknownField(f)
		}
	})
	if err != nil {
		return err
	}
	if g.Group.IsZero() || g.Host.IsZero() {
		return invalid("a shown group needs the group's ID and its host")
	}
	return nil
}

// Check reports whether the body obeys the rules every replica applies to
// it (the same check as decoding it): a client calls it before signing.
func (b *ProfileBody) Check() error {
	_, err := DecodeBody(KindProfile, b.Encode())
	return err
}

func (b *ProfileBody) decode(data []byte) error {
	return walk(data, []protowire.Number{5}, nil, func(f field) error {
		var err error
		switch f.num {
		case 1:
			b.Name, err = profileText(f, MaxDisplayNameRunes, "the display name")
		case 2:
			b.Bio, err = profileText(f, MaxBioRunes, "the bio")
		case 3:
			b.Nick, err = profileText(f, MaxNickRunes, "the nickname")
		case 4:
			if err = wantBytes(f); err == nil {
				b.Avatar = &BlobRef{}
				if err = b.Avatar.decode(f.b); err == nil {
					err = checkAvatar(b.Avatar)
				}
			}
		case 5:
			if err = wantBytes(f); err != nil {
				break
			}
			if len(b.Groups) >= MaxShownGroups {
				return invalid("a profile shows at most %d groups", MaxShownGroups)
			}
			var g ShownGroup
			if err = g.decode(f.b); err != nil {
				break
			}
			for _, o := range b.Groups {
				if o.Group == g.Group {
					return invalid("the profile shows group %s twice", g.Group)
				}
			}
			b.Groups = append(b.Groups, g)
		default:
			err = unknownField(f)
		}
		return err
	})
}

func checkAvatar(r *BlobRef) error {
	ok := false
	for _, t := range avatarTypes {
		ok = ok || r.MIME == t
	}
	if !ok {
		return invalid("an avatar is an image/png, image/jpeg or image/webp, not %s", r.MIME)
	}
	if r.Size > MaxAvatarBytes {
		return invalid("the avatar has %d bytes; the limit is %d (%d KiB)", r.Size, MaxAvatarBytes, MaxAvatarBytes>>10)
	}
	return nil
}

// profileText decodes a profile string (docs/PROTOCOL.md, "Profile text"):
// valid UTF-8 of at most maxRunes characters, no control character
// (refusedRune) and no white space or joiner at either end. Nothing is
// trimmed or normalized: every replica keeps the bytes as signed.
func profileText(f field, maxRunes int, what string) (string, error) {
	s, err := text(f, maxRunes, what)
	if err != nil {
		return "", err
	}
	for i, r := range s {
		if refusedRune(r) {
			return "", invalid("%s has the control character U+%04X at byte %d", what, r, i)
		}
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	for _, r := range [2]rune{first, last} {
		if edgeRune(r) {
			return "", invalid("%s starts or ends with white space (U+%04X); remove it", what, r)
		}
	}
	return s, nil
}

// refusedRanges are the characters a profile string never holds: the
// controls (Unicode category Cc), the line and paragraph separators (Zl,
// Zp) and the format characters (Cf) of Unicode 15.0 but the zero-width
// non-joiner U+200C and joiner U+200D, which emoji sequences and many
// scripts need. The list is part of the protocol and frozen: a later
// Unicode version adding format characters does not change it (that would
// let two replicas disagree).
var refusedRanges = [...][2]rune{
	{0x0000, 0x001F}, {0x007F, 0x009F}, // Cc
	{0x00AD, 0x00AD}, {0x0600, 0x0605}, {0x061C, 0x061C}, {0x06DD, 0x06DD}, {0x070F, 0x070F},
	{0x0890, 0x0891}, {0x08E2, 0x08E2}, {0x180E, 0x180E}, {0x200B, 0x200B}, {0x200E, 0x200F},
	{0x2028, 0x2029}, // Zl, Zp
	{0x202A, 0x202E}, {0x2060, 0x2064}, {0x2066, 0x206F}, {0xFEFF, 0xFEFF}, {0xFFF9, 0xFFFB},
	{0x110BD, 0x110BD}, {0x110CD, 0x110CD}, {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3},
	{0x1D173, 0x1D17A}, {0xE0001, 0xE0001}, {0xE0020, 0xE007F},
}

func refusedRune(r rune) bool {
	for _, rg := range refusedRanges {
		if r >= rg[0] && r <= rg[1] {
			return true
		}
	}
	return false
}

// edgeRune reports whether r may not begin or end a profile string: the
// white space characters (Unicode White_Space) that refusedRune allows, and
// the zero-width joiners, which only join the characters around them.
func edgeRune(r rune) bool {
	switch r {
	case 0x0020, 0x00A0, 0x1680, 0x202F, 0x205F, 0x3000, 0x200C, 0x200D:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}
