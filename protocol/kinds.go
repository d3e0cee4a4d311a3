package protocol

import (
	"strconv"
	"strings"

	"github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/encoding/protowire"
)

// Kind is the kind of a submission. Values are persisted and on the wire:
// never renumber them. 100–199 are reserved for commerce kinds (coupons, red
// packets, lotteries).
type Kind uint32

// Kinds of v1: 1–20 since 1.0, 21–23 since 1.1, 24–26 since 1.4.
const (
	KindCreate       Kind = 1
	KindUpdate       Kind = 2
	KindAnnounce     Kind = 3
	KindPin          Kind = 4
	KindUnpin        Kind = 5
	KindRole         Kind = 6
	KindInviteCreate Kind = 7
	KindInviteRevoke Kind = 8
	KindJoin         Kind = 9
	KindJoinRequest  Kind = 10
	KindApprove      Kind = 11
	KindReject       Kind = 12
	KindLeave        Kind = 13
	KindKick         Kind = 14
	KindBan          Kind = 15
	KindUnban        Kind = 16
	KindMute         Kind = 17
	KindUnmute       Kind = 18
	KindMessage      Kind = 19
	KindRecall       Kind = 20
	KindProfile      Kind = 21 // since 1.1
	KindReaction     Kind = 22 // since 1.1
	KindEdit         Kind = 23 // since 1.1
	KindClose        Kind = 24 // since 1.4
	KindRules        Kind = 25 // since 1.4
	KindConfirm      Kind = 26 // since 1.4

	lastKind = KindConfirm // the highest kind this implementation knows
)

var kindNames = [...]string{
	KindCreate: "create", KindUpdate: "update", KindAnnounce: "announce", KindPin: "pin",
	KindUnpin: "unpin", KindRole: "role", KindInviteCreate: "invite_create",
	KindInviteRevoke: "invite_revoke", KindJoin: "join", KindJoinRequest: "join_request",
	KindApprove: "approve", KindReject: "reject", KindLeave: "leave", KindKick: "kick",
	KindBan: "ban", KindUnban: "unban", KindMute: "mute", KindUnmute: "unmute",
	KindMessage: "message", KindRecall: "recall", KindProfile: "profile",
	KindReaction: "reaction", KindEdit: "edit", KindClose: "close", KindRules: "rules", KindConfirm: "confirm",
}

// Known reports whether k is a kind this implementation knows (those of
// v1.0, v1.1 and v1.4). A submission of another kind is refused with
// CodeUpgradeNeeded (kind 0, absent, with CodeInvalid).
func (k Kind) Known() bool { return k >= KindCreate && k <= lastKind }

// Since returns the protocol version that introduced k ("1.0", "1.1"), or
// "" for a kind this implementation does not know.
func (k Kind) Since() string {
	switch {
	case !k.Known():
		return ""
	case k >= KindClose:
		return "1.4"
	case k >= KindProfile:
		return "1.1"
	}
	return "1.0"
}

// String returns the snake_case name of the kind.
func (k Kind) String() string {
	if k.Known() {
		return kindNames[k]
	}
	return "kind_" + strconv.FormatUint(uint64(k), 10)
}

// ParseKind is the inverse of String.
func ParseKind(s string) (Kind, bool) {
	for k := KindCreate; k <= lastKind; k++ {
		if kindNames[k] == s {
			return k, true
		}
	}
	return 0, false
}

// Role of a member. Persisted: never renumber.
type Role uint32

// Roles of v1.
const (
	RoleMember Role = 1
	RoleAdmin  Role = 2
	RoleOwner  Role = 3
	RoleBridge Role = 4 // a member that relays for users of another platform
)

// String returns the name of the role.
func (r Role) String() string {
	switch r {
	case RoleMember:
		return "member"
	case RoleAdmin:
		return "admin"
	case RoleOwner:
		return "owner"
	case RoleBridge:
		return "bridge"
	}
	return "role_" + strconv.FormatUint(uint64(r), 10)
}

// ParseRole is the inverse of String.
func ParseRole(s string) (Role, bool) {
	for r := RoleMember; r <= RoleBridge; r++ {
		if r.String() == s {
			return r, true
		}
	}
	return 0, false
}

