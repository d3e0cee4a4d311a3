package protocol

import (
	"bytes"
	"testing"
)

// TestHeadNotice: a notice round-trips, verifies only with the host's key
// and only under its own domain, and malformed payloads are refused.
func TestHeadNotice(t *testing.T) {
	host, other := noticeKey(t), noticeKey(t)
	n := HeadNotice{Group: GroupID{1}, Seq: 42, Event: EventID{2}}
	raw := n.Sign(host)
	got, err := DecodeHeadNotice(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got.HeadNotice != n {
		t.Fatalf("decoded %+v, want %+v", got.HeadNotice, n)
	}
	if err := got.Verify(host.ID()); err != nil {
		t.Fatalf("the host's notice does not verify: %v", err)
	}
	if err := got.Verify(other.ID()); err == nil {
		t.Fatal("a notice verifies with another key")
	}
	// The same payload signed for another domain is not a notice.
	forged, err := DecodeHeadNotice(host.Sign(DomainEvent, n.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	if forged.Verify(host.ID()) == nil {
		t.Fatal("a signature under the event domain verifies as a notice")
	}
	for name, payload := range map[string][]byte{
		"empty":         nil,
		"no event":      (&HeadNotice{Group: GroupID{1}, Seq: 1}).Encode()[:34+2],
		"short group":   append([]byte{0x0a, 0x01, 0x01}, n.Encode()[34:]...),
		"unknown field": append(n.Encode(), 0x20, 0x01),
		"an event":      bytes.Repeat([]byte{0x08, 0x01}, 1),
	} {
		if _, err := DecodeHeadNotice(host.Sign(DomainNotice, payload)); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func noticeKey(t *testing.T) *Key {
	t.Helper()
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}
