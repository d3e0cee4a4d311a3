package node

// The node's side of the merchant API (node/merchant): the service key,
// which signs what the API does in groups as a visible admin member, and
// the actions behind the API — groups it owns, invites bound to orders.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/skip2/go-qrcode"

	"github.com/qunchat/qun/node/delivery"
	"github.com/qunchat/qun/node/merchant"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
	"github.com/qunchat/qun/storage"
)

// Limits of order invites.
const (
	// DefaultOrderInviteTTL and MaxOrderInviteTTL bound an order invite's
	// lifetime.
	DefaultOrderInviteTTL = 7 * 24 * time.Hour
	MaxOrderInviteTTL     = 90 * 24 * time.Hour
	// MaxOrderInviteUses bounds the people one order invite admits.
	MaxOrderInviteUses = 50
	// MaxOrderRefBytes bounds an order's ID and a buyer's reference.
	MaxOrderRefBytes = 60
	// metaOrder starts the group-scope meta key "order/ORDER" of the
	// invite made for an order.
	metaOrder = "order/"
	// orderQRSize is the side of an order invite's QR code, in pixels.
	orderQRSize = 320
)

// newMerchant opens the API tokens and the merchant API.
func (n *Node) newMerchant() error {
	tokens, err := merchant.OpenTokens(metaKV{n.store})
	if err != nil {
		return err
	}
	n.merchant = merchant.New(merchantBackend{n}, tokens, n.cfg.PublicURL)
	n.hooks, err = delivery.New(n.ctx, metaKV{n.store}, delivery.Options{
		MinBackoff: n.cfg.WebhookBackoff, Log: n.log.With("sub", "webhooks"),
	})
	return err
}

// apiHandler routes the merchant API and, for everything else, the
// light-client API and the web client.
func (n *Node) apiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/v1/merchant/", n.merchant.Handler())
	public := n.merchant.PublicHandler()
	mux.Handle("/api/v1/live/", public)
	mux.Handle("/l/", public)
	mux.Handle("/api/v1/profile", public)
	mux.Handle("/api/v1/profile/", public)
	mux.Handle("/", n.light.Handler())
	return mux
}

// ServiceID returns the user ID of the node's service key.
func (n *Node) ServiceID() protocol.UserID { return n.service.ID() }

// metaKV keeps the merchant API's records in the store's node scope.
type metaKV struct{ s *storage.Store }

func (m metaKV) Meta(key string) ([]byte, bool, error) { return m.s.Meta(storage.NodeScope, key) }
func (m metaKV) SetMeta(key string, val []byte) error {
	return m.s.SetMeta(storage.NodeScope, key, val)
}
func (m metaKV) MetaKeys(prefix string) ([]string, error) {
	return m.s.MetaKeys(storage.NodeScope, prefix)
}

// merchantBackend is the node as node/merchant sees it.
type merchantBackend struct{ n *Node }

var _ merchant.Backend = merchantBackend{}

func (b merchantBackend) SessionUser(token string) (protocol.UserID, error) {
	return b.n.light.User(token)
}
func (b merchantBackend) IsNodeAdmin(u protocol.UserID) bool { return b.n.admins[u] }
func (b merchantBackend) Allow(key string) bool              { return b.n.light.Allow(key) }

// Service lists the groups the service key is a member of.
func (b merchantBackend) Service() (api.ServiceInfo, error) {
	n := b.n
	me := n.service.ID()
	info := api.ServiceInfo{User: me.String(), Name: n.cfg.ServiceName, Groups: []api.ServiceGroupRef{}}
	gids, err := n.indexedGroups(me)
	if err != nil {
		return info, protocol.Errorf(protocol.CodeInternal, "reading the service's groups: %v", err)
	}
	for _, gid := range gids {
		n.withState(gid, func(g *group) {
			if m := g.state.Members[me]; m != nil && g.hosted {
				info.Groups = append(info.Groups, api.ServiceGroupRef{
					Group: gid.String(), Name: g.state.Name, Role: m.Role.String(), Members: len(g.state.Members),
					Policy: g.state.Policy.String(), Closed: g.state.ClosedAt != 0,
				})
			}
		})
	}
	sort.Slice(info.Groups, func(i, j int) bool { return info.Groups[i].Name < info.Groups[j].Name })
	for i := range info.Groups {
		gid, _ := protocol.ParseGroupID(info.Groups[i].Group)
		if info.Groups[i].Tags, err = n.groupTags(gid); err != nil {
			return info, err
		}
	}
	return info, nil
}

