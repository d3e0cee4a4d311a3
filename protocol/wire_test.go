package protocol

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/encoding/protowire"
)

// --- building blocks for hand-made payloads ---

func vf(num protowire.Number, v uint64) []byte {
	b := protowire.AppendTag(nil, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func bf(num protowire.Number, v []byte) []byte {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

var fakeSig = bytes.Repeat([]byte{0x5a}, 64)

// envelope wraps a payload with a signature that is not checked by decoders.
func envelope(payload []byte) []byte { return encodeSigned(payload, fakeSig) }

func wantCode(t testing.TB, what string, err error, want *Error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got %s (%v), want %s", what, codeOf(err), err, want.Code)
	}
}

// --- round trips ---

func mustInvite(t testing.TB) *SignedInvite {
	t.Helper()
	inv := Invite{
		Group: GroupID{1, 2, 3}, Host: kHost.ID(),
		Addrs:   [][]byte{mustMultiaddr(t, "/ip4/192.0.2.7/tcp/4001"), mustMultiaddr(t, "/dns4/shop.example/udp/4001/quic-v1")},
		Inviter: kOwner.ID(), Expires: t0 + 86_400_000, MaxUses: 100, Nonce: []byte("12345678"), Ref: "订单-2024-001",
	}
	si, err := inv.Sign(kOwner)
	if err != nil {
		t.Fatal(err)
	}
	return si
}

// everyBody returns well-formed bodies covering every kind and every field.
func everyBody(t testing.TB) []Body {
	inv := mustInvite(t)
	return []Body{
		&CreateBody{Settings: Settings{Name: ptr("Shop")}, Host: kHost.ID()},
		&CreateBody{Settings: Settings{
			Name: ptr("茶叶店"), Description: ptr(""), Avatar: ptr(""), Policy: ptr(PolicyOpen),
			Cap: ptr(uint32(MaxMemberCap)), Public: ptr(false),
		}, Host: kHost.ID()},
		&CreateBody{Settings: Settings{
			Name: ptr("Shop"), Description: ptr("best tea"), Avatar: ptr("https://cdn.example/a.png"),
			Policy: ptr(PolicyApproval), Cap: ptr(uint32(1)), Public: ptr(true),
		}, Host: kHost.ID()},
		&UpdateBody{Settings{Name: ptr("New name")}},
		&UpdateBody{Settings{Description: ptr("")}},
		&UpdateBody{Settings{Avatar: ptr("")}},
		&UpdateBody{Settings{Policy: ptr(PolicyInvite)}},
		&UpdateBody{Settings{Cap: ptr(uint32(300))}},
		&UpdateBody{Settings{Public: ptr(false)}},
		&UpdateBody{Settings{Public: ptr(true), Cap: ptr(uint32(2)), Avatar: ptr("http://a.example/b")}},
		&AnnounceBody{Text: "Sale: 20% off"},
		&AnnounceBody{},
		NewTargetBody(KindPin, 12),
		NewTargetBody(KindUnpin, 1<<40),
		NewTargetBody(KindRecall, 3),
		&RoleBody{Member: kMember.ID(), Role: RoleMember},
		&RoleBody{Member: kMember.ID(), Role: RoleAdmin},
		&RoleBody{Member: kMember.ID(), Role: RoleOwner},
		&RoleBody{Member: kMember.ID(), Role: RoleBridge},
		&InviteCreateBody{Token: inv.Raw, Invite: inv},
		&InviteRevokeBody{Invite: inv.ID},
		&JoinBody{kind: KindJoin},
		&JoinBody{kind: KindJoin, Token: inv.Raw, Note: "from the shop", Invite: inv},
		&JoinBody{kind: KindJoinRequest, Note: "order 42"},
		&JoinBody{kind: KindJoinRequest},
		NewMemberBody(KindApprove, kMember.ID(), ""),
		NewMemberBody(KindReject, kMember.ID(), "no"),
		&LeaveBody{},
		NewMemberBody(KindKick, kMember.ID(), "rude"),
		NewMemberBody(KindBan, kMember.ID(), "spam"),
		NewMemberBody(KindUnban, kMember.ID(), ""),
		&MuteBody{},
		&MuteBody{Member: kMember.ID(), Until: t0 + 60_000, Reason: "calm down"},
		&MuteBody{Until: t0},
		NewMemberBody(KindUnmute, kMember.ID(), ""),
		NewMemberBody(KindUnmute, UserID{}, "everyone may talk again"),
		&MessageBody{Text: "hello"},
		&MessageBody{
			Text: "hi @all 👋", Mentions: []UserID{kAdmin.ID(), kMember.ID()}, MentionAll: true, ReplyTo: 7,
			Product: &Product{ID: "sku-1", Title: "Oolong 100g", Price: "19.90", Currency: "CNY",
				URL: "https://shop.example/p/1", Image: "https://shop.example/p/1.jpg"},
			Link: "https://shop.example/sale",
		},
		&MessageBody{Product: &Product{Title: "Tea"}},
		&MessageBody{Link: "http://example.com"},
		// since 1.1; appended so that the indices of the seeds above stay
		&ProfileBody{},
		&ProfileBody{Profile{Name: "Mei", Bio: "tea lover 🍵", Nick: "梅 (VIP)",
			Avatar: &BlobRef{Hash: Hash{1, 2, 3}, MIME: "image/webp", Size: MaxAvatarBytes, Width: 256, Height: 256}}},
		NewProfileBody(Profile{Nick: "老王"}),
		NewProfileBody(Profile{Avatar: &BlobRef{Hash: Hash{9}, MIME: "image/png", Size: 1}}),
		&MessageBody{Attachments: []Attachment{{Blob: BlobRef{Hash: Hash{4}, MIME: "image/jpeg", Size: 5, Width: 2, Height: 3}, Name: "a.jpg", Thumb: []byte{0xff, 0xd8, 0xff, 0}}}},
		&ReactionBody{Target: 6, Emoji: "👍"},
		&ReactionBody{Target: 6, Emoji: "❤️", Remove: true},
		&EditBody{Target: 6, Text: "fixed"},
		&CloseBody{},
		&CloseBody{Reason: "订单已完成"},
		&RulesBody{},
		NewTargetBody(KindConfirm, 6),
		&RulesBody{Rules: Rules{Welcome: "欢迎!", Replies: []AutoReply{{Keyword: "price", Text: "see the pin"}, {Keyword: "发货", Text: "48 h"}},
			RefuseLinks: true, RefuseWords: []string{"casino", "代购"}, RefuseMedia: true, NewMemberDays: 3, Strikes: 3, Action: ActionMute, MuteMinutes: 60}},
	}
}

func TestBodyRoundTrip(t *testing.T) {
	seen := map[Kind]bool{}
	for _, b := range everyBody(t) {
		seen[b.Kind()] = true
		enc := b.Encode()
		got, err := DecodeBody(b.Kind(), enc)
		if err != nil {
			t.Errorf("%s %x: %v", b.Kind(), enc, err)
			continue
		}
		if !reflect.DeepEqual(got, b) {
			t.Errorf("%s: decoded %+v, want %+v", b.Kind(), got, b)
		}
		if re := got.Encode(); !bytes.Equal(re, enc) {
			t.Errorf("%s: re-encoded %x, want %x", b.Kind(), re, enc)
		}
	}
	for k := KindCreate; k <= KindConfirm; k++ {
		if !seen[k] {
			t.Errorf("no round trip of kind %s", k)
		}
	}
}

func TestSubmissionRoundTrip(t *testing.T) {
	for _, b := range everyBody(t) {
		s := Submission{Kind: b.Kind(), Author: kMember.ID(), Time: t0, Nonce: []byte("nonce-01"), Body: b.Encode()}
		if b.Kind() != KindCreate {
			s.Group = GroupID{9, 9, 9}
		}
		ss, err := s.Sign(kMember)
		if err != nil {
			t.Fatalf("%s: %v", b.Kind(), err)
		}
		got, err := DecodeSubmission(ss.Raw)
		if err != nil {
			t.Fatalf("%s: %v", b.Kind(), err)
		}
		if !reflect.DeepEqual(got.Submission, s) {
			t.Errorf("%s: decoded %+v, want %+v", b.Kind(), got.Submission, s)
		}
		if got.ID != SubmissionID(sha256.Sum256(ss.Raw)) {
			t.Errorf("%s: ID is not the SHA-256 of the signed bytes", b.Kind())
		}
		if re := encodeSigned(got.Submission.Encode(), got.sig); !bytes.Equal(re, ss.Raw) {
			t.Errorf("%s: re-encoded submission differs", b.Kind())
		}
		if err := got.Verify(); err != nil {
			t.Errorf("%s: %v", b.Kind(), err)
		}
		if !reflect.DeepEqual(got.DecodedBody(), b) {
			t.Errorf("%s: DecodedBody %+v", b.Kind(), got.DecodedBody())
		}
		wantGroup := s.Group
		if b.Kind() == KindCreate {
			wantGroup = GroupID(got.ID)
		}
		if got.GroupID() != wantGroup {
			t.Errorf("%s: GroupID %s, want %s", b.Kind(), got.GroupID(), wantGroup)
		}
	}
	s := Submission{Kind: KindMessage, Group: GroupID{1}, Author: kMember.ID(), Time: t0, Nonce: []byte("nonce-01"), Body: msg("x").Encode()}
	if _, err := s.Sign(kOwner); !errors.Is(err, ErrInvalid) {
		t.Errorf("signing with a key that is not the author's: %v", err)
	}
}

func TestEventRoundTrip(t *testing.T) {
	h := newGroup(t)
	for seq := uint64(1); seq <= h.st.Head; seq++ {
		ev := h.events[seq]
		got, err := DecodeEvent(ev.Raw)
		if err != nil {
			t.Fatalf("event %d: %v", seq, err)
		}
		if !reflect.DeepEqual(got.Event, ev.Event) || got.ID != EventID(sha256.Sum256(ev.Raw)) {
			t.Errorf("event %d: decoded %+v", seq, got.Event)
		}
		if !bytes.Equal(got.Sub.Raw, got.Submission) || got.Sub.GroupID() != got.Group {
			t.Errorf("event %d: submission not kept verbatim", seq)
		}
		if re := encodeSigned(got.Event.Encode(), got.sig); !bytes.Equal(re, ev.Raw) {
			t.Errorf("event %d: re-encoded event differs", seq)
		}
		if err := got.VerifyAll(kHost.ID()); err != nil {
			t.Errorf("event %d: %v", seq, err)
		}
		if seq > 1 && got.Prev != h.events[seq-1].ID {
			t.Errorf("event %d does not link to event %d", seq, seq-1)
		}
		if _, err := got.GenesisHost(); (err == nil) != (seq == 1) {
			t.Errorf("event %d: GenesisHost error %v", seq, err)
		}
	}
}

func TestInviteRoundTrip(t *testing.T) {
	inv := mustInvite(t)
	got, err := DecodeInvite(inv.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Invite, inv.Invite) || got.ID != InviteID(sha256.Sum256(inv.Raw)) {
		t.Errorf("decoded %+v", got.Invite)
	}
	if re := encodeSigned(got.Invite.Encode(), got.sig); !bytes.Equal(re, inv.Raw) {
		t.Error("re-encoded invite differs")
	}
	if err := got.Verify(); err != nil {
		t.Error(err)
	}
	var addrs []string
	for _, m := range got.Multiaddrs() {
		addrs = append(addrs, m.String())
	}
	if want := []string{"/ip4/192.0.2.7/tcp/4001", "/dns4/shop.example/udp/4001/quic-v1"}; !reflect.DeepEqual(addrs, want) {
		t.Errorf("multiaddrs %v, want %v", addrs, want)
	}
	tok := inv.Token()
	if strings.ContainsAny(tok, "=+/") {
		t.Errorf("token %q is not unpadded base64url", tok)
	}
	for _, s := range []string{tok, " " + tok + "\n", "https://qun.example/join#" + tok, "qun.example/join/" + tok} {
		p, err := ParseToken(s)
		if err != nil {
			t.Errorf("ParseToken(%q): %v", s, err)
			continue
		}
		if !bytes.Equal(p.Raw, inv.Raw) {
			t.Errorf("ParseToken(%q) gives other bytes", s)
		}
	}
	for _, s := range []string{"", "#", "not a token!", "https://qun.example/join#"} {
		if _, err := ParseToken(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseToken(%q): %v, want invalid", s, err)
		}
	}
	// A minimal invite: no addresses, no expiry, unlimited uses, no reference.
	min := Invite{Group: GroupID{1}, Host: kHost.ID(), Inviter: kAdmin.ID(), Nonce: []byte("abcdefgh")}
	si, err := min.Sign(kAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if si.Addrs != nil || si.Expires != 0 || si.MaxUses != 0 || si.Ref != "" {
		t.Errorf("minimal invite decoded as %+v", si.Invite)
	}
	if _, err := min.Sign(kOwner); !errors.Is(err, ErrInvalid) {
		t.Errorf("signing an invite with a key that is not the inviter's: %v", err)
	}
}

// --- canonical form ---

// msgFields are the fields of a valid message submission payload, in order.
func msgFields() [][]byte {
	return [][]byte{
		vf(1, Version),
		bf(2, bytes.Repeat([]byte{7}, 32)),
		vf(3, uint64(KindMessage)),
		bf(4, kMember.id[:]),
		vf(5, t0),
		bf(6, []byte("nonce-01")),
		bf(7, bf(1, []byte("hello"))),
	}
}

func TestCanonicalForm(t *testing.T) {
	f := msgFields()
	cases := []struct {
		name    string
		payload []byte
		want    *Error // nil: accepted
	}{
		{"valid", cat(f...), nil},
		{"fields out of order", cat(f[0], f[2], f[1], f[3], f[4], f[5], f[6]), ErrMalformed},
		{"last field first", cat(f[6], f[0], f[1], f[2], f[3], f[4], f[5]), ErrMalformed},
		{"repeated field", cat(f[0], f[1], f[2], f[3], f[4], f[4], f[5], f[6]), ErrMalformed},
		{"repeated bytes field", cat(f[0], f[1], f[2], f[3], f[4], f[5], f[5], f[6]), ErrMalformed},
		{"zero kind", cat(f[0], f[1], vf(3, 0), f[3], f[4], f[5], f[6]), ErrMalformed},
		{"zero time", cat(f[0], f[1], f[2], f[3], vf(5, 0), f[5], f[6]), ErrMalformed},
		{"zero version", cat(vf(1, 0), f[1], f[2], f[3], f[4], f[5], f[6]), ErrMalformed},
		{"empty nonce", cat(f[0], f[1], f[2], f[3], f[4], bf(6, nil), f[6]), ErrMalformed},
		{"empty body", cat(f[0], f[1], f[2], f[3], f[4], f[5], bf(7, nil)), ErrMalformed},
		{"all-zero group", cat(f[0], bf(2, make([]byte, 32)), f[2], f[3], f[4], f[5], f[6]), ErrMalformed},
		{"non-minimal varint", cat(f[0], f[1], f[2], f[3], []byte{0x28, 0x81, 0x00}, f[5], f[6]), ErrMalformed},
		{"non-minimal varint of a large value", cat(f[0], f[1], f[2], f[3], vf(5, t0)[:len(vf(5, t0))-1], []byte{0x80 | vf(5, t0)[len(vf(5, t0))-1], 0x00}, f[5], f[6]), ErrMalformed},
		{"non-minimal tag", cat([]byte{0x88, 0x00, 0x01}, f[1], f[2], f[3], f[4], f[5], f[6]), ErrMalformed},
		{"non-minimal length", cat(f[0], f[1], f[2], f[3], f[4], []byte{0x32, 0x88, 0x00}, []byte("nonce-01"), f[6]), ErrMalformed},
		{"unknown varint field", cat(cat(f...), vf(8, 1)), ErrUpgradeNeeded},
		{"unknown bytes field", cat(cat(f...), bf(15, []byte("x"))), ErrUpgradeNeeded},
		{"unknown field repeated", cat(cat(f...), vf(8, 1), vf(8, 2)), ErrUpgradeNeeded},
		{"unknown empty field", cat(cat(f...), bf(9, nil)), ErrUpgradeNeeded},
		{"unknown fields, then canonical ones", cat(cat(f...), vf(8, 1), bf(9, []byte("x")), vf(12, 1<<40)), ErrUpgradeNeeded},
		{"unknown field, then a non-minimal varint", cat(cat(f...), vf(8, 1), []byte{0x48, 0x81, 0x00}), ErrMalformed},
		{"unknown field, then a zero varint", cat(cat(f...), vf(8, 1), vf(9, 0)), ErrMalformed},
		{"unknown field, then one out of order", cat(cat(f...), vf(9, 1), vf(8, 1)), ErrMalformed},
		{"unknown field, then a fixed64", cat(cat(f...), vf(8, 1), protowire.AppendFixed64(protowire.AppendTag(nil, 9, protowire.Fixed64Type), 1)), ErrMalformed},
		{"unknown field, then a truncated one", cat(cat(f...), vf(8, 1), []byte{0x4a, 0x05, 0x01}), ErrMalformed},
		{"unknown kind without author", cat(f[0], f[1], vf(3, 27), f[4], f[5], f[6]), ErrMalformed},
		{"unknown kind with a short nonce", cat(f[0], f[1], vf(3, 27), f[3], f[4], bf(6, []byte("1234567")), f[6]), ErrInvalid},
		{"unknown kind, body of any shape", cat(f[0], f[1], vf(3, 27), f[3], f[4], f[5], bf(7, []byte{0xff})), ErrUpgradeNeeded},
		{"no kind", cat(f[0], f[1], f[3], f[4], f[5], f[6]), ErrInvalid},
		{"unknown field in the middle", cat(f[0], f[1], f[2], f[3], f[4], f[5], vf(6, 1), f[6]), ErrMalformed},
		{"varint field sent as bytes", cat(f[0], f[1], f[2], f[3], bf(5, []byte{1}), f[5], f[6]), ErrMalformed},
		{"bytes field sent as varint", cat(f[0], f[1], f[2], vf(4, 1), f[4], f[5], f[6]), ErrMalformed},
		{"fixed64 wire type", cat(f[0], f[1], f[2], f[3], protowire.AppendFixed64(protowire.AppendTag(nil, 5, protowire.Fixed64Type), t0), f[5], f[6]), ErrMalformed},
		{"fixed32 wire type", cat(f[0], f[1], f[2], f[3], protowire.AppendFixed32(protowire.AppendTag(nil, 5, protowire.Fixed32Type), 1), f[5], f[6]), ErrMalformed},
		{"group wire type", cat(f[0], f[1], f[2], f[3], protowire.AppendTag(nil, 5, protowire.StartGroupType), protowire.AppendTag(nil, 5, protowire.EndGroupType), f[5], f[6]), ErrMalformed},
		{"wire type 7", cat(f[0], []byte{0x0f}, f[1]), ErrMalformed},
		{"field number 0", cat([]byte{0x00, 0x01}, cat(f...)), ErrMalformed},
		{"truncated varint", cat(f[0], f[1], f[2], f[3], []byte{0x28, 0x80}), ErrMalformed},
		{"truncated bytes", cat(f[0], f[1], f[2], f[3], f[4], f[5], f[6][:len(f[6])-1]), ErrMalformed},
		{"31-byte author", cat(f[0], f[1], f[2], bf(4, kMember.id[:31]), f[4], f[5], f[6]), ErrMalformed},
		{"33-byte author", cat(f[0], f[1], f[2], bf(4, append(kMember.id[:], 1)), f[4], f[5], f[6]), ErrMalformed},
		{"kind over 32 bits", cat(f[0], f[1], vf(3, 1<<32+uint64(KindMessage)), f[3], f[4], f[5], f[6]), ErrMalformed},
		{"no author", cat(f[0], f[1], f[2], f[4], f[5], f[6]), ErrMalformed},
		{"no time", cat(f[0], f[1], f[2], f[3], f[5], f[6]), ErrMalformed},
		{"version 2", cat(vf(1, 2), f[1], f[2], f[3], f[4], f[5], f[6]), ErrUpgradeNeeded},
		{"no version", cat(f[1], f[2], f[3], f[4], f[5], f[6]), ErrInvalid},
		{"unknown kind", cat(f[0], f[1], vf(3, 27), f[3], f[4], f[5], f[6]), ErrUpgradeNeeded},
		{"commerce kind", cat(f[0], f[1], vf(3, 100), f[3], f[4], f[5], f[6]), ErrUpgradeNeeded},
		{"message without group", cat(f[0], f[2], f[3], f[4], f[5], f[6]), ErrInvalid},
		{"create with a group", cat(f[0], f[1], vf(3, uint64(KindCreate)), f[3], f[4], f[5],
			bf(7, (&CreateBody{Settings: Settings{Name: ptr("x")}, Host: kHost.ID()}).Encode())), ErrInvalid},
		{"short nonce", cat(f[0], f[1], f[2], f[3], f[4], bf(6, []byte("1234567")), f[6]), ErrInvalid},
		{"long nonce", cat(f[0], f[1], f[2], f[3], f[4], bf(6, bytes.Repeat([]byte{1}, 33)), f[6]), ErrInvalid},
		{"no nonce", cat(f[0], f[1], f[2], f[3], f[4], f[6]), ErrInvalid},
		{"no body", cat(f[0], f[1], f[2], f[3], f[4], f[5]), ErrInvalid},
		{"body with an unknown field", cat(f[0], f[1], f[2], f[3], f[4], f[5], bf(7, cat(bf(1, []byte("hi")), vf(9, 1)))), ErrUpgradeNeeded},
		{"body with a bad field, then an unknown one", cat(f[0], f[1], f[2], f[3], f[4], f[5], bf(7, cat(bf(1, []byte{0xff}), vf(9, 1)))), ErrInvalid},
	}
	for _, c := range cases {
		_, err := DecodeSubmission(envelope(c.payload))
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		wantCode(t, c.name, err, c.want)
	}
}

func TestCanonicalEnvelope(t *testing.T) {
	p := cat(msgFields()...)
	cases := []struct {
		name string
		raw  []byte
	}{
		{"signature first", cat(bf(2, fakeSig), bf(1, p))},
		{"payload twice", cat(bf(1, p), bf(1, p), bf(2, fakeSig))},
		{"no signature", bf(1, p)},
		{"no payload", bf(2, fakeSig)},
		{"empty payload", cat(bf(1, nil), bf(2, fakeSig))},
		{"63-byte signature", cat(bf(1, p), bf(2, fakeSig[:63]))},
		{"65-byte signature", cat(bf(1, p), bf(2, append(fakeSig[:64:64], 0)))},
		{"unknown field", cat(bf(1, p), bf(2, fakeSig), vf(3, 1))},
		{"payload as varint", cat(vf(1, 1), bf(2, fakeSig))},
		{"empty input", nil},
		{"trailing garbage", cat(bf(1, p), bf(2, fakeSig), []byte{0xff})},
	}
	for _, c := range cases {
		_, err := DecodeSubmission(c.raw)
		wantCode(t, "submission: "+c.name, err, ErrMalformed)
		_, err = DecodeEvent(c.raw)
		wantCode(t, "event: "+c.name, err, ErrMalformed)
		_, err = DecodeInvite(c.raw)
		wantCode(t, "invite: "+c.name, err, ErrMalformed)
	}
}

func TestCanonicalBodies(t *testing.T) {
	u := kMember.id[:]
	cases := []struct {
		name string
		kind Kind
		body []byte
		want *Error
	}{
		{"mentions in a row", KindMessage, cat(bf(1, []byte("hi")), bf(2, u), bf(2, kAdmin.id[:]), vf(3, 1)), nil},
		{"the same mention twice", KindMessage, cat(bf(1, []byte("hi")), bf(2, u), bf(2, u), vf(3, 1)), ErrInvalid},
		{"mention after mention-all", KindMessage, cat(bf(1, []byte("hi")), bf(2, u), vf(3, 1), bf(2, u)), ErrMalformed},
		{"mention-all of 2", KindMessage, cat(bf(1, []byte("hi")), vf(3, 2)), ErrMalformed},
		{"mention-all of 0", KindMessage, cat(bf(1, []byte("hi")), vf(3, 0)), ErrMalformed},
		{"empty text", KindMessage, cat(bf(1, nil), bf(6, []byte("https://a.example"))), ErrMalformed},
		{"zero mention", KindMessage, cat(bf(1, []byte("hi")), bf(2, make([]byte, 32))), ErrMalformed},
		{"empty product", KindMessage, bf(5, nil), ErrMalformed},
		{"product with an unknown field", KindMessage, bf(5, cat(bf(2, []byte("t")), vf(7, 1))), ErrUpgradeNeeded},
		{"product with only an unknown field", KindMessage, bf(5, vf(7, 1)), ErrUpgradeNeeded},
		{"product with an unknown field, then a link", KindMessage, cat(bf(5, cat(bf(2, []byte("t")), vf(7, 1))), bf(6, []byte("https://a.example"))), ErrUpgradeNeeded},
		{"message with only an unknown field", KindMessage, vf(12, 1), ErrUpgradeNeeded},
		{"message with an unknown empty field", KindMessage, bf(12, nil), ErrUpgradeNeeded},
		{"message with an empty text and an unknown field", KindMessage, cat(bf(1, nil), vf(12, 1)), ErrMalformed},
		{"text twice", KindMessage, cat(bf(1, []byte("a")), bf(1, []byte("b"))), ErrMalformed},
		{"empty name allowed by the codec", KindUpdate, cat(bf(1, nil)), ErrInvalid},
		{"empty description", KindUpdate, bf(2, nil), nil},
		{"empty avatar", KindUpdate, bf(3, nil), nil},
		{"zero policy", KindUpdate, vf(4, 0), ErrMalformed},
		{"zero cap", KindUpdate, vf(5, 0), ErrMalformed},
		{"zero seq", KindPin, vf(1, 0), ErrMalformed},
		{"empty announcement field", KindAnnounce, bf(1, nil), ErrMalformed},
		{"leave with a field", KindLeave, vf(1, 1), ErrUpgradeNeeded},
		{"zero member", KindKick, bf(1, make([]byte, 32)), ErrMalformed},
		{"zero member of unmute", KindUnmute, bf(1, make([]byte, 32)), ErrMalformed},
		{"zero member of mute", KindMute, bf(1, make([]byte, 32)), ErrMalformed},
		{"zero host", KindCreate, cat(bf(1, []byte("x")), bf(7, make([]byte, 32))), ErrMalformed},
		{"zero invite ID", KindInviteRevoke, bf(1, make([]byte, 32)), ErrMalformed},
		{"role with an unknown field", KindRole, cat(bf(1, u), vf(2, 1), vf(3, 1)), ErrUpgradeNeeded},
		{"role with an unknown field but no member", KindRole, cat(vf(2, 1), vf(3, 1)), ErrUpgradeNeeded},
		{"update with the host field of create", KindUpdate, cat(bf(1, []byte("x")), bf(7, kHost.id[:])), ErrUpgradeNeeded},
		{"role fields swapped", KindRole, cat(vf(2, 1), bf(1, u)), ErrMalformed},
		{"join with an empty token", KindJoin, bf(1, nil), ErrMalformed},
		{"join with a garbage token", KindJoin, bf(1, []byte("garbage")), ErrMalformed},
		{"reason as varint", KindBan, cat(bf(1, u), vf(2, 1)), ErrMalformed},
		{"until as bytes", KindMute, bf(2, []byte{1}), ErrMalformed},
	}
	for _, c := range cases {
		b, err := DecodeBody(c.kind, c.body)
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			} else if re := b.Encode(); !bytes.Equal(re, c.body) {
				t.Errorf("%s: re-encoded %x, want %x", c.name, re, c.body)
			}
			continue
		}
		wantCode(t, c.name, err, c.want)
	}
}

func TestCanonicalInvite(t *testing.T) {
	ma := mustMultiaddr(t, "/ip4/127.0.0.1/tcp/1")
	// payload returns the fields of a valid invite, one slot per field
	// number 1..9 (nil: absent), after mod changed the slots.
	payload := func(mod func(s [][]byte)) []byte {
		s := [][]byte{vf(1, 1), bf(2, bytes.Repeat([]byte{7}, 32)), bf(3, kHost.id[:]), nil,
			bf(5, kOwner.id[:]), nil, nil, bf(8, []byte("12345678")), nil}
		if mod != nil {
			mod(s)
		}
		return cat(s...)
	}
	nine := make([][]byte, MaxInviteAddrs+1)
	for i := range nine {
		nine[i] = bf(4, ma)
	}
	cases := []struct {
		name string
		mod  func(s [][]byte)
		want *Error // nil: accepted
	}{
		{"valid", nil, nil},
		{"repeated addresses", func(s [][]byte) { s[3] = cat(bf(4, ma), bf(4, ma)) }, nil},
		{"MaxInviteAddrs addresses", func(s [][]byte) { s[3] = cat(nine[1:]...) }, nil},
		{"too many addresses", func(s [][]byte) { s[3] = cat(nine...) }, ErrInvalid},
		{"empty address", func(s [][]byte) { s[3] = bf(4, nil) }, ErrMalformed},
		{"bad address", func(s [][]byte) { s[3] = bf(4, []byte{0xff, 0xff}) }, ErrInvalid},
		{"long address", func(s [][]byte) { s[3] = bf(4, bytes.Repeat(ma, MaxMultiaddrBytes/len(ma)+1)) }, ErrInvalid},
		{"address after the inviter", func(s [][]byte) { s[4] = cat(s[4], bf(4, ma)) }, ErrMalformed},
		{"no group", func(s [][]byte) { s[1] = nil }, ErrInvalid},
		{"zero host", func(s [][]byte) { s[2] = bf(3, make([]byte, 32)) }, ErrMalformed},
		{"no inviter", func(s [][]byte) { s[4] = nil }, ErrInvalid},
		{"short nonce", func(s [][]byte) { s[7] = bf(8, []byte("1234567")) }, ErrInvalid},
		{"no nonce", func(s [][]byte) { s[7] = nil }, ErrInvalid},
		{"expiry", func(s [][]byte) { s[5] = vf(6, t0) }, nil},
		{"zero expiry", func(s [][]byte) { s[5] = vf(6, 0) }, ErrMalformed},
		{"MaxInviteUses", func(s [][]byte) { s[6] = vf(7, MaxInviteUses) }, nil},
		{"too many uses", func(s [][]byte) { s[6] = vf(7, MaxInviteUses+1) }, ErrInvalid},
		{"uses over 32 bits", func(s [][]byte) { s[6] = vf(7, 1<<32) }, ErrMalformed},
		{"reference at the limit", func(s [][]byte) { s[8] = bf(9, []byte(strings.Repeat("x", MaxRefBytes))) }, nil},
		{"long reference", func(s [][]byte) { s[8] = bf(9, []byte(strings.Repeat("x", MaxRefBytes+1))) }, ErrInvalid},
		{"version 2", func(s [][]byte) { s[0] = vf(1, 2) }, ErrUpgradeNeeded},
		{"unknown field", func(s [][]byte) { s[8] = vf(10, 1) }, ErrUpgradeNeeded},
	}
	for _, c := range cases {
		_, err := DecodeInvite(envelope(payload(c.mod)))
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		wantCode(t, c.name, err, c.want)
	}
}

func TestEventShape(t *testing.T) {
	h := newGroup(t)
	create, second := h.events[1], h.events[2]
	hdr := func(seq uint64, prev []byte, sub []byte) []byte {
		fields := [][]byte{vf(1, 1), bf(2, h.st.Group[:]), vf(3, seq)}
		if prev != nil {
			fields = append(fields, bf(4, prev))
		}
		fields = append(fields, vf(5, t0), bf(6, kHome.id[:]), bf(7, sub))
		return cat(fields...)
	}
	if _, err := DecodeEvent(envelope(hdr(2, create.ID[:], second.Submission))); err != nil {
		t.Fatalf("hand-made event: %v", err)
	}
	cases := []struct {
		name    string
		payload []byte
		want    *Error
	}{
		{"second event without prev", hdr(2, nil, second.Submission), ErrMalformed},
		{"first event with prev", hdr(1, create.ID[:], create.Submission), ErrMalformed},
		{"first event with a zero prev", hdr(1, make([]byte, 32), create.Submission), ErrMalformed},
		{"first event that is not a create", hdr(1, nil, second.Submission), ErrInvalid},
		{"create event at seq 2", hdr(2, create.ID[:], create.Submission), ErrInvalid},
		{"submission of another group", cat(vf(1, 1), bf(2, bytes.Repeat([]byte{1}, 32)), vf(3, 2), bf(4, create.ID[:]), vf(5, t0), bf(6, kHome.id[:]), bf(7, second.Submission)), ErrInvalid},
		{"no via", cat(vf(1, 1), bf(2, h.st.Group[:]), vf(3, 2), bf(4, create.ID[:]), vf(5, t0), bf(7, second.Submission)), ErrMalformed},
		{"no time", cat(vf(1, 1), bf(2, h.st.Group[:]), vf(3, 2), bf(4, create.ID[:]), bf(6, kHome.id[:]), bf(7, second.Submission)), ErrMalformed},
		{"no submission", cat(vf(1, 1), bf(2, h.st.Group[:]), vf(3, 2), bf(4, create.ID[:]), vf(5, t0), bf(6, kHome.id[:])), ErrMalformed},
		{"garbage submission", hdr(2, create.ID[:], []byte("garbage")), ErrMalformed},
		{"version 2", cat(vf(1, 2), hdr(2, create.ID[:], second.Submission)[2:]), ErrUpgradeNeeded},
		{"unknown field", cat(hdr(2, create.ID[:], second.Submission), vf(8, 1)), ErrUpgradeNeeded},
	}
	for _, c := range cases {
		_, err := DecodeEvent(envelope(c.payload))
		wantCode(t, c.name, err, c.want)
	}
}

// --- signatures ---

func TestSignatures(t *testing.T) {
	s := Submission{Kind: KindMessage, Group: GroupID{1}, Author: kMember.ID(), Time: t0, Nonce: []byte("nonce-01"), Body: msg("hello").Encode()}
	ss, err := s.Sign(kMember)
	if err != nil {
		t.Fatal(err)
	}
	payload := s.Encode()
	if !bytes.Equal(ss.pay, payload) {
		t.Fatal("the envelope does not carry the payload")
	}

	// tampered payload: "hello" becomes "jello"
	i := bytes.Index(ss.Raw, []byte("hello"))
	tampered := bytes.Clone(ss.Raw)
	tampered[i] = 'j'
	ts, err := DecodeSubmission(tampered)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "tampered payload", ts.Verify(), ErrBadSignature)

	// tampered signature
	tampered = bytes.Clone(ss.Raw)
	tampered[len(tampered)-1] ^= 1
	ts, err = DecodeSubmission(tampered)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "tampered signature", ts.Verify(), ErrBadSignature)

	// the author's signature of the same payload in another domain
	for _, d := range []string{DomainInvite, DomainEvent, DomainAuth, "", "qun/1/submission\x00"} {
		ws, err := DecodeSubmission(encodeSigned(payload, kMember.SignRaw(d, payload)))
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, "submission signed in domain "+d, ws.Verify(), ErrBadSignature)
	}
	// another key
	ws, err := DecodeSubmission(kOut.Sign(DomainSubmission, payload))
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "submission signed by another key", ws.Verify(), ErrBadSignature)

	// an invite signature is not a submission signature, and the reverse
	inv := mustInvite(t)
	ip := inv.Invite.Encode()
	wi, err := DecodeInvite(encodeSigned(ip, kOwner.SignRaw(DomainSubmission, ip)))
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "invite signed as a submission", wi.Verify(), ErrBadSignature)
	_, err = ParseToken(wi.Token())
	wantCode(t, "token signed as a submission", err, ErrBadSignature)
	wi, err = DecodeInvite(kHost.Sign(DomainInvite, ip))
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "invite signed by another key", wi.Verify(), ErrBadSignature)

	// events: host key, host domain
	h := newGroup(t)
	ev := h.events[2]
	ep := ev.Event.Encode()
	wantCode(t, "event checked against another host", ev.VerifyHost(kHome.ID()), ErrBadSignature)
	we, err := DecodeEvent(encodeSigned(ep, kHost.SignRaw(DomainSubmission, ep)))
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "event signed in the submission domain", we.VerifyHost(kHost.ID()), ErrBadSignature)
	// a valid host signature around a forged submission
	forged := Event{Group: ev.Group, Seq: 2, Prev: ev.Prev, Time: ev.Time, Via: ev.Via,
		Submission: kOut.Sign(DomainSubmission, ev.Sub.Submission.Encode())}
	fe, err := forged.Sign(kHost)
	if err != nil {
		t.Fatal(err)
	}
	if err := fe.VerifyHost(kHost.ID()); err != nil {
		t.Errorf("host signature: %v", err)
	}
	wantCode(t, "forged submission in a host-signed event", fe.VerifyAll(kHost.ID()), ErrBadSignature)

	if VerifyRaw(kMember.ID(), DomainSubmission, payload, ss.sig[:63]) {
		t.Error("VerifyRaw accepts a short signature")
	}
	if !VerifyRaw(kMember.ID(), DomainSubmission, payload, ss.sig) {
		t.Error("VerifyRaw refuses a good signature")
	}
}

