package client

import (
	"context"
	"net/url"
	"strconv"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// The merchant API (docs/MERCHANT.md). Token management needs a node
// admin's key; the other calls take an admin's key or an API token
// (WithAPIToken).

// CreateToken makes an API token with scopes ("groups", "invites",
// "webhooks"). Its secret, in the answer, is never shown again.
func (c *Client) CreateToken(ctx context.Context, name string, scopes []string) (*api.NewToken, error) {
	var out api.NewToken
	if err := c.do(ctx, "POST", "/api/v1/merchant/tokens", withSession, api.TokenRequest{Name: name, Scopes: scopes}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Tokens lists the node's API tokens, without their secrets.
func (c *Client) Tokens(ctx context.Context) ([]api.TokenView, error) {
	var out api.TokenList
	if err := c.do(ctx, "GET", "/api/v1/merchant/tokens", withSession, nil, &out); err != nil {
		return nil, err
	}
	return out.Tokens, nil
}

// RevokeToken revokes the API token with id.
func (c *Client) RevokeToken(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/api/v1/merchant/tokens/"+id, withSession, nil, nil)
}

// Service describes the node's service key and its groups.
func (c *Client) Service(ctx context.Context) (*api.ServiceInfo, error) {
	var out api.ServiceInfo
	if err := c.do(ctx, "GET", "/api/v1/merchant/service", withSession, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateMerchantGroup creates a group hosted by the node and owned by its
// service key.
func (c *Client) CreateMerchantGroup(ctx context.Context, req api.MerchantGroupRequest) (*api.MerchantGroup, error) {
	var out api.MerchantGroup
	if err := c.do(ctx, "POST", "/api/v1/merchant/groups", withSession, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// OrderInvite makes the invite of an order (or returns the one the order
// has: Existing).
func (c *Client) OrderInvite(ctx context.Context, gid protocol.GroupID, req api.OrderInviteRequest) (*api.OrderInvite, error) {
	var out api.OrderInvite
	if err := c.do(ctx, "POST", "/api/v1/merchant/groups/"+gid.String()+"/order-invites", withSession, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// OpenOrder opens the group of an order (or returns the one it has:
// Existing).
func (c *Client) OpenOrder(ctx context.Context, req api.OrderGroupRequest) (*api.OrderGroup, error) {
	var out api.OrderGroup
	if err := c.do(ctx, "POST", "/api/v1/merchant/orders", withSession, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Order describes the group of an order.
func (c *Client) Order(ctx context.Context, order string) (*api.OrderGroup, error) {
	var out api.OrderGroup
	if err := c.do(ctx, "GET", "/api/v1/merchant/orders/"+url.PathEscape(order), withSession, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetOrderState moves the group of an order on.
func (c *Client) SetOrderState(ctx context.Context, order string, req api.OrderStateRequest) (*api.OrderGroup, error) {
	var out api.OrderGroup
	if err := c.do(ctx, "POST", "/api/v1/merchant/orders/"+url.PathEscape(order)+"/state", withSession, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetRules sets a group's automation rules (protocol 1.4), signed with the
// client's key (an admin's); an empty RulesView clears them.
func (c *Client) SetRules(ctx context.Context, gid protocol.GroupID, v api.RulesView) (*api.SubmitResponse, error) {
	r, err := v.Rules()
	if err != nil {
		return nil, err
	}
	return c.Submit(ctx, protocol.KindRules, gid, &protocol.RulesBody{Rules: r})
}

// SetMerchantRules sets a group's rules through the merchant API, signed
// by the node's service key.
func (c *Client) SetMerchantRules(ctx context.Context, gid protocol.GroupID, v api.RulesView) (*api.MerchantGroup, error) {
	var out api.MerchantGroup
	if err := c.do(ctx, "PUT", "/api/v1/merchant/groups/"+gid.String()+"/rules", withSession, v, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Broadcast schedules one message or announcement to many groups; it is
// sent exactly once per group, also across a restart of the node.
func (c *Client) Broadcast(ctx context.Context, req api.BroadcastRequest) (*api.Broadcast, error) {
	var out api.Broadcast
	if err := c.do(ctx, "POST", "/api/v1/merchant/broadcasts", withSession, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// BroadcastStatus describes a broadcast.
func (c *Client) BroadcastStatus(ctx context.Context, id string) (*api.Broadcast, error) {
	var out api.Broadcast
	if err := c.do(ctx, "GET", "/api/v1/merchant/broadcasts/"+url.PathEscape(id), withSession, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateFamily makes a live code (活码): one link for a family of groups.
func (c *Client) CreateFamily(ctx context.Context, req api.FamilyRequest) (*api.Family, error) {
	var out api.Family
	if err := c.do(ctx, "POST", "/api/v1/merchant/families", withSession, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Family describes a live code and its groups.
func (c *Client) Family(ctx context.Context, id string) (*api.Family, error) {
	var out api.Family
	if err := c.do(ctx, "GET", "/api/v1/merchant/families/"+url.PathEscape(id), withSession, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LiveJoin asks where a live code sends the client's user now.
func (c *Client) LiveJoin(ctx context.Context, code string) (*api.LiveJoin, error) {
	path := "/api/v1/live/" + url.PathEscape(code)
	if c.key != nil {
		path += "?user=" + c.key.ID().String()
	}
	var out api.LiveJoin
	if err := c.do(ctx, "GET", path, noSession, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Confirm confirms reading the group's current announcement, the event
// with seq (GroupView.AnnouncedAt; protocol 1.4).
func (c *Client) Confirm(ctx context.Context, gid protocol.GroupID, seq uint64) (*api.SubmitResponse, error) {
	return c.Submit(ctx, protocol.KindConfirm, gid, protocol.NewTargetBody(protocol.KindConfirm, seq))
}

// Analytics returns a hosted group's figures for the last days (0: 30).
func (c *Client) Analytics(ctx context.Context, gid protocol.GroupID, days int) (*api.Analytics, error) {
	var out api.Analytics
	if err := c.do(ctx, "GET", "/api/v1/merchant/groups/"+gid.String()+"/analytics"+daysQuery(days), withSession, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// FamilyAnalytics returns a live code's figures, its groups as one.
func (c *Client) FamilyAnalytics(ctx context.Context, id string, days int) (*api.Analytics, error) {
	var out api.Analytics
	if err := c.do(ctx, "GET", "/api/v1/merchant/families/"+url.PathEscape(id)+"/analytics"+daysQuery(days), withSession, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func daysQuery(days int) string {
	if days <= 0 {
		return ""
	}
	return "?days=" + strconv.Itoa(days)
}

// Orders lists a page of the order groups by order ID (without their
// invites): at most limit (0: the server's default) after the order after,
// only those in state when it is set. The answer's Next is the after of
// the next page.
func (c *Client) Orders(ctx context.Context, state, after string, limit int) (*api.OrderList, error) {
	q := url.Values{}
	if state != "" {
		q.Set("state", state)
	}
	if after != "" {
		q.Set("after", after)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/api/v1/merchant/orders"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out api.OrderList
	if err := c.do(ctx, "GET", path, withSession, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Broadcasts lists the broadcasts, the latest first.
func (c *Client) Broadcasts(ctx context.Context) ([]api.Broadcast, error) {
	var out api.BroadcastList
	if err := c.do(ctx, "GET", "/api/v1/merchant/broadcasts", withSession, nil, &out); err != nil {
		return nil, err
	}
	return out.Broadcasts, nil
}

// Families lists the live codes.
func (c *Client) Families(ctx context.Context) ([]api.Family, error) {
	var out api.FamilyList
	if err := c.do(ctx, "GET", "/api/v1/merchant/families", withSession, nil, &out); err != nil {
		return nil, err
	}
	return out.Families, nil
}

// ShopProfileSettings reads the settings of the node's public profile.
func (c *Client) ShopProfileSettings(ctx context.Context) (*api.ShopProfileSettings, error) {
	var out api.ShopProfileSettings
	if err := c.do(ctx, "GET", "/api/v1/merchant/profile", withSession, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetShopProfile sets the node's public profile and the groups it lists.
func (c *Client) SetShopProfile(ctx context.Context, p api.ShopProfileSettings) (*api.ShopProfileSettings, error) {
	var out api.ShopProfileSettings
	if err := c.do(ctx, "PUT", "/api/v1/merchant/profile", withSession, p, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ShopProfile reads the node's public profile as anyone sees it (no
// session is needed).
func (c *Client) ShopProfile(ctx context.Context) (*api.ShopProfile, error) {
	var out api.ShopProfile
	if err := c.do(ctx, "GET", "/api/v1/profile", noSession, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetTags replaces the merchant's tags of a group (none clears them).
func (c *Client) SetTags(ctx context.Context, gid protocol.GroupID, tags []string) (*api.GroupTags, error) {
	if tags == nil {
		tags = []string{}
	}
	var out api.GroupTags
	if err := c.do(ctx, "PUT", "/api/v1/merchant/groups/"+gid.String()+"/tags", withSession, api.TagsRequest{Tags: tags}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
