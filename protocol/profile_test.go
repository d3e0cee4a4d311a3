package protocol

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"github.com/multiformats/go-multiaddr"
	"strings"
	"testing"
	"unicode"
)

// testProfile is a profile with every field set.
var testProfile = Profile{
	Name: "Mei Lin", Bio: "tea lover 🍵 · 杭州", Nick: "梅 (VIP)",
	Avatar: &BlobRef{Hash: sha256.Sum256([]byte("avatar")), MIME: "image/jpeg", Size: 20_480, Width: 256, Height: 256},
}

// profileFields sets one text field of a profile, for the text tables.
var profileFields = []struct {
	name string
	max  int
	set  func(p *Profile, s string)
}{
	{"name", MaxDisplayNameRunes, func(p *Profile, s string) { p.Name = s }},
	{"bio", MaxBioRunes, func(p *Profile, s string) { p.Bio = s }},
	{"nick", MaxNickRunes, func(p *Profile, s string) { p.Nick = s }},
}

// TestProfileText: every rule of a profile string, for each of the three
// strings, at the boundary and one over.
func TestProfileText(t *testing.T) {
	for _, f := range profileFields {
		cases := []struct {
			name string
			text string
			want *Error // nil: accepted
		}{
			{"ASCII at the limit", strings.Repeat("a", f.max), nil},
			{"ASCII one over", strings.Repeat("a", f.max+1), ErrInvalid},
			{"CJK at the limit", strings.Repeat("茶", f.max), nil},
			{"CJK one over", strings.Repeat("茶", f.max+1), ErrInvalid},
			{"emoji at the limit", strings.Repeat("🍵", f.max), nil},
			{"emoji one over", strings.Repeat("🍵", f.max+1), ErrInvalid},
			{"one character", "x", nil},
			{"inner spaces", "Mei  Lin\u3000茶", nil},
			{"ZWJ emoji sequence", "👨\u200d👩\u200d👧 family", nil},
			{"ZWNJ between letters", "می\u200cخواهم", nil},
			{"variation selector", "☕\ufe0f", nil},
			{"combining accent", "Zoe\u0301", nil},
			{"private use", "\ue000", nil},
			{"invalid UTF-8", "Mei\xff", ErrInvalid},
			{"surrogate in UTF-8", "Mei\xed\xa0\x80", ErrInvalid},
			{"NUL", "Mei\x00Lin", ErrInvalid},
			{"tab", "Mei\tLin", ErrInvalid},
			{"newline", "Mei\nLin", ErrInvalid},
			{"carriage return", "Mei\rLin", ErrInvalid},
			{"escape", "Mei\x1b[31m", ErrInvalid},
			{"DEL", "Mei\x7f", ErrInvalid},
			{"C1 control (NEL)", "Mei\u0085Lin", ErrInvalid},
			{"soft hyphen", "Mei\u00adLin", ErrInvalid},
			{"zero-width space", "Mei\u200bLin", ErrInvalid},
			{"left-to-right mark", "Mei\u200eLin", ErrInvalid},
			{"right-to-left override", "Mei\u202eniL", ErrInvalid},
			{"bidi isolate", "Mei\u2066Lin\u2069", ErrInvalid},
			{"line separator", "Mei\u2028Lin", ErrInvalid},
			{"paragraph separator", "Mei\u2029Lin", ErrInvalid},
			{"word joiner", "Mei\u2060Lin", ErrInvalid},
			{"byte order mark", "\ufeffMei", ErrInvalid},
			{"interlinear annotation", "Mei\ufff9Lin", ErrInvalid},
			{"tag character", "Mei\U000E0041", ErrInvalid},
			{"leading space", " Mei", ErrInvalid},
			{"trailing space", "Mei ", ErrInvalid},
			{"only a space", " ", ErrInvalid},
			{"leading ideographic space", "\u3000梅", ErrInvalid},
			{"trailing no-break space", "Mei\u00a0", ErrInvalid},
			{"trailing narrow no-break space", "Mei\u202f", ErrInvalid},
			{"leading em space", "\u2003Mei", ErrInvalid},
			{"trailing ogham space", "Mei\u1680", ErrInvalid},
			{"trailing medium mathematical space", "Mei\u205f", ErrInvalid},
			{"leading ZWJ", "\u200d👩", ErrInvalid},
			{"trailing ZWNJ", "Mei\u200c", ErrInvalid},
			{"only a ZWJ", "\u200d", ErrInvalid},
		}
		for _, c := range cases {
			var p Profile
			f.set(&p, c.text)
			_, err := DecodeBody(KindProfile, NewProfileBody(p).Encode())
			if c.want == nil {
				if err != nil {
					t.Errorf("%s, %s: %v", f.name, c.name, err)
				}
				if check := NewProfileBody(p).Check(); check != nil {
					t.Errorf("%s, %s: Check: %v", f.name, c.name, check)
				}
				continue
			}
			wantCode(t, f.name+", "+c.name, err, c.want)
			if check := NewProfileBody(p).Check(); !errors.Is(check, c.want) {
				t.Errorf("%s, %s: Check gives %v", f.name, c.name, check)
			}
		}
	}
}

