package protocol

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"regexp"
	"testing"
)

// The test vectors of docs/PROTOCOL.md ("Test vectors"), which continue the
// worked example: event 2 (with a prev), an invite, its registration, a
// join with it, a message with repeated and embedded fields, and the
// sign-in challenge. Every value is computed here from the fixed seeds and
// must appear in the document verbatim, as one hex word.
const docMemberSeed = "4142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60"

// docHexWords returns every hex word of 16 digits or more in the document
// (and every base64url word of 100 characters or more: invite tokens).
func docHexWords(t *testing.T) map[string]bool {
	t.Helper()
	doc, err := os.ReadFile("../docs/PROTOCOL.md")
	if err != nil {
		t.Fatalf("reading the document: %v", err)
	}
	words := map[string]bool{}
	for _, w := range regexp.MustCompile(`[0-9a-f]{16,}|[A-Za-z0-9_-]{100,}`).FindAll(doc, -1) {
		words[string(w)] = true
	}
	return words
}

// docVector logs a value and checks that the document holds it.
type docVector struct {
	t     *testing.T
	words map[string]bool
}

func (d docVector) hex(name string, b []byte) {
	d.t.Helper()
	d.text(name, hex.EncodeToString(b))
}

func (d docVector) text(name, s string) {
	d.t.Helper()
	d.t.Logf("%s = %s", name, s)
	if !d.words[s] {
		d.t.Errorf("%s is not in docs/PROTOCOL.md: %s", name, s)
	}
}

// log only logs a value: the document shows it annotated, field by field,
// and checks it through the signed bytes that hold it.
func (d docVector) log(name string, b []byte) {
	d.t.Helper()
	d.t.Logf("%s = %x", name, b)
}

