package web_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/qunchat/qun/protocol"
)

// TestBrowserContact signs contacts (private conversations, since 1.2)
// with the page's proto.js and has the protocol package decode and verify
// them: a request to three people given out of order and one of them
// twice, and an offer with an invite signed in the page, each byte for
// byte what the protocol signs itself (Ed25519 is deterministic). Bytes
// with the people unsorted or one twice, which signContact never makes,
// are refused by the protocol; signContact itself refuses what no node
// would take (nobody, the sender, eleven people, a note too long).
func TestBrowserContact(t *testing.T) {
	chromiumPath(t)
	b := openModules(t)
	defer b.checkExceptions()

	seed := mustHex("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20")
	sk, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	key, err := protocol.KeyFromLibp2p(sk)
	if err != nil {
		t.Fatal(err)
	}
	var gid, conv protocol.GroupID
	gid[0], gid[31] = 0x3a, 0xff
	conv[0], conv[31] = 0x77, 0x01
	// Three people whose keys sort k1 < k2 < k3.
	var k1, k2, k3 protocol.UserID
	k1[0], k2[0], k3[0] = 0x01, 0x80, 0xfe
	k2[31] = 0x10
	const note = "关于订单 1024 · about order 1024"
	const expires = 1800000000000
	long := strings.Repeat("茶", protocol.MaxReasonRunes)

	type out struct {
		Request, Offer, Invite, Unsorted, Twice, AtLimit string
		RequestID                                        string
		Refused                                          []bool
	}
	h := func(u [32]byte) string { return `C.fromHex("` + hex.EncodeToString(u[:]) + `")` }
	got := eval[out](b, "signing contacts", `(async () => {
  const C = await import("/js/codec.js");
  const P = await import("/js/proto.js");
  const K = await import("/js/keys.js");
  const s = await K.fromSeed(C.fromHex("`+hex.EncodeToString(seed)+`"));
  if (P.DOMAIN.contact !== "qun/1/contact") throw new Error("the domain is " + P.DOMAIN.contact);
  const gid = `+h(gid)+`, conv = `+h(conv)+`, k1 = `+h(k1)+`, k2 = `+h(k2)+`, k3 = `+h(k3)+`;
  const req = await P.signContact(s, { group: gid, to: [k3, k1, k2, k1], note: `+jsString(note)+` });
  const inv = await P.signInvite(s, { group: conv, host: k3, addrs: [], expires: `+"1800000000000"+`, maxUses: 1, nonce: C.fromHex("00112233445566778899aabbccddeeff") });
  const offer = await P.signContact(s, { group: gid, to: [k1], invite: inv.raw, note: "" });
  const raw = async (to) => {
    const payload = P.contactPayload({ group: gid, from: s.publicKey, to, note: "x" });
    return C.toHex(P.envelope(payload, await s.sign(P.DOMAIN.contact, payload)));
  };
  const refused = async (c) => { try { await P.signContact(s, c); return false; } catch { return true; } };
  const eleven = Array.from({ length: 11 }, (_, i) => { const k = new Uint8Array(32); k[0] = i + 1; return k; });
  return {
    Request: C.toHex(req.raw), RequestID: req.id, Offer: C.toHex(offer.raw), Invite: C.toHex(inv.raw),
    Unsorted: await raw([k3, k1]), Twice: await raw([k1, k1]),
    AtLimit: C.toHex((await P.signContact(s, { group: gid, to: [k2], note: `+jsString(long)+` })).raw),
    Refused: [
      await refused({ group: gid, to: [] }),
      await refused({ group: gid, to: [s.publicKey] }),
      await refused({ group: gid, to: [k1, s.publicKey] }),
      await refused({ group: gid, to: eleven }),
      await refused({ group: gid, to: [k1], note: `+jsString(long+"茶")+` }),
      await refused({ group: gid, to: eleven.slice(0, 10) }),
    ],
  };
})()`)

	// decode decodes and verifies what the page signed.
	decode := func(what, hexRaw string) *protocol.SignedContact {
		t.Helper()
		raw := mustHex(hexRaw)
		c, err := protocol.DecodeContact(raw)
		if err != nil {
			t.Fatalf("%s: the protocol refuses the page's contact: %v", what, err)
		}
		if err := c.Verify(); err != nil {
			t.Fatalf("%s: the page's contact does not verify: %v", what, err)
		}
		return c
	}
	// same checks that the protocol signs the same contact into the same bytes.
	same := func(what string, c protocol.Contact, raw []byte) {
		t.Helper()
		c.From = key.ID()
		want, err := c.Sign(key)
		if err != nil {
			t.Fatalf("%s: signing in Go: %v", what, err)
		}
		if !bytes.Equal(want.Raw, raw) {
			t.Errorf("%s: the page signs\n%x\nthe protocol\n%x", what, raw, want.Raw)
		}
	}

	req := decode("the request", got.Request)
	if !req.IsRequest() || req.Group != gid || req.From != key.ID() || req.Note != note {
		t.Errorf("the request decodes as %+v", req.Contact)
	}
	if len(req.To) != 3 || req.To[0] != k1 || req.To[1] != k2 || req.To[2] != k3 {
		t.Errorf("the request is for %v, want k1, k2, k3 in order, each once", req.To)
	}
	if sum := sha256.Sum256(req.Raw); hex.EncodeToString(sum[:]) != got.RequestID || got.RequestID != hex.EncodeToString(req.ID[:]) {
		t.Errorf("the page's contact ID %s is not the SHA-256 of its bytes %x", got.RequestID, req.ID)
	}
	same("the request", protocol.Contact{Group: gid, To: []protocol.UserID{k3, k2, k1}, Note: note}, req.Raw)

	offer := decode("the offer", got.Offer)
	if offer.IsRequest() || offer.Conversation.Group != conv || offer.Conversation.Expires != expires ||
		offer.Conversation.MaxUses != 1 || offer.Conversation.Inviter != key.ID() || offer.Note != "" {
		t.Errorf("the offer decodes as %+v with the invite %+v", offer.Contact, offer.Conversation.Invite)
	}
	if !bytes.Equal(offer.Invite, mustHex(got.Invite)) {
		t.Error("the offer does not carry the page's invite as it was signed")
	}
	same("the offer", protocol.Contact{Group: gid, To: []protocol.UserID{k1}, Invite: mustHex(got.Invite)}, offer.Raw)

	atLimit := decode("a note of 500 characters", got.AtLimit)
	same("a note of 500 characters", protocol.Contact{Group: gid, To: []protocol.UserID{k2}, Note: long}, atLimit.Raw)

	for what, raw := range map[string]string{"unsorted people": got.Unsorted, "one person twice": got.Twice} {
		_, err := protocol.DecodeContact(mustHex(raw))
		if pe := protocol.AsError(err); err == nil || pe.Code != protocol.CodeMalformed {
			t.Errorf("%s: the protocol answers %v, want malformed", what, err)
		}
	}

	wantRefused := []bool{true, true, true, true, true, false}
	for i, w := range wantRefused {
		if i >= len(got.Refused) || got.Refused[i] != w {
			t.Errorf("signContact refusing case %d: %v, want %v (cases: nobody, the sender, the sender among others, 11 people, 501 characters, 10 people)", i, got.Refused, wantRefused)
			break
		}
	}
}

