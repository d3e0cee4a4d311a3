package node

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pb33f/go-yaml"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	vErrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"

	"github.com/qunchat/qun/node/light"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// oaSpecPath is the OpenAPI document of the HTTP API.
const oaSpecPath = "../docs/openapi.yaml"

// oaSpec is docs/openapi.yaml loaded for validation.
type oaSpec struct {
	v       validator.Validator
	schemas map[string]*base.Schema // components
	raw     map[string]any          // the YAML as plain values
}

func oaLoad(t *testing.T) *oaSpec {
	t.Helper()
	data, err := os.ReadFile(oaSpecPath)
	if err != nil {
		t.Fatal(err)
	}
	return oaParse(t, data)
}

// oaParse loads an OpenAPI document.
func oaParse(t *testing.T, data []byte) *oaSpec {
	t.Helper()
	doc, err := libopenapi.NewDocument(data)
	if err != nil {
		t.Fatalf("%s: %v", oaSpecPath, err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("%s: %v", oaSpecPath, errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		t.Fatalf("%s is not a valid OpenAPI document:\n%s", oaSpecPath, oaFormat(verrs))
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(model.Model.Version, "3.1") {
		t.Fatalf("%s is OpenAPI %s, want 3.1", oaSpecPath, model.Model.Version)
	}
	s := &oaSpec{v: v, schemas: map[string]*base.Schema{}}
	for name, proxy := range model.Model.Components.Schemas.FromOldest() {
		sch, err := proxy.BuildSchema()
		if err != nil {
			t.Fatalf("schema %s: %v", name, err)
		}
		s.schemas[name] = sch
	}
	if err := yaml.Unmarshal(data, &s.raw); err != nil {
		t.Fatal(err)
	}
	return s
}

func oaFormat(errs []*vErrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "  - %s: %s", e.ValidationType, e.Message)
		if e.Reason != "" && e.Reason != e.Message {
			fmt.Fprintf(&b, " (%s)", e.Reason)
		}
		for _, f := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "\n      %s: %s", f.FieldPath, f.Reason)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// validateValue checks a JSON value against a component schema.
func (s *oaSpec) validateValue(name string, data []byte) []*vErrors.ValidationError {
	sch := s.schemas[name]
	if sch == nil {
		return []*vErrors.ValidationError{{Message: "no component schema " + name}}
	}
	if ok, errs := schema_validation.NewSchemaValidator().ValidateSchemaBytes(sch, data); !ok {
		return errs
	}
	return nil
}

// node returns the plain YAML value at a path of keys.
func (s *oaSpec) node(keys ...string) any {
	var v any = s.raw
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// codesOf returns the codes an ErrorNNN component allows.
func (s *oaSpec) codesOf(name string) []string {
	code, _ := s.node("components", "schemas", name, "properties", "error", "properties", "code").(map[string]any)
	if c, ok := code["const"].(string); ok {
		return []string{c}
	}
	var out []string
	list, _ := code["enum"].([]any)
	for _, c := range list {
		out = append(out, fmt.Sprint(c))
	}
	return out
}

// oaExchange is one request and its answer as seen on the wire.
type oaExchange struct {
	req      *http.Request
	reqBody  []byte
	resp     *http.Response
	respBody []byte
}

// oaRecorder is a RoundTripper that keeps every oaExchange of the test's
// clients, so that each one is validated against the document.
type oaRecorder struct {
	mu  sync.Mutex
	log []*oaExchange
}

func (r *oaRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	x := &oaExchange{req: req.Clone(context.Background()), reqBody: body, resp: resp}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		x.respBody, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(x.respBody))
	}
	r.mu.Lock()
	r.log = append(r.log, x)
	r.mu.Unlock()
	return resp, nil
}

func (r *oaRecorder) take() []*oaExchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.log
	r.log = nil
	return out
}

