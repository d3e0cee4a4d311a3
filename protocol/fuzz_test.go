package protocol

import (
	"bytes"
	"encoding/base64"
	"flag"
	"github.com/multiformats/go-multiaddr"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/encoding/protowire"
)

// Fuzz targets, one per decoder of bytes that come from the network. Each
// checks that the decoder does not panic, that a refusal is a typed error,
// and that an accepted input is canonical: encoding the decoded value again
// gives exactly the input bytes.
//
// go test -run x -fuzz FuzzDecodeEvent -fuzztime 30s -parallel 1 ./protocol/
//
// The seed corpus in testdata/fuzz/ is written by
// go test -run TestFuzzCorpus -update-fuzz-corpus ./protocol/

var updateFuzzCorpus = flag.Bool("update-fuzz-corpus", false, "rewrite the seed corpus under testdata/fuzz")

// decodeCodes are the codes a decoder may refuse bytes with.
var decodeCodes = map[Code]bool{CodeMalformed: true, CodeInvalid: true, CodeTooLarge: true, CodeUpgradeNeeded: true}

func wantDecodeError(t *testing.T, err error) {
	t.Helper()
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("refusal is not a *protocol.Error: %T %v", err, err)
	}
	if !decodeCodes[e.Code] || e.Msg == "" {
		t.Fatalf("refusal with code %s and message %q", e.Code, e.Msg)
	}
}

func checkSubmission(t *testing.T, s *SignedSubmission, raw []byte) {
	t.Helper()
	if re := encodeSigned(s.Submission.Encode(), s.sig); !bytes.Equal(re, raw) {
		t.Fatalf("accepted a non-canonical submission:\n in %x\nout %x", raw, re)
	}
	if s.ID != SubmissionID(sum(raw)) || !bytes.Equal(s.Raw, raw) {
		t.Fatal("submission ID or raw bytes wrong")
	}
	body := s.DecodedBody()
	if body == nil || body.Kind() != s.Kind {
		t.Fatalf("DecodedBody of %s: %T", s.Kind, body)
	}
	if re := body.Encode(); !bytes.Equal(re, s.Body) {
		t.Fatalf("accepted a non-canonical %s body:\n in %x\nout %x", s.Kind, s.Body, re)
	}
	_ = s.Verify() // must not panic
}

func FuzzDecodeSubmission(f *testing.F) {
	for _, s := range fuzzSeeds(f)["FuzzDecodeSubmission"] {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := DecodeSubmission(raw)
		if err != nil {
			wantDecodeError(t, err)
			return
		}
		checkSubmission(t, s, raw)
	})
}

func FuzzDecodeEvent(f *testing.F) {
	for _, s := range fuzzSeeds(f)["FuzzDecodeEvent"] {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := DecodeEvent(raw)
		if err != nil {
			wantDecodeError(t, err)
			return
		}
		if re := encodeSigned(ev.Event.Encode(), ev.sig); !bytes.Equal(re, raw) {
			t.Fatalf("accepted a non-canonical event:\n in %x\nout %x", raw, re)
		}
		if ev.ID != EventID(sum(raw)) || ev.Sub == nil || !bytes.Equal(ev.Sub.Raw, ev.Submission) {
			t.Fatal("event ID or submission wrong")
		}
		if ev.Sub.GroupID() != ev.Group || (ev.Seq == 1) != (ev.Prev == EventID{}) {
			t.Fatal("event shape not checked")
		}
		checkSubmission(t, ev.Sub, ev.Submission)
		_ = ev.VerifyAll(ev.Via) // must not panic
		if ev.Seq == 1 {
			if _, err := ev.GenesisHost(); err != nil {
				t.Fatalf("GenesisHost of a create event: %v", err)
			}
		}
	})
}

func checkInvite(t *testing.T, inv *SignedInvite, raw []byte) {
	t.Helper()
	if re := encodeSigned(inv.Invite.Encode(), inv.sig); !bytes.Equal(re, raw) {
		t.Fatalf("accepted a non-canonical invite:\n in %x\nout %x", raw, re)
	}
	if inv.ID != InviteID(sum(raw)) || !bytes.Equal(inv.Raw, raw) {
		t.Fatal("invite ID or raw bytes wrong")
	}
	if n := len(inv.Multiaddrs()); n != len(inv.Addrs) {
		t.Fatalf("%d of %d addresses are multiaddrs", n, len(inv.Addrs))
	}
}