// Staff reports whether the role moderates the group (owner or admin): the
// people of the shop, to whom a member may open a private conversation.
func (r Role) Staff() bool { return r == RoleOwner || r == RoleAdmin }

// rank orders roles for moderation: a moderator acts only on lower ranks.
func (r Role) rank() int {
	switch r {
	case RoleOwner:
		return 3
	case RoleAdmin:
		return 2
	}
	return 1
}

// Policy is how a group admits members. Persisted: never renumber.
type Policy uint32

// Policies of v1.
const (
	PolicyOpen     Policy = 1 // anyone who knows the group may join
	PolicyApproval Policy = 2 // join requests need an admin's approval; invites admit directly
	PolicyInvite   Policy = 3 // only invites admit
)

// String returns the name of the policy.
func (p Policy) String() string {
	switch p {
	case PolicyOpen:
		return "open"
	case PolicyApproval:
		return "approval"
	case PolicyInvite:
		return "invite"
	}
	return "policy_" + strconv.FormatUint(uint64(p), 10)
}

// ParsePolicy is the inverse of String.
func ParsePolicy(s string) (Policy, bool) {
	for p := PolicyOpen; p <= PolicyInvite; p++ {
		if p.String() == s {
			return p, true
		}
	}
	return 0, false
}

// Body is the decoded body of a submission.
type Body interface {
	Kind() Kind
	Encode() []byte
}

// DecodeBody decodes and checks the body of a kind. A kind it does not know,
// or a body with a field it does not know, is refused with
// CodeUpgradeNeeded; kind 0 with CodeInvalid.
func DecodeBody(k Kind, b []byte) (Body, error) {
	var body interface {
		Body
		decode([]byte) error
	}
	switch k {
	case KindCreate:
		body = &CreateBody{}
	case KindUpdate:
		body = &UpdateBody{}
	case KindAnnounce:
		body = &AnnounceBody{}
	case KindPin, KindUnpin, KindRecall, KindConfirm:
		body = &TargetBody{kind: k}
	case KindRole:
		body = &RoleBody{}
	case KindInviteCreate:
		body = &InviteCreateBody{}
	case KindInviteRevoke:
		body = &InviteRevokeBody{}
	case KindJoin, KindJoinRequest:
		body = &JoinBody{kind: k}
	case KindLeave:
		body = &LeaveBody{}
	case KindApprove, KindReject, KindKick, KindBan, KindUnban, KindUnmute:
		body = &MemberBody{kind: k}
	case KindMute:
		body = &MuteBody{}
	case KindMessage:
		body = &MessageBody{}
	case KindProfile:
		body = &ProfileBody{}
	case KindReaction:
		body = &ReactionBody{}
	case KindEdit:
		body = &EditBody{}
	case KindClose:
		body = &CloseBody{}
	case KindRules:
		body = &RulesBody{}
	case 0:
		return nil, invalid("a submission names its kind")
	default:
		return nil, upgradeNeeded("kind %d is of a later protocol revision", k)
	}
	if err := body.decode(b); err != nil {
		return nil, err
	}
	return body, nil
}

// Settings are the adjustable settings of a group. A nil field is not set
// (in an update: left as it is).
type Settings struct {
	Name        *string  // field 1
	Description *string  // field 2
	Avatar      *string  // field 3: URL
	Policy      *Policy  // field 4
	Cap         *uint32  // field 5: member cap
	Public      *bool    // field 6: encoded 1 = private, 2 = public
	History     *History // field 8 (since 1.2): what new members of a private group read
}

// History is what a new member of a private group may read (since 1.2): the
// whole log, or the events from the one that admitted them on. A change
// applies to members admitted after it; a public group is readable by
// anyone, whatever its setting.
type History uint32

// History settings.
const (
	HistoryAll      History = 1 // new members read the whole log (the default)
	HistoryFromJoin History = 2 // new members read from their admission on
)

// String returns the name of the setting, as the API spells it.
func (h History) String() string {
	if h == HistoryFromJoin {
		return "join"
	}
	return "all"
}

