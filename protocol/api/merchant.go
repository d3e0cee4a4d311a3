package api

// The merchant API (docs/MERCHANT.md): server-to-server calls of a
// merchant's own systems, authenticated with an API token, and the token
// management of the node's admins.

import "github.com/qunchat/qun/protocol"

// TokenRequest creates an API token.
type TokenRequest struct {
	// Name says what the token is for ("erp", "shop-backend"), 1 to 64
	// characters.
	Name string `json:"name"`
	// Scopes are what the token may do: "groups", "invites", "orders",
	// "webhooks".
	Scopes []string `json:"scopes"`
}

// TokenView describes an API token; its secret is never shown again.
type TokenView struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Scopes  []string `json:"scopes"`
	Created uint64   `json:"created"` // Unix milliseconds
}

// NewToken is the answer to a token's creation: the only time the token
// itself is shown.
type NewToken struct {
	TokenView
	// Token is the secret to send as "Authorization: Bearer TOKEN".
	Token string `json:"token"`
}

// TokenList lists a node's API tokens.
type TokenList struct {
	Tokens []TokenView `json:"tokens"`
}

// ServiceInfo describes the node's service key: the member that signs
// what the merchant API does in groups.
type ServiceInfo struct {
	User   string            `json:"user"`
	Name   string            `json:"name"`
	Groups []ServiceGroupRef `json:"groups"`
}

// ServiceGroupRef is a group hosted here in which the service key is a
// member, with its role there.
type ServiceGroupRef struct {
	Group   string `json:"group"`
	Name    string `json:"name"`
	Role    string `json:"role"`
	Members int    `json:"members"`
	Policy  string `json:"policy"`
	Closed  bool   `json:"closed,omitempty"`
	// Tags are the merchant's tags of the group (kept by the host only).
	Tags []string `json:"tags"`
}

// TagsRequest sets a group's tags (PUT /api/v1/merchant/groups/{gid}/tags).
type TagsRequest struct {
	Tags []string `json:"tags"`
}

// GroupTags is a group's tags as stored: trimmed, lower case, no repeats.
type GroupTags struct {
	Group string   `json:"group"`
	Tags  []string `json:"tags"`
}

// MerchantGroupRequest creates a group owned by the service key.
type MerchantGroupRequest struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Policy is "open", "approval" or "invite" (the default).
	Policy string `json:"policy,omitempty"`
	// Cap is the member cap (0: the default).
	Cap uint32 `json:"cap,omitempty"`
}

// MerchantGroup is a group the merchant API created.
type MerchantGroup struct {
	Group string `json:"group"`
	Seq   uint64 `json:"seq"`
}

// OrderInviteRequest asks for an invite bound to an order.
type OrderInviteRequest struct {
	// Order is the order's ID in the merchant's systems (required).
	Order string `json:"order"`
	// Buyer is an optional reference of the buyer in those systems (never
	// a phone number or an address: it is shown to the group's admins).
	Buyer string `json:"buyer,omitempty"`
	// Uses is how many people may join with it (default 1).
	Uses uint32 `json:"uses,omitempty"`
	// ExpiresIn is its lifetime in seconds (default 7 days, at most 90).
	ExpiresIn uint64 `json:"expires_in,omitempty"`
}

// OrderInvite is an invite bound to an order, ready to be sent.
type OrderInvite struct {
	Invite string `json:"invite"` // the invite's ID (hex)
	Group  string `json:"group"`
	Order  string `json:"order"`
	Buyer  string `json:"buyer,omitempty"`
	// Ref is the reference the group's admins see on the member who joins.
	Ref string `json:"ref"`
	// Link opens the web client's join page; Token is the bare invite
	// token (for where links are blocked); QR is a PNG of the link, base64.
	Link    string `json:"link"`
	Token   string `json:"token"`
	QR      string `json:"qr_png"`
	Uses    uint32 `json:"uses"`
	Expires uint64 `json:"expires"` // Unix milliseconds
	// Existing says the order had an invite already, which is answered
	// again (a retried request makes no second invite).
	Existing bool `json:"existing"`
}