func FuzzDecodeInvite(f *testing.F) {
	for _, s := range fuzzSeeds(f)["FuzzDecodeInvite"] {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		inv, err := DecodeInvite(raw)
		if err != nil {
			wantDecodeError(t, err)
			return
		}
		checkInvite(t, inv, raw)
		p, err := ParseToken(inv.Token())
		if verr := inv.Verify(); verr != nil {
			if AsError(verr).Code != CodeBadSignature || AsError(err).Code != CodeBadSignature {
				t.Fatalf("Verify: %v, ParseToken: %v", verr, err)
			}
			return
		}
		if err != nil || !bytes.Equal(p.Raw, raw) {
			t.Fatalf("the token of a valid invite does not parse back: %v", err)
		}
	})
}

// FuzzDecodeBody takes the kind from the first byte and the body from the rest.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range fuzzSeeds(f)["FuzzDecodeBody"] {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		k, in := Kind(data[0]), data[1:]
		b, err := DecodeBody(k, in)
		if err != nil {
			wantDecodeError(t, err)
			return
		}
		if !k.Known() || b.Kind() != k {
			t.Fatalf("kind %d decoded as %T", k, b)
		}
		if re := b.Encode(); !bytes.Equal(re, in) {
			t.Fatalf("accepted a non-canonical %s body:\n in %x\nout %x", k, in, re)
		}
	})
}

// tokenPart is the part of s that ParseToken decodes.
func tokenPart(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexAny(s, "#/"); i >= 0 {
		s = s[i+1:]
	}
	return s
}

func FuzzParseToken(f *testing.F) {
	for _, s := range fuzzSeeds(f)["FuzzParseToken"] {
		f.Add(string(s.data))
	}
	f.Fuzz(func(t *testing.T, s string) {
		inv, err := ParseToken(s)
		if err != nil {
			if e, ok := err.(*Error); !ok || (!decodeCodes[e.Code] && e.Code != CodeBadSignature) {
				t.Fatalf("refusal %T %v", err, err)
			}
			return
		}
		if err := inv.Verify(); err != nil {
			t.Fatalf("ParseToken accepted an invite that does not verify: %v", err)
		}
		checkInvite(t, inv, inv.Raw)
		tok := inv.Token()
		if p := tokenPart(s); p != tok {
			// Other texts of the same bytes are base64 that is not
			// canonical: non-zero trailing bits, or line breaks, which
			// Go's decoder skips.
			if _, err := base64.RawURLEncoding.Strict().DecodeString(p); err == nil && !strings.ContainsAny(p, "\r\n") {
				t.Fatalf("token %q parsed from %q, which is canonical too", tok, p)
			}
		}
		back, err := ParseToken(tok)
		if err != nil || !bytes.Equal(back.Raw, inv.Raw) {
			t.Fatalf("the token does not parse back: %v", err)
		}
	})
}

// FuzzWalk feeds any bytes to the field walker: it never panics, refuses
// with malformed only, and what it accepts is canonical: writing the fields
// again gives exactly the input.
func FuzzWalk(f *testing.F) {
	for _, s := range fuzzSeeds(f)["FuzzWalk"] {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var e encoder
		err := Walk(b, []protowire.Number{2, 4}, []protowire.Number{3}, func(fl Field) error {
			switch fl.Type {
			case protowire.VarintType:
				e.varint(fl.Num, fl.Varint)
			default:
				e.bytesAlways(fl.Num, fl.Bytes)
			}
			return nil
		})
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Code != CodeMalformed || e.Msg == "" {
				t.Fatalf("refusal %T %v", err, err)
			}
			return
		}
		if !bytes.Equal(e.b, b) {
			t.Fatalf("accepted a non-canonical message:\n in %x\nout %x", b, e.b)
		}
	})
}