// serviceSubmit signs a submission with the service key and submits it
// here, as a light client of this node would.
func (n *Node) serviceSubmit(ctx context.Context, kind protocol.Kind, gid protocol.GroupID, body protocol.Body) (*protocol.SignedEvent, *protocol.SignedSubmission, error) {
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, err
	}
	s := &protocol.Submission{Group: gid, Kind: kind, Author: n.service.ID(), Time: nowMS(), Nonce: nonce, Body: body.Encode()}
	sub, err := s.Sign(n.service)
	if err != nil {
		return nil, nil, err
	}
	ev, err := n.Submit(ctx, sub.Raw, nil)
	return ev, sub, err
}

// CreateGroup creates a group hosted here, owned by the service key, with
// the service's display name in it.
func (b merchantBackend) CreateGroup(ctx context.Context, req api.MerchantGroupRequest) (api.MerchantGroup, error) {
	n := b.n
	settings := protocol.Settings{Name: &req.Name}
	if req.Description != "" {
		settings.Description = &req.Description
	}
	policy := protocol.PolicyInvite
	if req.Policy != "" {
		p, ok := protocol.ParsePolicy(req.Policy)
		if !ok {
			return api.MerchantGroup{}, protocol.Errorf(protocol.CodeInvalid, "policy %.20q is none of open, approval, invite", req.Policy)
		}
		policy = p
	}
	settings.Policy = &policy
	if req.Cap != 0 {
		settings.Cap = &req.Cap
	}
	if strings.TrimSpace(req.Name) == "" {
		return api.MerchantGroup{}, protocol.Errorf(protocol.CodeInvalid, "a group needs a name")
	}
	ev, sub, err := n.serviceSubmit(ctx, protocol.KindCreate, protocol.GroupID{}, &protocol.CreateBody{Settings: settings, Host: n.id})
	if err != nil {
		return api.MerchantGroup{}, err
	}
	gid := sub.GroupID()
	if _, _, err := n.serviceSubmit(ctx, protocol.KindProfile, gid, protocol.NewProfileBody(protocol.Profile{Name: n.cfg.ServiceName})); err != nil {
		n.log.Warn("merchant: the service's name was not set in a new group", "group", gid, "err", err)
	}
	return api.MerchantGroup{Group: gid.String(), Seq: ev.Seq}, nil
}

// SetRules sets a group's automation rules, signed by the service key
// (which must be an admin of the group, as for anyone).
func (b merchantBackend) SetRules(ctx context.Context, gid protocol.GroupID, v api.RulesView) (api.MerchantGroup, error) {
	r, err := v.Rules()
	if err != nil {
		return api.MerchantGroup{}, err
	}
	ev, _, err := b.n.serviceSubmit(ctx, protocol.KindRules, gid, &protocol.RulesBody{Rules: r})
	if err != nil {
		return api.MerchantGroup{}, err
	}
	return api.MerchantGroup{Group: gid.String(), Seq: ev.Seq}, nil
}

// orderRecord is what the host keeps of an invite the merchant API made
// (group meta "order/KEY"): enough to answer the same request again.
type orderRecord struct {
	Invite []byte `json:"invite"` // the signed invite
	Handle string `json:"handle"`
	Buyer  string `json:"buyer,omitempty"`
	Ref    string `json:"ref"`
}

// orderLocks serialises the requests for one order, so that two at once
// make one invite.
type orderLocks struct {
	mu   sync.Mutex
	busy map[string]chan struct{}
}

