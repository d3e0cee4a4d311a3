package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// Upload stores an image or a file on the node for a message (POST
// /api/v1/blobs) and returns the attachment to send: images come back
// without their metadata, with width, height and a thumbnail.
func (c *Client) Upload(ctx context.Context, mime, name string, data []byte) (*protocol.Attachment, error) {
	path := "/api/v1/blobs?" + url.Values{"name": {name}}.Encode()
	resp, err := c.raw(ctx, http.MethodPost, path, mime, data)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var v api.AttachmentView
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponseBytes)).Decode(&v); err != nil {
		return nil, fmt.Errorf("the qun node at %s answered the upload with JSON this client does not understand: %w", c.base, err)
	}
	ref, err := v.Ref()
	if err != nil {
		return nil, err
	}
	return &protocol.Attachment{Blob: *ref, Name: v.Name, Thumb: v.Thumb}, nil
}

// SendFiles posts a message with attachments made by Upload (text may be
// empty).
func (c *Client) SendFiles(ctx context.Context, gid protocol.GroupID, text string, atts ...protocol.Attachment) (*api.SubmitResponse, error) {
	return c.Send(ctx, gid, protocol.MessageBody{Text: text, Attachments: atts})
}

// SendProduct posts a product card. picture, when not nil (made by
// Upload), is the card's image: it goes as the message's first image
// attachment, which clients show in the card, because the web client
// loads no image from other origins (the product's Image URL is shown only
// when it is on the node's own origin).
func (c *Client) SendProduct(ctx context.Context, gid protocol.GroupID, text string, p protocol.Product, picture *protocol.Attachment) (*api.SubmitResponse, error) {
	msg := protocol.MessageBody{Text: text, Product: &p}
	if picture != nil {
		msg.Attachments = []protocol.Attachment{*picture}
	}
	return c.Send(ctx, gid, msg)
}

// Blob returns the bytes of an attachment of a group's message, checked
// against its hash.
func (c *Client) Blob(ctx context.Context, gid protocol.GroupID, ref protocol.BlobRef) ([]byte, error) {
	path := fmt.Sprintf("/api/v1/groups/%s/blobs/%x", gid, ref.Hash[:])
	resp, err := c.raw(ctx, http.MethodGet, path, "", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, int64(ref.Size)+1))
	if err != nil {
		return nil, c.transportError(ctx, err)
	}
	if err := ref.Verify(data); err != nil {
		return nil, fmt.Errorf("the qun node at %s sent a file that is not the one asked for: %w", c.base, err)
	}
	return data, nil
}

// raw sends a request with a non-JSON body (or none) under the session and
// returns a 2xx answer; refusals become *protocol.Error.
func (c *Client) raw(ctx context.Context, method, path, contentType string, body []byte) (*http.Response, error) {
	stale := ""
	for try := 0; ; try++ {
		token, err := c.sessionToken(ctx, method+" "+path, stale)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.hc.Do(req)
		if err != nil {
			return nil, c.transportError(ctx, err)
		}
		if resp.StatusCode/100 == 2 {
			return resp, nil
		}
		apiErr := c.errorFromResponse(resp)
		resp.Body.Close()
		if try == 0 && resp.StatusCode == http.StatusUnauthorized {
			stale = token // the session expired: sign in again, once
			continue
		}
		return nil, apiErr
	}
}