// TestProfileRefusedRunes: the frozen list refuses every control and format
// character of the Unicode tables Go ships (at least 15.0) but ZWNJ and
// ZWJ, plus the line and paragraph separators, and nothing else.
func TestProfileRefusedRunes(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		want := (unicode.In(r, unicode.Cc, unicode.Zl, unicode.Zp) || unicode.Is(unicode.Cf, r)) && r != 0x200C && r != 0x200D
		if got := refusedRune(r); got != want {
			// A Unicode version after 15.0 may add format characters:
			// they stay allowed (the list is frozen), so only a
			// character the list refuses must be in the tables.
			if got || unicode.Version == "15.0.0" {
				t.Errorf("U+%04X: refused %v, in Cc/Cf/Zl/Zp %v (Unicode %s)", r, got, want, unicode.Version)
			}
		}
		// the characters refused at the ends are White_Space and the joiners
		if !refusedRune(r) {
			if edge := edgeRune(r); edge != (unicode.Is(unicode.White_Space, r) || r == 0x200C || r == 0x200D) {
				t.Errorf("U+%04X: refused at the ends %v", r, edge)
			}
		}
	}
}

// TestBlobRefRules: the rules of a blob reference and of a profile avatar.
func TestBlobRefRules(t *testing.T) {
	h32 := bytes.Repeat([]byte{7}, 32)
	ref := func(fields ...[]byte) []byte { return bf(4, cat(fields...)) }
	hash, png, size := bf(1, h32), bf(2, []byte("image/png")), vf(3, 1000)
	cases := []profileBodyCase{
		{"valid", ref(hash, png, size), nil},
		{"with width and height", ref(hash, png, size, vf(4, 640), vf(5, 480)), nil},
		{"at MaxBlobSide", ref(hash, png, size, vf(4, MaxBlobSide), vf(5, MaxBlobSide)), nil},
		{"width over MaxBlobSide", ref(hash, png, size, vf(4, MaxBlobSide+1), vf(5, 1)), ErrInvalid},
		{"height over 32 bits", ref(hash, png, size, vf(4, 1), vf(5, 1<<32)), ErrMalformed},
		{"width without height", ref(hash, png, size, vf(4, 640)), ErrInvalid},
		{"height without width", ref(hash, png, size, vf(5, 480)), ErrInvalid},
		{"jpeg", ref(hash, bf(2, []byte("image/jpeg")), size), nil},
		{"webp", ref(hash, bf(2, []byte("image/webp")), size), nil},
		{"gif", ref(hash, bf(2, []byte("image/gif")), size), ErrInvalid},
		{"svg", ref(hash, bf(2, []byte("image/svg+xml")), size), ErrInvalid},
		{"a file type", ref(hash, bf(2, []byte("application/pdf")), size), ErrInvalid},
		{"upper case", ref(hash, bf(2, []byte("image/PNG")), size), ErrInvalid},
		{"parameters", ref(hash, bf(2, []byte("image/png; q=1")), size), ErrInvalid},
		{"no subtype", ref(hash, bf(2, []byte("image")), size), ErrInvalid},
		{"empty subtype", ref(hash, bf(2, []byte("image/")), size), ErrInvalid},
		{"two slashes", ref(hash, bf(2, []byte("image/png/x")), size), ErrInvalid},
		{"no media type", ref(hash, size), ErrInvalid},
		{"empty media type", ref(hash, bf(2, nil), size), ErrMalformed},
		{"31-byte hash", ref(bf(1, h32[:31]), png, size), ErrMalformed},
		{"33-byte hash", ref(bf(1, append(h32, 1)), png, size), ErrMalformed},
		{"zero hash", ref(bf(1, make([]byte, 32)), png, size), ErrMalformed},
		{"no hash", ref(png, size), ErrInvalid},
		{"no size", ref(hash, png), ErrInvalid},
		{"size at MaxAvatarBytes", ref(hash, png, vf(3, MaxAvatarBytes)), nil},
		{"size one over MaxAvatarBytes", ref(hash, png, vf(3, MaxAvatarBytes+1)), ErrInvalid},
		{"size as bytes", ref(hash, png, bf(3, []byte{1})), ErrMalformed},
		{"fields out of order", ref(png, hash, size), ErrMalformed},
		{"empty reference", ref(), ErrMalformed},
		{"a field of a later revision", ref(hash, png, size, vf(6, 1)), ErrUpgradeNeeded},
		{"a profile field of a later revision", cat(bf(1, []byte("Mei")), vf(6, 1)), ErrUpgradeNeeded},
		{"fields of the profile out of order", cat(bf(3, []byte("a")), bf(1, []byte("b"))), ErrMalformed},
		{"empty name", bf(1, nil), ErrMalformed},
		{"empty body", nil, nil},
	}
	checkProfileBodies(t, cases)
}