// FuzzParseIDs feeds any text to the ID parsers of the HTTP API: each ID
// has one spelling, the one String gives.
func FuzzParseIDs(f *testing.F) {
	for _, s := range fuzzSeeds(f)["FuzzParseIDs"] {
		f.Add(string(s.data))
	}
	f.Fuzz(func(t *testing.T, s string) {
		if g, err := ParseGroupID(s); err == nil && g.String() != s {
			t.Fatalf("group ID %q parsed, written back as %q", s, g)
		}
		if e, err := ParseEventID(s); err == nil && e.String() != s {
			t.Fatalf("event ID %q parsed, written back as %q", s, e)
		}
		if i, err := ParseInviteID(s); err == nil && i.String() != s {
			t.Fatalf("invite ID %q parsed, written back as %q", s, i)
		}
		if u, err := ParseUserID(s); err == nil && u.String() != s {
			t.Fatalf("user ID %q parsed, written back as %q", s, u)
		}
		if g, err := GroupFromTopic(s); err == nil && Topic(g) != s {
			t.Fatalf("topic %q parsed, written back as %q", s, Topic(g))
		}
	})
}

// FuzzDecodeHeadNotice: a gossiped head notice decodes canonically or is
// refused with a decode code.
func FuzzDecodeHeadNotice(f *testing.F) {
	for _, s := range fuzzSeeds(f)["FuzzDecodeHeadNotice"] {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		n, err := DecodeHeadNotice(raw)
		if err != nil {
			wantDecodeError(t, err)
			return
		}
		if re := encodeSigned(n.HeadNotice.Encode(), n.sig); !bytes.Equal(re, raw) {
			t.Fatalf("accepted a non-canonical head notice:\n in %x\nout %x", raw, re)
		}
		_ = n.Verify(kHost.ID()) // must not panic
	})
}

// --- seeds ---

type seed struct {
	name string
	data []byte
	ok   bool // a valid encoding: the decoder must accept it
	any  bool // the decoder may accept it or not
}

