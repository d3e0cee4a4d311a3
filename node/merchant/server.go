package merchant

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/qunchat/qun/node/light"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// Backend is what the merchant API needs of its node.
type Backend interface {
	// SessionUser returns the user of a light-client session token.
	SessionUser(token string) (protocol.UserID, error)
	// IsNodeAdmin reports whether user is one of the node's admins.
	IsNodeAdmin(user protocol.UserID) bool
	// Allow takes one request from the rate limit of key.
	Allow(key string) bool

	// Service describes the service key and its groups.
	Service() (api.ServiceInfo, error)
	// CreateGroup creates a group hosted here, owned by the service key.
	CreateGroup(ctx context.Context, req api.MerchantGroupRequest) (api.MerchantGroup, error)
	// OrderInvite makes (or, for an order that has one, answers again)
	// an invite of gid bound to an order, its link under base.
	OrderInvite(ctx context.Context, gid protocol.GroupID, req api.OrderInviteRequest, base string) (api.OrderInvite, error)

	// SetRules sets a group's automation rules, signed by the service key.
	SetRules(ctx context.Context, gid protocol.GroupID, rules api.RulesView) (api.MerchantGroup, error)

	// Broadcast schedules a message or announcement to many groups.
	Broadcast(ctx context.Context, req api.BroadcastRequest) (api.Broadcast, error)
	// BroadcastStatus describes a broadcast.
	BroadcastStatus(id string) (api.Broadcast, error)

	// CreateFamily makes a live code; Family describes one.
	CreateFamily(ctx context.Context, req api.FamilyRequest, base string) (api.Family, error)
	Family(id, base string) (api.Family, error)
	// LiveJoin says where a live code sends user now (user may be zero).
	LiveJoin(ctx context.Context, code string, user protocol.UserID) (api.LiveJoin, error)

	// Analytics are a hosted group's figures for the last days;
	// FamilyAnalytics those of a live code's groups added up.
	Analytics(gid protocol.GroupID, days int) (api.Analytics, error)
	FamilyAnalytics(id string, days int) (api.Analytics, error)

	// RegisterWebhook, Webhooks, RemoveWebhook and WebhookLog manage the
	// webhooks out.
	RegisterWebhook(ctx context.Context, req api.WebhookRequest) (api.Webhook, error)
	Webhooks() []api.Webhook
	RemoveWebhook(id string) error
	WebhookLog(id string) (api.WebhookLog, error)

	// OpenOrder makes the group of an order (or answers the one it has).
	OpenOrder(ctx context.Context, req api.OrderGroupRequest, base string) (api.OrderGroup, error)
	// Order describes an order's group.
	Order(order, base string) (api.OrderGroup, error)
	// SetOrderState moves an order's group to a later state.
	SetOrderState(ctx context.Context, order string, req api.OrderStateRequest, base string) (api.OrderGroup, error)
}

// Server is the merchant API of one node.
type Server struct {
	b      Backend
	tokens *Tokens
	// PublicURL, when set, is the base of the links the API hands out;
	// otherwise they are made from the request's own address.
	publicURL string
}

// New returns the merchant API of b, with its tokens; links start with
// publicURL ("" for the address each request was sent to).
func New(b Backend, tokens *Tokens, publicURL string) *Server {
	return &Server{b: b, tokens: tokens, publicURL: strings.TrimSuffix(publicURL, "/")}
}

// caller is who sent a request: a node admin's session (all scopes, and
// the management of tokens) or an API token (its scopes).
type caller struct {
	admin protocol.UserID // set for a session
	token *Token          // set for an API token
}

func (c caller) allows(s Scope) bool { return !c.admin.IsZero() || c.token.Allows(s) }

type handler func(w http.ResponseWriter, r *http.Request, c caller)