func TestSigningBytes(t *testing.T) {
	got := SigningBytes(DomainSubmission, []byte{0xaa, 0xbb})
	want := append(append([]byte{16}, "qun/1/submission"...), 0xaa, 0xbb)
	if !bytes.Equal(got, want) {
		t.Errorf("SigningBytes = %x, want %x", got, want)
	}
	long := strings.Repeat("d", 200)
	if got := SigningBytes(long, nil); !bytes.Equal(got[:2], []byte{0xc8, 0x01}) || string(got[2:]) != long {
		t.Errorf("the domain length is not a uvarint: %x", got[:2])
	}
	for _, d := range []string{DomainSubmission, DomainEvent, DomainInvite, DomainAuth} {
		if !strings.HasPrefix(d, "qun/1/") {
			t.Errorf("domain %q", d)
		}
	}
}

// --- limits ---

func TestSizeLimits(t *testing.T) {
	at := strings.Repeat("群", MaxTextRunes) // 3 bytes a character
	if _, err := DecodeBody(KindMessage, msg(at).Encode()); err != nil {
		t.Errorf("text of %d characters: %v", MaxTextRunes, err)
	}
	_, err := DecodeBody(KindMessage, msg(at+"!").Encode())
	wantCode(t, "text over the limit", err, ErrInvalid)
	if err == nil || !strings.Contains(err.Error(), "4001 characters") || !strings.Contains(err.Error(), "4000") {
		t.Errorf("message of the refusal: %v", err)
	}
	s := Submission{Kind: KindMessage, Group: GroupID{1}, Author: kMember.ID(), Time: t0, Nonce: []byte("nonce-01"), Body: msg(at + "!").Encode()}
	_, err = DecodeSubmission(kMember.Sign(DomainSubmission, s.Encode()))
	wantCode(t, "submission with text over the limit", err, ErrInvalid)
	_, err = DecodeBody(KindAnnounce, (&AnnounceBody{Text: strings.Repeat("a", MaxTextRunes+1)}).Encode())
	wantCode(t, "announcement over the limit", err, ErrInvalid)
	_, err = DecodeBody(KindMessage, msg(string([]byte{0xff, 0xfe})).Encode())
	wantCode(t, "text that is not UTF-8", err, ErrInvalid)

	big := envelope(bf(7, make([]byte, MaxEventSize)))
	_, err = DecodeEvent(big)
	wantCode(t, "event over MaxEventSize", err, ErrTooLarge)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprint(MaxEventSize)) {
		t.Errorf("message of the refusal: %v", err)
	}
	exact := envelope(bf(7, make([]byte, MaxEventSize-len(envelope(bf(7, make([]byte, 70000))))+70000)))
	if len(exact) != MaxEventSize {
		t.Fatalf("test bug: %d bytes", len(exact))
	}
	_, err = DecodeEvent(exact)
	if errors.Is(err, ErrTooLarge) {
		t.Errorf("event of exactly MaxEventSize bytes: %v", err)
	}
	_, err = DecodeEvent(exact[:len(exact)-1])
	wantCode(t, "truncated event", err, ErrMalformed)
	_, err = DecodeSubmission(envelope(bf(7, make([]byte, MaxSubmissionSize))))
	wantCode(t, "submission over MaxSubmissionSize", err, ErrTooLarge)
	_, err = DecodeInvite(envelope(bf(9, make([]byte, maxInviteSize))))
	wantCode(t, "invite over its limit", err, ErrTooLarge)

	long := func(n int) string { return strings.Repeat("x", n) }
	url := "https://e.example/" + long(MaxURLBytes-len("https://e.example/"))
	limits := []struct {
		name string
		body Body
		ok   bool
	}{
		{"name at the limit", &UpdateBody{Settings{Name: ptr(strings.Repeat("名", MaxNameRunes))}}, true},
		{"name over the limit", &UpdateBody{Settings{Name: ptr(long(MaxNameRunes + 1))}}, false},
		{"description at the limit", &UpdateBody{Settings{Description: ptr(long(MaxDescriptionRunes))}}, true},
		{"description over the limit", &UpdateBody{Settings{Description: ptr(long(MaxDescriptionRunes + 1))}}, false},
		{"URL at the limit", &UpdateBody{Settings{Avatar: ptr(url)}}, true},
		{"URL over the limit", &UpdateBody{Settings{Avatar: ptr(url + "x")}}, false},
		{"URL that is not http", &UpdateBody{Settings{Avatar: ptr("ftp://e.example/a")}}, false},
		{"URL without host", &UpdateBody{Settings{Avatar: ptr("https:///a")}}, false},
		{"javascript link", &MessageBody{Link: "javascript:alert(1)"}, false},
		{"link that is not UTF-8", &MessageBody{Link: "https://a.example/\xff"}, false},
		{"avatar that is not UTF-8", &UpdateBody{Settings{Avatar: ptr("https://\xff.example/")}}, false},
		{"product URL that is not UTF-8", &MessageBody{Product: &Product{Title: "t", URL: "https://a.example/\xfe"}}, false},
		{"link with raw UTF-8 (percent-encode it)", &MessageBody{Link: "https://a.example/茶"}, false},
		{"link with percent-encoded UTF-8", &MessageBody{Link: "https://a.example/%E8%8C%B6"}, true},
		{"cap at the limit", &UpdateBody{Settings{Cap: ptr(uint32(MaxMemberCap))}}, true},
		{"cap over the limit", &UpdateBody{Settings{Cap: ptr(uint32(MaxMemberCap + 1))}}, false},
		{"unknown policy", &UpdateBody{Settings{Policy: ptr(Policy(4))}}, false},
		{"empty update", &UpdateBody{}, false},
		{"empty name", &UpdateBody{Settings{Name: ptr("")}}, false},
		{"create without name", &CreateBody{Host: kHost.ID()}, false},
		{"create without host", &CreateBody{Settings: Settings{Name: ptr("x")}}, false},
		{"reason at the limit", NewMemberBody(KindKick, kMember.ID(), long(MaxReasonRunes)), true},
		{"reason over the limit", NewMemberBody(KindKick, kMember.ID(), long(MaxReasonRunes+1)), false},
		{"note over the limit", NewJoinBody(KindJoinRequest, nil, long(MaxReasonRunes+1)), false},
		{"mute reason over the limit", &MuteBody{Reason: long(MaxReasonRunes + 1)}, false},
		{"zero mentions", &MessageBody{Text: "x", Mentions: make([]UserID, 2)}, false},
		{"unknown role", &RoleBody{Member: kMember.ID(), Role: 5}, false},
		{"role without member", &RoleBody{Role: RoleAdmin}, false},
		{"kick without member", NewMemberBody(KindKick, UserID{}, ""), false},
		{"pin without seq", NewTargetBody(KindPin, 0), false},
		{"revoke without invite", &InviteRevokeBody{}, false},
		{"invite_create without token", &InviteCreateBody{}, false},
		{"empty message", &MessageBody{}, false},
		{"product without title", &MessageBody{Product: &Product{ID: "1"}}, false},
		{"product title over the limit", &MessageBody{Product: &Product{Title: long(2*MaxNameRunes + 1)}}, false},
		{"price over the limit", &MessageBody{Product: &Product{Title: "t", Price: long(33)}}, false},
	}
	mentions := make([]UserID, MaxMentions+1)
	for i := range mentions {
		mentions[i] = testKey(byte(i + 1)).ID()
	}
	limits = append(limits,
		struct {
			name string
			body Body
			ok   bool
		}{"50 mentions", &MessageBody{Text: "x", Mentions: mentions[:MaxMentions]}, true},
		struct {
			name string
			body Body
			ok   bool
		}{"51 mentions", &MessageBody{Text: "x", Mentions: mentions}, false},
	)
	for _, c := range limits {
		_, err := DecodeBody(c.body.Kind(), c.body.Encode())
		if c.ok {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if e := AsError(err); e == nil || (e.Code != CodeInvalid && e.Code != CodeMalformed) || e.Msg == "" {
			t.Errorf("%s: got %s (%v), want invalid or malformed", c.name, codeOf(err), err)
		}
	}
}