// fuzzSeeds returns the seeds of every target: valid encodings of every kind
// and some broken ones.
func fuzzSeeds(t testing.TB) map[string][]seed {
	h := newGroup(t)
	inv := h.register(kOwner, func(i *Invite) { i.Expires, i.MaxUses, i.Ref = t0+86_400_000, 10, "order-1" })
	h.must(kAdmin, &InviteRevokeBody{Invite: inv.ID})
	inv2 := h.register(kOwner, nil)
	h.must(kNew, joinWith(inv2))
	h.must(kOwner, &UpdateBody{Settings{Policy: ptr(PolicyApproval), Public: ptr(true), Avatar: ptr("https://a.example/x.png")}})
	h.must(kOwner, &AnnounceBody{Text: "公告"})
	h.must(kNew2, NewJoinBody(KindJoinRequest, nil, "order 7"))
	h.must(kAdmin, NewMemberBody(KindApprove, kNew2.ID(), ""))
	h.must(kOut, NewJoinBody(KindJoinRequest, nil, ""))
	h.must(kAdmin, NewMemberBody(KindReject, kOut.ID(), "no"))
	h.must(kAdmin, NewTargetBody(KindPin, h.msgMember))
	h.must(kAdmin, NewTargetBody(KindUnpin, h.msgMember))
	h.must(kAdmin, &MuteBody{Member: kMember.ID(), Until: h.now + 60_000, Reason: "calm"})
	h.must(kAdmin, NewMemberBody(KindUnmute, kMember.ID(), ""))
	h.must(kOwner, &MuteBody{})
	h.must(kOwner, NewMemberBody(KindUnmute, UserID{}, ""))
	h.must(kAdmin, NewMemberBody(KindKick, kNew.ID(), ""))
	h.must(kOwner, NewMemberBody(KindUnban, kBanned.ID(), ""))
	h.must(kMember2, &LeaveBody{})
	h.must(kAdmin, &MessageBody{Text: "@all sale", MentionAll: true, Mentions: []UserID{kMember.ID()}, ReplyTo: h.msgOwner,
		Product: &Product{ID: "1", Title: "Tea", Price: "9.90", Currency: "CNY", URL: "https://s.example/1"}, Link: "https://s.example"})
	h.must(kMember, NewTargetBody(KindRecall, h.must(kMember, msg("oops")).Seq))

	out := map[string][]seed{}
	add := func(target, name string, data []byte, ok bool) {
		out[target] = append(out[target], seed{name: name, data: data, ok: ok})
	}
	broken := func(target string, valid []byte) {
		add(target, "broken-empty", nil, false)
		add(target, "broken-truncated", valid[:len(valid)-1], false)
		flipped := bytes.Clone(valid)
		flipped[0] ^= 0x80
		add(target, "broken-flipped", flipped, false)
		flipped = bytes.Clone(valid)
		flipped[len(flipped)/2] ^= 0x80 // in the payload or the signature
		out[target] = append(out[target], seed{name: "tampered", data: flipped, any: true})
		add(target, "broken-trailing", append(bytes.Clone(valid), 0x08, 0x01), false)
	}
	for seq := uint64(1); seq <= h.st.Head; seq++ {
		ev := h.events[seq]
		name := "valid-" + strconv.FormatUint(seq, 10) + "-" + ev.Sub.Kind.String()
		add("FuzzDecodeEvent", name, ev.Raw, true)
		add("FuzzDecodeSubmission", name, ev.Submission, true)
		add("FuzzDecodeBody", name, append([]byte{byte(ev.Sub.Kind)}, ev.Sub.Body...), true)
	}
	for i, b := range everyBody(t) {
		add("FuzzDecodeBody", "valid-body-"+strconv.Itoa(i)+"-"+b.Kind().String(), append([]byte{byte(b.Kind())}, b.Encode()...), true)
	}
	broken("FuzzDecodeEvent", h.events[h.st.Head].Raw)
	broken("FuzzDecodeSubmission", h.events[2].Submission)
	add("FuzzDecodeBody", "broken-unknown-kind", append([]byte{22}, msg("x").Encode()...), false)
	add("FuzzDecodeBody", "broken-out-of-order", append([]byte{byte(KindMessage)}, cat(vf(3, 1), bf(1, []byte("x")))...), false)

	// Regressions: a 32-byte field sent as 32 zero bytes was accepted and
	// re-encoded without it (fixed in bytes32).
	zero := make([]byte, 32)
	add("FuzzDecodeBody", "regress-zero-mute-member", append([]byte{byte(KindMute)}, bf(1, zero)...), false)
	add("FuzzDecodeBody", "regress-zero-unmute-member", append([]byte{byte(KindUnmute)}, bf(1, zero)...), false)
	create := h.events[1]
	cp := create.Sub.Submission.Encode()
	add("FuzzDecodeSubmission", "regress-create-zero-group", kOwner.Sign(DomainSubmission, cat(cp[:2], bf(2, zero), cp[2:])), false)
	ep := create.Event.Encode()
	i := bytes.Index(ep, vf(5, create.Time))
	add("FuzzDecodeEvent", "regress-first-event-zero-prev", kHost.Sign(DomainEvent, cat(ep[:i], bf(4, zero), ep[i:])), false)

	invites := []*SignedInvite{inv, inv2, mustInvite(t)}
	for i, si := range invites {
		add("FuzzDecodeInvite", "valid-invite-"+strconv.Itoa(i), si.Raw, true)
		add("FuzzParseToken", "valid-token-"+strconv.Itoa(i), []byte(si.Token()), true)
	}
	broken("FuzzDecodeInvite", inv.Raw)
	tok := inv.Token()
	add("FuzzParseToken", "valid-link", []byte("https://qun.example/join#"+tok), true)
	add("FuzzParseToken", "valid-spaces", []byte("  "+tok+"\n"), true)
	add("FuzzParseToken", "broken-padded", []byte(base64.URLEncoding.EncodeToString(inv.Raw)), false)
	add("FuzzParseToken", "broken-std-alphabet", []byte(base64.RawStdEncoding.EncodeToString(mustInvite(t).Raw)+"+/"), false)
	add("FuzzParseToken", "broken-truncated", []byte(tok[:len(tok)-3]), false)
	add("FuzzParseToken", "broken-text", []byte("hello"), false)

	for i, c := range urlCases {
		if len(c.url) < 200 {
			add("FuzzCheckURL", "case-"+strconv.Itoa(i), []byte(c.url), c.ok)
		}
	}
	for seq := uint64(1); seq <= 3; seq++ {
		add("FuzzWalk", "valid-event-"+strconv.FormatUint(seq, 10), h.events[seq].Raw, true)
	}
	add("FuzzWalk", "valid-message-body", h.events[h.st.Head-1].Sub.Body, true)
	add("FuzzWalk", "broken-non-minimal-varint", []byte{0x08, 0x81, 0x00}, false)
	add("FuzzWalk", "broken-out-of-order", cat(vf(3, 1), vf(1, 1)), false)
	add("FuzzWalk", "broken-empty-bytes", []byte{0x0a, 0x00}, false)
	add("FuzzWalk", "broken-fixed64", []byte{0x09, 1, 2, 3, 4, 5, 6, 7, 8}, false)
	gid := h.st.Group
	ids := map[string]string{
		"group": gid.String(), "event": h.st.HeadID.String(), "user": kMember.ID().String(),
		"topic": Topic(gid), "invite": inv.ID.String(),
	}
	for name, text := range ids {
		add("FuzzParseIDs", "valid-"+name, []byte(text), true)
	}
	add("FuzzParseIDs", "broken-upper-case", []byte(strings.ToUpper(gid.String())), false)
	add("FuzzParseIDs", "broken-short", []byte(gid.String()[:63]), false)
	// Regression: the CID spelling of a peer ID was accepted as a second
	// spelling of the user ID.
	add("FuzzParseIDs", "regress-cid-user", []byte(peer.ToCid(kMember.ID().PeerID()).String()), false)
	notice := (&HeadNotice{Group: gid, Seq: h.st.Head, Event: h.st.HeadID}).Sign(kHost)
	add("FuzzDecodeHeadNotice", "valid-notice", notice, true)
	add("FuzzDecodeHeadNotice", "broken-truncated", notice[:len(notice)-1], false)
	np := (&HeadNotice{Group: gid, Seq: 1, Event: h.st.HeadID}).Encode()
	add("FuzzDecodeHeadNotice", "regress-zero-group", kHost.Sign(DomainNotice, cat(bf(1, zero), np[34:])), false)

	// Since 1.1, after every seed above (their names hold seqs): profiles,
	// and bytes of a later revision, which are refused with upgrade_needed.
	from := h.st.Head + 1
	h.must(kMember, NewProfileBody(testProfile))
	h.must(kAdmin, NewProfileBody(Profile{Nick: "店长"}))
	for seq := from; seq <= h.st.Head; seq++ {
		ev := h.events[seq]
		name := "valid-" + strconv.FormatUint(seq, 10) + "-" + ev.Sub.Kind.String()
		add("FuzzDecodeEvent", name, ev.Raw, true)
		add("FuzzDecodeSubmission", name, ev.Submission, true)
		add("FuzzDecodeBody", name, append([]byte{byte(ev.Sub.Kind)}, ev.Sub.Body...), true)
	}
	add("FuzzDecodeBody", "upgrade-profile-field", append([]byte{byte(KindProfile)}, cat(bf(1, []byte("Mei")), vf(6, 1))...), false)
	// Since 1.5: the groups a profile shows.
	shownAddr := multiaddr.StringCast("/ip4/127.0.0.1/tcp/7781").Bytes()
	shown := NewProfileBody(Profile{Name: "Mei", Groups: []ShownGroup{{Group: gid, Host: kHost.ID(), Addrs: [][]byte{shownAddr}}}})
	add("FuzzDecodeBody", "valid-profile-groups", append([]byte{byte(KindProfile)}, shown.Encode()...), true)
	add("FuzzDecodeBody", "upgrade-shown-group-field", append([]byte{byte(KindProfile)}, bf(5, cat(bf(1, gid[:]), bf(2, func() []byte { u := kHost.ID(); return u[:] }()), vf(4, 1)))...), false)
	// Since 1.3: a message a bridge relays for a person of another network.
	add("FuzzDecodeBody", "valid-bridged-message", append([]byte{byte(KindMessage)}, relay(&Bridged{Network: "irc", User: "alice", Name: "Alice"}, "hi").Encode()...), true)
	add("FuzzDecodeBody", "upgrade-bridged-field", append([]byte{byte(KindMessage)}, cat(bf(1, []byte("hi")), bf(8, cat(bf(1, []byte("irc")), bf(2, []byte("alice")), vf(4, 1))))...), false)
	add("FuzzDecodeBody", "upgrade-avatar-field", append([]byte{byte(KindProfile)}, bf(4, cat(bf(1, bytes.Repeat([]byte{7}, 32)), bf(2, []byte("image/png")), vf(3, 9), vf(6, 1)))...), false)
	later := Submission{Group: gid, Kind: 22, Author: kMember.ID(), Time: t0, Nonce: []byte("nonce-01"), Body: msg("x").Encode()}
	add("FuzzDecodeSubmission", "upgrade-kind-22", kMember.Sign(DomainSubmission, later.Encode()), false)
	return out
}

