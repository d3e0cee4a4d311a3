package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// NonceBytes is the size of the random nonce of each submission and invite.
const NonceBytes = 16

// ErrNoKey is returned by operations that sign when the client has no key.
var ErrNoKey = errors.New("client: this client has no key to sign with")

// Sign builds a submission of kind for group (the zero GroupID for
// KindCreate) with body, authored by the client's key at the current time
// with a fresh random nonce, and signs it. Post its Raw bytes with
// SubmitSigned; posting them again is a safe retry.
func (c *Client) Sign(kind protocol.Kind, group protocol.GroupID, body protocol.Body) (*protocol.SignedSubmission, error) {
	if c.key == nil {
		return nil, ErrNoKey
	}
	if body == nil {
		return nil, fmt.Errorf("client: a %s submission needs a body", kind)
	}
	if body.Kind() != kind {
		return nil, fmt.Errorf("client: a %s body cannot be submitted as %s", body.Kind(), kind)
	}
	nonce := make([]byte, NonceBytes)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("making a nonce: %w", err)
	}
	ms := c.now().UnixMilli()
	if ms <= 0 {
		return nil, errors.New("client: the clock is before 1970")
	}
	s := &protocol.Submission{
		Group:  group,
		Kind:   kind,
		Author: c.key.ID(),
		Time:   uint64(ms),
		Nonce:  nonce,
		Body:   body.Encode(),
	}
	// Sign decodes what it signed: a body that breaks a limit is refused
	// here, with the protocol's own sentence, before anything is sent.
	return s.Sign(c.key)
}

// Submit signs a submission (see Sign) and posts it to the node, which
// forwards it to the group's host. It answers the event the host sequenced,
// or the host's refusal as a *protocol.Error.
func (c *Client) Submit(ctx context.Context, kind protocol.Kind, group protocol.GroupID, body protocol.Body) (*api.SubmitResponse, error) {
	s, err := c.Sign(kind, group, body)
	if err != nil {
		return nil, err
	}
	return c.SubmitSigned(ctx, s.Raw, nil)
}

// SubmitSigned posts signed submission bytes as they are. hostAddrs
// (multiaddrs with /p2p/) tell the node where the group's host is when the
// node does not know the group yet; they may be nil. Posting the same bytes
// again returns the same event: it is the way to retry after an error.
//
// The answer is checked: its event must carry exactly these bytes.
func (c *Client) SubmitSigned(ctx context.Context, raw []byte, hostAddrs []string) (*api.SubmitResponse, error) {
	if len(raw) == 0 {
		return nil, errors.New("client: empty submission")
	}
	req := api.SubmitRequest{Submission: base64.StdEncoding.EncodeToString(raw), HostAddrs: hostAddrs}
	var resp api.SubmitResponse
	if err := c.do(ctx, http.MethodPost, "/api/v1/submit", withSession, req, &resp); err != nil {
		return nil, err
	}
	if err := checkResponse(&resp, raw); err != nil {
		return nil, fmt.Errorf("the qun node at %s answered the submission with %w", c.base, err)
	}
	return &resp, nil
}

// checkResponse checks that the event in resp is well formed, carries the
// submission raw verbatim and agrees with the other fields of resp. It does
// not verify the host's signature (that needs the group's host key).
func checkResponse(resp *api.SubmitResponse, raw []byte) error {
	if resp.Event == "" {
		return errors.New("no event")
	}
	evRaw, err := base64.StdEncoding.DecodeString(resp.Event)
	if err != nil {
		return errors.New("an event that is not base64")
	}
	ev, err := protocol.DecodeEvent(evRaw)
	if err != nil {
		return fmt.Errorf("an event that does not decode: %w", err)
	}
	switch {
	case !bytes.Equal(ev.Submission, raw):
		return errors.New("an event that does not carry the submission")
	case ev.Seq != resp.Seq:
		return fmt.Errorf("event %d but seq %d", ev.Seq, resp.Seq)
	case ev.ID.String() != resp.ID:
		return fmt.Errorf("event %s but ID %s", ev.ID, resp.ID)
	case ev.Time != resp.Time:
		return fmt.Errorf("event time %d but time %d", ev.Time, resp.Time)
	case ev.Group.String() != resp.Group:
		return fmt.Errorf("an event of group %s but group %s", ev.Group, resp.Group)
	}
	return nil
}
