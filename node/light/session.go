package light

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"sync"
	"time"

	"github.com/qunchat/qun/protocol"
	"golang.org/x/time/rate"
)

// Light-client session limits.
const (
	challengeTTL        = 60 * time.Second
	sessionTTL          = 24 * time.Hour
	maxChallenges       = 100_000
	maxSessions         = 200_000
	maxLimiters         = 100_000
	DefaultRequestRate  = 20  // requests per second per session and per client address
	DefaultRequestBurst = 100 // burst of the above
	limiterIdleTime     = 10 * time.Minute
	sweepEvery          = time.Second // a full map is swept of expired entries at most this often
	PreviewRate         = 0.5         // previews that ask another node, per second per session
	PreviewBurst        = 5
)

// session is an authenticated light client.
type session struct {
	user    protocol.UserID
	token   string
	expires time.Time
}

// sessions issues challenges and sessions. Its state is in memory: a node
// restart signs every client out, and clients sign in again transparently.
//
// Every map is bounded, and none lets a flood lock honest users out: the
// challenges are bounded by their 60 s life (a flood beyond the bound is
// refused, and a refused challenge costs its requester one retry); when the
// sessions are at their bound the oldest session goes (its client signs in
// again by itself); when the rate limiters are at theirs the idle ones go,
// else an arbitrary one (it restarts with a full burst). A full map is
// swept at most once a second, so a flood cannot make every request scan
// it. IPv6 clients are limited per /64 (clientAddr).
type sessions struct {
	node  protocol.UserID
	now   func() time.Time
	rate  rate.Limit // requests per second; rate.Inf: no limit
	burst int

	// bounds (the constants above; smaller in tests)
	maxChallenges, maxSessions, maxLimiters int

	mu             sync.Mutex
	challenges     map[[32]byte]time.Time // nonce → expiry
	tokens         map[string]*session
	order          []*session // sessions in the order opened (= expiry order); may hold closed ones
	limiters       map[string]*limiterEntry
	challengeSwept time.Time
	limiterSwept   time.Time
}

type limiterEntry struct {
	lim  *rate.Limiter
	used time.Time
}

func newSessions(node protocol.UserID, perSecond float64, burst int) *sessions {
	r := rate.Limit(perSecond)
	if perSecond < 0 {
		r = rate.Inf
	}
	return &sessions{
		node: node, now: time.Now, rate: r, burst: burst,
		maxChallenges: maxChallenges, maxSessions: maxSessions, maxLimiters: maxLimiters,
		challenges: map[[32]byte]time.Time{},
		tokens:     map[string]*session{},
		limiters:   map[string]*limiterEntry{},
	}
}

// challenge issues a fresh single-use challenge.
func (s *sessions) challenge() ([]byte, time.Time, error) {
	var nonce [32]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, time.Time{}, err
	}
	now := s.now()
	exp := now.Add(challengeTTL)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.challenges) >= s.maxChallenges && now.Sub(s.challengeSwept) >= sweepEvery {
		s.challengeSwept = now
		for k, e := range s.challenges {
			if now.After(e) {
				delete(s.challenges, k)
			}
		}
	}
	for k := range s.challenges { // still full: an arbitrary one goes (a sign-in takes milliseconds)
		if len(s.challenges) < s.maxChallenges {
			break
		}
		delete(s.challenges, k)
	}
	s.challenges[nonce] = exp
	b := make([]byte, 0, protocol.ChallengeSize)
	b = append(b, s.node[:]...)
	b = append(b, nonce[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(exp.UnixMilli()))
	return b, exp, nil
}

// open checks a signed challenge and opens a session.
func (s *sessions) open(user protocol.UserID, challenge, sig []byte) (*session, error) {
	if len(challenge) != protocol.ChallengeSize || [32]byte(challenge[:32]) != s.node {
		return nil, protocol.Errorf(protocol.CodeUnauthenticated, "this is not a challenge of this node; ask for a new one")
	}
	var nonce [32]byte
	copy(nonce[:], challenge[32:64])
	now := s.now()
	s.mu.Lock()
	exp, ok := s.challenges[nonce]
	delete(s.challenges, nonce) // single use, whatever happens next
	s.mu.Unlock()
	if !ok || now.After(exp) {
		return nil, protocol.Errorf(protocol.CodeUnauthenticated, "the challenge is unknown, used or expired; ask for a new one")
	}
	if !protocol.VerifyRaw(user, protocol.DomainAuth, challenge, sig) {
		return nil, protocol.Errorf(protocol.CodeBadSignature, "the signature of the challenge does not verify for user %s", user)
	}
	var tok [32]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return nil, err
	}
	sess := &session{user: user, token: base64.RawURLEncoding.EncodeToString(tok[:]), expires: now.Add(sessionTTL)}
	s.mu.Lock()
	defer s.mu.Unlock()
	// The oldest sessions go first: expired ones, then, at the bound, live
	// ones (their clients sign in again).
	for len(s.order) > 0 && (len(s.tokens) >= s.maxSessions || now.After(s.order[0].expires)) {
		old := s.order[0]
		s.order[0] = nil
		s.order = s.order[1:]
		if s.tokens[old.token] == old {
			delete(s.tokens, old.token)
		}
	}
	if len(s.order) >= 2*s.maxSessions { // closed sessions accumulate in order: compact
		live := make([]*session, 0, len(s.tokens))
		for _, o := range s.order {
			if s.tokens[o.token] == o {
				live = append(live, o)
			}
		}
		s.order = live
	}
	s.tokens[sess.token] = sess
	s.order = append(s.order, sess)
	return sess, nil
}

// lookup returns the live session of a token.
func (s *sessions) lookup(token string) (*session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.tokens[token]
	if sess == nil {
		return nil, protocol.Errorf(protocol.CodeUnauthenticated, "sign in first: this request needs a session")
	}
	if s.now().After(sess.expires) {
		delete(s.tokens, token)
		return nil, protocol.Errorf(protocol.CodeUnauthenticated, "your session expired; sign in again")
	}
	return sess, nil
}

// allow spends one request of key's budget.
func (s *sessions) allow(key string) bool {
	if s.rate == rate.Inf {
		return true
	}
	return s.allowWith(key, s.rate, s.burst)
}

// allowPreview spends one of a session's previews that ask another node.
// It applies even when the request rate is off (tests).
func (s *sessions) allowPreview(token string) bool {
	return s.allowWith("preview "+token, PreviewRate, PreviewBurst)
}

func (s *sessions) allowWith(key string, r rate.Limit, burst int) bool {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.limiters[key]
	if e == nil {
		if len(s.limiters) >= s.maxLimiters && now.Sub(s.limiterSwept) >= sweepEvery {
			s.limiterSwept = now
			for k, v := range s.limiters {
				if now.Sub(v.used) > limiterIdleTime {
					delete(s.limiters, k)
				}
			}
		}
		for k := range s.limiters { // still full: an arbitrary one goes
			if len(s.limiters) < s.maxLimiters {
				break
			}
			delete(s.limiters, k)
		}
		e = &limiterEntry{lim: rate.NewLimiter(r, burst)}
		s.limiters[key] = e
	}
	e.used = now
	return e.lim.AllowN(now, 1)
}