// --- identities ---

// base58btc encodes b in the bitcoin alphabet (an independent check of the peer ID text form).
func base58btc(b []byte) string {
	const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	n := new(big.Int).SetBytes(b)
	var out []byte
	for n.Sign() > 0 {
		m := new(big.Int)
		n.DivMod(n, big.NewInt(58), m)
		out = append(out, alphabet[m.Int64()])
	}
	for _, c := range b {
		if c != 0 {
			break
		}
		out = append(out, '1')
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

func TestUserIDPeerID(t *testing.T) {
	for _, k := range []*Key{kOwner, kHost, testKey(0xff)} {
		u := k.ID()
		pid := u.PeerID()
		want := append([]byte{0x00, 0x24, 0x08, 0x01, 0x12, 0x20}, u[:]...)
		if !bytes.Equal([]byte(pid), want) {
			t.Errorf("peer ID bytes %x, want %x", []byte(pid), want)
		}
		s := u.String()
		if !strings.HasPrefix(s, "12D3KooW") || len(s) != 52 || s != base58btc(want) || s != pid.String() {
			t.Errorf("peer ID text %q, want base58btc %q", s, base58btc(want))
		}
		back, err := ParseUserID(s)
		if err != nil || back != u {
			t.Errorf("ParseUserID(%q) = %s, %v", s, back, err)
		}
		back, err = UserIDFromPeer(pid)
		if err != nil || back != u {
			t.Errorf("UserIDFromPeer = %s, %v", back, err)
		}
		if sh := u.Short(); !strings.HasSuffix(s, strings.TrimPrefix(sh, "…")) || len(sh) >= len(s) {
			t.Errorf("Short() = %q of %q", sh, s)
		}
	}
	for _, s := range []string{"", "12D3KooW", "not a peer id", "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"} {
		if _, err := ParseUserID(s); err == nil {
			t.Errorf("ParseUserID(%q) accepted", s)
		}
	}
	sk, _, err := crypto.GenerateSecp256k1Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	spid, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseUserID(spid.String()); err == nil {
		t.Error("a secp256k1 peer ID is accepted as a user ID")
	}
	if _, err := KeyFromLibp2p(sk); err == nil {
		t.Error("a secp256k1 key is accepted")
	}
}

func TestKeyMarshal(t *testing.T) {
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	k2, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if k.ID() == k2.ID() || k.ID().IsZero() {
		t.Error("NewKey gives equal or zero keys")
	}
	b, err := k.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalKey(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID() != k.ID() {
		t.Errorf("UnmarshalKey gives %s, want %s", back.ID(), k.ID())
	}
	payload := []byte("payload")
	if !bytes.Equal(back.SignRaw(DomainAuth, payload), k.SignRaw(DomainAuth, payload)) {
		t.Error("the unmarshalled key signs differently")
	}
	fromLibp2p, err := KeyFromLibp2p(k.Libp2p())
	if err != nil || fromLibp2p.ID() != k.ID() {
		t.Errorf("KeyFromLibp2p round trip: %v", err)
	}
	pid, err := peer.IDFromPrivateKey(k.Libp2p())
	if err != nil || pid != k.ID().PeerID() {
		t.Errorf("libp2p peer ID %s, want %s (%v)", pid, k.ID().PeerID(), err)
	}
	if _, err := UnmarshalKey([]byte("garbage")); err == nil {
		t.Error("UnmarshalKey accepts garbage")
	}
	sk, _, err := crypto.GenerateSecp256k1Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := crypto.MarshalPrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := UnmarshalKey(sb); err == nil {
		t.Error("UnmarshalKey accepts a secp256k1 key")
	}
}

func TestIDsAndTopics(t *testing.T) {
	g := GroupID{0xde, 0xad, 0xbe, 0xef}
	if s := g.String(); len(s) != 64 || !strings.HasPrefix(s, "deadbeef") {
		t.Errorf("group ID text %q", s)
	}
	if back, err := ParseGroupID(g.String()); err != nil || back != g {
		t.Errorf("ParseGroupID: %v", err)
	}
	e := EventID{1}
	if back, err := ParseEventID(e.String()); err != nil || back != e {
		t.Errorf("ParseEventID: %v", err)
	}
	i := InviteID{2}
	if back, err := ParseInviteID(i.String()); err != nil || back != i {
		t.Errorf("ParseInviteID: %v", err)
	}
	for _, s := range []string{"", "00", strings.Repeat("g", 64), strings.Repeat("0", 63), strings.Repeat("0", 66)} {
		if _, err := ParseGroupID(s); err == nil {
			t.Errorf("ParseGroupID(%q) accepted", s)
		}
		if _, err := ParseEventID(s); err == nil {
			t.Errorf("ParseEventID(%q) accepted", s)
		}
		if _, err := ParseInviteID(s); err == nil {
			t.Errorf("ParseInviteID(%q) accepted", s)
		}
	}
	if tp := Topic(g); tp != "qun/1/group/"+g.String() {
		t.Errorf("topic %q", tp)
	}
	if back, err := GroupFromTopic(Topic(g)); err != nil || back != g {
		t.Errorf("GroupFromTopic: %v", err)
	}
	for _, s := range []string{"", "qun/1/group/", "qun/2/group/" + g.String(), "qun/1/group/xyz"} {
		if _, err := GroupFromTopic(s); err == nil {
			t.Errorf("GroupFromTopic(%q) accepted", s)
		}
	}
	if SubmissionID(g).String() != g.String() || !(GroupID{}).IsZero() || g.IsZero() {
		t.Error("ID helpers")
	}
}

func TestNames(t *testing.T) {
	for k := KindCreate; k <= KindConfirm; k++ {
		if back, ok := ParseKind(k.String()); !ok || back != k || strings.HasPrefix(k.String(), "kind_") {
			t.Errorf("kind %d: %q", k, k.String())
		}
	}
	if Kind(0).Known() || Kind(27).Known() || Kind(27).String() != "kind_27" || KindProfile.Since() != "1.1" || KindEdit.Since() != "1.1" || KindRecall.Since() != "1.0" || KindClose.Since() != "1.4" || KindRules.Since() != "1.4" || KindConfirm.Since() != "1.4" || Kind(27).Since() != "" {
		t.Error("unknown kinds")
	}
	if _, ok := ParseKind("kind_27"); ok {
		t.Error("ParseKind accepts an unknown kind")
	}
	for r := RoleMember; r <= RoleBridge; r++ {
		if back, ok := ParseRole(r.String()); !ok || back != r {
			t.Errorf("role %d: %q", r, r.String())
		}
	}
	for p := PolicyOpen; p <= PolicyInvite; p++ {
		if back, ok := ParsePolicy(p.String()); !ok || back != p {
			t.Errorf("policy %d: %q", p, p.String())
		}
	}
	if Role(9).String() != "role_9" || Policy(9).String() != "policy_9" {
		t.Error("unknown role or policy names")
	}
	for c := CodeInternal; c <= CodeHistoryHidden; c++ {
		if ParseCode(c.String()) != c || strings.HasPrefix(c.String(), "code_") {
			t.Errorf("code %d: %q", c, c.String())
		}
		e := Errorf(c, "sentence %d", c)
		if !errors.Is(e, &Error{Code: c}) || errors.Is(e, &Error{Code: c + 1}) || AsError(fmt.Errorf("wrapped: %w", e)) != e {
			t.Errorf("code %s: errors.Is/As", c)
		}
	}
	if ParseCode("nonsense") != CodeInternal || Code(99).String() != "code_99" {
		t.Error("unknown codes")
	}
	if e := AsError(errors.New("disk")); e.Code != CodeInternal || e.Msg != "disk" || AsError(nil) != nil {
		t.Error("AsError of a plain error")
	}
	if s := FormatTime(t0); s != "2023-11-14 22:13:20 UTC" {
		t.Errorf("FormatTime = %q", s)
	}
}