func TestBlobRefVerify(t *testing.T) {
	data := []byte("\x89PNG not really")
	r := NewBlobRef("image/png", data)
	if r.Size != uint64(len(data)) || r.Hash != Hash(sha256.Sum256(data)) || r.MIME != "image/png" {
		t.Fatalf("NewBlobRef = %+v", r)
	}
	if err := r.Verify(data); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{data[1:], append(bytes.Clone(data), 0), bytes.ToUpper(data)} {
		if err := r.Verify(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Verify(%q) = %v", bad, err)
		}
	}
}

// TestStateProfile: who may set a profile, what it replaces and when the
// state drops it.
// TestShownGroupRules is the table of profile field 5 (since 1.5): the
// groups a member shows.
func TestShownGroupRules(t *testing.T) {
	g32, h32 := bytes.Repeat([]byte{7}, 32), bytes.Repeat([]byte{9}, 32)
	addr := multiaddr.StringCast("/ip4/127.0.0.1/tcp/7781").Bytes()
	shown := func(fields ...[]byte) []byte { return bf(5, cat(fields...)) }
	group, host, a := bf(1, g32), bf(2, h32), bf(3, addr)
	other := func(b byte) []byte { return bf(1, bytes.Repeat([]byte{b}, 32)) }
	many := func(n int) []byte {
		var out [][]byte
		for i := range n {
			out = append(out, shown(other(byte(i+1)), host))
		}
		return cat(out...)
	}
	cases := []profileBodyCase{
		{"a group and its host", shown(group, host), nil},
		{"with addresses", shown(group, host, a, a), nil},
		{"after a name", cat(bf(1, []byte("Mei")), shown(group, host, a)), nil},
		{"two groups", cat(shown(group, host), shown(other(3), host)), nil},
		{"MaxShownGroups", many(MaxShownGroups), nil},
		{"one over MaxShownGroups", many(MaxShownGroups + 1), ErrInvalid},
		{"a group twice", cat(shown(group, host), shown(group, bf(2, g32))), ErrInvalid},
		{"no host", shown(group), ErrInvalid},
		{"no group", shown(host), ErrInvalid},
		{"a zero group", shown(bf(1, make([]byte, 32)), host), ErrMalformed},
		{"a 31-byte host", shown(group, bf(2, h32[:31])), ErrMalformed},
		{"MaxInviteAddrs addresses", shown(group, host, bytes.Repeat(a, MaxInviteAddrs)), nil},
		{"one address over", shown(group, host, bytes.Repeat(a, MaxInviteAddrs+1)), ErrInvalid},
		{"a broken address", shown(group, host, bf(3, []byte{0xff, 0xff})), ErrInvalid},
		{"an empty address", shown(group, host, bf(3, nil)), ErrMalformed},
		{"fields out of order", shown(host, group), ErrMalformed},
		{"empty", shown(), ErrMalformed},
		{"as a varint", vf(5, 1), ErrMalformed},
		{"a field of a later revision", shown(group, host, vf(4, 1)), ErrUpgradeNeeded},
	}
	checkProfileBodies(t, cases)
}

// profileBodyCase is a profile body and how decoding it ends (nil: taken).
type profileBodyCase struct {
	name string
	body []byte
	want *Error
}