// Handler routes /api/v1/merchant/.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/merchant/tokens", s.adminOnly(s.createToken))
	mux.HandleFunc("GET /api/v1/merchant/tokens", s.adminOnly(s.listTokens))
	mux.HandleFunc("DELETE /api/v1/merchant/tokens/{id}", s.adminOnly(s.revokeToken))
	mux.HandleFunc("GET /api/v1/merchant/service", s.authed("", s.service))
	mux.HandleFunc("POST /api/v1/merchant/groups", s.authed(ScopeGroups, s.createGroup))
	mux.HandleFunc("POST /api/v1/merchant/groups/{gid}/order-invites", s.authed(ScopeInvites, s.orderInvite))
	mux.HandleFunc("PUT /api/v1/merchant/groups/{gid}/rules", s.authed(ScopeGroups, s.setRules))
	mux.HandleFunc("POST /api/v1/merchant/broadcasts", s.authed(ScopeGroups, s.broadcast))
	mux.HandleFunc("GET /api/v1/merchant/broadcasts/{id}", s.authed(ScopeGroups, s.broadcastStatus))
	mux.HandleFunc("GET /api/v1/merchant/groups/{gid}/analytics", s.authed(ScopeGroups, s.groupAnalytics))
	mux.HandleFunc("GET /api/v1/merchant/families/{id}/analytics", s.authed(ScopeGroups, s.familyAnalytics))
	mux.HandleFunc("POST /api/v1/merchant/families", s.authed(ScopeGroups, s.createFamily))
	mux.HandleFunc("GET /api/v1/merchant/families/{id}", s.authed(ScopeGroups, s.getFamily))
	mux.HandleFunc("POST /api/v1/merchant/webhooks", s.authed(ScopeWebhooks, s.registerWebhook))
	mux.HandleFunc("GET /api/v1/merchant/webhooks", s.authed(ScopeWebhooks, s.listWebhooks))
	mux.HandleFunc("DELETE /api/v1/merchant/webhooks/{id}", s.authed(ScopeWebhooks, s.removeWebhook))
	mux.HandleFunc("GET /api/v1/merchant/webhooks/{id}/deliveries", s.authed(ScopeWebhooks, s.webhookLog))
	mux.HandleFunc("POST /api/v1/merchant/orders", s.authed(ScopeOrders, s.openOrder))
	mux.HandleFunc("GET /api/v1/merchant/orders/{order}", s.authed(ScopeOrders, s.getOrder))
	mux.HandleFunc("POST /api/v1/merchant/orders/{order}/state", s.authed(ScopeOrders, s.orderState))
	mux.HandleFunc("/api/v1/merchant/", func(w http.ResponseWriter, r *http.Request) {
		light.WriteError(w, protocol.Errorf(protocol.CodeNotFound, "no merchant API endpoint %s %s (docs/MERCHANT.md lists them)", r.Method, r.URL.Path))
	})
	return mux
}

// authenticate finds the caller of a request: "Authorization: Bearer"
// with an API token or a node admin's session token.
func (s *Server) authenticate(r *http.Request) (caller, error) {
	auth := r.Header.Get("Authorization")
	cred, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || cred == "" {
		return caller{}, protocol.Errorf(protocol.CodeUnauthenticated, "the merchant API needs \"Authorization: Bearer TOKEN\": an API token (qun token create) or a node admin's session")
	}
	if IsToken(cred) {
		tok, err := s.tokens.Check(cred)
		if err != nil {
			return caller{}, err
		}
		return caller{token: tok}, nil
	}
	user, err := s.b.SessionUser(cred)
	if err != nil {
		return caller{}, err
	}
	if !s.b.IsNodeAdmin(user) {
		return caller{}, protocol.Errorf(protocol.CodeForbidden, "the merchant API is for the node's admins and its API tokens; %s is neither", user)
	}
	return caller{admin: user}, nil
}

// authed requires a caller with scope (none: any caller) and applies the
// request rate per client address and per credential.
func (s *Server) authed(scope Scope, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.b.Allow("addr " + light.ClientAddr(r)) {
			light.WriteError(w, protocol.Errorf(protocol.CodeRateLimited, "too many requests; slow down"))
			return
		}
		c, err := s.authenticate(r)
		if err != nil {
			light.WriteError(w, err)
			return
		}
		key := "session " + c.admin.String()
		if c.token != nil {
			key = "token " + c.token.ID
		}
		if !s.b.Allow(key) {
			light.WriteError(w, protocol.Errorf(protocol.CodeRateLimited, "too many requests; slow down"))
			return
		}
		if scope != "" && !c.allows(scope) {
			light.WriteError(w, protocol.Errorf(protocol.CodeForbidden, "the API token %q has no scope %q (its scopes: %s)", c.token.Name, scope, joinScopes(c.token.Scopes)))
			return
		}
		h(w, r, c)
	}
}

// adminOnly requires a node admin's session: a token cannot make tokens.
func (s *Server) adminOnly(h handler) http.HandlerFunc {
	return s.authed("", func(w http.ResponseWriter, r *http.Request, c caller) {
		if c.admin.IsZero() {
			light.WriteError(w, protocol.Errorf(protocol.CodeForbidden, "API tokens are managed by the node's admins, signed in with their key (qun token create), not with a token"))
			return
		}
		h(w, r, c)
	})
}