// OrderGroupRequest opens the group of an order.
type OrderGroupRequest struct {
	// Order is the order's ID in the merchant's systems (required).
	Order string `json:"order"`
	// Buyer is an optional reference of the buyer (never a phone number or
	// an address: it is shown to the group's admins).
	Buyer string `json:"buyer,omitempty"`
	// Name is the group's name (default "Order ORDER").
	Name string `json:"name,omitempty"`
}

// OrderStateRequest moves an order group to a state: "dispatched",
// "delivered" or "closed".
type OrderStateRequest struct {
	State string `json:"state"`
	// CourierGrace is how long the courier keeps access after the
	// delivery, in seconds (default: the node's, 2 hours).
	CourierGrace *uint64 `json:"courier_grace,omitempty"`
	// CloseAfter is how long after the delivery the group closes, in
	// seconds (default: the node's, 7 days).
	CloseAfter *uint64 `json:"close_after,omitempty"`
}

// OrderGroup is an order's group and where it is in its life.
type OrderGroup struct {
	Order string `json:"order"`
	Buyer string `json:"buyer,omitempty"`
	Group string `json:"group"`
	State string `json:"state"`
	// States are the states so far with when each began (Unix ms).
	States []OrderStateChange `json:"states"`
	// BuyerInvite admits the buyer; StaffInvite the shop's staff (up to
	// 10); CourierInvite, from dispatch on, the courier (1 use). A closed
	// order's group takes no invites: none are shown.
	BuyerInvite   *OrderInvite `json:"buyer_invite,omitempty"`
	StaffInvite   *OrderInvite `json:"staff_invite,omitempty"`
	CourierInvite *OrderInvite `json:"courier_invite,omitempty"`
	// Courier is the courier's user ID once they joined.
	Courier string `json:"courier,omitempty"`
	// CourierUntil is when the courier is removed (Unix ms), from the
	// delivery on; CourierRemoved says it is done.
	CourierUntil   uint64 `json:"courier_until,omitempty"`
	CourierRemoved bool   `json:"courier_removed,omitempty"`
	// ClosesAt is when the group closes (Unix ms), from the delivery on.
	ClosesAt uint64 `json:"closes_at,omitempty"`
	// Existing says the order had its group already (a retried request).
	Existing bool `json:"existing,omitempty"`
}

// OrderStateChange is one state of an order and when it began.
type OrderStateChange struct {
	State string `json:"state"`
	At    uint64 `json:"at"`
}

// RulesView is a group's automation rules (protocol 1.4), as the API shows
// and takes them (PUT /api/v1/merchant/groups/{gid}/rules).
type RulesView struct {
	Welcome       string          `json:"welcome,omitempty"`
	Replies       []AutoReplyView `json:"replies,omitempty"`
	RefuseLinks   bool            `json:"refuse_links,omitempty"`
	RefuseWords   []string        `json:"refuse_words,omitempty"`
	RefuseMedia   bool            `json:"refuse_media,omitempty"`
	NewMemberDays uint32          `json:"new_member_days,omitempty"`
	Strikes       uint32          `json:"strikes,omitempty"`
	Action        string          `json:"action,omitempty"` // warn, mute, kick
	MuteMinutes   uint32          `json:"mute_minutes,omitempty"`
	// SlowSeconds is slow mode (since 1.5): one message per member below
	// admin in this many seconds.
	SlowSeconds uint32 `json:"slow_seconds,omitempty"`
}

// AutoReplyView is one keyword reply.
type AutoReplyView struct {
	Keyword string `json:"keyword"`
	Text    string `json:"text"`
}

// NewRulesView shows r (nil: nil).
func NewRulesView(r *protocol.Rules) *RulesView {
	if r == nil {
		return nil
	}
	v := &RulesView{
		Welcome: r.Welcome, RefuseLinks: r.RefuseLinks, RefuseWords: r.RefuseWords, RefuseMedia: r.RefuseMedia,
		NewMemberDays: r.NewMemberDays, Strikes: r.Strikes, Action: r.Action.String(), MuteMinutes: r.MuteMinutes, SlowSeconds: r.SlowSeconds,
	}
	for _, a := range r.Replies {
		v.Replies = append(v.Replies, AutoReplyView{Keyword: a.Keyword, Text: a.Text})
	}
	return v
}