// corpusSeeds are the seeds committed under testdata/fuzz/<target>/: a
// handful of each target, valid and broken.
func corpusSeeds(t testing.TB) map[string][]seed {
	all := fuzzSeeds(t)
	keep := map[string][]string{
		"FuzzDecodeSubmission": {"valid-1-create", "valid-2-join", "valid-18-invite_create", "valid-30-mute", "valid-37-message", "valid-40-profile", "broken-flipped", "tampered", "regress-create-zero-group", "upgrade-kind-22"},
		"FuzzDecodeEvent":      {"valid-1-create", "valid-8-role", "valid-21-join", "valid-37-message", "valid-39-recall", "valid-40-profile", "broken-truncated", "tampered", "regress-first-event-zero-prev"},
		"FuzzDecodeInvite":     {"valid-invite-0", "valid-invite-2", "broken-flipped", "tampered"},
		"FuzzDecodeBody":       {"valid-1-create", "valid-37-message", "valid-body-22-join", "valid-body-32-mute", "valid-body-35-unmute", "broken-out-of-order", "regress-zero-mute-member", "regress-zero-unmute-member", "valid-40-profile", "valid-41-profile", "upgrade-avatar-field", "valid-bridged-message", "upgrade-bridged-field"},
		"FuzzParseToken":       {"valid-token-0", "valid-link", "valid-spaces", "broken-padded", "broken-truncated"},
		"FuzzCheckURL":         {"case-0", "case-9", "case-10", "case-18", "case-21", "case-33", "case-35", "case-46", "case-57", "case-61"},
		"FuzzWalk":             {"valid-event-1", "valid-message-body", "broken-non-minimal-varint", "broken-out-of-order"},
		"FuzzParseIDs":         {"valid-group", "valid-user", "valid-topic", "broken-upper-case", "regress-cid-user"},
		"FuzzDecodeHeadNotice": {"valid-notice", "broken-truncated", "regress-zero-group"},
	}
	out := map[string][]seed{}
	for target, names := range keep {
		for _, n := range names {
			found := false
			for _, s := range all[target] {
				if s.name == n {
					out[target] = append(out[target], s)
					found = true
				}
			}
			if !found {
				t.Fatalf("no seed %s of %s", n, target)
			}
		}
	}
	return out
}