// check validates an oaExchange: the request against the document (it must
// be valid when wantValid, invalid otherwise) and the answer always: a
// documented status with a body of its schema. Paths and methods the
// document does not list must answer 404 not_found with an error body.
func (s *oaSpec) check(x *oaExchange, wantValid bool) error {
	req := x.req.Clone(context.Background())
	req.Body = io.NopCloser(bytes.NewReader(x.reqBody))
	okReq, reqErrs := s.v.ValidateHttpRequestSync(req)
	unlisted := false
	for _, e := range reqErrs {
		if e.ValidationType == "path" || e.ValidationType == "paths" {
			unlisted = true
		}
	}
	var problems []string
	switch {
	case wantValid && !okReq:
		problems = append(problems, "the request should be valid per the document:\n"+oaFormat(reqErrs))
	case !wantValid && okReq:
		problems = append(problems, "the document accepts a request the node refuses")
	}
	if unlisted {
		if x.resp.StatusCode != 404 {
			problems = append(problems, fmt.Sprintf("an unlisted path or method answered %d, want 404", x.resp.StatusCode))
		}
		if errs := s.validateValue("Error404", x.respBody); errs != nil {
			problems = append(problems, "the answer to an unlisted path is no Error404:\n"+oaFormat(errs))
		}
	} else {
		resp := *x.resp
		resp.Body = io.NopCloser(bytes.NewReader(x.respBody))
		req := x.req.Clone(context.Background())
		req.Body = io.NopCloser(bytes.NewReader(x.reqBody))
		if ok, errs := s.v.ValidateHttpResponse(req, &resp); !ok {
			problems = append(problems, fmt.Sprintf("answer %d does not match the document:\n%s", x.resp.StatusCode, oaFormat(errs)))
		}
		if x.resp.StatusCode >= 400 && !json.Valid(x.respBody) {
			problems = append(problems, "an error answer is not JSON")
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%s %s → %d %s\n%s", x.req.Method, x.req.URL.RequestURI(), x.resp.StatusCode, oaTrim(x.respBody), strings.Join(problems, "\n"))
}

func oaTrim(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return strings.TrimSpace(string(b))
}

// oaCall is one request of the table.
type oaCall struct {
	name   string
	node   *testNode
	method string
	path   string
	body   string            // sent as is
	token  string            // Authorization: Bearer, when set
	header map[string]string // more headers
	status int               // the status the node must answer
	code   protocol.Code     // for errors: the code it must carry
	valid  bool              // the document accepts the request
}

// TestOpenAPI drives real nodes through every endpoint of the HTTP API
// with good and bad requests and validates every request and answer, and
// every WebSocket message, against docs/openapi.yaml: a status, field or
// path the document does not describe fails the test.
func TestOpenAPI(t *testing.T) {
	s := oaLoad(t)

	// The document's codes are protocol's, and each ErrorNNN component
	// allows exactly the codes that answer with status NNN.
	var enum []string
	for _, c := range s.node("components", "schemas", "ErrorCode", "enum").([]any) {
		enum = append(enum, fmt.Sprint(c))
	}
	byStatus := map[int][]string{}
	var names []string
	for _, c := range allCodes() {
		names = append(names, c.String())
		byStatus[api.HTTPStatus(c)] = append(byStatus[api.HTTPStatus(c)], c.String())
	}
	if !slices.Equal(enum, names) {
		t.Errorf("ErrorCode enum %v\nprotocol's codes %v", enum, names)
	}
	for status, codes := range byStatus {
		got := s.codesOf(fmt.Sprintf("Error%d", status))
		slices.Sort(got)
		slices.Sort(codes)
		if !slices.Equal(got, codes) {
			t.Errorf("component Error%d allows %v; the codes with status %d are %v", status, got, status, codes)
		}
	}

	rec := &oaRecorder{}
	client := &http.Client{Transport: rec}
	var failures []string
	checkAll := func(valid bool) {
		for _, x := range rec.take() {
			if err := s.check(x, valid); err != nil {
				failures = append(failures, err.Error())
			}
		}
	}

	// Two nodes: A hosts the groups, B is the home node of bob, a member.
	a, b := startNode(t, ""), startNode(t, "")
	shop := createGroup(t, a, "shop", protocol.PolicyInvite)
	appr := createGroup(t, a, "approval", protocol.PolicyApproval)
	inv := invite(t, a, a.admin, shop, a, 0, 0)
	once := invite(t, a, a.admin, shop, a, 1, time.Hour)
	bob, carol, dave, eve := newKey(t), newKey(t), newKey(t), newKey(t)

	// Sign-in, through the oaRecorder.
	signIn := func(n *testNode, k *protocol.Key) string {
		t.Helper()
		var ch api.ChallengeResponse
		oaJSON(t, client, "POST", n.APIURL()+"/api/v1/auth/challenge", "", fmt.Sprintf(`{"user":%q}`, k.ID()), &ch)
		raw, _ := base64.StdEncoding.DecodeString(ch.Challenge)
		var sr api.SessionResponse
		oaJSON(t, client, "POST", n.APIURL()+"/api/v1/auth/session", "", fmt.Sprintf(`{"user":%q,"challenge":%q,"signature":%q}`,
			k.ID(), ch.Challenge, base64.StdEncoding.EncodeToString(k.SignRaw(protocol.DomainAuth, raw))), &sr)
		return sr.Token
	}
	adminTok := signIn(a, a.admin)
	bobTok := signIn(b, bob)
	carolTok := signIn(a, carol)
	daveTok := signIn(a, dave)
	eveTok := signIn(a, eve)
	sub := func(k *protocol.Key, gid protocol.GroupID, body protocol.Body) string {
		return fmt.Sprintf(`{"submission":%q}`, base64.StdEncoding.EncodeToString(sign(t, k, gid, body).Raw))
	}
	submitOK := func(n *testNode, tok string, body string) api.SubmitResponse {
		t.Helper()
		var r api.SubmitResponse
		oaJSON(t, client, "POST", n.APIURL()+"/api/v1/submit", tok, body, &r)
		return r
	}
	// State that puts every optional field on the wire.
	refPath := a.APIURL() + "/api/v1/groups/" + shop.String() + "/invites/" + inv.ID.String() + "/ref"
	var kept api.InviteRefRequest
	oaJSON(t, client, "PUT", refPath, adminTok, `{"ref":"ORDER-7"}`, &kept)
	submitOK(b, bobTok, sub(bob, shop, protocol.NewJoinBody(protocol.KindJoin, inv.Raw, "order 7")))
	submitOK(a, carolTok, sub(carol, shop, protocol.NewJoinBody(protocol.KindJoin, once.Raw, "")))
	submitOK(a, daveTok, sub(dave, appr, protocol.NewJoinBody(protocol.KindJoinRequest, nil, "let me in")))
	msg := submitOK(b, bobTok, sub(bob, shop, &protocol.MessageBody{Text: "hi @carol", Mentions: []protocol.UserID{carol.ID()}}))
	submitOK(a, adminTok, sub(a.admin, shop, &protocol.MessageBody{ReplyTo: msg.Seq, Product: &protocol.Product{
		ID: "sku-1", Title: "Tea", Price: "19.90", Currency: "CNY", URL: "https://shop.example/tea", Image: "https://shop.example/tea.png"}}))
	submitOK(a, adminTok, sub(a.admin, shop, &protocol.MessageBody{Link: "https://shop.example/sale", MentionAll: true}))
	submitOK(a, adminTok, sub(a.admin, shop, &protocol.AnnounceBody{Text: "Sale today"}))
	submitOK(a, adminTok, sub(a.admin, shop, protocol.NewTargetBody(protocol.KindPin, msg.Seq)))
	// A bridge relays for a person of IRC (since 1.3), who is then muted.
	frank := newKey(t)
	frankTok := signIn(a, frank)
	submitOK(a, frankTok, sub(frank, shop, protocol.NewJoinBody(protocol.KindJoin, inv.Raw, "")))
	submitOK(a, adminTok, sub(a.admin, shop, &protocol.RoleBody{Member: frank.ID(), Role: protocol.RoleBridge}))
	alice := &protocol.Bridged{Network: "irc", User: "alice", Name: "Alice"}
	submitOK(a, frankTok, sub(frank, shop, &protocol.MessageBody{Text: "hi from IRC", Bridged: alice}))
	submitOK(a, adminTok, sub(a.admin, shop, &protocol.MuteBody{Member: alice.ID(frank.ID()), Until: nowMS() + 3_600_000}))
	submitOK(a, adminTok, sub(a.admin, shop, &protocol.MuteBody{Member: carol.ID(), Until: nowMS() + 3_600_000, Reason: "spam"}))
	submitOK(a, adminTok, sub(a.admin, shop, &protocol.MuteBody{Reason: "quiet hours"}))
	submitOK(a, adminTok, sub(a.admin, shop, &protocol.RoleBody{Member: bob.ID(), Role: protocol.RoleAdmin}))
	oops := submitOK(b, bobTok, sub(bob, shop, text("my phone number")))
	submitOK(b, bobTok, sub(bob, shop, protocol.NewTargetBody(protocol.KindRecall, oops.Seq))) // a tombstone in the answers
	typo := submitOK(b, bobTok, sub(bob, shop, text("oolnog")))
	submitOK(b, bobTok, sub(bob, shop, &protocol.EditBody{Target: typo.Seq, Text: "oolong"}))
	submitOK(a, adminTok, sub(a.admin, shop, &protocol.ReactionBody{Target: typo.Seq, Emoji: "👍"}))
	submitOK(a, adminTok, sub(a.admin, shop, &protocol.ReactionBody{Target: typo.Seq, Emoji: "👍", Remove: true}))
	submitOK(b, bobTok, sub(bob, shop, protocol.NewProfileBody(protocol.Profile{Name: "Bob", Nick: "老王", Bio: "tea",
		Avatar: &protocol.BlobRef{Hash: protocol.Hash{1}, MIME: "image/png", Size: 100, Width: 64, Height: 64}})))
	// A photo, uploaded to bob's node and sent in a message.
	upReq, _ := http.NewRequest("POST", b.APIURL()+"/api/v1/blobs?name=tea.jpg", bytes.NewReader(photo(t)))
	upReq.Header.Set("Content-Type", "image/jpeg")
	upReq.Header.Set("Authorization", "Bearer "+bobTok)
	upResp, err := client.Do(upReq)
	if err != nil {
		t.Fatal(err)
	}
	var up api.AttachmentView
	if err := json.NewDecoder(upResp.Body).Decode(&up); err != nil || upResp.StatusCode != 200 {
		t.Fatalf("upload: %d %v", upResp.StatusCode, err)
	}
	upResp.Body.Close()
	upRef, err := up.Ref()
	if err != nil {
		t.Fatal(err)
	}
	submitOK(b, bobTok, sub(bob, shop, &protocol.MessageBody{Attachments: []protocol.Attachment{{Blob: *upRef, Name: up.Name, Thumb: up.Thumb}}}))
	var short api.ShortInvite
	oaJSON(t, client, "POST", a.APIURL()+"/api/v1/invites/short", adminTok, fmt.Sprintf(`{"token":%q}`, inv.Token()), &short)
	waitHead(t, 10*time.Second, shop, oaHead(t, a, shop), b)
	checkAll(true)

	unreg, err := (&protocol.Invite{Group: shop, Host: a.ID(), Inviter: a.admin.ID(), Nonce: nonce()}).Sign(a.admin)
	if err != nil {
		t.Fatal(err)
	}
	gid := shop.String()
	big := `{"submission":"` + strings.Repeat("A", 128<<10) + `"}`
	wsHeaders := map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
		"Sec-WebSocket-Key": base64.StdEncoding.EncodeToString(make([]byte, 16))}
	withOrigin := map[string]string{"Origin": "https://evil.example"}
	for k, v := range wsHeaders {
		withOrigin[k] = v
	}
	// Private conversations: bob (an admin now) asks the owner; the owner
	// offers bob a conversation on the shop's node; eve is no member.
	signContact := func(from *protocol.Key, inv []byte, to protocol.UserID) *protocol.SignedContact {
		c, err := (&protocol.Contact{Group: shop, From: from.ID(), To: []protocol.UserID{to}, Invite: inv, Note: "about order 7"}).Sign(from)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	contactBody := func(c *protocol.SignedContact) string {
		return fmt.Sprintf(`{"offer":%q}`, base64.StdEncoding.EncodeToString(c.Raw))
	}
	askOwner := signContact(bob, nil, a.admin.ID())
	_, convInv := conversation(t, a, a.admin, 1, time.Hour)
	offerBob := signContact(a.admin, convInv.Raw, bob.ID())
	eveAsks := signContact(eve, nil, a.admin.ID())
	hexID := func(c *protocol.SignedContact) string { return fmt.Sprintf("%x", c.ID[:]) }
	nineAddrs := `{"submission":"AAAA","host_addrs":[` + strings.Repeat(`"/ip4/127.0.0.1/tcp/1",`, 8) + `"/ip4/127.0.0.1/tcp/1"]}`
	calls := []oaCall{
		{name: "node", node: a, method: "GET", path: "/api/v1/node", status: 200, valid: true},
		{name: "unknown endpoint", node: a, method: "GET", path: "/api/v1/nothing", status: 404, code: protocol.CodeNotFound},
		{name: "wrong method", node: a, method: "DELETE", path: "/api/v1/node", status: 404, code: protocol.CodeNotFound},

		{name: "challenge for a malformed user", node: a, method: "POST", path: "/api/v1/auth/challenge", body: `{"user":"nobody"}`, status: 400, code: protocol.CodeInvalid},
		{name: "challenge with an unknown field", node: a, method: "POST", path: "/api/v1/auth/challenge", body: fmt.Sprintf(`{"user":%q,"x":1}`, bob.ID()), status: 400, code: protocol.CodeMalformed},
		{name: "challenge with trailing data", node: a, method: "POST", path: "/api/v1/auth/challenge", body: fmt.Sprintf(`{"user":%q} {}`, bob.ID()), status: 400, code: protocol.CodeMalformed},
		{name: "challenge without body", node: a, method: "POST", path: "/api/v1/auth/challenge", status: 400, code: protocol.CodeMalformed},
		{name: "challenge too large", node: a, method: "POST", path: "/api/v1/auth/challenge", body: `{"user":"` + strings.Repeat("x", 128<<10) + `"}`, status: 413, code: protocol.CodeTooLarge},
		{name: "session with a bad signature", node: a, method: "POST", path: "/api/v1/auth/session", body: fmt.Sprintf(`{"user":%q,"challenge":%q,"signature":%q}`,
			bob.ID(), base64.StdEncoding.EncodeToString(make([]byte, 72)), base64.StdEncoding.EncodeToString(make([]byte, 64))), status: 401, code: protocol.CodeUnauthenticated, valid: true},
		{name: "session with non-base64", node: a, method: "POST", path: "/api/v1/auth/session", body: fmt.Sprintf(`{"user":%q,"challenge":"!!","signature":"!!"}`, bob.ID()), status: 400, code: protocol.CodeMalformed},
		{name: "session without signature", node: a, method: "POST", path: "/api/v1/auth/session", body: fmt.Sprintf(`{"user":%q,"challenge":""}`, bob.ID()), status: 401, code: protocol.CodeUnauthenticated},

		{name: "preview", node: a, method: "GET", path: "/api/v1/invites/preview?token=" + inv.Token(), status: 200, valid: true},
		{name: "preview of a link", node: a, method: "GET", path: "/api/v1/invites/preview?token=" + "http%3A%2F%2Fx%2Fjoin%23" + inv.Token(), status: 200, valid: true},
		{name: "preview on a replica", node: b, token: bobTok, method: "GET", path: "/api/v1/invites/preview?token=" + inv.Token(), status: 200, valid: true},
		{name: "preview of a used-up invite", node: a, method: "GET", path: "/api/v1/invites/preview?token=" + once.Token(), status: 200, valid: true},
		{name: "preview of an unregistered invite", node: a, method: "GET", path: "/api/v1/invites/preview?token=" + unreg.Token(), status: 404, code: protocol.CodeInviteUnknown, valid: true},
		{name: "preview of garbage", node: a, method: "GET", path: "/api/v1/invites/preview?token=garbage", status: 400, code: protocol.CodeMalformed, valid: true},
		{name: "preview without token", node: a, method: "GET", path: "/api/v1/invites/preview", status: 400, code: protocol.CodeInvalid},

		{name: "short link", node: a, token: adminTok, method: "POST", path: "/api/v1/invites/short", body: fmt.Sprintf(`{"token":%q}`, inv.Token()), status: 200, valid: true},
		{name: "short link by a member", node: a, token: carolTok, method: "POST", path: "/api/v1/invites/short", body: fmt.Sprintf(`{"token":%q}`, inv.Token()), status: 403, code: protocol.CodeForbidden, valid: true},
		{name: "short link on a replica", node: b, token: bobTok, method: "POST", path: "/api/v1/invites/short", body: fmt.Sprintf(`{"token":%q}`, inv.Token()), status: 403, code: protocol.CodeForbidden, valid: true},
		{name: "short link of an unregistered invite", node: a, token: adminTok, method: "POST", path: "/api/v1/invites/short", body: fmt.Sprintf(`{"token":%q}`, unreg.Token()), status: 404, code: protocol.CodeInviteUnknown, valid: true},
		{name: "short link without session", node: a, method: "POST", path: "/api/v1/invites/short", body: fmt.Sprintf(`{"token":%q}`, inv.Token()), status: 401, code: protocol.CodeUnauthenticated},
		{name: "short link resolved", node: a, method: "GET", path: "/api/v1/invites/short/" + short.Handle, status: 200, valid: true},
		{name: "short link malformed", node: a, method: "GET", path: "/api/v1/invites/short/0OIl", status: 400, code: protocol.CodeInvalid, valid: true},
		{name: "short link unknown", node: a, method: "GET", path: "/api/v1/invites/short/zzzzzzzz", status: 404, code: protocol.CodeInviteUnknown, valid: true},

		{name: "invite ref", node: a, token: adminTok, method: "PUT", path: "/api/v1/groups/" + gid + "/invites/" + once.ID.String() + "/ref", body: `{"ref":"ORDER-8"}`, status: 200, valid: true},
		{name: "invite ref by a member", node: a, token: carolTok, method: "PUT", path: "/api/v1/groups/" + gid + "/invites/" + once.ID.String() + "/ref", body: `{"ref":"x"}`, status: 403, code: protocol.CodeForbidden, valid: true},
		{name: "invite ref on a replica", node: b, token: bobTok, method: "PUT", path: "/api/v1/groups/" + gid + "/invites/" + once.ID.String() + "/ref", body: `{"ref":"x"}`, status: 403, code: protocol.CodeNotHost, valid: true},
		{name: "invite ref of an unregistered invite", node: a, token: adminTok, method: "PUT", path: "/api/v1/groups/" + gid + "/invites/" + unreg.ID.String() + "/ref", body: `{"ref":"x"}`, status: 404, code: protocol.CodeInviteUnknown, valid: true},
		{name: "invite ref of two lines", node: a, token: adminTok, method: "PUT", path: "/api/v1/groups/" + gid + "/invites/" + once.ID.String() + "/ref", body: `{"ref":"a\nb"}`, status: 400, code: protocol.CodeInvalid, valid: true},

		{name: "submit", node: b, token: bobTok, method: "POST", path: "/api/v1/submit", body: sub(bob, shop, text("hello")), status: 200, valid: true},
		{name: "submit without session", node: b, method: "POST", path: "/api/v1/submit", body: sub(bob, shop, text("hello")), status: 401, code: protocol.CodeUnauthenticated},
		{name: "submit with another scheme", node: b, method: "POST", path: "/api/v1/submit", header: map[string]string{"Authorization": "Basic eDp5"}, body: sub(bob, shop, text("hello")), status: 401, code: protocol.CodeUnauthenticated},
		{name: "submit with an unknown token", node: b, token: "nope", method: "POST", path: "/api/v1/submit", body: sub(bob, shop, text("hello")), status: 401, code: protocol.CodeUnauthenticated, valid: true},
		{name: "submit of another author", node: b, token: bobTok, method: "POST", path: "/api/v1/submit", body: sub(carol, shop, text("hello")), status: 403, code: protocol.CodeForbidden, valid: true},
		{name: "submit muted", node: a, token: carolTok, method: "POST", path: "/api/v1/submit", body: sub(carol, shop, text("hello")), status: 403, code: protocol.CodeMuted, valid: true},
		{name: "submit join without invite", node: a, token: eveTok, method: "POST", path: "/api/v1/submit", body: sub(eve, shop, protocol.NewJoinBody(protocol.KindJoin, nil, "")), status: 403, code: protocol.CodeInviteRequired, valid: true},
		{name: "submit join needing approval", node: a, token: eveTok, method: "POST", path: "/api/v1/submit", body: sub(eve, appr, protocol.NewJoinBody(protocol.KindJoin, nil, "")), status: 403, code: protocol.CodeApprovalNeeded, valid: true},
		{name: "submit join with a used-up invite", node: a, token: eveTok, method: "POST", path: "/api/v1/submit", body: sub(eve, shop, protocol.NewJoinBody(protocol.KindJoin, once.Raw, "")), status: 410, code: protocol.CodeInviteUsedUp, valid: true},
		{name: "submit a pin twice", node: a, token: adminTok, method: "POST", path: "/api/v1/submit", body: sub(a.admin, shop, protocol.NewTargetBody(protocol.KindPin, msg.Seq)), status: 409, code: protocol.CodeConflict, valid: true},
		{name: "submit to an unknown group", node: a, token: adminTok, method: "POST", path: "/api/v1/submit", body: sub(a.admin, protocol.GroupID{7}, text("x")), status: 404, code: protocol.CodeUnknownGroup, valid: true},
		{name: "submit with trailing data", node: b, token: bobTok, method: "POST", path: "/api/v1/submit", body: sub(bob, shop, text("x")) + `{"submission":"AAAA"}`, status: 400, code: protocol.CodeMalformed},
		{name: "submit non-base64", node: b, token: bobTok, method: "POST", path: "/api/v1/submit", body: `{"submission":"not base64!"}`, status: 400, code: protocol.CodeMalformed},
		{name: "submit garbage bytes", node: b, token: bobTok, method: "POST", path: "/api/v1/submit", body: `{"submission":"AAAA"}`, status: 400, code: protocol.CodeMalformed, valid: true},
		{name: "submit with nine host addresses", node: b, token: bobTok, method: "POST", path: "/api/v1/submit", body: nineAddrs, status: 400, code: protocol.CodeInvalid},
		{name: "submit of a submission too large", node: b, token: bobTok, method: "POST", path: "/api/v1/submit", body: `{"submission":"` + strings.Repeat("A", 86704) + `"}`, status: 413, code: protocol.CodeTooLarge},
		{name: "submit too large", node: b, token: bobTok, method: "POST", path: "/api/v1/submit", body: big, status: 413, code: protocol.CodeTooLarge},

		{name: "my groups", node: b, token: bobTok, method: "GET", path: "/api/v1/me/groups", status: 200, valid: true},
		{name: "my groups of the owner", node: a, token: adminTok, method: "GET", path: "/api/v1/me/groups", status: 200, valid: true},
		{name: "my groups with a request", node: a, token: daveTok, method: "GET", path: "/api/v1/me/groups", status: 200, valid: true},
		{name: "my groups without session", node: a, method: "GET", path: "/api/v1/me/groups", status: 401, code: protocol.CodeUnauthenticated},
		{name: "my groups with ?token=", node: a, method: "GET", path: "/api/v1/me/groups?token=" + carolTok, status: 200, valid: true},
		{name: "upload", node: b, token: bobTok, method: "POST", path: "/api/v1/blobs?name=receipt.pdf", header: map[string]string{"Content-Type": "application/pdf"}, body: "%PDF-1.7 receipt", status: 200, valid: true},
		{name: "upload an SVG", node: b, token: bobTok, method: "POST", path: "/api/v1/blobs", header: map[string]string{"Content-Type": "image/svg+xml"}, body: `<svg onload="alert(1)"/>`, status: 400, code: protocol.CodeInvalid, valid: true},
		{name: "upload without session", node: b, method: "POST", path: "/api/v1/blobs", header: map[string]string{"Content-Type": "application/pdf"}, body: "%PDF", status: 401, code: protocol.CodeUnauthenticated},
		{name: "download", node: b, token: bobTok, method: "GET", path: "/api/v1/groups/" + shop.String() + "/blobs/" + up.Hash, status: 200, valid: true},
		{name: "download from the host", node: a, token: adminTok, method: "GET", path: "/api/v1/groups/" + shop.String() + "/blobs/" + up.Hash, status: 200, valid: true},
		{name: "download by a non-member", node: a, token: eveTok, method: "GET", path: "/api/v1/groups/" + shop.String() + "/blobs/" + up.Hash, status: 403, code: protocol.CodePrivate, valid: true},
		{name: "download of a blob no message has", node: b, token: bobTok, method: "GET", path: "/api/v1/groups/" + shop.String() + "/blobs/" + strings.Repeat("ab", 32), status: 404, code: protocol.CodeNotFound, valid: true},
		{name: "download with a malformed hash", node: b, token: bobTok, method: "GET", path: "/api/v1/groups/" + shop.String() + "/blobs/XYZ", status: 400, code: protocol.CodeInvalid},
		{name: "set my profile", node: b, token: bobTok, method: "PUT", path: "/api/v1/me/profile", body: `{"name":"王小明","bio":"tea lover"}`, status: 200, valid: true},
		{name: "set my profile with a group shown", node: b, token: bobTok, method: "PUT", path: "/api/v1/me/profile", body: fmt.Sprintf(`{"name":"王小明","bio":"tea lover","groups":[%q]}`, shop), status: 200, valid: true},
		{name: "show a group I am not in", node: b, token: bobTok, method: "PUT", path: "/api/v1/me/profile", body: fmt.Sprintf(`{"name":"王小明","groups":[%q]}`, appr), status: 403, code: protocol.CodeNotMember, valid: true},
		{name: "my profile", node: b, token: bobTok, method: "GET", path: "/api/v1/me/profile", status: 200, valid: true},
		{name: "about a group on its host", node: b, token: bobTok, method: "GET", path: "/api/v1/groups/" + appr.String() + "/about?host=" + a.ID().String() + "&addr=" + url.QueryEscape(a.Addrs()[0].String()), status: 200, valid: true},
		{name: "about an invite-only group", node: a, token: adminTok, method: "GET", path: "/api/v1/groups/" + shop.String() + "/about", status: 403, code: protocol.CodeInviteRequired, valid: true},
		{name: "about a group without its host", node: b, token: bobTok, method: "GET", path: "/api/v1/groups/" + appr.String() + "/about", status: 404, code: protocol.CodeUnknownGroup, valid: true},
		{name: "about with a malformed host", node: b, token: bobTok, method: "GET", path: "/api/v1/groups/" + appr.String() + "/about?host=x", status: 400, code: protocol.CodeInvalid},
		{name: "my empty profile", node: a, token: eveTok, method: "GET", path: "/api/v1/me/profile", status: 200, valid: true},
		{name: "set a name with a control character", node: b, token: bobTok, method: "PUT", path: "/api/v1/me/profile", body: `{"name":"a\u0007b"}`, status: 400, code: protocol.CodeInvalid, valid: true},
		{name: "set a profile with an unknown field", node: b, token: bobTok, method: "PUT", path: "/api/v1/me/profile", body: `{"avatar":"x"}`, status: 400, code: protocol.CodeMalformed},
		{name: "my profile without session", node: a, method: "GET", path: "/api/v1/me/profile", status: 401, code: protocol.CodeUnauthenticated},
		{name: "contact request", node: b, token: bobTok, method: "POST", path: "/api/v1/contacts", body: contactBody(askOwner), status: 200, valid: true},
		{name: "contact offer", node: a, token: adminTok, method: "POST", path: "/api/v1/contacts", body: contactBody(offerBob), status: 200, valid: true},
		{name: "contact by a non-member", node: a, token: eveTok, method: "POST", path: "/api/v1/contacts", body: contactBody(eveAsks), status: 403, code: protocol.CodeNotMember, valid: true},
		{name: "contact signed by another user", node: a, token: eveTok, method: "POST", path: "/api/v1/contacts", body: contactBody(askOwner), status: 403, code: protocol.CodeForbidden, valid: true},
		{name: "contact not base64", node: a, token: eveTok, method: "POST", path: "/api/v1/contacts", body: `{"offer":"not base64!"}`, status: 400, code: protocol.CodeInvalid, valid: true},
		{name: "contact garbage", node: a, token: eveTok, method: "POST", path: "/api/v1/contacts", body: `{"offer":"AAAA"}`, status: 400, code: protocol.CodeMalformed, valid: true},
		{name: "contact without session", node: a, method: "POST", path: "/api/v1/contacts", body: contactBody(askOwner), status: 401, code: protocol.CodeUnauthenticated},
		{name: "my contacts (a request)", node: a, token: adminTok, method: "GET", path: "/api/v1/me/contacts", status: 200, valid: true},
		{name: "my contacts (an offer)", node: b, token: bobTok, method: "GET", path: "/api/v1/me/contacts", status: 200, valid: true},
		{name: "my contacts (none)", node: a, token: eveTok, method: "GET", path: "/api/v1/me/contacts", status: 200, valid: true},
		{name: "dismiss a contact", node: a, token: adminTok, method: "DELETE", path: "/api/v1/me/contacts/" + hexID(askOwner), status: 200, valid: true},
		{name: "dismiss it again", node: a, token: adminTok, method: "DELETE", path: "/api/v1/me/contacts/" + hexID(askOwner), status: 404, code: protocol.CodeNotFound, valid: true},
		{name: "dismiss a malformed ID", node: a, token: adminTok, method: "DELETE", path: "/api/v1/me/contacts/xyz", status: 400, code: protocol.CodeInvalid, valid: true},
		{name: "groups", node: a, token: adminTok, method: "GET", path: "/api/v1/groups", status: 200, valid: true},
		{name: "groups by a non-admin", node: b, token: bobTok, method: "GET", path: "/api/v1/groups", status: 403, code: protocol.CodeForbidden, valid: true},

		{name: "group", node: b, token: bobTok, method: "GET", path: "/api/v1/groups/" + gid, status: 200, valid: true},
		{name: "group on the host", node: a, token: adminTok, method: "GET", path: "/api/v1/groups/" + gid, status: 200, valid: true},
		{name: "group with a request", node: a, token: adminTok, method: "GET", path: "/api/v1/groups/" + appr.String(), status: 200, valid: true},
		{name: "group in upper case", node: b, token: bobTok, method: "GET", path: "/api/v1/groups/" + strings.ToUpper(gid), status: 400, code: protocol.CodeInvalid},
		{name: "group malformed", node: b, token: bobTok, method: "GET", path: "/api/v1/groups/xyz", status: 400, code: protocol.CodeInvalid},
		{name: "group unknown", node: b, token: bobTok, method: "GET", path: "/api/v1/groups/" + protocol.GroupID{9}.String(), status: 404, code: protocol.CodeUnknownGroup, valid: true},
		{name: "group private", node: a, token: eveTok, method: "GET", path: "/api/v1/groups/" + gid, status: 403, code: protocol.CodePrivate, valid: true},
		{name: "group without session", node: a, method: "GET", path: "/api/v1/groups/" + gid, status: 401, code: protocol.CodeUnauthenticated},

		{name: "events", node: b, token: bobTok, method: "GET", path: "/api/v1/groups/" + gid + "/events", status: 200, valid: true},
		{name: "events from, limit", node: b, token: bobTok, method: "GET", path: "/api/v1/groups/" + gid + "/events?from=2&limit=3", status: 200, valid: true},
		{name: "events past the head", node: b, token: bobTok, method: "GET", path: "/api/v1/groups/" + gid + "/events?from=1000", status: 200, valid: true},
		{name: "events backward", node: b, token: bobTok, method: "GET", path: "/api/v1/groups/" + gid + "/events?before=0&limit=4", status: 200, valid: true},
		{name: "events backward from 5", node: a, token: adminTok, method: "GET", path: "/api/v1/groups/" + gid + "/events?before=5", status: 200, valid: true},
		{name: "events limit 0", node: b, token: bobTok, method: "GET", path: "/api/v1/groups/" + gid + "/events?limit=0", status: 400, code: protocol.CodeInvalid},
		{name: "events limit 1001", node: b, token: bobTok, method: "GET", path: "/api/v1/groups/" + gid + "/events?limit=1001", status: 400, code: protocol.CodeInvalid},
		{name: "events from 0", node: b, token: bobTok, method: "GET", path: "/api/v1/groups/" + gid + "/events?from=0", status: 400, code: protocol.CodeInvalid},
		{name: "events from a word", node: b, token: bobTok, method: "GET", path: "/api/v1/groups/" + gid + "/events?from=one", status: 400, code: protocol.CodeInvalid},
		{name: "events before -1", node: b, token: bobTok, method: "GET", path: "/api/v1/groups/" + gid + "/events?before=-1", status: 400, code: protocol.CodeInvalid},
		{name: "events private", node: a, token: eveTok, method: "GET", path: "/api/v1/groups/" + gid + "/events", status: 403, code: protocol.CodePrivate, valid: true},

		{name: "ws without handshake", node: a, token: adminTok, method: "GET", path: "/api/v1/ws", status: 400, code: protocol.CodeInvalid},
		{name: "ws without session", node: a, header: wsHeaders, method: "GET", path: "/api/v1/ws", status: 401, code: protocol.CodeUnauthenticated},
		{name: "ws from another origin", node: a, header: withOrigin, method: "GET", path: "/api/v1/ws?token=" + adminTok, status: 403, code: protocol.CodeForbidden, valid: true},
	}
	failures = append(failures, oaRunCalls(t, s, client, rec, calls)...)

	// A node that does not hold the group asks its host for a preview
	// (signed in: only a session may make a node dial out).
	limited := startNode(t, "", func(c *Config) { c.APIRatePerSecond = 0 })
	limited.Host().Peerstore().AddAddrs(a.PeerID(), a.Host().Addrs(), time.Hour)
	var p api.InvitePreview
	oaJSON(t, client, "GET", limited.APIURL()+"/api/v1/invites/preview?token="+inv.Token(), signIn(limited, eve), "", &p)
	if p.Group != gid || !p.Valid {
		failures = append(failures, fmt.Sprintf("remote preview %+v", p))
	}
	if resp, err := client.Get(limited.APIURL() + "/api/v1/invites/preview?token=" + inv.Token()); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != 401 {
		failures = append(failures, fmt.Sprintf("remote preview without a session: %d, want 401", resp.StatusCode))
	}
	checkAll(true)

	// The rate limit: 429 with Retry-After, on a node with the default limit.
	for i := 0; ; i++ {
		resp, err := client.Get(limited.APIURL() + "/api/v1/node")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 429 {
			if resp.Header.Get("Retry-After") == "" {
				failures = append(failures, "429 without Retry-After")
			}
			break
		}
		if i > 10*light.DefaultRequestBurst {
			t.Fatal("no 429 after a flood of requests")
		}
	}
	checkAll(true)

	// The WebSocket: handshake, then every message both ways against the
	// WSClientMessage and WSServerMessage components.
	wsFailures := oaWebSocket(t, s, client, b, bobTok, a, shop)
	checkAll(true)
	failures = append(failures, wsFailures...)

	for _, f := range failures {
		t.Error(f)
	}
}

// oaWebSocket opens bob's WebSocket on his home node b, sends good and
// bad messages, then has the host a kick bob so that his subscription
// ends; every message is checked against the document.
func oaWebSocket(t *testing.T, s *oaSpec, client *http.Client, b *testNode, tok string, a *testNode, gid protocol.GroupID) []string {
	var failures []string
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, strings.Replace(b.APIURL(), "http", "ws", 1)+"/api/v1/ws?token="+tok, &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	send := func(msg string, valid bool) {
		t.Helper()
		errs := s.validateValue("WSClientMessage", []byte(msg))
		if valid && errs != nil {
			failures = append(failures, fmt.Sprintf("client message %s should be valid:\n%s", msg, oaFormat(errs)))
		}
		if !valid && errs == nil {
			failures = append(failures, fmt.Sprintf("the document accepts client message %s, which the node refuses", msg))
		}
		if err := conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	var got []api.WSServerMessage
	read := func(stop func(api.WSServerMessage) bool) {
		t.Helper()
		for {
			_, data, err := conn.Read(ctx)
			if err != nil {
				t.Fatalf("WebSocket read after %d messages: %v", len(got), err)
			}
			if errs := s.validateValue("WSServerMessage", data); errs != nil {
				failures = append(failures, fmt.Sprintf("server message %s does not match the document:\n%s", oaTrim(data), oaFormat(errs)))
			}
			var m api.WSServerMessage
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			got = append(got, m)
			if stop(m) {
				return
			}
		}
	}
	// refusedNext checks that the node's next answer to msg (other than
	// events of the subscription) is an error message.
	refusedNext := func(msg string) {
		t.Helper()
		read(func(m api.WSServerMessage) bool { return m.Type != "event" })
		if last := got[len(got)-1]; last.Type != "error" {
			failures = append(failures, fmt.Sprintf("client message %s: answered %+v, want an error", msg, last))
			if last.Type == "subscribed" {
				send(fmt.Sprintf(`{"type":"unsubscribe","group":%q}`, last.Group), false)
			}
		}
	}
	head, _ := b.Head(gid)
	send(fmt.Sprintf(`{"type":"subscribe","group":%q,"from":1}`, gid), true)
	read(func(m api.WSServerMessage) bool { return m.Type == "event" && m.Event.Seq == head })
	send(`{"type":"ping"}`, true)
	read(func(m api.WSServerMessage) bool { return m.Type == "pong" })
	send(fmt.Sprintf(`{"type":"ack","group":%q,"seq":%d}`, gid, head), true)
	for _, bad := range []string{
		`not json`,
		`{"type":"dance"}`,
		`{"type":"subscribe","group":"xyz"}`,
		fmt.Sprintf(`{"type":"subscribe","group":%q}`, strings.ToUpper(gid.String())),
		`{"type":"ack","seq":-1}`,
	} {
		send(bad, false)
		refusedNext(bad)
	}
	// Well-formed messages the node refuses for what they ask.
	for _, refused := range []string{
		fmt.Sprintf(`{"type":"subscribe","group":%q}`, protocol.GroupID{9}),
		fmt.Sprintf(`{"type":"ack","group":%q,"seq":%d}`, gid, head+100),
	} {
		send(refused, true)
		refusedNext(refused)
	}
	send(fmt.Sprintf(`{"type":"unsubscribe","group":%q}`, gid), true)
	send(fmt.Sprintf(`{"type":"subscribe","group":%q}`, gid), true)
	read(func(m api.WSServerMessage) bool { return m.Type == "subscribed" })
	// Removed from the group: the subscription ends.
	mustSubmit(t, a, a.admin, gid, protocol.NewMemberBody(protocol.KindKick, b.oaUser(t, tok), "bye"))
	read(func(m api.WSServerMessage) bool { return m.Type == "ended" })
	seen := map[string]bool{}
	for _, m := range got {
		seen[m.Type] = true
	}
	for _, typ := range []string{"subscribed", "event", "pong", "error", "ended"} {
		if !seen[typ] {
			failures = append(failures, "the WebSocket sent no "+typ+" message")
		}
	}
	return failures
}

// oaUser returns the user of a session token.
func (n *testNode) oaUser(t *testing.T, tok string) protocol.UserID {
	t.Helper()
	u, err := n.light.User(tok)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// oaJSON sends a request that must succeed and decodes its answer.
func oaJSON(t *testing.T, c *http.Client, method, url, token, body string, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatal(err)
	}
}

// oaHead returns the head of a group held by n.
func oaHead(t *testing.T, n *testNode, gid protocol.GroupID) uint64 {
	t.Helper()
	h, err := n.Head(gid)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestOpenAPICatchesMismatches: the validation of TestOpenAPI fails when
// the document and the node disagree on a field, a limit, a status or a
// path (each mutation of the document below must be caught).
func TestOpenAPICatchesMismatches(t *testing.T) {
	data, err := os.ReadFile(oaSpecPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	a := startNode(t, "")
	gid := createGroup(t, a, "shop", protocol.PolicyOpen)
	rec := &oaRecorder{}
	client := &http.Client{Transport: rec}
	tok := newAPI(t, a, a.admin).signIn().token
	get := func(path string) *oaExchange {
		req, _ := http.NewRequest("GET", a.APIURL()+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		xs := rec.take()
		return xs[len(xs)-1]
	}
	group := get("/api/v1/groups/" + gid.String())
	unknown := get("/api/v1/groups/" + protocol.GroupID{9}.String())
	mine := get("/api/v1/me/groups")
	if err := oaLoad(t).check(group, true); err != nil {
		t.Fatalf("the real document refuses a good answer: %v", err)
	}
	// cut removes the first line containing what after the line containing anchor.
	cut := func(anchor, what string) string {
		i := strings.Index(doc, anchor)
		j := i + strings.Index(doc[i:], what)
		if i < 0 || j < i {
			t.Fatalf("%q after %q not in the document", what, anchor)
		}
		start := strings.LastIndex(doc[:j], "\n") + 1
		end := j + strings.Index(doc[j:], "\n") + 1
		return doc[:start] + doc[end:]
	}
	for _, m := range []struct {
		what string
		doc  string
		x    *oaExchange
	}{
		{"an undocumented field", cut("GroupSummaryFields:", "hosted:"), group},
		{"a field the node omits", strings.Replace(doc, "required: [host_addrs, owner,", "required: [muted_all, host_addrs, owner,", 1), group},
		{"a limit the node exceeds", strings.Replace(doc, "name: { type: string, maxLength: 64 }", "name: { type: string, maxLength: 2 }", 1), group},
		{"an undocumented status", cut("operationId: getGroup", `"404":`), unknown},
		{"an undocumented path", strings.Replace(doc, "/api/v1/me/groups:", "/api/v1/me/groupz:", 1), mine},
	} {
		if m.doc == doc {
			t.Fatalf("%s: the mutation changed nothing", m.what)
		}
		if err := oaParse(t, []byte(m.doc)).check(m.x, true); err == nil {
			t.Errorf("%s: not caught", m.what)
		} else {
			t.Logf("%s: caught: %.300s", m.what, err)
		}
	}
}

// oaRunCalls sends each call of a table through client (whose transport is
// rec), checks its status and code, and validates every exchange against
// the document; it returns the problems found.
func oaRunCalls(t *testing.T, s *oaSpec, client *http.Client, rec *oaRecorder, calls []oaCall) []string {
	t.Helper()
	var failures []string
	for _, c := range calls {
		req, err := http.NewRequest(c.method, c.node.APIURL()+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			failures = append(failures, fmt.Sprintf("%s: status %d, want %d: %s", c.name, resp.StatusCode, c.status, oaTrim(data)))
		} else if c.code != 0 {
			var eb api.ErrorBody
			if json.Unmarshal(data, &eb) != nil || eb.Error.Code != c.code.String() {
				failures = append(failures, fmt.Sprintf("%s: answer %s, want code %s", c.name, oaTrim(data), c.code))
			}
		}
		for _, x := range rec.take() {
			if err := s.check(x, c.valid); err != nil {
				failures = append(failures, c.name+": "+err.Error())
			}
		}
	}
	return failures
}