// Rules returns the protocol's rules of v, checked as a rules event is.
func (v *RulesView) Rules() (protocol.Rules, error) {
	act, ok := protocol.ParseRuleAction(v.Action)
	if !ok {
		return protocol.Rules{}, protocol.Errorf(protocol.CodeInvalid, "the action %.20q is none of warn, mute, kick", v.Action)
	}
	r := protocol.Rules{
		Welcome: v.Welcome, RefuseLinks: v.RefuseLinks, RefuseWords: v.RefuseWords, RefuseMedia: v.RefuseMedia,
		NewMemberDays: v.NewMemberDays, Strikes: v.Strikes, Action: act, MuteMinutes: v.MuteMinutes, SlowSeconds: v.SlowSeconds,
	}
	for _, a := range v.Replies {
		r.Replies = append(r.Replies, protocol.AutoReply{Keyword: a.Keyword, Text: a.Text})
	}
	body := &protocol.RulesBody{Rules: r}
	if _, err := protocol.DecodeBody(protocol.KindRules, body.Encode()); err != nil {
		return protocol.Rules{}, err
	}
	return r, nil
}

// BroadcastRequest sends one message or announcement to many groups.
type BroadcastRequest struct {
	// Text is the message (or, with Announce, the announcement).
	Text     string `json:"text"`
	Announce bool   `json:"announce,omitempty"`
	// Link is a link sent with the message (a live stream's address).
	Link string `json:"link,omitempty"`
	// MentionAll mentions everyone in each group.
	MentionAll bool `json:"mention_all,omitempty"`
	// Groups are the groups; All: every group hosted here in which the
	// service key is a member. One of the two.
	Groups []string `json:"groups,omitempty"`
	All    bool     `json:"all,omitempty"`
	// Family sends it to every group of a live code.
	Family string `json:"family,omitempty"`
	// Tags send it to the service's groups with any of these tags.
	Tags []string `json:"tags,omitempty"`
	// At is when to send it (Unix ms; absent: now).
	At uint64 `json:"at,omitempty"`
}

// Broadcast is a broadcast and how far it got.
type Broadcast struct {
	ID string `json:"id"`
	// State is "scheduled", "sending" or "sent".
	State  string `json:"state"`
	At     uint64 `json:"at"`
	Groups int    `json:"groups"`
	Done   int    `json:"done"`
	// Failed are the groups that refused it, with why.
	Failed map[string]string `json:"failed,omitempty"`
	// Text and Announce are what it sends.
	Text     string `json:"text"`
	Announce bool   `json:"announce,omitempty"`
}

// BroadcastList lists the broadcasts (GET /api/v1/merchant/broadcasts),
// the latest first.
type BroadcastList struct {
	Broadcasts []Broadcast `json:"broadcasts"`
}

// OrderList is a page of the order groups (GET /api/v1/merchant/orders),
// by order ID; Next, when set, is the after= of the next page.
type OrderList struct {
	Orders []OrderGroup `json:"orders"`
	Next   string       `json:"next,omitempty"`
}

// FamilyList lists the live codes (GET /api/v1/merchant/families).
type FamilyList struct {
	Families []Family `json:"families"`
}

// FamilyRequest makes a live code (活码): one link for a family of groups
// that fill one after another.
type FamilyRequest struct {
	Name string `json:"name"`
	// Cap is how many people each group takes by the code (default 500,
	// at most 9,999); the service key's own seat is extra.
	Cap uint32 `json:"cap,omitempty"`
}

// Family is a live code and its groups.
type Family struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Cap  uint32 `json:"cap"`
	// Link is the live code's link (/l/CODE); QR a PNG of it, base64.
	Link   string        `json:"link"`
	Code   string        `json:"code"`
	QR     string        `json:"qr_png"`
	Shards []FamilyShard `json:"shards"`
	// Members are the people in all its groups (the service key aside).
	Members int `json:"members"`
}

// FamilyShard is one group of a family.
type FamilyShard struct {
	Group   string `json:"group"`
	Members int    `json:"members"` // the service key aside
}

