package merchant

import (
	"net/http"
	"strconv"

	"github.com/qunchat/qun/node/light"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// withBody is a handler that decodes a request body of type Req, calls fn
// and answers its result with its status.
func withBody[Req, Resp any](fn func(r *http.Request, req Req) (Resp, int, error)) handler {
	return func(w http.ResponseWriter, r *http.Request, _ caller) {
		var req Req
		if err := light.DecodeBody(w, r, &req); err != nil {
			light.WriteError(w, err)
			return
		}
		answer[Resp](w)(fn(r, req))
	}
}

// noBody is a handler of a request without a body.
func noBody[Resp any](fn func(r *http.Request) (Resp, int, error)) handler {
	return func(w http.ResponseWriter, r *http.Request, _ caller) { answer[Resp](w)(fn(r)) }
}

// answer writes v with status, or err; a 204 has no body.
func answer[Resp any](w http.ResponseWriter) func(v Resp, status int, err error) {
	return func(v Resp, status int, err error) {
		switch {
		case err != nil:
			light.WriteError(w, err)
		case status == http.StatusNoContent:
			w.WriteHeader(status)
		default:
			light.WriteJSON(w, status, v)
		}
	}
}

// created and ok give a result the status 201 or 200.
func created[T any](v T, err error) (T, int, error) { return v, http.StatusCreated, err }
func ok[T any](v T, err error) (T, int, error)      { return v, http.StatusOK, err }

// again answers 200 for what existed, 201 for what is new.
func again[T any](v T, existing bool, err error) (T, int, error) {
	if existing {
		return v, http.StatusOK, err
	}
	return v, http.StatusCreated, err
}

// MaxListPage bounds a page of a list (and is its default size).
const MaxListPage = 200

// listLimit reads a list's limit= ("" for the default).
func listLimit(v string) (int, error) {
	if v == "" {
		return MaxListPage, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxListPage {
		return 0, protocol.Errorf(protocol.CodeInvalid, "limit must be a number from 1 to %d, not %.20q", MaxListPage, v)
	}
	return n, nil
}

// gone answers 204 for a removal.
func gone(err error) (struct{}, int, error) { return struct{}{}, http.StatusNoContent, err }

// Handler routes /api/v1/merchant/.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	b := s.b
	gid := func(r *http.Request) (protocol.GroupID, error) { return light.PathGroup(r) }
	route := func(pattern string, scope Scope, h handler) { mux.HandleFunc(pattern, s.authed(scope, h)) }
	admin := func(pattern string, h handler) { mux.HandleFunc(pattern, s.adminOnly(h)) }

	admin("POST /api/v1/merchant/tokens", func(w http.ResponseWriter, r *http.Request, c caller) {
		w.Header().Set("Cache-Control", "no-store") // the token is shown once
		withBody(func(_ *http.Request, req api.TokenRequest) (api.NewToken, int, error) {
			return created(s.tokens.Create(req.Name, req.Scopes))
		})(w, r, c)
	})
	admin("GET /api/v1/merchant/tokens", noBody(func(*http.Request) (api.TokenList, int, error) {
		return ok(api.TokenList{Tokens: s.tokens.List()}, nil)
	}))
	admin("DELETE /api/v1/merchant/tokens/{id}", noBody(func(r *http.Request) (struct{}, int, error) {
		return gone(s.tokens.Revoke(r.PathValue("id")))
	}))
	route("GET /api/v1/merchant/service", "", noBody(func(*http.Request) (api.ServiceInfo, int, error) {
		return ok(b.Service())
	}))

	route("GET /api/v1/merchant/profile", ScopeGroups, noBody(func(*http.Request) (api.ShopProfileSettings, int, error) {
		return ok(b.ProfileSettings())
	}))
	route("PUT /api/v1/merchant/profile", ScopeGroups, withBody(func(r *http.Request, req api.ShopProfileSettings) (api.ShopProfileSettings, int, error) {
		return ok(b.SetProfile(r.Context(), req))
	}))
	route("POST /api/v1/merchant/groups", ScopeGroups, withBody(func(r *http.Request, req api.MerchantGroupRequest) (api.MerchantGroup, int, error) {
		return created(b.CreateGroup(r.Context(), req))
	}))
	route("POST /api/v1/merchant/groups/{gid}/order-invites", ScopeInvites, withBody(func(r *http.Request, req api.OrderInviteRequest) (api.OrderInvite, int, error) {
		g, err := gid(r)
		if err != nil {
			return api.OrderInvite{}, 0, err
		}
		inv, err := b.OrderInvite(r.Context(), g, req, s.base(r))
		return again(inv, inv.Existing, err)
	}))
	route("PUT /api/v1/merchant/groups/{gid}/tags", ScopeGroups, withBody(func(r *http.Request, req api.TagsRequest) (api.GroupTags, int, error) {
		g, err := gid(r)
		if err != nil {
			return api.GroupTags{}, 0, err
		}
		return ok(b.SetTags(g, req.Tags))
	}))
	route("PUT /api/v1/merchant/groups/{gid}/rules", ScopeGroups, withBody(func(r *http.Request, req api.RulesView) (api.MerchantGroup, int, error) {
		g, err := gid(r)
		if err != nil {
			return api.MerchantGroup{}, 0, err
		}
		return ok(b.SetRules(r.Context(), g, req))
	}))
	route("GET /api/v1/merchant/groups/{gid}/analytics", ScopeGroups, func(w http.ResponseWriter, r *http.Request, _ caller) {
		g, err := gid(r)
		if err != nil {
			light.WriteError(w, err)
			return
		}
		s.analytics(w, r, "group-"+g.String()[:12], func(days int) (api.Analytics, error) { return b.Analytics(g, days) })
	})

	route("POST /api/v1/merchant/broadcasts", ScopeGroups, withBody(func(r *http.Request, req api.BroadcastRequest) (api.Broadcast, int, error) {
		bc, err := b.Broadcast(r.Context(), req)
		return bc, http.StatusAccepted, err
	}))
	route("GET /api/v1/merchant/broadcasts", ScopeGroups, noBody(func(*http.Request) (api.BroadcastList, int, error) {
		return ok(b.Broadcasts())
	}))
	route("GET /api/v1/merchant/broadcasts/{id}", ScopeGroups, noBody(func(r *http.Request) (api.Broadcast, int, error) {
		return ok(b.BroadcastStatus(r.PathValue("id")))
	}))

	route("POST /api/v1/merchant/families", ScopeGroups, withBody(func(r *http.Request, req api.FamilyRequest) (api.Family, int, error) {
		return created(b.CreateFamily(r.Context(), req, s.base(r)))
	}))
	route("GET /api/v1/merchant/families", ScopeGroups, noBody(func(r *http.Request) (api.FamilyList, int, error) {
		return ok(b.Families(s.base(r)))
	}))
	route("GET /api/v1/merchant/families/{id}", ScopeGroups, noBody(func(r *http.Request) (api.Family, int, error) {
		return ok(b.Family(r.PathValue("id"), s.base(r)))
	}))
	route("GET /api/v1/merchant/families/{id}/analytics", ScopeGroups, func(w http.ResponseWriter, r *http.Request, _ caller) {
		id := r.PathValue("id")
		s.analytics(w, r, "live-code-"+id, func(days int) (api.Analytics, error) { return b.FamilyAnalytics(id, days) })
	})

	route("POST /api/v1/merchant/webhooks", ScopeWebhooks, func(w http.ResponseWriter, r *http.Request, c caller) {
		w.Header().Set("Cache-Control", "no-store") // the secret is shown once
		withBody(func(r *http.Request, req api.WebhookRequest) (api.Webhook, int, error) {
			return created(b.RegisterWebhook(r.Context(), req))
		})(w, r, c)
	})
	route("GET /api/v1/merchant/webhooks", ScopeWebhooks, noBody(func(*http.Request) (api.WebhookList, int, error) {
		return ok(api.WebhookList{Webhooks: b.Webhooks()}, nil)
	}))
	route("DELETE /api/v1/merchant/webhooks/{id}", ScopeWebhooks, noBody(func(r *http.Request) (struct{}, int, error) {
		return gone(b.RemoveWebhook(r.PathValue("id")))
	}))
	route("GET /api/v1/merchant/webhooks/{id}/deliveries", ScopeWebhooks, noBody(func(r *http.Request) (api.WebhookLog, int, error) {
		return ok(b.WebhookLog(r.PathValue("id")))
	}))

	route("POST /api/v1/merchant/orders", ScopeOrders, withBody(func(r *http.Request, req api.OrderGroupRequest) (api.OrderGroup, int, error) {
		g, err := b.OpenOrder(r.Context(), req, s.base(r))
		return again(g, g.Existing, err)
	}))
	route("GET /api/v1/merchant/orders", ScopeOrders, noBody(func(r *http.Request) (api.OrderList, int, error) {
		q := r.URL.Query()
		limit, err := listLimit(q.Get("limit"))
		if err != nil {
			return api.OrderList{}, 0, err
		}
		return ok(b.Orders(q.Get("state"), q.Get("after"), limit))
	}))
	route("GET /api/v1/merchant/orders/{order}", ScopeOrders, noBody(func(r *http.Request) (api.OrderGroup, int, error) {
		return ok(b.Order(r.PathValue("order"), s.base(r)))
	}))
	route("POST /api/v1/merchant/orders/{order}/state", ScopeOrders, withBody(func(r *http.Request, req api.OrderStateRequest) (api.OrderGroup, int, error) {
		return ok(b.SetOrderState(r.Context(), r.PathValue("order"), req, s.base(r)))
	}))

	mux.HandleFunc("/api/v1/merchant/", func(w http.ResponseWriter, r *http.Request) {
		light.WriteError(w, protocol.Errorf(protocol.CodeNotFound, "no merchant API endpoint %s %s (docs/MERCHANT.md lists them)", r.Method, r.URL.Path))
	})
	return mux
}

// analytics answers figures as JSON or, with ?format=csv, as a CSV file
// named name; ?days chooses how many days (default 30).
func (s *Server) analytics(w http.ResponseWriter, r *http.Request, name string, figures func(days int) (api.Analytics, error)) {
	days := 30
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			light.WriteError(w, protocol.Errorf(protocol.CodeInvalid, "days must be a whole number of days, not %.20q", v))
			return
		}
		days = n
	}
	csv := false
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
	case "csv":
		csv = true
	default:
		light.WriteError(w, protocol.Errorf(protocol.CodeInvalid, "format is json or csv, not %.20q", f))
		return
	}
	a, err := figures(days)
	switch {
	case err != nil:
		light.WriteError(w, err)
	case csv:
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(CSV(a)))
	default:
		light.WriteJSON(w, http.StatusOK, a)
	}
}