func joinScopes(sc []Scope) string {
	var b []string
	for _, s := range sc {
		b = append(b, string(s))
	}
	return strings.Join(b, ", ")
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, _ caller) {
	var req api.TokenRequest
	if err := light.DecodeBody(w, r, &req); err != nil {
		light.WriteError(w, err)
		return
	}
	tok, err := s.tokens.Create(req.Name, req.Scopes)
	if err != nil {
		light.WriteError(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	light.WriteJSON(w, http.StatusCreated, tok)
}

func (s *Server) listTokens(w http.ResponseWriter, _ *http.Request, _ caller) {
	light.WriteJSON(w, http.StatusOK, api.TokenList{Tokens: s.tokens.List()})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, _ caller) {
	if err := s.tokens.Revoke(r.PathValue("id")); err != nil {
		light.WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) service(w http.ResponseWriter, _ *http.Request, _ caller) {
	info, err := s.b.Service()
	if err != nil {
		light.WriteError(w, err)
		return
	}
	light.WriteJSON(w, http.StatusOK, info)
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request, _ caller) {
	var req api.MerchantGroupRequest
	if err := light.DecodeBody(w, r, &req); err != nil {
		light.WriteError(w, err)
		return
	}
	g, err := s.b.CreateGroup(r.Context(), req)
	if err != nil {
		light.WriteError(w, err)
		return
	}
	light.WriteJSON(w, http.StatusCreated, g)
}

func (s *Server) orderInvite(w http.ResponseWriter, r *http.Request, _ caller) {
	gid, err := light.PathGroup(r)
	if err != nil {
		light.WriteError(w, err)
		return
	}
	var req api.OrderInviteRequest
	if err := light.DecodeBody(w, r, &req); err != nil {
		light.WriteError(w, err)
		return
	}
	inv, err := s.b.OrderInvite(r.Context(), gid, req, s.base(r))
	if err != nil {
		light.WriteError(w, err)
		return
	}
	status := http.StatusCreated
	if inv.Existing {
		status = http.StatusOK
	}
	light.WriteJSON(w, status, inv)
}

func (s *Server) setRules(w http.ResponseWriter, r *http.Request, _ caller) {
	gid, err := light.PathGroup(r)
	if err != nil {
		light.WriteError(w, err)
		return
	}
	var req api.RulesView
	if err := light.DecodeBody(w, r, &req); err != nil {
		light.WriteError(w, err)
		return
	}
	g, err := s.b.SetRules(r.Context(), gid, req)
	if err != nil {
		light.WriteError(w, err)
		return
	}
	light.WriteJSON(w, http.StatusOK, g)
}

func (s *Server) broadcast(w http.ResponseWriter, r *http.Request, _ caller) {
	var req api.BroadcastRequest
	if err := light.DecodeBody(w, r, &req); err != nil {
		light.WriteError(w, err)
		return
	}
	b, err := s.b.Broadcast(r.Context(), req)
	if err != nil {
		light.WriteError(w, err)
		return
	}
	light.WriteJSON(w, http.StatusAccepted, b)
}

func (s *Server) broadcastStatus(w http.ResponseWriter, r *http.Request, _ caller) {
	b, err := s.b.BroadcastStatus(r.PathValue("id"))
	if err != nil {
		light.WriteError(w, err)
		return
	}
	light.WriteJSON(w, http.StatusOK, b)
}

func (s *Server) registerWebhook(w http.ResponseWriter, r *http.Request, _ caller) {
	var req api.WebhookRequest
	if err := light.DecodeBody(w, r, &req); err != nil {
		light.WriteError(w, err)
		return
	}
	h, err := s.b.RegisterWebhook(r.Context(), req)
	if err != nil {
		light.WriteError(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	light.WriteJSON(w, http.StatusCreated, h)
}

func (s *Server) listWebhooks(w http.ResponseWriter, _ *http.Request, _ caller) {
	light.WriteJSON(w, http.StatusOK, api.WebhookList{Webhooks: s.b.Webhooks()})
}

func (s *Server) removeWebhook(w http.ResponseWriter, r *http.Request, _ caller) {
	if err := s.b.RemoveWebhook(r.PathValue("id")); err != nil {
		light.WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) webhookLog(w http.ResponseWriter, r *http.Request, _ caller) {
	l, err := s.b.WebhookLog(r.PathValue("id"))
	if err != nil {
		light.WriteError(w, err)
		return
	}
	light.WriteJSON(w, http.StatusOK, l)
}

func (s *Server) openOrder(w http.ResponseWriter, r *http.Request, _ caller) {
	var req api.OrderGroupRequest
	if err := light.DecodeBody(w, r, &req); err != nil {
		light.WriteError(w, err)
		return
	}
	g, err := s.b.OpenOrder(r.Context(), req, s.base(r))
	if err != nil {
		light.WriteError(w, err)
		return
	}
	status := http.StatusCreated
	if g.Existing {
		status = http.StatusOK
	}
	light.WriteJSON(w, status, g)
}

func (s *Server) getOrder(w http.ResponseWriter, r *http.Request, _ caller) {
	g, err := s.b.Order(r.PathValue("order"), s.base(r))
	if err != nil {
		light.WriteError(w, err)
		return
	}
	light.WriteJSON(w, http.StatusOK, g)
}

func (s *Server) orderState(w http.ResponseWriter, r *http.Request, _ caller) {
	var req api.OrderStateRequest
	if err := light.DecodeBody(w, r, &req); err != nil {
		light.WriteError(w, err)
		return
	}
	g, err := s.b.SetOrderState(r.Context(), r.PathValue("order"), req, s.base(r))
	if err != nil {
		light.WriteError(w, err)
		return
	}
	light.WriteJSON(w, http.StatusOK, g)
}

// analyticsQuery reads ?days (default 30) and ?format (json or csv).
func analyticsQuery(r *http.Request) (days int, csv bool, err error) {
	days = 30
	if v := r.URL.Query().Get("days"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n <= 0 {
			return 0, false, protocol.Errorf(protocol.CodeInvalid, "days must be a whole number of days, not %.20q", v)
		}
		days = n
	}
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
	case "csv":
		csv = true
	default:
		return 0, false, protocol.Errorf(protocol.CodeInvalid, "format is json or csv, not %.20q", f)
	}
	return days, csv, nil
}

func writeAnalytics(w http.ResponseWriter, a api.Analytics, csv bool, name string) {
	if !csv {
		light.WriteJSON(w, http.StatusOK, a)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(CSV(a)))
}

func (s *Server) groupAnalytics(w http.ResponseWriter, r *http.Request, _ caller) {
	gid, err := light.PathGroup(r)
	if err != nil {
		light.WriteError(w, err)
		return
	}
	days, csv, err := analyticsQuery(r)
	if err != nil {
		light.WriteError(w, err)
		return
	}
	a, err := s.b.Analytics(gid, days)
	if err != nil {
		light.WriteError(w, err)
		return
	}
	writeAnalytics(w, a, csv, "group-"+gid.String()[:12])
}

func (s *Server) familyAnalytics(w http.ResponseWriter, r *http.Request, _ caller) {
	days, csv, err := analyticsQuery(r)
	if err != nil {
		light.WriteError(w, err)
		return
	}
	a, err := s.b.FamilyAnalytics(r.PathValue("id"), days)
	if err != nil {
		light.WriteError(w, err)
		return
	}
	writeAnalytics(w, a, csv, "live-code-"+r.PathValue("id"))
}

func (s *Server) createFamily(w http.ResponseWriter, r *http.Request, _ caller) {
	var req api.FamilyRequest
	if err := light.DecodeBody(w, r, &req); err != nil {
		light.WriteError(w, err)
		return
	}
	f, err := s.b.CreateFamily(r.Context(), req, s.base(r))
	if err != nil {
		light.WriteError(w, err)
		return
	}
	light.WriteJSON(w, http.StatusCreated, f)
}

func (s *Server) getFamily(w http.ResponseWriter, r *http.Request, _ caller) {
	f, err := s.b.Family(r.PathValue("id"), s.base(r))
	if err != nil {
		light.WriteError(w, err)
		return
	}
	light.WriteJSON(w, http.StatusOK, f)
}

// LiveHandler serves live codes to anyone: GET /api/v1/live/{code}
// (?user=USERID: the group that user is in already, if any) and, for
// browsers, GET /l/{code}, a redirect to the web client's join page.
func (s *Server) LiveHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/live/{code}", s.limited(func(w http.ResponseWriter, r *http.Request) {
		var user protocol.UserID
		if u := r.URL.Query().Get("user"); u != "" {
			var err error
			if user, err = protocol.ParseUserID(u); err != nil {
				light.WriteError(w, protocol.Errorf(protocol.CodeInvalid, "user: %v", err))
				return
			}
		}
		j, err := s.b.LiveJoin(r.Context(), r.PathValue("code"), user)
		if err != nil {
			light.WriteError(w, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		light.WriteJSON(w, http.StatusOK, j)
	}))
	mux.HandleFunc("GET /l/{code}", s.limited(func(w http.ResponseWriter, r *http.Request) {
		j, err := s.b.LiveJoin(r.Context(), r.PathValue("code"), protocol.UserID{})
		if err != nil {
			light.WriteError(w, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, "/join#"+j.Token, http.StatusFound)
	}))
	return mux
}

// limited applies the per-address request rate.
func (s *Server) limited(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.b.Allow("addr " + light.ClientAddr(r)) {
			light.WriteError(w, protocol.Errorf(protocol.CodeRateLimited, "too many requests; slow down"))
			return
		}
		h(w, r)
	}
}

// base is the start of the links handed out: the public URL, or the
// address the request came to.
func (s *Server) base(r *http.Request) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
