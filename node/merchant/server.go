package merchant

import (
	"context"
	"net/http"
	"net/url"
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

	// SetTags replaces the merchant's tags of a group.
	SetTags(gid protocol.GroupID, tags []string) (api.GroupTags, error)

	// SetRules sets a group's automation rules, signed by the service key.
	SetRules(ctx context.Context, gid protocol.GroupID, rules api.RulesView) (api.MerchantGroup, error)

	// Broadcast schedules a message or announcement to many groups.
	Broadcast(ctx context.Context, req api.BroadcastRequest) (api.Broadcast, error)
	// Broadcasts lists the broadcasts, the latest first.
	Broadcasts() (api.BroadcastList, error)
	// BroadcastStatus describes a broadcast.
	BroadcastStatus(id string) (api.Broadcast, error)

	// CreateFamily makes a live code; Family describes one.
	CreateFamily(ctx context.Context, req api.FamilyRequest, base string) (api.Family, error)
	Family(id, base string) (api.Family, error)
	// Families lists the live codes.
	Families(base string) (api.FamilyList, error)
	// LiveJoin says where a live code sends user now (user may be zero).
	LiveJoin(ctx context.Context, code string, user protocol.UserID) (api.LiveJoin, error)

	// ProfileSettings and SetProfile read and set the node's public
	// profile; Profile is that profile as anyone sees it, ProfileAvatar its
	// image and media type.
	ProfileSettings() (api.ShopProfileSettings, error)
	SetProfile(ctx context.Context, p api.ShopProfileSettings) (api.ShopProfileSettings, error)
	Profile(ctx context.Context) (api.ShopProfile, error)
	ProfileAvatar() (data []byte, mime string, err error)

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
	// Orders lists the order groups by order ID: at most limit after
	// the order after, only those in state when it is set.
	Orders(state, after string, limit int) (api.OrderList, error)
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

// PublicHandler serves, to anyone, the node's profile (GET
// /api/v1/profile and its avatar, GET /api/v1/profile/avatar) and the live
// codes: GET /api/v1/live/{code} (?user=USERID: the group that user is in
// already, if any) and, for browsers, GET /l/{code}, a redirect to the web
// client's join page.
func (s *Server) PublicHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/profile", s.limited(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.b.Profile(r.Context())
		if err != nil {
			light.WriteError(w, err)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		light.WriteJSON(w, http.StatusOK, p)
	}))
	mux.HandleFunc("GET /api/v1/profile/avatar", s.limited(func(w http.ResponseWriter, r *http.Request) {
		data, mime, err := s.b.ProfileAvatar()
		if err != nil {
			light.WriteError(w, err)
			return
		}
		w.Header().Set("Content-Type", mime)
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(data)
	}))
	mux.HandleFunc("/api/v1/profile/", func(w http.ResponseWriter, r *http.Request) {
		light.WriteError(w, protocol.Errorf(protocol.CodeNotFound, "no API endpoint %s %s", r.Method, r.URL.Path))
	})
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
		// live= lets the join page ask the code again when the group
		// filled up before the person joined.
		http.Redirect(w, r, "/join?live="+url.QueryEscape(r.PathValue("code"))+"#"+j.Token, http.StatusFound)
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