func (s *Settings) encode(e *encoder) {
	if s.Name != nil {
		e.bytesAlways(1, []byte(*s.Name))
	}
	if s.Description != nil {
		e.bytesAlways(2, []byte(*s.Description))
	}
	if s.Avatar != nil {
		e.bytesAlways(3, []byte(*s.Avatar))
	}
	if s.Policy != nil {
		e.varint(4, uint64(*s.Policy))
	}
	if s.Cap != nil {
		e.varint(5, uint64(*s.Cap))
	}
	if s.Public != nil {
		v := uint64(1)
		if *s.Public {
			v = 2
		}
		e.varint(6, v)
	}
}

// encodeLater writes the settings fields after field 7 (which a create body
// uses for its host): field 8, History.
func (s *Settings) encodeLater(e *encoder) {
	if s.History != nil {
		e.varint(8, uint64(*s.History))
	}
}

// decodeField decodes fields 1–6 and 8; it reports false for other fields.
func (s *Settings) decodeField(f field) (bool, error) {
	switch f.num {
	case 1:
		v, err := text(f, MaxNameRunes, "the group name")
		s.Name = &v
		return true, err
	case 2:
		v, err := text(f, MaxDescriptionRunes, "the description")
		s.Description = &v
		return true, err
	case 3:
		v, err := urlText(f, "the avatar URL")
		s.Avatar = &v
		return true, err
	case 4:
		v, err := u32(f)
		if err != nil {
			return true, err
		}
		p := Policy(v)
		if p < PolicyOpen || p > PolicyInvite {
			return true, invalid("unknown join policy %d", v)
		}
		s.Policy = &p
		return true, nil
	case 5:
		v, err := u32(f)
		if err != nil {
			return true, err
		}
		if v > MaxMemberCap {
			return true, invalid("member cap %d exceeds the limit of %d", v, MaxMemberCap)
		}
		s.Cap = &v
		return true, nil
	case 6:
		if err := wantVarint(f); err != nil {
			return true, err
		}
		if f.u != 1 && f.u != 2 {
			return true, invalid("visibility must be 1 (private) or 2 (public)")
		}
		pub := f.u == 2
		s.Public = &pub
		return true, nil
	case 8:
		v, err := u32(f)
		if err != nil {
			return true, err
		}
		h := History(v)
		if h != HistoryAll && h != HistoryFromJoin {
			return true, invalid("history setting must be 1 (all) or 2 (from join)")
		}
		s.History = &h
		return true, nil
	}
	return false, nil
}

var settingsMayBeEmpty = []protowire.Number{1, 2, 3}

// urlText decodes a URL field (docs/PROTOCOL.md, "URLs"); an empty value is
// returned as is (the avatar may be empty; other URL fields are never empty).
func urlText(f field, what string) (string, error) {
	if err := wantBytes(f); err != nil {
		return "", err
	}
	if len(f.b) == 0 {
		return "", nil
	}
	if err := CheckURL(string(f.b)); err != nil {
		return "", invalid("%s: %v", what, err)
	}
	return string(f.b), nil
}

// CreateBody creates a group. Its settings fields 1–6 and 8 as in Settings;
// field 7 names the host node (required).
type CreateBody struct {
	Settings
	Host UserID // field 7
}

// Kind implements Body.
func (*CreateBody) Kind() Kind { return KindCreate }

// Encode implements Body.
func (b *CreateBody) Encode() []byte {
	var e encoder
	b.Settings.encode(&e)
	e.key(7, b.Host)
	b.Settings.encodeLater(&e)
	return e.b
}

func (b *CreateBody) decode(data []byte) error {
	err := walk(data, nil, settingsMayBeEmpty, func(f field) error {
		if ok, err := b.Settings.decodeField(f); ok {
			return err
		}
		if f.num == 7 {
			return bytes32(f, (*[32]byte)(&b.Host))
		}
		return unknownField(f)
	})
	if err != nil {
		return err
	}
	if b.Host.IsZero() {
		return invalid("a create submission must name its host node")
	}
	if b.Name == nil || *b.Name == "" {
		return invalid("a group needs a name")
	}
	if b.Cap != nil && *b.Cap == 0 {
		return invalid("member cap must be at least 1")
	}
	return nil
}

