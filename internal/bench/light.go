package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/coder/websocket"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// lightClient is the minimum of a light client the workloads need: sign in
// with a user key, GET and POST JSON with the session, open the WebSocket
// (docs/API.md, "Light-client API"). It is written here rather than taken
// from client/ so that the figures do not move with the SDK.
type lightClient struct {
	base  string
	hc    *http.Client
	key   *protocol.Key
	token string
}

// sharedHTTP keeps connections open between requests, many per host.
var sharedHTTP = &http.Client{Timeout: time.Minute, Transport: &http.Transport{
	MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute,
}}

// signIn gets a session for key at the node's API.
func signIn(ctx context.Context, base string, key *protocol.Key) (*lightClient, error) {
	c := &lightClient{base: base, hc: sharedHTTP, key: key}
	var ch api.ChallengeResponse
	if err := c.do(ctx, "POST", "/api/v1/auth/challenge", api.ChallengeRequest{User: key.ID().String()}, &ch); err != nil {
		return nil, fmt.Errorf("asking for a challenge: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(ch.Challenge)
	if err != nil {
		return nil, fmt.Errorf("challenge: %w", err)
	}
	sig := key.SignRaw(protocol.DomainAuth, raw)
	var s api.SessionResponse
	req := api.SessionRequest{User: key.ID().String(), Challenge: ch.Challenge, Signature: base64.StdEncoding.EncodeToString(sig)}
	if err := c.do(ctx, "POST", "/api/v1/auth/session", req, &s); err != nil {
		return nil, fmt.Errorf("signing in: %w", err)
	}
	c.token = s.Token
	return c, nil
}

// do sends a JSON request (in may be nil) and decodes a 200 answer into out.
func (c *lightClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var eb api.ErrorBody
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if json.Unmarshal(b, &eb) == nil && eb.Error.Message != "" {
			return eb.Error.Err()
		}
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, b)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// submit posts a signed submission.
func (c *lightClient) submit(ctx context.Context, raw []byte) (*api.SubmitResponse, error) {
	var r api.SubmitResponse
	err := c.do(ctx, "POST", "/api/v1/submit", api.SubmitRequest{Submission: base64.StdEncoding.EncodeToString(raw)}, &r)
	return &r, err
}

// events reads one forward page of history.
func (c *lightClient) events(ctx context.Context, gid protocol.GroupID, from uint64, limit int) (*api.EventsPage, int, error) {
	var page api.EventsPage
	req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/v1/groups/%s/events?from=%d&limit=%d", c.base, gid, from, limit), nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("reading events: HTTP %d: %s", resp.StatusCode, b)
	}
	return &page, len(b), json.Unmarshal(b, &page)
}

// dial opens the light-client WebSocket.
func (c *lightClient) dial(ctx context.Context) (*websocket.Conn, error) {
	u := "ws" + c.base[len("http"):] + "/api/v1/ws?token=" + url.QueryEscape(c.token)
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: c.hc})
	if err != nil {
		return nil, fmt.Errorf("opening the WebSocket: %w", err)
	}
	conn.SetReadLimit(1 << 20)
	return conn, nil
}