// stringTargets are the fuzz targets that take a string.
var stringTargets = map[string]bool{"FuzzParseToken": true, "FuzzCheckURL": true, "FuzzParseIDs": true}

func corpusFile(target string, data []byte) []byte {
	if stringTargets[target] {
		return []byte("go test fuzz v1\nstring(" + strconv.Quote(string(data)) + ")\n")
	}
	return []byte("go test fuzz v1\n[]byte(" + strconv.Quote(string(data)) + ")\n")
}

// TestFuzzCorpus checks that the committed seed corpus is the one
// corpusSeeds makes (with -update-fuzz-corpus: writes it), so that valid
// seeds stay valid when the format changes.
func TestFuzzCorpus(t *testing.T) {
	seeds := corpusSeeds(t)
	targets := make([]string, 0, len(seeds))
	for target := range seeds {
		targets = append(targets, target)
	}
	sort.Strings(targets)
	for _, target := range targets {
		dir := filepath.Join("testdata", "fuzz", target)
		for _, s := range seeds[target] {
			path := filepath.Join(dir, "seed-"+s.name)
			want := corpusFile(target, s.data)
			if *updateFuzzCorpus {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("%v (run go test -run TestFuzzCorpus -update-fuzz-corpus)", err)
				continue
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s is out of date (run go test -run TestFuzzCorpus -update-fuzz-corpus)", path)
			}
		}
	}
	// every valid seed is accepted
	for target, list := range fuzzSeeds(t) {
		for _, s := range list {
			var err error
			switch target {
			case "FuzzDecodeSubmission":
				_, err = DecodeSubmission(s.data)
			case "FuzzDecodeEvent":
				_, err = DecodeEvent(s.data)
			case "FuzzDecodeInvite":
				_, err = DecodeInvite(s.data)
			case "FuzzDecodeBody":
				_, err = DecodeBody(Kind(s.data[0]), s.data[1:])
			case "FuzzParseToken":
				_, err = ParseToken(string(s.data))
			case "FuzzCheckURL":
				err = CheckURL(string(s.data))
			case "FuzzWalk":
				err = Walk(s.data, []protowire.Number{2, 4}, []protowire.Number{3}, func(Field) error { return nil })
			case "FuzzParseIDs":
				_, e1 := ParseGroupID(string(s.data))
				_, e2 := ParseUserID(string(s.data))
				_, e3 := GroupFromTopic(string(s.data))
				if e1 != nil && e2 != nil && e3 != nil {
					err = e1
				}
			case "FuzzDecodeHeadNotice":
				_, err = DecodeHeadNotice(s.data)
			}
			if s.ok && err != nil {
				t.Errorf("%s %s: %v", target, s.name, err)
			}
			if !s.ok && !s.any && err == nil {
				t.Errorf("%s %s: accepted", target, s.name)
			}
		}
	}
}