func (l *orderLocks) lock(ctx context.Context, key string) (unlock func(), err error) {
	for {
		l.mu.Lock()
		if l.busy == nil {
			l.busy = map[string]chan struct{}{}
		}
		ch, taken := l.busy[key]
		if !taken {
			ch = make(chan struct{})
			l.busy[key] = ch
			l.mu.Unlock()
			return func() {
				l.mu.Lock()
				delete(l.busy, key)
				l.mu.Unlock()
				close(ch)
			}, nil
		}
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// checkOrderText refuses an order ID or buyer reference that is empty
// (when required), too long, or not text on one line.
func checkOrderText(what, s string, required bool) error {
	switch {
	case s == "" && required:
		return protocol.Errorf(protocol.CodeInvalid, "%s is required", what)
	case len(s) > MaxOrderRefBytes || !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return protocol.Errorf(protocol.CodeInvalid, "%s is at most %d bytes of text on one line", what, MaxOrderRefBytes)
	case strings.TrimSpace(s) != s:
		return protocol.Errorf(protocol.CodeInvalid, "%s starts or ends with white space", what)
	}
	return nil
}

// OrderInvite makes the invite of an order: signed by the service key,
// registered with the group, its reference kept on the host for the
// admins, a short link, and a QR code. An order that has an invite gets
// the same one again.
func (b merchantBackend) OrderInvite(ctx context.Context, gid protocol.GroupID, req api.OrderInviteRequest, base string) (api.OrderInvite, error) {
	if err := checkOrderText("the order", req.Order, true); err != nil {
		return api.OrderInvite{}, err
	}
	if err := checkOrderText("the buyer reference", req.Buyer, false); err != nil {
		return api.OrderInvite{}, err
	}
	uses := req.Uses
	if uses == 0 {
		uses = 1
	}
	if uses > MaxOrderInviteUses {
		return api.OrderInvite{}, protocol.Errorf(protocol.CodeInvalid, "an order invite admits at most %d people, not %d", MaxOrderInviteUses, uses)
	}
	ttl := DefaultOrderInviteTTL
	if req.ExpiresIn != 0 {
		if req.ExpiresIn > uint64(MaxOrderInviteTTL/time.Second) {
			return api.OrderInvite{}, protocol.Errorf(protocol.CodeInvalid, "an order invite lasts at most %d seconds (90 days)", uint64(MaxOrderInviteTTL/time.Second))
		}
		ttl = time.Duration(req.ExpiresIn) * time.Second
	}
	inv, err := b.n.keyedInvite(ctx, gid, req.Order, req.Buyer, orderRef(req.Order, req.Buyer), uses, ttl, base)
	inv.Order = req.Order
	return inv, err
}

// keyedInvite makes the invite of gid kept under key (an order), or
// answers the one made before for it (with the buyer and ref it was made
// with): signed by the service key, registered with the group, ref kept
// on the host for the admins, a short link under base and a QR code.
func (n *Node) keyedInvite(ctx context.Context, gid protocol.GroupID, key, buyer, ref string, uses uint32, ttl time.Duration, base string) (api.OrderInvite, error) {
	inv, rec, existing, err := n.keyedSignedInvite(ctx, gid, key, buyer, ref, uses, ttl)
	if err != nil {
		return api.OrderInvite{}, err
	}
	out, err := inviteView(inv, rec.Ref, base, rec.Handle)
	out.Buyer, out.Existing = rec.Buyer, existing
	return out, err
}

// keyedSignedInvite is keyedInvite without the view: the signed invite,
// its record, and whether it was made before.
func (n *Node) keyedSignedInvite(ctx context.Context, gid protocol.GroupID, key, buyer, ref string, uses uint32, ttl time.Duration) (*protocol.SignedInvite, orderRecord, bool, error) {
	g := n.group(gid)
	if g == nil {
		return nil, orderRecord{}, false, protocol.Errorf(protocol.CodeUnknownGroup, "this node does not know group %s", gid)
	}
	if !g.hosted {
		return nil, orderRecord{}, false, protocol.Errorf(protocol.CodeNotHost, "order invites are made by the group's host; this node is not the host of group %s", gid)
	}
	me := n.service.ID()
	g.mu.Lock()
	admin := g.state.IsAdmin(me)
	g.mu.Unlock()
	if !admin {
		return nil, orderRecord{}, false, protocol.Errorf(protocol.CodeForbidden, "the service key %s is not an admin of group %s: add it to the group and give it the admin role first (docs/MERCHANT.md)", me, gid)
	}

	unlock, err := n.orders.lock(ctx, gid.String()+"/"+key)
	if err != nil {
		return nil, orderRecord{}, false, err
	}
	defer unlock()
	mkey := metaOrder + key
	if raw, ok, err := n.store.Meta(gid, mkey); err != nil {
		return nil, orderRecord{}, false, storeError(err)
	} else if ok {
		var rec orderRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			return nil, orderRecord{}, false, protocol.Errorf(protocol.CodeInternal, "the stored invite %q is unreadable: %v", key, err)
		}
		inv, err := protocol.DecodeInvite(rec.Invite)
		if err != nil {
			return nil, orderRecord{}, false, protocol.Errorf(protocol.CodeInternal, "the stored invite %q is unreadable: %v", key, err)
		}
		return inv, rec, true, nil
	}

	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return nil, orderRecord{}, false, err
	}
	inv := protocol.Invite{
		Group: gid, Host: n.id, Addrs: protocol.InviteAddrs(n.Addrs()), Inviter: me,
		MaxUses: uses, Expires: uint64(time.Now().Add(ttl).UnixMilli()), Nonce: nonce,
	}
	signed, err := inv.Sign(n.service)
	if err != nil {
		return nil, orderRecord{}, false, fmt.Errorf("signing the invite: %w", err)
	}
	if _, _, err := n.serviceSubmit(ctx, protocol.KindInviteCreate, gid, &protocol.InviteCreateBody{Token: signed.Raw}); err != nil {
		return nil, orderRecord{}, false, err
	}
	if err := n.setInviteRef(me, gid, signed.ID, ref); err != nil {
		return nil, orderRecord{}, false, err
	}
	handle, err := n.RegisterShortInvite(signed, me)
	if err != nil {
		return nil, orderRecord{}, false, err
	}
	rec := orderRecord{Invite: signed.Raw, Handle: handle, Buyer: buyer, Ref: ref}
	raw, _ := json.Marshal(rec)
	if err := n.store.SetMeta(gid, mkey, raw); err != nil {
		return nil, orderRecord{}, false, storeError(err)
	}
	return signed, rec, false, nil
}

// orderRef is the reference the admins see on an order's invite and on
// the member who joined with it.
func orderRef(order, buyer string) string {
	if buyer == "" {
		return "order " + order
	}
	return "order " + order + " · buyer " + buyer
}

// inviteView is the answer for an invite made by the merchant API.
func inviteView(inv *protocol.SignedInvite, ref, base, handle string) (api.OrderInvite, error) {
	link := base + "/j/" + handle
	qr, err := qrPNG(link)
	if err != nil {
		return api.OrderInvite{}, err
	}
	return api.OrderInvite{
		Invite: inv.ID.String(), Group: inv.Group.String(), Ref: ref,
		Link: link, Token: inv.Token(), QR: qr,
		Uses: inv.MaxUses, Expires: inv.Expires,
	}, nil
}

// qrPNG is a QR code of link, a PNG in base64.
func qrPNG(link string) (string, error) {
	png, err := qrcode.Encode(link, qrcode.Medium, orderQRSize)
	if err != nil {
		return "", protocol.Errorf(protocol.CodeInternal, "drawing the QR code: %v", err)
	}
	return base64.StdEncoding.EncodeToString(png), nil
}
