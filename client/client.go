package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// DefaultTimeout bounds one API request when no WithTimeout or
// WithHTTPClient option says otherwise.
const DefaultTimeout = 30 * time.Second

// MaxEventsLimit is the largest page GET /api/v1/groups/{gid}/events serves.
const MaxEventsLimit = 1000

// maxResponseBytes bounds an API answer: a full page of the largest events,
// base64 encoded, with room for their decoded views.
const maxResponseBytes = 256 << 20

// maxErrorBytes bounds the body of an error answer.
const maxErrorBytes = 64 << 10

// ErrUnreachable matches (with errors.Is) the error returned when the node
// cannot be reached at all.
var ErrUnreachable = errors.New("qun node unreachable")

// UnreachableError reports that the node's API could not be reached.
type UnreachableError struct {
	URL string // the API base URL
	Err error  // the transport error
}

// Error says which URL could not be reached and how to start a node.
func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the qun node at %s (%v); is it running? Start one with `qun node`", e.URL, e.Err)
}

// Unwrap returns the transport error.
func (e *UnreachableError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnreachable) match.
func (e *UnreachableError) Is(target error) bool { return target == ErrUnreachable }

// Client is a client of one node's HTTP API, acting for one user key. It is
// safe for concurrent use.
type Client struct {
	base        string // API base URL without a trailing slash
	key         *protocol.Key
	hc          *http.Client
	now         func() time.Time
	nodeID      protocol.UserID // if not zero, challenges must name this node
	known       KnownNodes      // the node ID of the API URL, learned at the first sign-in
	rateRetries int             // retries of a 429 that carries Retry-After
	sess        *sessionCache
	apiToken    string // a merchant API token sent instead of a session (WithAPIToken)
}

// Option configures a Client.
type Option func(*options) error

type options struct {
	hc          *http.Client
	timeout     time.Duration
	now         func() time.Time
	nodeID      protocol.UserID
	known       KnownNodes
	rateRetries int
	apiToken    string
}

// DefaultRateLimitRetries is how many times a request refused with 429 and
// a Retry-After header is retried by default.
const DefaultRateLimitRetries = 3

// maxRetryAfter bounds the wait the client accepts from a Retry-After
// header; a node that asks for longer gets its refusal returned.
const maxRetryAfter = 30 * time.Second

// WithHTTPClient makes the client send its requests with hc (for custom
// transports, proxies or TLS). Its Timeout applies unless WithTimeout is
// given too.
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) error {
		if hc == nil {
			return errors.New("client: WithHTTPClient needs a non-nil *http.Client")
		}
		o.hc = hc
		return nil
	}
}

// WithAPIToken makes the client send a merchant API token (qun token
// create; docs/MERCHANT.md) where a request needs a session, instead of
// signing in with a key: the client of a merchant's own systems, whose key
// may be nil. It reaches the merchant API only.
func WithAPIToken(token string) Option {
	return func(o *options) error {
		if !strings.HasPrefix(token, "qun_") {
			return errors.New("client: an API token starts with qun_ (qun token create makes one)")
		}
		o.apiToken = token
		return nil
	}
}

// WithTimeout bounds each API request; 0 means no bound beyond the context.
// The default is DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("client: timeout %s is negative", d)
		}
		o.timeout = d
		return nil
	}
}

// WithClock makes the client take submission times from now instead of the
// system clock (for tests).
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("client: WithClock needs a function")
		}
		o.now = now
		return nil
	}
}

// WithNodeID makes the client sign in only with challenges of the node
// whose ID is id, so that a proxy or an impostor in between cannot pass on
// another node's challenge and use the signature to act as the user there.
// It wins over what a KnownNodes store remembers; without it the client
// trusts the node ID it meets at the first sign-in (see KnownNodes).
func WithNodeID(id protocol.UserID) Option {
	return func(o *options) error {
		if id.IsZero() {
			return errors.New("client: WithNodeID needs a node ID")
		}
		o.nodeID = id
		return nil
	}
}

// WithRateLimitRetries sets how many times a request that the node refuses
// with 429 rate_limited and a Retry-After header (of at most 30 s) is
// retried after waiting as asked; 0 turns retries off. The default is
// DefaultRateLimitRetries. Retrying is safe for every request: a
// submission is the same signed bytes, which the host sequences once.
func WithRateLimitRetries(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("client: %d rate-limit retries is negative", n)
		}
		o.rateRetries = n
		return nil
	}
}

