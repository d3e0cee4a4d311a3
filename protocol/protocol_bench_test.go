package protocol

import (
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