// LiveJoin is where a live code sends someone now: the group to join and
// an invite token for it.
type LiveJoin struct {
	Group string `json:"group"`
	Token string `json:"token"`
	// Member is set when the user asked about is in one of the family's
	// groups already: that one.
	Member bool `json:"member,omitempty"`
}

// Analytics are a group's (or a live code's) figures per day, UTC.
type Analytics struct {
	Group  string `json:"group,omitempty"`
	Family string `json:"family,omitempty"`
	// Members now (the service key aside); Active7 and Active30 those who
	// wrote in the last 7 and 30 days.
	Members  int `json:"members"`
	Active7  int `json:"active_7d"`
	Active30 int `json:"active_30d"`
	// Days are the last days, oldest first.
	Days []AnalyticsDay `json:"days"`
	// Confirmed and Pending count the confirmations of the current
	// announcement.
	Confirmed int `json:"confirmed"`
	Pending   int `json:"pending"`
}

// AnalyticsDay is one day of a group.
type AnalyticsDay struct {
	Date string `json:"date"` // YYYY-MM-DD, UTC
	// Members at the end of the day.
	Members int `json:"members"`
	// Joins by source: "order" (an order's invite), "live" (a live code),
	// "invite" (another invite), "open" (no invite), "approval".
	Joins    map[string]int `json:"joins"`
	Leaves   int            `json:"leaves"`
	Removed  int            `json:"removed"` // kicks and bans
	Messages int            `json:"messages"`
}

// WebhookRequest registers a webhook.
type WebhookRequest struct {
	URL string `json:"url"`
	// Types are the event types it wants (all when absent).
	Types []string `json:"types,omitempty"`
}

// Webhook is a registered webhook; Secret is shown only when it is made.
type Webhook struct {
	ID      string   `json:"id"`
	URL     string   `json:"url"`
	Types   []string `json:"types"`
	Created uint64   `json:"created"`
	Secret  string   `json:"secret,omitempty"`
}

// WebhookList lists the webhooks.
type WebhookList struct {
	Webhooks []Webhook `json:"webhooks"`
}

// WebhookDelivery is one entry of a webhook's delivery log.
type WebhookDelivery struct {
	ID       string `json:"id"` // the Qun-Webhook-Id
	Type     string `json:"type"`
	Outcome  string `json:"outcome"` // delivered, failed
	Status   int    `json:"status,omitempty"`
	Attempts int    `json:"attempts"`
	Error    string `json:"error,omitempty"`
	At       uint64 `json:"at"`
}

// WebhookLog is a webhook's delivery log, newest first, and how many
// deliveries wait.
type WebhookLog struct {
	Deliveries []WebhookDelivery `json:"deliveries"`
	Pending    int               `json:"pending"`
}

// ShopProfileSettings are what the merchant sets of the node's public
// profile (GET and PUT /api/v1/merchant/profile).
type ShopProfileSettings struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Avatar is an image uploaded to this node (POST /api/v1/blobs?for=avatar).
	Avatar *BlobRefView `json:"avatar,omitempty"`
	// Groups are the groups the profile lists, in this order: hosted
	// here, open or by approval.
	Groups []string `json:"groups"`
}

// ShopProfile is the node's public profile (GET /api/v1/profile, no
// session): the merchant, and the groups one may join or apply to.
type ShopProfile struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Avatar is the path of the avatar's image (GET /api/v1/profile/avatar).
	Avatar string `json:"avatar,omitempty"`
	// Node is the node's peer ID; HostAddrs where other nodes reach it
	// (the host_addrs of a join request sent from another node).
	Node      string           `json:"node"`
	HostAddrs []string         `json:"host_addrs"`
	Groups    []DirectoryGroup `json:"groups"`
}

// DirectoryGroup is a group of a shop's profile as it is now.
type DirectoryGroup struct {
	Group       string `json:"group"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Avatar      string `json:"avatar,omitempty"`
	Members     int    `json:"members"`
	Cap         uint32 `json:"cap"`
	// Policy is "open" (join at once) or "approval" (send a join request).
	Policy string `json:"policy"`
	Full   bool   `json:"full,omitempty"`
	// Token, for an open group, is an invite to join it with: joins with
	// it count as coming from the directory.
	Token string `json:"token,omitempty"`
}
