package client

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// Preview tells what an invite token (or a link that ends in one) leads to,
// before joining: the group's name, description, size and policy, and
// whether the invite can still be used (Valid; Reason says why not). A
// client with a key sends its session (signing in if needed): a node asks
// the host of a group it does not hold only for a signed-in user. Without a
// key it needs no session and previews only groups the node holds.
func (c *Client) Preview(ctx context.Context, token string) (*api.InvitePreview, error) {
	token = strings.TrimSpace(token)
	if i := strings.LastIndexAny(token, "#/"); i >= 0 {
		token = token[i+1:]
	}
	if token == "" {
		return nil, &protocol.Error{Code: protocol.CodeInvalid, Msg: "this is not a qun invite token (it is empty)"}
	}
	var p api.InvitePreview
	path := "/api/v1/invites/preview?" + url.Values{"token": {token}}.Encode()
	auth := noSession
	if c.key != nil {
		auth = withSession
	}
	if err := c.do(ctx, http.MethodGet, path, auth, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// MyGroups lists the groups of the node where the client's user is a member
// (with its role, the announcement, the pins and the first unread seq), and
// the groups where it has an open join request (Pending).
func (c *Client) MyGroups(ctx context.Context) ([]api.MyGroup, error) {
	var gs []api.MyGroup
	if err := c.do(ctx, http.MethodGet, "/api/v1/me/groups", withSession, nil, &gs); err != nil {
		return nil, err
	}
	return gs, nil
}

// EventsBefore returns the page of at most limit events just before seq
// before (0: the newest events), in ascending seq order; page.Prev is the
// before of the next older page, 0 when the page starts at seq 1. limit 0
// means the node's default (100); at most MaxEventsLimit.
func (c *Client) EventsBefore(ctx context.Context, gid protocol.GroupID, before uint64, limit int) (*api.BackwardPage, error) {
	if limit < 0 || limit > MaxEventsLimit {
		return nil, fmt.Errorf("client: events limit %d is not between 0 and %d", limit, MaxEventsLimit)
	}
	q := url.Values{"before": {strconv.FormatUint(before, 10)}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var p api.BackwardPage
	if err := c.do(ctx, http.MethodGet, "/api/v1/groups/"+gid.String()+"/events?"+q.Encode(), withSession, nil, &p); err != nil {
		return nil, err
	}
	for i, ev := range p.Events {
		if (before > 0 && ev.Seq >= before) || (i > 0 && ev.Seq <= p.Events[i-1].Seq) {
			return nil, fmt.Errorf("the qun node at %s answered events before %d with event %d out of place", c.base, before, ev.Seq)
		}
	}
	if len(p.Events) > 0 && p.Prev > p.Events[0].Seq {
		return nil, fmt.Errorf("the qun node at %s answered a page from %d whose older page is before %d", c.base, p.Events[0].Seq, p.Prev)
	}
	return &p, nil
}

// Backward iterates over a group's events from the newest before seq before
// (0: the newest of all) back to seq 1, newest first, fetching pages of
// pageSize events (0: MaxEventsLimit) as it goes: what a chat shows when
// its user scrolls up. An error ends the iteration after being yielded
// once.
func (c *Client) Backward(ctx context.Context, gid protocol.GroupID, before uint64, pageSize int) iter.Seq2[api.EventView, error] {
	return func(yield func(api.EventView, error) bool) {
		if pageSize <= 0 || pageSize > MaxEventsLimit {
			pageSize = MaxEventsLimit
		}
		for {
			page, err := c.EventsBefore(ctx, gid, before, pageSize)
			if err != nil {
				yield(api.EventView{}, err)
				return
			}
			for i := len(page.Events) - 1; i >= 0; i-- {
				if !yield(page.Events[i], nil) {
					return
				}
			}
			if page.Prev == 0 || len(page.Events) == 0 {
				return
			}
			before = page.Prev
		}
	}
}

// Last returns the last n events of a group (all of them if it has fewer),
// in seq order, reading backward pages from the newest.
func (c *Client) Last(ctx context.Context, gid protocol.GroupID, n int) ([]api.EventView, error) {
	if n <= 0 {
		return nil, nil
	}
	var pages [][]api.EventView // newest page first
	got, before := 0, uint64(0)
	for got < n {
		page, err := c.EventsBefore(ctx, gid, before, min(n-got, MaxEventsLimit))
		if err != nil {
			return nil, err
		}
		pages = append(pages, page.Events)
		got += len(page.Events)
		if page.Prev == 0 || len(page.Events) == 0 {
			break
		}
		before = page.Prev
	}
	out := make([]api.EventView, 0, got)
	for i := len(pages) - 1; i >= 0; i-- {
		out = append(out, pages[i]...)
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out, nil
}