// checkProfileBodies decodes each case's body: a taken body re-encodes to
// its bytes; a refused one has the code wanted.
func checkProfileBodies(t *testing.T, cases []profileBodyCase) {
	t.Helper()
	for _, c := range cases {
		b, err := DecodeBody(KindProfile, c.body)
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

func TestStateProfile(t *testing.T) {
	set := func(p Profile) *ProfileBody { return NewProfileBody(p) }
	wantProfile := func(k *Key, want Profile) func(t *testing.T, h *harness) {
		return func(t *testing.T, h *harness) {
			t.Helper()
			m := h.member(k)
			if m == nil {
				t.Fatalf("%s is not a member", k.ID().Short())
			}
			if got := normalized(t, h.st).Members[k.ID()].Profile; !profileEqual(got, want) {
				t.Errorf("profile %+v, want %+v", got, want)
			}
		}
	}
	rejoin := func(k *Key) func(t *testing.T, h *harness) {
		return func(t *testing.T, h *harness) {
			wantNotMember(t, h, k)
			h.must(k, NewJoinBody(KindJoin, nil, ""))
			wantProfile(k, Profile{})(t, h)
		}
	}
	setFirst := func(k *Key) func(h *harness) { return func(h *harness) { h.must(k, set(testProfile)) } }
	runStateCases(t, []stateCase{
		{name: "member sets a profile", by: kMember, body: set(testProfile), check: wantProfile(kMember, testProfile)},
		{name: "owner sets a profile", by: kOwner, body: set(Profile{Nick: "老板"}), check: wantProfile(kOwner, Profile{Nick: "老板"})},
		{name: "bridge sets a profile", by: kBridge, body: set(Profile{Name: "relay"}), check: wantProfile(kBridge, Profile{Name: "relay"})},
		{name: "outsider", by: kOut, body: set(testProfile), want: ErrNotMember},
		{name: "banned", by: kBanned, body: set(testProfile), want: ErrBanned},
		{name: "member who left", by: kMember, body: set(testProfile), want: ErrNotMember,
			prep: func(h *harness) { h.must(kMember, &LeaveBody{}) }},
		{name: "requester", by: kNew, body: set(testProfile), want: ErrNotMember, prep: func(h *harness) {
			h.setPolicy(PolicyApproval)
			h.must(kNew, NewJoinBody(KindJoinRequest, nil, ""))
		}},
		{name: "muted member", by: kMember, body: set(testProfile), check: wantProfile(kMember, testProfile),
			prep: func(h *harness) { h.must(kAdmin, &MuteBody{Member: kMember.ID()}) }},
		{name: "member while everyone is muted", by: kMember, body: set(testProfile), check: wantProfile(kMember, testProfile),
			prep: func(h *harness) { h.must(kOwner, &MuteBody{}) }},
		{name: "a profile replaces the whole profile", by: kMember, body: set(Profile{Nick: "new"}),
			prep: setFirst(kMember), check: wantProfile(kMember, Profile{Nick: "new"})},
		{name: "an empty profile clears it", by: kMember, body: set(Profile{}),
			prep: setFirst(kMember), check: wantProfile(kMember, Profile{})},
		{name: "the same profile again", by: kMember, body: set(testProfile),
			prep: setFirst(kMember), check: wantProfile(kMember, testProfile)},
		{name: "others keep theirs", by: kAdmin, body: set(Profile{Name: "admin"}),
			prep: setFirst(kMember), check: wantProfile(kMember, testProfile)},
		{name: "leave drops the profile", by: kMember, body: &LeaveBody{},
			prep: setFirst(kMember), check: rejoin(kMember)},
		{name: "kick drops the profile", by: kAdmin, body: NewMemberBody(KindKick, kMember.ID(), ""),
			prep: setFirst(kMember), check: rejoin(kMember)},
		{name: "ban drops the profile", by: kAdmin, body: NewMemberBody(KindBan, kMember.ID(), ""),
			prep: setFirst(kMember), check: func(t *testing.T, h *harness) {
				wantNotMember(t, h, kMember)
				h.must(kAdmin, NewMemberBody(KindUnban, kMember.ID(), ""))
				rejoin(kMember)(t, h)
			}},
		{name: "a role change keeps the profile", by: kOwner, body: roleBody(kMember, RoleAdmin),
			prep: setFirst(kMember), check: wantProfile(kMember, testProfile)},
		{name: "an ownership transfer keeps both profiles", by: kOwner, body: roleBody(kMember, RoleOwner),
			prep: func(h *harness) {
				h.must(kMember, set(testProfile))
				h.must(kOwner, set(Profile{Name: "boss"}))
			}, check: func(t *testing.T, h *harness) {
				wantProfile(kMember, testProfile)(t, h)
				wantProfile(kOwner, Profile{Name: "boss"})(t, h)
			}},
	})
}

func profileEqual(a, b Profile) bool { return a.Equal(b) }

// TestProfileStateIsACopy: the state does not share the avatar with the
// decoded body, which every caller of DecodedBody shares.
func TestProfileStateIsACopy(t *testing.T) {
	h := newGroup(t)
	ev := h.must(kMember, NewProfileBody(testProfile))
	ev.Sub.DecodedBody().(*ProfileBody).Avatar.Size = 1
	if h.member(kMember).Profile.Avatar.Size != testProfile.Avatar.Size {
		t.Error("the state's avatar is the decoded body's")
	}
}

func TestProfileDisplayName(t *testing.T) {
	if (Profile{Name: "a", Nick: "b"}).DisplayName() != "b" || (Profile{Name: "a"}).DisplayName() != "a" || !(Profile{}).IsZero() || testProfile.IsZero() {
		t.Error("DisplayName or IsZero")
	}
}