// UpdateBody changes settings; unset fields stay as they are.
type UpdateBody struct{ Settings }

// Kind implements Body.
func (*UpdateBody) Kind() Kind { return KindUpdate }

// Encode implements Body.
func (b *UpdateBody) Encode() []byte {
	var e encoder
	b.Settings.encode(&e)
	b.Settings.encodeLater(&e)
	return e.b
}

func (b *UpdateBody) decode(data []byte) error {
	err := walk(data, nil, settingsMayBeEmpty, func(f field) error {
		if ok, err := b.Settings.decodeField(f); ok {
			return err
		}
		return unknownField(f)
	})
	if err != nil {
		return err
	}
	if b.Name != nil && *b.Name == "" {
		return invalid("a group needs a name")
	}
	s := b.Settings
	if s.Name == nil && s.Description == nil && s.Avatar == nil && s.Policy == nil && s.Cap == nil && s.Public == nil && s.History == nil {
		return invalid("an update must change at least one setting")
	}
	return nil
}

// AnnounceBody sets the group announcement (field 1); empty clears it.
type AnnounceBody struct{ Text string }

// Kind implements Body.
func (*AnnounceBody) Kind() Kind { return KindAnnounce }

// Encode implements Body.
func (b *AnnounceBody) Encode() []byte {
	var e encoder
	e.string(1, b.Text)
	return e.b
}

func (b *AnnounceBody) decode(data []byte) error {
	return walk(data, nil, nil, func(f field) error {
		if f.num != 1 {
			return unknownField(f)
		}
		var err error
		b.Text, err = text(f, MaxTextRunes, "the announcement")
		return err
	})
}

// TargetBody names an earlier event by seq (field 1): the body of pin,
// unpin and recall.
type TargetBody struct {
	kind Kind
	Seq  uint64
}

// NewTargetBody makes the body of a pin, unpin or recall.
func NewTargetBody(k Kind, seq uint64) *TargetBody { return &TargetBody{kind: k, Seq: seq} }

// Kind implements Body.
func (b *TargetBody) Kind() Kind { return b.kind }

// Encode implements Body.
func (b *TargetBody) Encode() []byte {
	var e encoder
	e.varint(1, b.Seq)
	return e.b
}

func (b *TargetBody) decode(data []byte) error {
	err := walk(data, nil, nil, func(f field) error {
		if f.num != 1 {
			return unknownField(f)
		}
		b.Seq = f.u
		return wantVarint(f)
	})
	if err == nil && b.Seq == 0 {
		err = invalid("%s needs the seq of the message it acts on", b.kind)
	}
	return err
}

// RoleBody sets a member's role: member (field 1), role (field 2). Granting
// owner transfers ownership; the previous owner becomes an admin.
type RoleBody struct {
	Member UserID
	Role   Role
}

// Kind implements Body.
func (*RoleBody) Kind() Kind { return KindRole }

// Encode implements Body.
func (b *RoleBody) Encode() []byte {
	var e encoder
	e.key(1, b.Member)
	e.varint(2, uint64(b.Role))
	return e.b
}

func (b *RoleBody) decode(data []byte) error {
	err := walk(data, nil, nil, func(f field) error {
		switch f.num {
		case 1:
			return bytes32(f, (*[32]byte)(&b.Member))
		case 2:
			v, err := u32(f)
			b.Role = Role(v)
			return err
		}
		return unknownField(f)
	})
	if err != nil {
		return err
	}
	if b.Member.IsZero() {
		return invalid("a role change names a member")
	}
	if b.Role < RoleMember || b.Role > RoleBridge {
		return invalid("unknown role %d", b.Role)
	}
	return nil
}

// InviteCreateBody registers an invite with the group: the signed token
// (field 1).
type InviteCreateBody struct {
	Token  []byte
	Invite *SignedInvite
}

// Kind implements Body.
func (*InviteCreateBody) Kind() Kind { return KindInviteCreate }