// FuzzDecodeCheckpoint: a checkpoint (since 1.2) decodes canonically or is
// refused with a decode code, and never panics; the state it decodes to is
// usable by the rules.
//
// go test -run '^$' -fuzz FuzzDecodeCheckpoint -fuzztime 60s ./protocol/
func FuzzDecodeCheckpoint(f *testing.F) {
	for _, s := range checkpointSeeds(f) {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := DecodeCheckpoint(raw)
		if err != nil {
			wantDecodeError(t, err)
			if c != nil {
				t.Fatal("a refused checkpoint was returned")
			}
			return
		}
		if re := c.State.EncodeCheckpoint(); !bytes.Equal(re, c.Payload()) {
			t.Fatalf("accepted a non-canonical checkpoint:\n in %x\nout %x", c.Payload(), re)
		}
		if re := encodeSigned(c.Payload(), c.sig); !bytes.Equal(re, raw) {
			t.Fatalf("accepted a non-canonical envelope:\n in %x\nout %x", raw, re)
		}
		_ = c.Verify(kHost.ID()) // must not panic
		s := c.State
		if s.Members[s.Owner] == nil || s.Members[s.Owner].Role != RoleOwner {
			t.Fatal("the decoded state has no owner")
		}
		s.Muted(s.Owner, s.HeadTime)
		s.NodeFrom(kHome.ID())
		s.inviteCounts(s.HeadTime + 1)
		s.dropExpired(s.HeadTime + 1)
	})
}

// checkpointSeeds are the seeds of FuzzDecodeCheckpoint: checkpoints of
// the scenario of checkpoint_test.go and near misses.
func checkpointSeeds(t testing.TB) []seed {
	g := newCPGroup(t)
	create := g.stateAt(t, 1)
	mid := g.stateAt(t, g.mid)
	var out []seed
	add := func(name string, data []byte, ok bool) {
		out = append(out, seed{name: name, data: data, ok: ok})
	}
	edit := func(s *State, edits ...fieldEdit) []byte {
		fs := parseFields(t, s.EncodeCheckpoint())
		for _, e := range edits {
			fs = e(t, fs)
		}
		return kHost.Sign(DomainCheckpoint, joinFields(fs))
	}
	valid := SignCheckpoint(kHost, mid)
	add("valid-create", SignCheckpoint(kHost, create), true)
	add("valid-mid", valid, true)
	add("valid-end", SignCheckpoint(kHost, g.st), true)
	add("broken-truncated", valid[:len(valid)-1], false)
	add("broken-members-unsorted", edit(mid, swapFirst(16)), false)
	add("broken-closed-twice", edit(mid, dupFirst(20)), false)
	add("broken-zero-inviter", edit(mid, inEntry(19, put(bytesField(2, zero32)))), false)
	two := copyState(t, mid)
	two.Members[kOwner.ID()].Role = RoleOwner
	add("broken-two-owners", SignCheckpoint(kHost, two), false)
	add("upgrade-field-30", kHost.Sign(DomainCheckpoint, cat(mid.EncodeCheckpoint(), vf(30, 1))), false)
	add("upgrade-member-field", edit(mid, inEntry(16, put(varintField(9, 1)))), false)
	return out
}

