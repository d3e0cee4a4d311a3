package protocol

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"strings"
	"testing"
)

// Hot-path costs of one 256-byte text message: what every node pays per
// event (BENCHMARKS.md). Run with: go test -run x -bench . ./protocol/

func benchMessage(b *testing.B) (*harness, *SignedSubmission, *SignedEvent) {
	h := newGroup(b)
	sub := h.sub(kMember, msg(strings.Repeat("x", 256)))
	return h, sub, h.wrap(sub, nil)
}

// BenchmarkEncodeSubmission: canonical payload of a 256-byte message.
func BenchmarkEncodeSubmission(b *testing.B) {
	s := Submission{Group: GroupID{1}, Kind: KindMessage, Author: kMember.ID(), Time: t0,
		Nonce: make([]byte, 16), Body: msg(strings.Repeat("x", 256)).Encode()}
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Encode()
	}
}

// BenchmarkSignSubmission: encode and sign (what a client does).
func BenchmarkSignSubmission(b *testing.B) {
	s := Submission{Group: GroupID{1}, Kind: KindMessage, Author: kMember.ID(), Time: t0,
		Nonce: make([]byte, 16), Body: msg(strings.Repeat("x", 256)).Encode()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(kMember); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeSubmission: bounded decode and shape checks, no signature.
func BenchmarkDecodeSubmission(b *testing.B) {
	_, sub, _ := benchMessage(b)
	b.SetBytes(int64(len(sub.Raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeSubmission(sub.Raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifySubmission: the author's signature (each node once per message).
func BenchmarkVerifySubmission(b *testing.B) {
	_, sub, _ := benchMessage(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := sub.Verify(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignEvent: what the host adds per message: encode the event and
// sign it (Sign also decodes the result).
func BenchmarkSignEvent(b *testing.B) {
	h, sub, _ := benchMessage(b)
	e := Event{Group: h.st.Group, Seq: h.st.Head + 1, Prev: h.st.HeadID, Time: h.now, Via: h.via, Submission: sub.Raw}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Sign(kHost); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeEvent: bounded decode of an event and its submission, no signature.
func BenchmarkDecodeEvent(b *testing.B) {
	_, _, ev := benchMessage(b)
	b.SetBytes(int64(len(ev.Raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeEvent(ev.Raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyEvent: both signatures, what a replica checks per event.
func BenchmarkVerifyEvent(b *testing.B) {
	_, _, ev := benchMessage(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := ev.VerifyAll(kHost.ID()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckAndApply: the state machine for one message: the host's
// Check plus Apply (replicas only Apply).
func BenchmarkCheckAndApply(b *testing.B) {
	h := newGroup(b)
	const n = 1024
	evs := make([]*SignedEvent, n)
	base := normalized(b, h.st)
	for i := range evs {
		evs[i] = h.event(kMember, msg(strings.Repeat("x", 256)))
		if err := h.apply(evs[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	st := normalized(b, base)
	for i := 0; b.Loop(); i++ {
		if i%n == 0 {
			b.StopTimer()
			st = normalized(b, base)
			b.StartTimer()
		}
		ev := evs[i%n]
		if err := st.Check(ev.Sub, ev.Via, ev.Time, h.look); err != nil {
			b.Fatal(err)
		}
		if err := st.Apply(ev, h.look); err != nil {
			b.Fatal(err)
		}
	}
}

// bigState is a group of MaxMemberCap members, each with a whole profile
// (a name, a nick, a bio and an avatar): the most members a checkpoint
// carries.
func bigState(b *testing.B) *State {
	s := newGroup(b).st
	s.Cap = MaxMemberCap
	for i := 0; len(s.Members) < MaxMemberCap; i++ {
		u := UserID(sha256.Sum256(binary.BigEndian.AppendUint32(nil, uint32(i))))
		s.Members[u] = &Member{Role: RoleMember, Home: kHome.ID(), Joined: s.Head, From: s.Head, Profile: Profile{
			Name: "member " + strconv.Itoa(i), Nick: "茶友 " + strconv.Itoa(i), Bio: "green tea, oolong and pu-erh; 杭州",
			Avatar: &BlobRef{Hash: sha256.Sum256([]byte(strconv.Itoa(i))), MIME: "image/webp", Size: 40_000, Width: 256, Height: 256},
		}}
	}
	return s
}

// BenchmarkCheckpoint: the checkpoint of a group of 10,000 members with
// profiles: what the host pays to make one (encode, sign) and a new
// member's node to take it (decode with every check, verify).
func BenchmarkCheckpoint(b *testing.B) {
	s := bigState(b)
	p := s.EncodeCheckpoint()
	raw := SignCheckpoint(kHost, s)
	if c, err := DecodeCheckpoint(raw); err != nil || len(c.State.Members) != MaxMemberCap {
		b.Fatalf("the checkpoint does not decode: %v", err)
	}
	b.Logf("payload %d bytes for %d members", len(p), len(s.Members))
	b.Run("Encode", func(b *testing.B) {
		b.SetBytes(int64(len(p)))
		b.ReportAllocs()
		for b.Loop() {
			_ = s.EncodeCheckpoint()
		}
	})
	b.Run("Sign", func(b *testing.B) {
		b.SetBytes(int64(len(p)))
		b.ReportAllocs()
		for b.Loop() {
			_ = SignCheckpoint(kHost, s)
		}
	})
	b.Run("Decode", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeCheckpoint(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Verify", func(b *testing.B) {
		c, _ := DecodeCheckpoint(raw)
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for b.Loop() {
			if err := c.Verify(kHost.ID()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
