package protocol

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// The worked example of docs/PROTOCOL.md ("Worked example"). The document
// quotes these values; if this test fails, the wire format changed and the
// document must change with it.
const (
	docOwnerSeed  = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
	docOwnerKey   = "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664"
	docOwnerPeer  = "12D3KooWJ1TsijH7H5F74hfAD5XishQz3sxrmAtVY37GtNd9CqYf"
	docHostSeed   = "2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40"
	docHostKey    = "e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f0"
	docHostPeer   = "12D3KooWRRmq4Bhvg3TUdnj4qaENeEnReVahxXqo5tokPMLkqkDV"
	docCreateBody = "0a085465612073686f703a20e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f0"
	docCreatePay  = "08011801222079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad0496642880d095ffbc31320801020304050607083a2c0a085465612073686f703a20e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f0"
	docCreateSign = "1071756e2f312f7375626d697373696f6e08011801222079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad0496642880d095ffbc31320801020304050607083a2c0a085465612073686f703a20e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f0" // signing input
	docCreateSig  = "34d9a15b9c406c68fb54590c670ddbefa94c9ac7a0416b2c3e0efe5e45495905b2fb8856a2e9e56ca3b9995b7852e577f1db64ff707d11b762b2ec7d7b8d0f0c"
	docCreateRaw  = "0a6508011801222079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad0496642880d095ffbc31320801020304050607083a2c0a085465612073686f703a20e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f0124034d9a15b9c406c68fb54590c670ddbefa94c9ac7a0416b2c3e0efe5e45495905b2fb8856a2e9e56ca3b9995b7852e577f1db64ff707d11b762b2ec7d7b8d0f0c"
	docGroupID    = "0f3794545965be3363902d1a4cc15e21f8bbb39570f9bfefb6cb3e1cfd457cd9"
	docMsgBody    = "0a0de4bda0e5a5bd2c20776f726c64"
	docMsgPay     = "080112200f3794545965be3363902d1a4cc15e21f8bbb39570f9bfefb6cb3e1cfd457cd91813222079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad04966428e8d795ffbc313208090a0b0c0d0e0f103a0f0a0de4bda0e5a5bd2c20776f726c64"
	docMsgSign    = "1071756e2f312f7375626d697373696f6e080112200f3794545965be3363902d1a4cc15e21f8bbb39570f9bfefb6cb3e1cfd457cd91813222079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad04966428e8d795ffbc313208090a0b0c0d0e0f103a0f0a0de4bda0e5a5bd2c20776f726c64"
	docMsgSig     = "91bfda3cee344fb95bd48e81da913f9982b0613878ba4d75689daff7d0d2d1b9aae461a3105e7069b0d1b42f25910608a804d083fd44ba83b88a70498468a406"
	docMsgRaw     = "0a6a080112200f3794545965be3363902d1a4cc15e21f8bbb39570f9bfefb6cb3e1cfd457cd91813222079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad04966428e8d795ffbc313208090a0b0c0d0e0f103a0f0a0de4bda0e5a5bd2c20776f726c64124091bfda3cee344fb95bd48e81da913f9982b0613878ba4d75689daff7d0d2d1b9aae461a3105e7069b0d1b42f25910608a804d083fd44ba83b88a70498468a406"
	docMsgID      = "6bee4bc41b4a676557a2660e18c6d9a2091c55f27685ad31be2763d1cf803f04"
	docEventPay   = "080112200f3794545965be3363902d1a4cc15e21f8bbb39570f9bfefb6cb3e1cfd457cd9180128f4d395ffbc313220e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f03aa9010a6508011801222079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad0496642880d095ffbc31320801020304050607083a2c0a085465612073686f703a20e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f0124034d9a15b9c406c68fb54590c670ddbefa94c9ac7a0416b2c3e0efe5e45495905b2fb8856a2e9e56ca3b9995b7852e577f1db64ff707d11b762b2ec7d7b8d0f0c"
	docEventSig   = "9f5f49222a5361466545c201f5df8169c5c7d8c51ba980fe4fd782d0d51a88acaccecdbc325bd5d083bbc690b3f5923d92aea50ef4359dc718068b38efade20a"
	docEventRaw   = "0afb01080112200f3794545965be3363902d1a4cc15e21f8bbb39570f9bfefb6cb3e1cfd457cd9180128f4d395ffbc313220e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f03aa9010a6508011801222079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad0496642880d095ffbc31320801020304050607083a2c0a085465612073686f703a20e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f0124034d9a15b9c406c68fb54590c670ddbefa94c9ac7a0416b2c3e0efe5e45495905b2fb8856a2e9e56ca3b9995b7852e577f1db64ff707d11b762b2ec7d7b8d0f0c12409f5f49222a5361466545c201f5df8169c5c7d8c51ba980fe4fd782d0d51a88acaccecdbc325bd5d083bbc690b3f5923d92aea50ef4359dc718068b38efade20a"
	docEventID    = "5542044e74d76d61e484869f74fc1a59b68fa184ffaf4360886c4d10cdfa283f"
)