// TestBrowserContactErrors: a refusal while asking for, opening or joining
// a private conversation shows in the page's language and never as the
// node's own sentence: each code the node answers these with has a line
// of its own in both languages, a create refused says who may open
// conversations, and anything else says what its code means.
func TestBrowserContactErrors(t *testing.T) {
	chromiumPath(t)
	b := openModules(t)
	defer b.checkExceptions()
	type line struct {
		Code, En, Zh string
	}
	got := eval[[]line](b, "translating refusals", `(async () => {
  const I = await import("/js/i18n.js");
  const A = await import("/js/api.js");
  const K = await import("/js/contacts.js");
  const cases = [
    ["forbidden", ""], ["forbidden", "create"], ["not_member", ""], ["banned", ""], ["invite_expired", ""],
    ["invite_used_up", ""], ["invite_revoked", ""], ["unavailable", ""], ["rate_limited", ""], ["unknown_group", ""],
    ["not_found", ""], ["unreachable", ""], ["too_large", ""], ["no_such_code", ""], ["", ""],
  ];
  const out = [];
  for (const [code, step] of cases) {
    const say = () => {
      const e = code ? new A.ApiError(code, "the node's own sentence", 403, true) : new Error("a bug");
      if (step) e.step = step;
      return K.contactError(e);
    };
    I.setLang("en"); const en = say();
    I.setLang("zh"); const zh = say();
    out.push({ Code: code + (step ? "/" + step : ""), En: en, Zh: zh });
  }
  I.setLang("en");
  return out;
})()`)
	want := map[string]string{
		"forbidden":        "Only the shop's owner and admins can be asked for a private chat.",
		"forbidden/create": "Only this node's admins can open private chats here: sign in with the shop node's admin key.",
		"invite_expired":   "This invitation has expired; ask the shop again.",
		"unavailable":      "The shop's node cannot be reached now; try again in a moment.",
		"no_such_code":     "The node failed; try again later.",
		"":                 "Something went wrong on this page; try again.",
	}
	zhSeen := map[string]string{}
	for _, l := range got {
		if l.En == "" || l.Zh == "" || strings.Contains(l.En, "sentence") || strings.Contains(l.Zh, "sentence") {
			t.Errorf("%s: the page says %q / %q", l.Code, l.En, l.Zh)
		}
		if l.En == l.Zh {
			t.Errorf("%s: the same line in both languages: %q", l.Code, l.En)
		}
		if w, ok := want[l.Code]; ok && l.En != w {
			t.Errorf("%s: the page says %q, want %q", l.Code, l.En, w)
		}
		if prev, ok := zhSeen[l.Zh]; ok && l.Code != "no_such_code" && prev != "no_such_code" {
			t.Errorf("%s and %s say the same: %q", prev, l.Code, l.Zh)
		}
		zhSeen[l.Zh] = l.Code
	}
}
