package node

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestOpenAPIMerchant drives the merchant API through every endpoint with
// good and bad requests and validates every request and answer against
// docs/openapi.yaml.
func TestOpenAPIMerchant(t *testing.T) {
	s := oaLoad(t)
	rec := &oaRecorder{}
	client := &http.Client{Transport: rec}
	a := startNode(t, "")
	admin := newAPI(t, a, a.admin).signIn()
	member := newAPI(t, a, newKey(t)).signIn()
	var tok, spare api.NewToken
	admin.mustCall("POST", "/api/v1/merchant/tokens", api.TokenRequest{Name: "erp", Scopes: []string{"groups", "invites", "orders"}}, &tok)
	admin.mustCall("POST", "/api/v1/merchant/tokens", api.TokenRequest{Name: "spare", Scopes: []string{"webhooks"}}, &spare)
	var wh api.Webhook
	tokenClient(t, a, spare.Token).mustCall("POST", "/api/v1/merchant/webhooks", api.WebhookRequest{URL: "http://127.0.0.1:9/hook", Types: []string{"member.joined"}}, &wh)
	var g api.MerchantGroup
	tokenClient(t, a, tok.Token).mustCall("POST", "/api/v1/merchant/groups", api.MerchantGroupRequest{Name: "orders"}, &g)
	other := createGroup(t, a, "the admin's", protocol.PolicyInvite)
	orders := "/api/v1/merchant/groups/" + g.Group + "/order-invites"

	at, et, mt := admin.token, tok.Token, member.token
	calls := []oaCall{
		{name: "token create", node: a, token: at, method: "POST", path: "/api/v1/merchant/tokens", body: `{"name":"shop","scopes":["invites"]}`, status: 201, valid: true},
		{name: "token create without scopes", node: a, token: at, method: "POST", path: "/api/v1/merchant/tokens", body: `{"name":"shop","scopes":[]}`, status: 400, code: protocol.CodeInvalid, valid: true},
		{name: "token create with an unknown scope", node: a, token: at, method: "POST", path: "/api/v1/merchant/tokens", body: `{"name":"shop","scopes":["all"]}`, status: 400, code: protocol.CodeInvalid},
		{name: "token create with an unknown field", node: a, token: at, method: "POST", path: "/api/v1/merchant/tokens", body: `{"name":"shop","scopes":["invites"],"admin":true}`, status: 400, code: protocol.CodeMalformed},
		{name: "token create by a token", node: a, token: et, method: "POST", path: "/api/v1/merchant/tokens", body: `{"name":"shop","scopes":["invites"]}`, status: 403, code: protocol.CodeForbidden, valid: true},
		{name: "token create by a member", node: a, token: mt, method: "POST", path: "/api/v1/merchant/tokens", body: `{"name":"shop","scopes":["invites"]}`, status: 403, code: protocol.CodeForbidden, valid: true},
		{name: "token create without credentials", node: a, method: "POST", path: "/api/v1/merchant/tokens", body: `{"name":"shop","scopes":["invites"]}`, status: 401, code: protocol.CodeUnauthenticated},
		{name: "token list", node: a, token: at, method: "GET", path: "/api/v1/merchant/tokens", status: 200, valid: true},
		{name: "token list by a token", node: a, token: et, method: "GET", path: "/api/v1/merchant/tokens", status: 403, code: protocol.CodeForbidden, valid: true},
		{name: "service by a token", node: a, token: et, method: "GET", path: "/api/v1/merchant/service", status: 200, valid: true},
		{name: "service by an admin", node: a, token: at, method: "GET", path: "/api/v1/merchant/service", status: 200, valid: true},
		{name: "service by a forged token", node: a, token: et[:len(et)-1] + flip(et[len(et)-1]), method: "GET", path: "/api/v1/merchant/service", status: 401, code: protocol.CodeUnauthenticated, valid: true},
		{name: "group create", node: a, token: et, method: "POST", path: "/api/v1/merchant/groups", body: `{"name":"茶馆","policy":"approval","cap":200}`, status: 201, valid: true},
		{name: "group create without a name", node: a, token: et, method: "POST", path: "/api/v1/merchant/groups", body: `{"name":" "}`, status: 400, code: protocol.CodeInvalid, valid: true},
		{name: "group create with a bad policy", node: a, token: et, method: "POST", path: "/api/v1/merchant/groups", body: `{"name":"x","policy":"anyone"}`, status: 400, code: protocol.CodeInvalid},
		{name: "group create without the scope", node: a, token: spare.Token, method: "POST", path: "/api/v1/merchant/groups", body: `{"name":"x"}`, status: 403, code: protocol.CodeForbidden, valid: true},
		{name: "order invite", node: a, token: et, method: "POST", path: orders, body: `{"order":"A1","buyer":"u-1","uses":2,"expires_in":3600}`, status: 201, valid: true},
		{name: "order invite again", node: a, token: et, method: "POST", path: orders, body: `{"order":"A1"}`, status: 200, valid: true},
		{name: "order invite without an order", node: a, token: et, method: "POST", path: orders, body: `{"buyer":"u-1"}`, status: 400, code: protocol.CodeInvalid},
		{name: "order invite with too many uses", node: a, token: et, method: "POST", path: orders, body: `{"order":"A2","uses":51}`, status: 400, code: protocol.CodeInvalid},
		{name: "order invite with a long order", node: a, token: et, method: "POST", path: orders, body: fmt.Sprintf(`{"order":%q}`, strings.Repeat("x", 61)), status: 400, code: protocol.CodeInvalid},
		{name: "order invite for a group not known", node: a, token: et, method: "POST", path: "/api/v1/merchant/groups/" + protocol.GroupID{7}.String() + "/order-invites", body: `{"order":"A3"}`, status: 404, code: protocol.CodeUnknownGroup, valid: true},
		{name: "order invite where the service is no admin", node: a, token: et, method: "POST", path: "/api/v1/merchant/groups/" + other.String() + "/order-invites", body: `{"order":"A3"}`, status: 403, code: protocol.CodeForbidden, valid: true},
		{name: "order invite without the scope", node: a, token: spare.Token, method: "POST", path: orders, body: `{"order":"A3"}`, status: 403, code: protocol.CodeForbidden, valid: true},
		{name: "rules set", node: a, token: et, method: "PUT", path: "/api/v1/merchant/groups/" + g.Group + "/rules", body: `{"welcome":"欢迎","replies":[{"keyword":"price","text":"pinned"}],"refuse_links":true,"refuse_words":["casino"],"new_member_days":3,"strikes":3,"action":"mute","mute_minutes":30,"slow_seconds":30}`, status: 200, valid: true},
		{name: "rules with slow mode over an hour", node: a, token: et, method: "PUT", path: "/api/v1/merchant/groups/" + g.Group + "/rules", body: `{"slow_seconds":3601}`, status: 400, code: protocol.CodeInvalid},
		{name: "group view with rules", node: a, token: at, method: "GET", path: "/api/v1/groups/" + g.Group, status: 200, valid: true},
		{name: "events with a rules event", node: a, token: at, method: "GET", path: "/api/v1/groups/" + g.Group + "/events?from=1", status: 200, valid: true},
		{name: "rules with strikes and no action", node: a, token: et, method: "PUT", path: "/api/v1/merchant/groups/" + g.Group + "/rules", body: `{"strikes":3}`, status: 400, code: protocol.CodeInvalid, valid: true},
		{name: "rules with an unknown action", node: a, token: et, method: "PUT", path: "/api/v1/merchant/groups/" + g.Group + "/rules", body: `{"strikes":3,"action":"ban"}`, status: 400, code: protocol.CodeInvalid},
		{name: "rules where the service is no admin", node: a, token: et, method: "PUT", path: "/api/v1/merchant/groups/" + other.String() + "/rules", body: `{}`, status: 403, valid: true},
		{name: "rules cleared", node: a, token: et, method: "PUT", path: "/api/v1/merchant/groups/" + g.Group + "/rules", body: `{}`, status: 200, valid: true},
		{name: "broadcast", node: a, token: et, method: "POST", path: "/api/v1/merchant/broadcasts", body: fmt.Sprintf(`{"text":"live now","link":"https://live.example/","mention_all":true,"groups":[%q]}`, g.Group), status: 202, valid: true},
		{name: "broadcast to all, later", node: a, token: et, method: "POST", path: "/api/v1/merchant/broadcasts", body: fmt.Sprintf(`{"text":"sale","announce":true,"all":true,"at":%d}`, time.Now().Add(time.Hour).UnixMilli()), status: 202, valid: true},
		{name: "broadcast to nothing", node: a, token: et, method: "POST", path: "/api/v1/merchant/broadcasts", body: `{"text":"x"}`, status: 400, code: protocol.CodeInvalid, valid: true},
		{name: "broadcast to a group not hosted", node: a, token: et, method: "POST", path: "/api/v1/merchant/broadcasts", body: fmt.Sprintf(`{"text":"x","groups":[%q]}`, protocol.GroupID{9}.String()), status: 404, code: protocol.CodeUnknownGroup, valid: true},
		{name: "broadcast unknown", node: a, token: et, method: "GET", path: "/api/v1/merchant/broadcasts/0123", status: 404, code: protocol.CodeNotFound, valid: true},
		{name: "live code", node: a, token: et, method: "POST", path: "/api/v1/merchant/families", body: `{"name":"粉丝群","cap":300}`, status: 201, valid: true},
		{name: "live code with too big a cap", node: a, token: et, method: "POST", path: "/api/v1/merchant/families", body: `{"name":"x","cap":10000}`, status: 400, code: protocol.CodeInvalid},
		{name: "live code unknown", node: a, token: et, method: "GET", path: "/api/v1/merchant/families/nope", status: 404, code: protocol.CodeNotFound, valid: true},
		{name: "live join unknown", node: a, method: "GET", path: "/api/v1/live/nope", status: 404, code: protocol.CodeNotFound, valid: true},
		{name: "live join with a bad user", node: a, method: "GET", path: "/api/v1/live/nope?user=bob", status: 400, code: protocol.CodeInvalid},
		{name: "order open", node: a, token: et, method: "POST", path: "/api/v1/merchant/orders", body: `{"order":"B7","buyer":"u-9"}`, status: 201, valid: true},
		{name: "order open again", node: a, token: et, method: "POST", path: "/api/v1/merchant/orders", body: `{"order":"B7"}`, status: 200, valid: true},
		{name: "order open without an order", node: a, token: et, method: "POST", path: "/api/v1/merchant/orders", body: `{"name":"x"}`, status: 400, code: protocol.CodeInvalid},
		{name: "order open without the scope", node: a, token: spare.Token, method: "POST", path: "/api/v1/merchant/orders", body: `{"order":"B8"}`, status: 403, code: protocol.CodeForbidden, valid: true},
		{name: "order show", node: a, token: et, method: "GET", path: "/api/v1/merchant/orders/B7", status: 200, valid: true},
		{name: "order show unknown", node: a, token: et, method: "GET", path: "/api/v1/merchant/orders/B9", status: 404, code: protocol.CodeNotFound, valid: true},
		{name: "order dispatched", node: a, token: et, method: "POST", path: "/api/v1/merchant/orders/B7/state", body: `{"state":"dispatched"}`, status: 200, valid: true},
		{name: "order delivered", node: a, token: et, method: "POST", path: "/api/v1/merchant/orders/B7/state", body: `{"state":"delivered","courier_grace":60,"close_after":3600}`, status: 200, valid: true},
		{name: "order back to accepted", node: a, token: et, method: "POST", path: "/api/v1/merchant/orders/B7/state", body: `{"state":"accepted"}`, status: 409, code: protocol.CodeConflict, valid: true},
		{name: "order to an unknown state", node: a, token: et, method: "POST", path: "/api/v1/merchant/orders/B7/state", body: `{"state":"lost"}`, status: 400, code: protocol.CodeInvalid},
		{name: "order with too long a grace", node: a, token: et, method: "POST", path: "/api/v1/merchant/orders/B7/state", body: `{"state":"closed","courier_grace":99999999}`, status: 400, code: protocol.CodeInvalid},
		{name: "order closed", node: a, token: et, method: "POST", path: "/api/v1/merchant/orders/B7/state", body: `{"state":"closed"}`, status: 200, valid: true},
		{name: "order state of an unknown order", node: a, token: et, method: "POST", path: "/api/v1/merchant/orders/B9/state", body: `{"state":"closed"}`, status: 404, code: protocol.CodeNotFound, valid: true},
		{name: "order list", node: a, token: et, method: "GET", path: "/api/v1/merchant/orders", status: 200, valid: true},
		{name: "order list by state, a page", node: a, token: et, method: "GET", path: "/api/v1/merchant/orders?state=closed&limit=1", status: 200, valid: true},
		{name: "order list in an unknown state", node: a, token: et, method: "GET", path: "/api/v1/merchant/orders?state=lost", status: 400, code: protocol.CodeInvalid},
		{name: "order list with a bad limit", node: a, token: et, method: "GET", path: "/api/v1/merchant/orders?limit=0", status: 400, code: protocol.CodeInvalid},
		{name: "order list without the scope", node: a, token: spare.Token, method: "GET", path: "/api/v1/merchant/orders", status: 403, code: protocol.CodeForbidden, valid: true},
		{name: "tags set", node: a, token: et, method: "PUT", path: "/api/v1/merchant/groups/" + g.Group + "/tags", body: `{"tags":["VIP","杭州"]}`, status: 200, valid: true},
		{name: "tags with an empty one", node: a, token: et, method: "PUT", path: "/api/v1/merchant/groups/" + g.Group + "/tags", body: `{"tags":[" "]}`, status: 400, code: protocol.CodeInvalid, valid: true},
		{name: "tags where the service is no member", node: a, token: et, method: "PUT", path: "/api/v1/merchant/groups/" + other.String() + "/tags", body: `{"tags":["vip"]}`, status: 403, code: protocol.CodeForbidden, valid: true},
		{name: "broadcast to a tag", node: a, token: et, method: "POST", path: "/api/v1/merchant/broadcasts", body: `{"text":"老客专享","tags":["vip"]}`, status: 202, valid: true},
		{name: "broadcast list", node: a, token: et, method: "GET", path: "/api/v1/merchant/broadcasts", status: 200, valid: true},
		{name: "profile settings", node: a, token: et, method: "GET", path: "/api/v1/merchant/profile", status: 200, valid: true},
		{name: "profile set", node: a, token: et, method: "PUT", path: "/api/v1/merchant/profile", body: `{"name":"小茶馆","description":"龙井","groups":[]}`, status: 200, valid: true},
		{name: "profile set with an invite-only group", node: a, token: et, method: "PUT", path: "/api/v1/merchant/profile", body: fmt.Sprintf(`{"name":"x","groups":[%q]}`, other.String()), status: 400, code: protocol.CodeInvalid, valid: true},
		{name: "profile set without a name", node: a, token: et, method: "PUT", path: "/api/v1/merchant/profile", body: `{"groups":[]}`, status: 400, code: protocol.CodeInvalid},
		{name: "profile set without the scope", node: a, token: spare.Token, method: "PUT", path: "/api/v1/merchant/profile", body: `{"name":"x","groups":[]}`, status: 403, code: protocol.CodeForbidden, valid: true},
		{name: "the public profile", node: a, method: "GET", path: "/api/v1/profile", status: 200, valid: true},
		{name: "the public profile's avatar, none", node: a, method: "GET", path: "/api/v1/profile/avatar", status: 404, code: protocol.CodeNotFound, valid: true},
		{name: "an unlisted profile path", node: a, method: "GET", path: "/api/v1/profile/banner", status: 404, code: protocol.CodeNotFound},
		{name: "an unlisted merchant path", node: a, token: et, method: "GET", path: "/api/v1/merchant/coupons", status: 404, code: protocol.CodeNotFound},
		{name: "webhook register", node: a, token: spare.Token, method: "POST", path: "/api/v1/merchant/webhooks", body: `{"url":"https://erp.example/qun","types":["order.state","member.left"]}`, status: 201, valid: true},
		{name: "webhook register plain http elsewhere", node: a, token: spare.Token, method: "POST", path: "/api/v1/merchant/webhooks", body: `{"url":"http://erp.example/qun"}`, status: 400, code: protocol.CodeInvalid, valid: true},
		{name: "webhook register an unknown type", node: a, token: spare.Token, method: "POST", path: "/api/v1/merchant/webhooks", body: `{"url":"https://erp.example/qun","types":["all"]}`, status: 400, code: protocol.CodeInvalid},
		{name: "webhook without the scope", node: a, token: et, method: "GET", path: "/api/v1/merchant/webhooks", status: 403, code: protocol.CodeForbidden, valid: true},
		{name: "webhook list", node: a, token: spare.Token, method: "GET", path: "/api/v1/merchant/webhooks", status: 200, valid: true},
		{name: "webhook log", node: a, token: spare.Token, method: "GET", path: "/api/v1/merchant/webhooks/" + wh.ID + "/deliveries", status: 200, valid: true},
		{name: "webhook log unknown", node: a, token: spare.Token, method: "GET", path: "/api/v1/merchant/webhooks/0000/deliveries", status: 404, code: protocol.CodeNotFound, valid: true},
		{name: "webhook remove", node: a, token: spare.Token, method: "DELETE", path: "/api/v1/merchant/webhooks/" + wh.ID, status: 204, valid: true},
		{name: "webhook remove again", node: a, token: spare.Token, method: "DELETE", path: "/api/v1/merchant/webhooks/" + wh.ID, status: 404, code: protocol.CodeNotFound, valid: true},
		{name: "token revoke", node: a, token: at, method: "DELETE", path: "/api/v1/merchant/tokens/" + spare.ID, status: 204, valid: true},
		{name: "token revoke again", node: a, token: at, method: "DELETE", path: "/api/v1/merchant/tokens/" + spare.ID, status: 404, code: protocol.CodeNotFound, valid: true},
		{name: "a revoked token", node: a, token: spare.Token, method: "GET", path: "/api/v1/merchant/service", status: 401, code: protocol.CodeUnauthenticated, valid: true},
	}
	// A live code, and where it sends someone.
	var fam api.Family
	tokenClient(t, a, tok.Token).mustCall("POST", "/api/v1/merchant/families", api.FamilyRequest{Name: "fans"}, &fam)
	calls = append(calls,
		oaCall{name: "live code list", node: a, token: et, method: "GET", path: "/api/v1/merchant/families", status: 200, valid: true},
		oaCall{name: "live code show", node: a, token: et, method: "GET", path: "/api/v1/merchant/families/" + fam.ID, status: 200, valid: true},
		oaCall{name: "live join", node: a, method: "GET", path: "/api/v1/live/" + fam.Code, status: 200, valid: true},
		oaCall{name: "live join as a user", node: a, method: "GET", path: "/api/v1/live/" + fam.Code + "?user=" + a.admin.ID().String(), status: 200, valid: true},
		oaCall{name: "live code analytics", node: a, token: et, method: "GET", path: "/api/v1/merchant/families/" + fam.ID + "/analytics?days=3", status: 200, valid: true},
		oaCall{name: "group analytics", node: a, token: et, method: "GET", path: "/api/v1/merchant/groups/" + g.Group + "/analytics", status: 200, valid: true},
		oaCall{name: "group analytics as CSV", node: a, token: et, method: "GET", path: "/api/v1/merchant/groups/" + g.Group + "/analytics?format=csv&days=7", status: 200, valid: true},
		oaCall{name: "group analytics in XML", node: a, token: et, method: "GET", path: "/api/v1/merchant/groups/" + g.Group + "/analytics?format=xml", status: 400, code: protocol.CodeInvalid},
		oaCall{name: "analytics of a group not hosted", node: a, token: et, method: "GET", path: "/api/v1/merchant/groups/" + protocol.GroupID{5}.String() + "/analytics", status: 404, code: protocol.CodeUnknownGroup, valid: true},
		oaCall{name: "broadcast to a family", node: a, token: et, method: "POST", path: "/api/v1/merchant/broadcasts", body: fmt.Sprintf(`{"text":"hi","family":%q}`, fam.ID), status: 202, valid: true},
	)
	if failures := oaRunCalls(t, s, client, rec, calls); len(failures) > 0 {
		t.Fatalf("%d problems:\n%s", len(failures), strings.Join(failures, "\n\n"))
	}
}

// flip changes a base64url character into another.
func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}