// New returns a client of the node API at apiURL (for example
// http://127.0.0.1:7780; a URL without a scheme gets http://) acting for
// key. The client signs in with key when a request needs a session (every
// request but Node, Preview and signing in). key may be nil for a client
// that only calls those: the others fail with an error matching
// ErrNeedSession.
func New(apiURL string, key *protocol.Key, opts ...Option) (*Client, error) {
	base, err := normalizeURL(apiURL)
	if err != nil {
		return nil, err
	}
	o := options{timeout: -1, rateRetries: DefaultRateLimitRetries}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	hc := o.hc
	switch {
	case hc == nil:
		t := o.timeout
		if t < 0 {
			t = DefaultTimeout
		}
		// Keep connections to the node open for concurrent callers (the
		// default transport keeps only 2 idle per host).
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		hc = &http.Client{Timeout: t, Transport: tr}
	case o.timeout >= 0:
		c := *hc
		c.Timeout = o.timeout
		hc = &c
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.known == nil {
		o.known = &memKnown{}
	}
	return &Client{base: base, key: key, hc: hc, now: o.now, nodeID: o.nodeID, known: o.known, rateRetries: o.rateRetries, sess: newSessionCache(), apiToken: o.apiToken}, nil
}

func normalizeURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("client: the node API URL is empty")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("client: node API URL %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("client: node API URL %q must be http:// or https://", s)
	}
	if u.Host == "" {
		return "", fmt.Errorf("client: node API URL %q has no host", s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("client: node API URL %q must not have a query or fragment", s)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// URL returns the API base URL, without a trailing slash.
func (c *Client) URL() string { return c.base }

// Key returns the user key the client signs with (nil for a read-only client).
func (c *Client) Key() *protocol.Key { return c.key }

// Node returns the node's identity, addresses and admins.
func (c *Client) Node(ctx context.Context) (*api.NodeInfo, error) {
	var info api.NodeInfo
	if err := c.do(ctx, http.MethodGet, "/api/v1/node", noSession, nil, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// Groups lists every group the node holds. Only the node's admins may list
// them; other users list their own groups with MyGroups.
func (c *Client) Groups(ctx context.Context) ([]api.GroupSummary, error) {
	var gs []api.GroupSummary
	if err := c.do(ctx, http.MethodGet, "/api/v1/groups", withSession, nil, &gs); err != nil {
		return nil, err
	}
	return gs, nil
}

// Group returns the state of a group as the node knows it. A group the
// node does not know gives an error matching protocol.ErrUnknownGroup, a
// group the user may not read one matching protocol.ErrPrivate.
func (c *Client) Group(ctx context.Context, gid protocol.GroupID) (*api.GroupView, error) {
	var v api.GroupView
	if err := c.do(ctx, http.MethodGet, "/api/v1/groups/"+gid.String(), withSession, nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Events returns one page of a group's events, from seq from (1 if 0), at
// most limit of them (the node's default of 100 if 0; at most
// MaxEventsLimit).
func (c *Client) Events(ctx context.Context, gid protocol.GroupID, from uint64, limit int) (*api.EventsPage, error) {
	if limit < 0 || limit > MaxEventsLimit {
		return nil, fmt.Errorf("client: events limit %d is not between 0 and %d", limit, MaxEventsLimit)
	}
	q := url.Values{}
	if from > 0 {
		q.Set("from", strconv.FormatUint(from, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/api/v1/groups/" + gid.String() + "/events"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var p api.EventsPage
	if err := c.do(ctx, http.MethodGet, path, withSession, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// authMode says whether a request carries a session token.
type authMode bool

const (
	noSession   authMode = false
	withSession authMode = true
)

// do sends a request with an optional JSON body and decodes a JSON answer
// into out. Refusals become *protocol.Error. With withSession the request
// carries the session token, signing in first if needed and once more if
// the node answers 401 unauthenticated. A 429 with Retry-After is retried
// as WithRateLimitRetries says.
func (c *Client) do(ctx context.Context, method, path string, auth authMode, in, out any) error {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding the request to %s: %w", path, err)
		}
		body = b
	}
	what, _, _ := strings.Cut(path, "?")
	what = method + " " + what
	stale, reauthed, retries := "", false, 0
	for {
		token := ""
		if auth == withSession && c.apiToken != "" {
			token = c.apiToken
		} else if auth == withSession {
			var err error
			if token, err = c.sessionToken(ctx, what, stale); err != nil {
				return err
			}
		}
		resp, err := c.send(ctx, method, path, token, body)
		if err != nil {
			return err
		}
		if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
			return c.decode(resp, method, path, out)
		}
		apiErr := c.errorFromResponse(resp)
		resp.Body.Close()
		if auth == withSession && c.apiToken == "" && !reauthed && resp.StatusCode == http.StatusUnauthorized && errors.Is(apiErr, protocol.ErrUnauthenticated) {
			reauthed, stale = true, token // the session expired: sign in again, once
			continue
		}
		if resp.StatusCode == http.StatusTooManyRequests && retries < c.rateRetries {
			if d, ok := retryAfter(resp, time.Now()); ok {
				retries++
				if err := sleepCtx(ctx, d); err != nil {
					return c.transportError(ctx, err)
				}
				continue
			}
		}
		return apiErr
	}
}

// send sends one request; a transport error is returned in words.
func (c *Client) send(ctx context.Context, method, path, token string, body []byte) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, fmt.Errorf("building the request to %s: %w", path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, err)
	}
	return resp, nil
}

// decode reads a 2xx answer into out and closes its body.
func (c *Client) decode(resp *http.Response, method, path string, out any) error {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("reading the answer of the qun node at %s: %w", c.base, err)
	}
	if len(b) > maxResponseBytes {
		return fmt.Errorf("the answer of the qun node at %s to %s exceeds %d bytes", c.base, path, maxResponseBytes)
	}
	if resp.StatusCode == http.StatusNoContent && len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("the qun node at %s answered %s %s with JSON this client does not understand: %w", c.base, method, path, err)
	}
	return nil
}

// retryAfter reads the Retry-After header of resp (seconds or an HTTP
// date), if it has one of at most maxRetryAfter.
func retryAfter(resp *http.Response, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return 0, false
	}
	if d < 0 {
		d = 0
	}
	return d, d <= maxRetryAfter
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) transportError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return fmt.Errorf("the qun node at %s did not answer in time: %w", c.base, ctxErr)
		}
		return ctxErr
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return &UnreachableError{URL: c.base, Err: err}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("the qun node at %s did not answer in time: %w", c.base, err)
	}
	return &UnreachableError{URL: c.base, Err: err}
}

// errorFromResponse turns a non-2xx answer into an error: the *protocol.Error
// of an ErrorBody, or one derived from the status for anything else.
func (c *Client) errorFromResponse(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	var eb api.ErrorBody
	if json.Unmarshal(b, &eb) == nil && eb.Error.Code != "" {
		e := eb.Error.Err()
		if e.Msg == "" {
			e.Msg = strings.ReplaceAll(eb.Error.Code, "_", " ")
		}
		return e
	}
	text := strings.TrimSpace(string(b))
	if i := strings.IndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	}
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	msg := fmt.Sprintf("the qun node at %s answered %s", c.base, resp.Status)
	if text != "" {
		msg += ": " + text
	}
	return &protocol.Error{Code: codeFromStatus(resp.StatusCode), Msg: msg}
}

// codeFromStatus guesses the code of an answer without an ErrorBody (a
// proxy, or something that is not a qun node).
func codeFromStatus(status int) protocol.Code {
	switch status {
	case http.StatusNotFound:
		return protocol.CodeNotFound
	case http.StatusUnauthorized:
		return protocol.CodeUnauthenticated
	case http.StatusForbidden:
		return protocol.CodeForbidden
	case http.StatusConflict:
		return protocol.CodeConflict
	case http.StatusTooManyRequests:
		return protocol.CodeRateLimited
	case http.StatusRequestEntityTooLarge:
		return protocol.CodeTooLarge
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return protocol.CodeUnavailable
	}
	if status >= 500 {
		return protocol.CodeInternal
	}
	return protocol.CodeInvalid
}