// Encode implements Body.
func (b *InviteCreateBody) Encode() []byte {
	var e encoder
	e.bytes(1, b.Token)
	return e.b
}

func (b *InviteCreateBody) decode(data []byte) error {
	err := walk(data, nil, nil, func(f field) error {
		if f.num != 1 {
			return unknownField(f)
		}
		b.Token = f.b
		return wantBytes(f)
	})
	if err != nil {
		return err
	}
	if b.Token == nil {
		return invalid("invite_create carries the invite token")
	}
	b.Invite, err = DecodeInvite(b.Token)
	return err
}

// InviteRevokeBody revokes an invite by ID (field 1).
type InviteRevokeBody struct{ Invite InviteID }

// Kind implements Body.
func (*InviteRevokeBody) Kind() Kind { return KindInviteRevoke }

// Encode implements Body.
func (b *InviteRevokeBody) Encode() []byte {
	var e encoder
	e.key(1, b.Invite)
	return e.b
}

func (b *InviteRevokeBody) decode(data []byte) error {
	err := walk(data, nil, nil, func(f field) error {
		if f.num != 1 {
			return unknownField(f)
		}
		return bytes32(f, (*[32]byte)(&b.Invite))
	})
	if err == nil && b.Invite == (InviteID{}) {
		err = invalid("invite_revoke names the invite")
	}
	return err
}

// JoinBody is the body of join and join_request: an optional invite token
// (field 1) and an optional note to the admins (field 2).
type JoinBody struct {
	kind   Kind
	Token  []byte
	Note   string
	Invite *SignedInvite // decoded Token
}

// NewJoinBody makes the body of a join or a join request.
func NewJoinBody(k Kind, token []byte, note string) *JoinBody {
	return &JoinBody{kind: k, Token: token, Note: note}
}

// Kind implements Body.
func (b *JoinBody) Kind() Kind { return b.kind }

// Encode implements Body.
func (b *JoinBody) Encode() []byte {
	var e encoder
	e.bytes(1, b.Token)
	e.string(2, b.Note)
	return e.b
}

func (b *JoinBody) decode(data []byte) error {
	err := walk(data, nil, nil, func(f field) error {
		switch f.num {
		case 1:
			b.Token = f.b
			return wantBytes(f)
		case 2:
			var err error
			b.Note, err = text(f, MaxReasonRunes, "the note")
			return err
		}
		return unknownField(f)
	})
	if err != nil {
		return err
	}
	if b.Token != nil {
		b.Invite, err = DecodeInvite(b.Token)
	}
	return err
}

// LeaveBody is the empty body of leave.
type LeaveBody struct{}

// Kind implements Body.
func (*LeaveBody) Kind() Kind { return KindLeave }

// Encode implements Body.
func (*LeaveBody) Encode() []byte { return nil }

func (*LeaveBody) decode(data []byte) error {
	return walk(data, nil, nil, unknownField)
}

// CloseBody is the body of close (since 1.4): an optional reason (field
// 1). A closed group is read-only for good: the host sequences nothing in
// it but leaves, kicks, bans and unbans.
type CloseBody struct {
	Reason string
}

// Kind implements Body.
func (*CloseBody) Kind() Kind { return KindClose }

// Encode implements Body.
func (b *CloseBody) Encode() []byte {
	var e encoder
	e.string(1, b.Reason)
	return e.b
}

func (b *CloseBody) decode(data []byte) error {
	return walk(data, nil, nil, func(f field) error {
		if f.num == 1 {
			var err error
			b.Reason, err = text(f, MaxReasonRunes, "the reason")
			return err
		}
		return unknownField(f)
	})
}

// MemberBody names a user (field 1) and gives an optional reason (field 2):
// the body of approve, reject, kick, ban, unban and unmute. An unmute
// without a member lifts the mute of everyone.
type MemberBody struct {
	kind   Kind
	Member UserID
	Reason string
}

// NewMemberBody makes the body of approve, reject, kick, ban, unban or unmute.
func NewMemberBody(k Kind, member UserID, reason string) *MemberBody {
	return &MemberBody{kind: k, Member: member, Reason: reason}
}