// TestFuzzCorpusCheckpoint checks (with -update-fuzz-corpus: writes) the
// seed corpus of FuzzDecodeCheckpoint, as TestFuzzCorpus does for the
// other targets, and that its valid seeds decode and its broken ones not.
func TestFuzzCorpusCheckpoint(t *testing.T) {
	checkCorpus(t, "FuzzDecodeCheckpoint", checkpointSeeds(t), func(b []byte) error {
		_, err := DecodeCheckpoint(b)
		return err
	})
}

// checkCorpus checks (with -update-fuzz-corpus: writes) the committed seed
// corpus of one target against its seeds, and that decode accepts the
// valid seeds and refuses the broken ones.
func checkCorpus(t *testing.T, target string, seeds []seed, decode func([]byte) error) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	for _, s := range seeds {
		path := filepath.Join(dir, "seed-"+s.name)
		want := corpusFile(target, s.data)
		if *updateFuzzCorpus {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		} else if got, err := os.ReadFile(path); err != nil {
			t.Errorf("%v (run go test -run TestFuzzCorpus -update-fuzz-corpus)", err)
		} else if !bytes.Equal(got, want) {
			t.Errorf("%s is out of date (run go test -run TestFuzzCorpus -update-fuzz-corpus)", path)
		}
		err := decode(s.data)
		if s.ok && err != nil {
			t.Errorf("%s: %v", s.name, err)
		}
		if !s.ok && err == nil {
			t.Errorf("%s: accepted", s.name)
		}
	}
}

// FuzzDecodeContact: a contact offer (since 1.2) decodes canonically or is
// refused with a decode code, and never panics.
//
// go test -run '^$' -fuzz FuzzDecodeContact -fuzztime 60s ./protocol/
func FuzzDecodeContact(f *testing.F) {
	for _, s := range contactSeeds(f) {
		f.Add(s.data)
	}
	h := newGroup(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := DecodeContact(raw)
		if err != nil {
			wantDecodeError(t, err)
			return
		}
		if re := c.Encode(); !bytes.Equal(re, c.pay) {
			t.Fatalf("accepted a non-canonical offer:\n in %x\nout %x", c.pay, re)
		}
		if re := encodeSigned(c.pay, c.sig); !bytes.Equal(re, raw) {
			t.Fatalf("accepted a non-canonical envelope:\n in %x\nout %x", raw, re)
		}
		_ = c.Verify()                  // must not panic
		_ = h.st.CheckContact(c, h.now) // must not panic
	})
}

// contactSeeds are the seeds of FuzzDecodeContact.
func contactSeeds(t testing.TB) []seed {
	h := newGroup(t)
	one := h.offer(kMember, []*Key{kAdmin}, nil)
	two := h.offer(kAdmin, []*Key{kMember, kMember2}, func(c *Contact) { c.Note = "" })
	base := Contact{Group: h.st.Group, From: kMember.ID(), To: []UserID{kAdmin.ID()}, Invite: h.conversationInvite(kMember, nil)}
	return []seed{
		{name: "valid-to-admin", data: one.Raw, ok: true},
		{name: "valid-to-two", data: two.Raw, ok: true},
		{name: "valid-request", data: h.offer(kMember, []*Key{kOwner, kAdmin}, func(c *Contact) { c.Invite = nil }).Raw, ok: true},
		{name: "broken-truncated", data: one.Raw[:len(one.Raw)-3]},
		{name: "broken-to-sender", data: func() []byte {
			c := base
			c.To = []UserID{kMember.ID()}
			return kMember.Sign(DomainContact, c.Encode())
		}()},
		{name: "upgrade-field-7", data: kMember.Sign(DomainContact, cat(base.Encode(), vf(7, 1)))},
	}
}

// TestFuzzCorpusContact checks the seed corpus of FuzzDecodeContact.
func TestFuzzCorpusContact(t *testing.T) {
	checkCorpus(t, "FuzzDecodeContact", contactSeeds(t), func(b []byte) error {
		_, err := DecodeContact(b)
		return err
	})
}
