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
	base string // API base URL without a trailing slash
	key  *protocol.Key
	hc   *http.Client
	now  func() time.Time
}

// Option configures a Client.
type Option func(*options) error

type options struct {
	hc      *http.Client
	timeout time.Duration
	now     func() time.Time
}

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

// New returns a client of the node API at apiURL (for example
// http://127.0.0.1:7780; a URL without a scheme gets http://) acting for
// key. key may be nil for a read-only client: its submissions fail.
func New(apiURL string, key *protocol.Key, opts ...Option) (*Client, error) {
	base, err := normalizeURL(apiURL)
	if err != nil {
		return nil, err
	}
	o := options{timeout: -1}
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
	return &Client{base: base, key: key, hc: hc, now: o.now}, nil
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
func (c *Client) Node(ctx context.Context) (*protocol.NodeInfo, error) {
	var info protocol.NodeInfo
	if err := c.do(ctx, http.MethodGet, "/api/v1/node", nil, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// Groups lists the groups the node knows.
func (c *Client) Groups(ctx context.Context) ([]protocol.GroupSummary, error) {
	var gs []protocol.GroupSummary
	if err := c.do(ctx, http.MethodGet, "/api/v1/groups", nil, &gs); err != nil {
		return nil, err
	}
	return gs, nil
}

// Group returns the state of a group as the node knows it. A group the
// node does not know gives an error matching protocol.ErrUnknownGroup.
func (c *Client) Group(ctx context.Context, gid protocol.GroupID) (*protocol.GroupView, error) {
	var v protocol.GroupView
	if err := c.do(ctx, http.MethodGet, "/api/v1/groups/"+gid.String(), nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Events returns one page of a group's events, from seq from (1 if 0), at
// most limit of them (the node's default of 100 if 0; at most
// MaxEventsLimit).
func (c *Client) Events(ctx context.Context, gid protocol.GroupID, from uint64, limit int) (*protocol.EventsPage, error) {
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
	var p protocol.EventsPage
	if err := c.do(ctx, http.MethodGet, path, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// do sends a request with an optional JSON body and decodes a JSON answer
// into out. Refusals become *protocol.Error.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding the request to %s: %w", path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("building the request to %s: %w", path, err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.transportError(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.errorFromResponse(resp)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("reading the answer of the qun node at %s: %w", c.base, err)
	}
	if len(b) > maxResponseBytes {
		return fmt.Errorf("the answer of the qun node at %s to %s exceeds %d bytes", c.base, path, maxResponseBytes)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("the qun node at %s answered %s %s with JSON this client does not understand: %w", c.base, method, path, err)
	}
	return nil
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
	var eb protocol.ErrorBody
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