// Kind implements Body.
func (b *MemberBody) Kind() Kind { return b.kind }

// Encode implements Body.
func (b *MemberBody) Encode() []byte {
	var e encoder
	e.key(1, b.Member)
	e.string(2, b.Reason)
	return e.b
}

func (b *MemberBody) decode(data []byte) error {
	err := walk(data, nil, nil, func(f field) error {
		switch f.num {
		case 1:
			return bytes32(f, (*[32]byte)(&b.Member))
		case 2:
			var err error
			b.Reason, err = text(f, MaxReasonRunes, "the reason")
			return err
		}
		return unknownField(f)
	})
	if err == nil && b.Member.IsZero() && b.kind != KindUnmute {
		err = invalid("%s names a member", b.kind)
	}
	return err
}

// MuteBody mutes one member (field 1) or, without a member, everyone but
// admins; until (field 2, unix ms) ends the mute, absent means until
// unmuted; reason is field 3.
type MuteBody struct {
	Member UserID
	Until  uint64
	Reason string
}

// Kind implements Body.
func (*MuteBody) Kind() Kind { return KindMute }

// Encode implements Body.
func (b *MuteBody) Encode() []byte {
	var e encoder
	e.key(1, b.Member)
	e.varint(2, b.Until)
	e.string(3, b.Reason)
	return e.b
}

func (b *MuteBody) decode(data []byte) error {
	return walk(data, nil, nil, func(f field) error {
		switch f.num {
		case 1:
			return bytes32(f, (*[32]byte)(&b.Member))
		case 2:
			b.Until = f.u
			return wantVarint(f)
		case 3:
			var err error
			b.Reason, err = text(f, MaxReasonRunes, "the reason")
			return err
		}
		return unknownField(f)
	})
}

// Product is a product card in a message.
type Product struct {
	ID       string // field 1: the merchant's product reference
	Title    string // field 2
	Price    string // field 3: decimal text, e.g. "19.90" (see checkPrice); with Currency
	Currency string // field 4: ISO 4217 code, three capital letters, e.g. "CNY"; with Price
	URL      string // field 5
	Image    string // field 6: URL
}

func (p *Product) encode() []byte {
	var e encoder
	e.string(1, p.ID)
	e.string(2, p.Title)
	e.string(3, p.Price)
	e.string(4, p.Currency)
	e.string(5, p.URL)
	e.string(6, p.Image)
	return e.b
}

func (p *Product) decode(data []byte) error {
	err := walk(data, nil, nil, func(f field) error {
		var err error
		switch f.num {
		case 1:
			p.ID, err = text(f, MaxRefBytes, "the product ID")
		case 2:
			p.Title, err = text(f, MaxNameRunes*2, "the product title")
		case 3:
			if p.Price, err = text(f, MaxPriceChars, "the price"); err == nil {
				err = checkPrice(p.Price)
			}
		case 4:
			if p.Currency, err = text(f, 3, "the currency"); err == nil {
				err = checkCurrency(p.Currency)
			}
		case 5:
			p.URL, err = urlText(f, "the product URL")
		case 6:
			p.Image, err = urlText(f, "the product image URL")
		default:
			err = unknownField(f)
		}
		return err
	})
	if err != nil {
		return err
	}
	if p.Title == "" {
		return invalid("a product card needs a title")
	}
	if (p.Price == "") != (p.Currency == "") {
		return invalid("a product card has a price and its currency, or neither")
	}
	return nil
}

// MaxPriceChars bounds the price of a product card.
const MaxPriceChars = 32

// checkPrice checks a price: decimal digits, no sign, no leading zero, and
// optionally "." and 1 to 4 digits: 0, 7, 19.90, 1234.5678.
func checkPrice(s string) error {
	whole, frac, point := strings.Cut(s, ".")
	ok := allDigits(whole) && (whole == "0" || whole[0] != '0') &&
		(!point || (allDigits(frac) && len(frac) <= 4))
	if !ok {
		return invalid("price %q is not a decimal number such as 19.90 (digits, no sign, no leading zero, at most 4 decimals after a \".\")", s)
	}
	return nil
}

