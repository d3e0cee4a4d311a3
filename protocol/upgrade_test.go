package protocol

import (
	"errors"
	"strings"
	"testing"
)

// TestUpgradeNeeded: an event of a later revision (an unknown kind, an
// unknown field of a body, of the submission or of the event) is refused
// with upgrade_needed, and DecodeEvent returns its header so that the node
// verifies the host's signature before it holds the group.
func TestUpgradeNeeded(t *testing.T) {
	h := newGroup(t)
	signed := func(s Submission) []byte { return kMember.Sign(DomainSubmission, s.Encode()) }
	base := Submission{Group: h.st.Group, Kind: KindMessage, Author: kMember.ID(), Time: t0, Nonce: []byte("nonce-01"), Body: msg("hi").Encode()}
	later := func(mod func(*Submission)) []byte {
		s := base
		mod(&s)
		return signed(s)
	}
	cases := []struct {
		name string
		sub  []byte
		tail []byte // appended to the event payload
	}{
		{"kind 27", later(func(s *Submission) { s.Kind = 27 }), nil},
		{"a commerce kind", later(func(s *Submission) { s.Kind = 100; s.Body = []byte{0x0a, 0x01, 'x'} }), nil},
		{"a message field of a later revision", later(func(s *Submission) { s.Body = cat(s.Body, bf(12, []byte("sticker"))) }), nil},
		{"a profile field of a later revision", later(func(s *Submission) { s.Kind, s.Body = KindProfile, vf(9, 1) }), nil},
		{"a submission field of a later revision", envelopeOf(t, kMember, cat(base.Encode(), vf(8, 1))), nil},
		{"an event field of a later revision", signed(base), vf(8, 1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.tail == nil {
				if _, err := DecodeSubmission(c.sub); !errors.Is(err, ErrUpgradeNeeded) {
					t.Fatalf("DecodeSubmission: got %s (%v)", codeOf(err), err)
				}
			}
			e := Event{Group: h.st.Group, Seq: h.st.Head + 1, Prev: h.st.HeadID, Time: h.now, Via: h.via, Submission: c.sub}
			raw := kHost.Sign(DomainEvent, cat(e.Encode(), c.tail))
			ev, err := DecodeEvent(raw)
			if !errors.Is(err, ErrUpgradeNeeded) || ev == nil {
				t.Fatalf("DecodeEvent: got %s (%v), event %v", codeOf(err), err, ev)
			}
			if !strings.Contains(err.Error(), VersionText) {
				t.Errorf("the sentence does not name the node's version: %q", err)
			}
			if ev.Sub != nil || ev.Seq != e.Seq || ev.Group != e.Group || ev.Prev != e.Prev || ev.ID != EventID(sum(raw)) {
				t.Errorf("header %+v", ev.Event)
			}
			if err := ev.VerifyHost(kHost.ID()); err != nil {
				t.Errorf("VerifyHost: %v", err)
			}
			if err := ev.VerifyHost(kOwner.ID()); !errors.Is(err, ErrBadSignature) {
				t.Errorf("VerifyHost by another key: %v", err)
			}
		})
	}
	// A later version, or a broken event, gives no event to verify.
	e := Event{Group: h.st.Group, Seq: h.st.Head + 1, Prev: h.st.HeadID, Time: h.now, Via: h.via, Submission: cases[0].sub}
	p := e.Encode()
	if ev, err := DecodeEvent(kHost.Sign(DomainEvent, cat(vf(1, 2), p[2:]))); !errors.Is(err, ErrUpgradeNeeded) || ev != nil {
		t.Errorf("version 2: %v, %v", err, ev)
	}
	e.Via = UserID{}
	if ev, err := DecodeEvent(kHost.Sign(DomainEvent, e.Encode())); !errors.Is(err, ErrMalformed) || ev != nil {
		t.Errorf("an event without via around a later kind: %v, %v", err, ev)
	}
	if c := CodeUpgradeNeeded; c.String() != "upgrade_needed" || ParseCode("upgrade_needed") != c {
		t.Errorf("code %d %s", c, c)
	}
}

// envelopeOf signs a hand-made submission payload.
func envelopeOf(t *testing.T, k *Key, payload []byte) []byte {
	t.Helper()
	return k.Sign(DomainSubmission, payload)
}
