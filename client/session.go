package client

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// Sessions (docs/API.md, "Sessions: prove your key"). The client signs in
// by itself the first time a request needs a session, keeps the token, and
// signs in again once when the node answers 401 unauthenticated (the session
// expired, or the node restarted and forgot it).

// ErrNeedSession matches (with errors.Is) the error of a request that needs
// a signed-in session on a client that has no key to sign in with. It also
// matches ErrNoKey.
var ErrNeedSession = errors.New("client: this request needs a session, and signing in needs a key")

// sessionMargin is how long before its announced expiry a cached token is
// replaced proactively, so that a request does not race the expiry.
const sessionMargin = time.Minute

// needSessionError is the error of a session request on a keyless client.
type needSessionError struct{ what string }

func (e *needSessionError) Error() string {
	return fmt.Sprintf("client: %s needs a signed-in session, and this client has no key to sign in with (pass one to client.New)", e.what)
}

func (e *needSessionError) Is(target error) bool {
	return target == ErrNeedSession || target == ErrNoKey
}

// sessionCache holds the client's session token. loginSem serialises
// sign-ins so that concurrent requests that find no (or a stale) token
// cause one sign-in, not one each.
type sessionCache struct {
	loginSem chan struct{} // capacity 1: held while signing in

	mu      sync.Mutex
	token   string
	expires time.Time
}

func newSessionCache() *sessionCache {
	return &sessionCache{loginSem: make(chan struct{}, 1)}
}

func (s *sessionCache) get() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == "" || !time.Now().Before(s.expires.Add(-sessionMargin)) {
		return "", false
	}
	return s.token, true
}

func (s *sessionCache) set(token string, expires time.Time) {
	s.mu.Lock()
	s.token, s.expires = token, expires
	s.mu.Unlock()
}

// Session is a signed-in session with a node.
type Session struct {
	Token   string          // for Authorization: Bearer, or ?token= on the WebSocket
	User    protocol.UserID // the user the session acts for
	Expires time.Time       // when the node forgets it
}

// Login signs in to the node with the client's key (a challenge signed
// with protocol.DomainAuth) and keeps the new session for the requests that
// follow. Requests sign in by themselves when they need to, so calling
// Login is only needed to sign in early or to check the key is accepted.
func (c *Client) Login(ctx context.Context) (*Session, error) {
	if c.key == nil {
		return nil, &needSessionError{what: "signing in"}
	}
	select {
	case c.sess.loginSem <- struct{}{}:
	case <-ctx.Done():
		return nil, c.transportError(ctx, ctx.Err())
	}
	defer func() { <-c.sess.loginSem }()
	return c.login(ctx)
}

// login signs in; the caller holds loginSem.
func (c *Client) login(ctx context.Context) (*Session, error) {
	user := c.key.ID()
	var ch api.ChallengeResponse
	if err := c.do(ctx, http.MethodPost, "/api/v1/auth/challenge", noSession, api.ChallengeRequest{User: user.String()}, &ch); err != nil {
		return nil, fmt.Errorf("signing in to the qun node at %s: %w", c.base, err)
	}
	challenge, err := base64.StdEncoding.DecodeString(ch.Challenge)
	if err != nil {
		return nil, fmt.Errorf("signing in to the qun node at %s: the challenge is not base64", c.base)
	}
	if err := c.checkChallenge(challenge); err != nil {
		return nil, fmt.Errorf("signing in to the qun node at %s: %w", c.base, err)
	}
	want, source, learned, err := c.expectedNode(ctx)
	if err != nil {
		return nil, fmt.Errorf("signing in to the qun node at %s: %w", c.base, err)
	}
	if got := protocol.UserID(challenge[:32]); got != want {
		return nil, &NodeMismatchError{URL: c.base, Want: want, Got: got, Source: source}
	}
	req := api.SessionRequest{
		User:      user.String(),
		Challenge: ch.Challenge,
		Signature: base64.StdEncoding.EncodeToString(c.key.SignRaw(protocol.DomainAuth, challenge)),
	}
	var resp api.SessionResponse
	if err := c.do(ctx, http.MethodPost, "/api/v1/auth/session", noSession, req, &resp); err != nil {
		return nil, fmt.Errorf("signing in to the qun node at %s: %w", c.base, err)
	}
	if resp.Token == "" {
		return nil, fmt.Errorf("signing in to the qun node at %s: the node answered without a token", c.base)
	}
	if resp.User != "" && resp.User != user.String() {
		return nil, fmt.Errorf("signing in to the qun node at %s: the node opened a session for %s, not %s", c.base, resp.User, user)
	}
	exp := time.UnixMilli(int64(resp.Expires))
	if resp.Expires == 0 {
		exp = time.Now().Add(time.Hour) // the node did not say; check again in an hour
	}
	if learned {
		if err := c.known.Remember(c.base, want); err != nil {
			return nil, fmt.Errorf("signing in to the qun node at %s: %w", c.base, err)
		}
	}
	c.sess.set(resp.Token, exp)
	return &Session{Token: resp.Token, User: user, Expires: exp}, nil
}

// expectedNode returns the node the client expects at its URL and where
// that comes from: WithNodeID, the KnownNodes store, or (learned: to be
// remembered after the sign-in succeeds) the node's own GET /api/v1/node.
func (c *Client) expectedNode(ctx context.Context) (id protocol.UserID, source string, learned bool, err error) {
	if !c.nodeID.IsZero() {
		return c.nodeID, "given to the client with WithNodeID", false, nil
	}
	id, ok, err := c.known.Lookup(c.base)
	if err != nil {
		return id, "", false, err
	}
	if ok {
		return id, c.known.String(), false, nil
	}
	info, err := c.Node(ctx)
	if err != nil {
		return id, "", false, fmt.Errorf("asking the node for its ID: %w", err)
	}
	if id, err = protocol.ParseUserID(info.PeerID); err != nil {
		return id, "", false, fmt.Errorf("the node's ID %q: %v", info.PeerID, err)
	}
	return id, "as it says at /api/v1/node", true, nil
}

// checkChallenge refuses to sign what is not a challenge: a node's key, 32
// random bytes and an expiry. A challenge names its node so that a
// signature made for one node cannot open a session on another; login
// checks that it is the node expected (expectedNode).
func (c *Client) checkChallenge(b []byte) error {
	if len(b) != protocol.ChallengeSize {
		return fmt.Errorf("the challenge has %d bytes, not %d", len(b), protocol.ChallengeSize)
	}
	if exp := binary.BigEndian.Uint64(b[64:]); exp == 0 {
		return errors.New("the challenge has no expiry")
	}
	return nil
}

// sessionToken returns the cached session token, signing in if there is
// none. stale, if not empty, is a token the node refused: a new sign-in
// replaces it unless another request already did.
func (c *Client) sessionToken(ctx context.Context, what, stale string) (string, error) {
	if c.key == nil {
		return "", &needSessionError{what: what}
	}
	if tok, ok := c.sess.get(); ok && tok != stale {
		return tok, nil
	}
	select {
	case c.sess.loginSem <- struct{}{}:
	case <-ctx.Done():
		return "", c.transportError(ctx, ctx.Err())
	}
	defer func() { <-c.sess.loginSem }()
	if tok, ok := c.sess.get(); ok && tok != stale { // another request signed in meanwhile
		return tok, nil
	}
	s, err := c.login(ctx)
	if err != nil {
		return "", err
	}
	return s.Token, nil
}