// allDigits reports whether s is one or more ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkCurrency checks an ISO 4217 alphabetic code: three letters A-Z.
func checkCurrency(s string) error {
	if len(s) != 3 || strings.IndexFunc(s, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
		return invalid("currency %q is not an ISO 4217 code of three capital letters such as CNY", s)
	}
	return nil
}

// MessageBody is a chat message: text (field 1), mentions (field 2,
// repeated, each member at most once, members only), mention of everyone (field 3, admins only), reply-to seq (field
// 4), product card (field 5), link (field 6). It has text, a product or a link.
type MessageBody struct {
	Text       string
	Mentions   []UserID
	MentionAll bool
	ReplyTo    uint64
	Product    *Product
	Link       string
	// Attachments are the message's images and files (since 1.1), at
	// most MaxAttachments.
	Attachments []Attachment
	// Bridged names the person of another network a bridge relays the
	// message for (field 8, since 1.3); only a member with the bridge role
	// may set it.
	Bridged *Bridged
}

// Kind implements Body.
func (*MessageBody) Kind() Kind { return KindMessage }

// Encode implements Body.
func (b *MessageBody) Encode() []byte {
	var e encoder
	e.string(1, b.Text)
	for _, m := range b.Mentions {
		e.bytesAlways(2, m[:])
	}
	e.bool(3, b.MentionAll)
	e.varint(4, b.ReplyTo)
	if b.Product != nil {
		e.bytesAlways(5, b.Product.encode())
	}
	e.string(6, b.Link)
	for i := range b.Attachments {
		e.bytesAlways(7, b.Attachments[i].encode())
	}
	if b.Bridged != nil {
		e.bytesAlways(8, b.Bridged.encode())
	}
	return e.b
}

func (b *MessageBody) decode(data []byte) error {
	err := walk(data, []protowire.Number{2, 7}, nil, func(f field) error {
		var err error
		switch f.num {
		case 1:
			b.Text, err = text(f, MaxTextRunes, "the message")
		case 2:
			if len(b.Mentions) >= MaxMentions {
				return invalid("a message mentions at most %d members", MaxMentions)
			}
			var u UserID
			if err = bytes32(f, (*[32]byte)(&u)); err != nil {
				return err
			}
			for _, m := range b.Mentions {
				if m == u {
					return invalid("a message mentions %s twice", u.Short())
				}
			}
			b.Mentions = append(b.Mentions, u)
		case 3:
			if err = wantVarint(f); err == nil && f.u != 1 {
				err = malformed("field 3 is a bool")
			}
			b.MentionAll = true
		case 4:
			b.ReplyTo = f.u
			err = wantVarint(f)
		case 5:
			if err = wantBytes(f); err == nil {
				b.Product = &Product{}
				err = b.Product.decode(f.b)
			}
		case 6:
			b.Link, err = urlText(f, "the link")
		case 7:
			if len(b.Attachments) >= MaxAttachments {
				return invalid("a message has at most %d attachments", MaxAttachments)
			}
			if err = wantBytes(f); err == nil {
				var a Attachment
				if err = a.decode(f.b); err == nil {
					b.Attachments = append(b.Attachments, a)
				}
			}
		case 8:
			if err = wantBytes(f); err == nil {
				b.Bridged = &Bridged{}
				err = b.Bridged.decode(f.b)
			}
		default:
			err = unknownField(f)
		}
		return err
	})
	if err != nil {
		return err
	}
	if b.Text == "" && b.Product == nil && b.Link == "" && len(b.Attachments) == 0 {
		return invalid("a message needs text, a product, a link or an attachment")
	}
	return nil
}

// checkMultiaddr validates a binary multiaddr.
func checkMultiaddr(b []byte) error {
	if len(b) > MaxMultiaddrBytes {
		return invalid("an address is longer than %d bytes", MaxMultiaddrBytes)
	}
	if _, err := multiaddr.NewMultiaddrBytes(b); err != nil {
		return invalid("bad multiaddr: %v", err)
	}
	return nil
}
