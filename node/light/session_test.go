package light

import (
	"net/http"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
)

// TestSessionStateBounded: a flood of sign-ins and of client addresses
// keeps the session state within its bounds and locks no honest user out:
// the oldest sessions and arbitrary limiters go, expired state expires.
func TestSessionStateBounded(t *testing.T) {
	node := newKey(t).ID()
	s := newSessions(node, 20, 100)
	s.maxChallenges, s.maxSessions, s.maxLimiters = 50, 50, 50
	now := time.Unix(1_800_000_000, 0)
	s.now = func() time.Time { return now }
	signIn := func(k *protocol.Key) (*session, error) {
		ch, _, err := s.challenge()
		if err != nil {
			return nil, err
		}
		return s.open(k.ID(), ch, k.SignRaw(protocol.DomainAuth, ch))
	}
	honest := newKey(t)
	first, err := signIn(honest)
	if err != nil {
		t.Fatal(err)
	}
	// A flood of fresh keys: never refused, the map stays bounded, the
	// oldest session (the honest one) goes and can sign in again.
	for range 10 * s.maxSessions {
		if _, err := signIn(newKey(t)); err != nil {
			t.Fatalf("sign-in refused during a flood: %v", err)
		}
	}
	if len(s.tokens) > s.maxSessions || len(s.order) > 2*s.maxSessions {
		t.Fatalf("%d sessions (%d in order), bound %d", len(s.tokens), len(s.order), s.maxSessions)
	}
	if _, err := s.lookup(first.token); err == nil {
		t.Fatal("the oldest session survived a full map")
	}
	again, err := signIn(honest)
	if err != nil {
		t.Fatal(err)
	}
	// Challenges asked for and never used: bounded, and a sign-in still works.
	for range 10 * s.maxChallenges {
		if _, _, err := s.challenge(); err != nil {
			t.Fatalf("challenge refused during a flood: %v", err)
		}
	}
	if len(s.challenges) > s.maxChallenges {
		t.Fatalf("%d challenges, bound %d", len(s.challenges), s.maxChallenges)
	}
	if _, err := signIn(honest); err != nil {
		t.Fatal(err)
	}
	// Sessions expire.
	now = now.Add(sessionTTL + time.Second)
	if _, err := s.lookup(again.token); err == nil {
		t.Fatal("an expired session is still valid")
	}
	if _, err := signIn(honest); err != nil {
		t.Fatal(err)
	}
	if len(s.tokens) != 1 {
		t.Fatalf("%d sessions after the others expired", len(s.tokens))
	}
	// Limiters: a flood of client keys keeps the map bounded.
	for i := range 10 * s.maxLimiters {
		s.allow("addr " + string(rune('a'+i%26)) + time.Duration(i).String())
	}
	if len(s.limiters) > s.maxLimiters {
		t.Fatalf("%d limiters, bound %d", len(s.limiters), s.maxLimiters)
	}
	// IPv6 clients are limited per /64.
	for _, c := range []struct{ remote, want string }{
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:1", "2001:db8:1:2::/64"},
		{"[::ffff:192.0.2.7]:80", "192.0.2.7"},
		{"192.0.2.7:80", "192.0.2.7"},
	} {
		if got := clientAddr(&http.Request{RemoteAddr: c.remote}); got != c.want {
			t.Errorf("clientAddr(%s) = %s, want %s", c.remote, got, c.want)
		}
	}
}

func newKey(t testing.TB) *protocol.Key {
	k, err := protocol.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}