func docKey(t *testing.T, seedHex string) *Key {
	t.Helper()
	seed, err := hex.DecodeString(seedHex)
	if err != nil || len(seed) != ed25519.SeedSize {
		t.Fatalf("seed %q", seedHex)
	}
	return keyFromEd25519(ed25519.NewKeyFromSeed(seed))
}

func TestProtocolDocExample(t *testing.T) {
	owner, host := docKey(t, docOwnerSeed), docKey(t, docHostSeed)
	check := func(name, want string, got []byte) {
		t.Helper()
		g := hex.EncodeToString(got)
		t.Logf("%s = %s", name, g)
		if g != want {
			t.Errorf("%s differs from the document:\n got %s\nwant %s", name, g, want)
		}
	}
	checkText := func(name, want, got string) {
		t.Helper()
		t.Logf("%s = %s", name, got)
		if got != want {
			t.Errorf("%s = %s, the document says %s", name, got, want)
		}
	}
	ownerID, hostID := owner.ID(), host.ID()
	check("owner key", docOwnerKey, ownerID[:])
	checkText("owner peer ID", docOwnerPeer, ownerID.String())
	check("host key", docHostKey, hostID[:])
	checkText("host peer ID", docHostPeer, hostID.String())

	// 1. The owner creates a group hosted by the host node.
	cb := &CreateBody{Settings: Settings{Name: ptr("Tea shop")}, Host: host.ID()}
	check("create body", docCreateBody, cb.Encode())
	create := Submission{Kind: KindCreate, Author: owner.ID(), Time: 1_700_000_000_000,
		Nonce: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Body: cb.Encode()}
	check("create payload", docCreatePay, create.Encode())
	check("create signing input", docCreateSign, SigningBytes(DomainSubmission, create.Encode()))
	cs, err := create.Sign(owner)
	if err != nil {
		t.Fatal(err)
	}
	check("create signature", docCreateSig, cs.sig)
	check("create signed", docCreateRaw, cs.Raw)
	gid := cs.GroupID()
	check("group ID", docGroupID, gid[:])
	if sha := sha256.Sum256(cs.Raw); GroupID(sha) != gid {
		t.Error("the group ID is not the SHA-256 of the signed create submission")
	}

	// 2. The owner posts a message in it.
	mb := &MessageBody{Text: "你好, world"}
	check("message body", docMsgBody, mb.Encode())
	m := Submission{Group: gid, Kind: KindMessage, Author: owner.ID(), Time: 1_700_000_001_000,
		Nonce: []byte{9, 10, 11, 12, 13, 14, 15, 16}, Body: mb.Encode()}
	check("message payload", docMsgPay, m.Encode())
	check("message signing input", docMsgSign, SigningBytes(DomainSubmission, m.Encode()))
	ms, err := m.Sign(owner)
	if err != nil {
		t.Fatal(err)
	}
	check("message signature", docMsgSig, ms.sig)
	check("message signed", docMsgRaw, ms.Raw)
	check("message submission ID", docMsgID, ms.ID[:])

	// 3. The host sequences the create submission as event 1.
	ev := Event{Group: gid, Seq: 1, Time: 1_700_000_000_500, Via: host.ID(), Submission: cs.Raw}
	check("event payload", docEventPay, ev.Encode())
	se, err := ev.Sign(host)
	if err != nil {
		t.Fatal(err)
	}
	check("event signature", docEventSig, se.sig)
	check("event signed", docEventRaw, se.Raw)
	check("event ID", docEventID, se.ID[:])

	// The values in the document decode and verify.
	raw, _ := hex.DecodeString(docEventRaw)
	de, err := DecodeEvent(raw)
	if err != nil {
		t.Fatalf("the document's event: %v", err)
	}
	if err := de.VerifyAll(hostID); err != nil {
		t.Errorf("the document's event: %v", err)
	}
	raw, _ = hex.DecodeString(docMsgRaw)
	dm, err := DecodeSubmission(raw)
	if err != nil {
		t.Fatalf("the document's message: %v", err)
	}
	if err := dm.Verify(); err != nil {
		t.Errorf("the document's message: %v", err)
	}
	// A replica starts the group's state from event 1.
	st := NewState()
	if err := st.Apply(de, func(uint64) (EventInfo, bool) { return EventInfo{}, false }); err != nil {
		t.Fatal(err)
	}
	if st.Group != gid || st.Owner != ownerID || st.Host != hostID || st.Name != "Tea shop" || st.Policy != PolicyInvite {
		t.Errorf("state after event 1: %+v", st)
	}
	checkText("topic", "qun/1/group/"+docGroupID, Topic(gid))
}