func TestProtocolDocVectors(t *testing.T) {
	d := docVector{t: t, words: docHexWords(t)}
	owner, host, mei := docKey(t, docOwnerSeed), docKey(t, docHostSeed), docKey(t, docMemberSeed)
	meiID, hostID := mei.ID(), host.ID()
	d.hex("member key", meiID[:])
	t.Logf("member peer ID = %s", meiID)
	mustHex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	gid, _ := ParseGroupID(docGroupID)
	ev1, err := DecodeEvent(mustHex(docEventRaw))
	if err != nil {
		t.Fatal(err)
	}
	st := NewState()
	events := map[uint64]*SignedEvent{1: ev1}
	look := func(seq uint64) (EventInfo, bool) {
		ev, ok := events[seq]
		if !ok {
			return EventInfo{}, false
		}
		return InfoOf(ev), true
	}
	if err := st.Apply(ev1, look); err != nil {
		t.Fatal(err)
	}
	// sequence signs sub as the next event and applies it.
	sequence := func(name string, sub []byte, at uint64) *SignedEvent {
		t.Helper()
		e := Event{Group: gid, Seq: st.Head + 1, Prev: st.HeadID, Time: at, Via: host.ID(), Submission: sub}
		d.log(name+" payload", e.Encode())
		se, err := e.Sign(host)
		if err != nil {
			t.Fatal(err)
		}
		d.log(name+" signature", se.sig)
		d.hex(name+" signed", se.Raw)
		d.hex(name+" ID", se.ID[:])
		if err := se.VerifyAll(host.ID()); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := st.Apply(se, look); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		events[se.Seq] = se
		return se
	}
	submit := func(name string, k *Key, kind Kind, body Body, at uint64, nonce string) *SignedSubmission {
		t.Helper()
		d.log(name+" body", body.Encode())
		s := Submission{Group: gid, Kind: kind, Author: k.ID(), Time: at, Nonce: mustHex(nonce), Body: body.Encode()}
		d.log(name+" payload", s.Encode())
		ss, err := s.Sign(k)
		if err != nil {
			t.Fatal(err)
		}
		d.log(name+" signature", ss.sig)
		d.hex(name+" signed", ss.Raw)
		d.hex(name+" ID", ss.ID[:])
		return ss
	}

	// 4. The host sequences the message of step 2 as event 2: prev = event 1.
	ev2 := sequence("event 2", mustHex(docMsgRaw), 1_700_000_001_500)
	if ev2.Prev != ev1.ID {
		t.Fatal("event 2 does not link to event 1")
	}
	d.hex("event 2 signature", ev2.sig)

	// 5. The owner makes a one-use invite: addrs is a repeated field.
	inv := Invite{Group: gid, Host: host.ID(), Inviter: owner.ID(),
		Addrs:   [][]byte{mustMultiaddr(t, "/ip4/192.0.2.7/tcp/4001"), mustMultiaddr(t, "/ip4/192.0.2.7/udp/4001/quic-v1")},
		Expires: 1_700_086_400_000, MaxUses: 1, Nonce: mustHex("1112131415161718"), Ref: "order-42"}
	d.log("invite addr 1", inv.Addrs[0])
	d.log("invite addr 2", inv.Addrs[1])
	d.log("invite payload", inv.Encode())
	d.hex("invite signing input", SigningBytes(DomainInvite, inv.Encode()))
	si, err := inv.Sign(owner)
	if err != nil {
		t.Fatal(err)
	}
	d.hex("invite signature", si.sig)
	d.hex("invite signed", si.Raw)
	d.hex("invite ID", si.ID[:])
	t.Logf("invite token = %s", si.Token())
	if !d.words[si.Token()] {
		t.Errorf("the invite token is not in docs/PROTOCOL.md: %s", si.Token())
	}
	if p, err := ParseToken("https://node.example/join#" + si.Token()); err != nil || p.ID != si.ID {
		t.Fatalf("the invite link does not parse back: %v", err)
	}

	// 6. The owner registers it: invite_create, event 3.
	reg := submit("invite_create", owner, KindInviteCreate, &InviteCreateBody{Token: si.Raw}, 1_700_000_002_000, "191a1b1c1d1e1f20")
	sequence("event 3", reg.Raw, 1_700_000_002_500)
	if st.Invites[si.ID] == nil {
		t.Fatal("the invite is not open after event 3")
	}

	// 7. Mei joins with it: join, event 4. The invite is used up and closes.
	join := submit("join", mei, KindJoin, NewJoinBody(KindJoin, si.Raw, ""), 1_700_000_003_000, "2122232425262728")
	sequence("event 4", join.Raw, 1_700_000_003_500)
	if st.Members[mei.ID()] == nil || st.Invites[si.ID] != nil || st.Closed[si.ID] != (ClosedInvite{Expires: inv.Expires}) {
		t.Fatalf("after the join: member %v, open %v, closed %v", st.Members[mei.ID()], st.Invites, st.Closed)
	}

	// 8. Mei asks about a product: repeated mentions and an embedded product card.
	prod := &Product{ID: "tea-1", Title: "Longjing tea 250 g", Price: "19.90", Currency: "CNY",
		URL: "https://shop.example/tea/1", Image: "https://shop.example/tea/1.jpg"}
	d.log("product", prod.encode())
	m := &MessageBody{Text: "Is this in stock?", Mentions: []UserID{owner.ID(), mei.ID()}, ReplyTo: 2, Product: prod, Link: "https://shop.example/tea"}
	ms := submit("product message", mei, KindMessage, m, 1_700_000_004_000, "292a2b2c2d2e2f30")
	d.hex("product message body", m.Encode())
	sequence("event 5", ms.Raw, 1_700_000_004_500)

	// 9. Sign-in: the 72-byte challenge (node key || 32 random bytes ||
	// expiry, big-endian unix ms) and what the client signs (docs/API.md).
	random := mustHex("3132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f50")
	challenge := append(append(hostID[:], random...), binary.BigEndian.AppendUint64(nil, 1_700_000_060_000)...)
	if len(challenge) != ChallengeSize {
		t.Fatalf("challenge of %d bytes", len(challenge))
	}
	d.hex("challenge", challenge)
	d.hex("auth signing input", SigningBytes(DomainAuth, challenge))
	authSig := mei.SignRaw(DomainAuth, challenge)
	d.hex("auth signature", authSig)
	if !VerifyRaw(mei.ID(), DomainAuth, challenge, authSig) || VerifyRaw(mei.ID(), DomainSubmission, challenge, authSig) {
		t.Fatal("the auth signature verifies in the wrong domains")
	}

	// 10. Mei sets her profile (kind 21, since 1.1): an embedded BlobRef.
	avatar := &BlobRef{Hash: sha256.Sum256([]byte("Mei's avatar")), MIME: "image/webp", Size: 48_213, Width: 256, Height: 256}
	d.hex("avatar hash", avatar.Hash[:])
	d.log("blob ref", avatar.encode())
	pb := NewProfileBody(Profile{Name: "Mei", Bio: "Tea lover", Nick: "梅", Avatar: avatar})
	d.hex("profile body", pb.Encode())
	ps := submit("profile", mei, KindProfile, pb, 1_700_000_005_000, "393a3b3c3d3e3f40")
	sequence("event 6", ps.Raw, 1_700_000_005_500)
	if p := st.Members[mei.ID()].Profile; p.Nick != "梅" || p.Avatar == nil || *p.Avatar != *avatar {
		t.Fatalf("Mei's profile after event 6: %+v", p)
	}

	// The worked example's values are in the document too.
	for name, v := range map[string]string{
		"owner key": docOwnerKey, "host key": docHostKey, "create signing input": docCreateSign,
		"create signature": docCreateSig, "create signed": docCreateRaw, "group ID": docGroupID,
		"message signing input": docMsgSign, "message signature": docMsgSig, "message signed": docMsgRaw,
		"message ID": docMsgID, "event signature": docEventSig, "event signed": docEventRaw, "event ID": docEventID,
	} {
		d.text(name, v)
	}
}
