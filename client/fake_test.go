package client

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// fakeNode answers the node API the way the real node does for the client's
// own tests: it checks and records submissions and sequences them without
// group rules. The real node is tested end to end elsewhere.
type fakeNode struct {
	t    *testing.T
	host *protocol.Key
	srv  *httptest.Server

	mu       sync.Mutex
	subs     []*protocol.SignedSubmission // every accepted submission, in order
	reqs     []api.SubmitRequest          // every submit request
	answered map[protocol.SubmissionID]api.SubmitResponse
	heads    map[protocol.GroupID]*protocol.SignedEvent
	refuse   *protocol.Error   // if set, submissions are refused with it
	history  int               // number of synthetic events per group
	pageCap  int               // if set, pages hold at most this many events (as a byte bound does)
	queries  []string          // raw queries of events requests
	refs     map[string]string // invite ID → reference set with PUT .../ref

	// Sessions, as the node's: challenges, tokens and who they are for.
	challenges map[string]bool            // base64 challenges not used yet
	tokens     map[string]protocol.UserID // live session tokens
	logins     int                        // sessions opened
	authHdrs   []string                   // Authorization of each session request
	badSize    bool                       // if set, challenges have a wrong size
	limited    int                        // if > 0, that many session requests get 429 with Retry-After
	retryAfter string                     // the Retry-After of those (default "0")

	ws *fakeWS // the WebSocket (ws_test.go)
}

func newFakeNode(t *testing.T) *fakeNode {
	t.Helper()
	host, err := protocol.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeNode{
		t: t, host: host, answered: map[protocol.SubmissionID]api.SubmitResponse{}, heads: map[protocol.GroupID]*protocol.SignedEvent{},
		challenges: map[string]bool{}, tokens: map[string]protocol.UserID{},
	}
	f.ws = newFakeWS(f)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/node", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, api.NodeInfo{PeerID: host.ID().String(), Addrs: f.addrs(), Version: "test"})
	})
	mux.HandleFunc("POST /api/v1/auth/challenge", f.challenge)
	mux.HandleFunc("POST /api/v1/auth/session", f.session)
	mux.HandleFunc("GET /api/v1/invites/preview", f.preview)
	mux.HandleFunc("POST /api/v1/submit", f.authed(f.submit))
	mux.HandleFunc("GET /api/v1/groups", f.authed(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, []api.GroupSummary{{Group: "g", Name: "n", Host: host.ID().String(), Hosted: true, Head: 3, Members: 2}})
	}))
	mux.HandleFunc("GET /api/v1/me/groups", f.authed(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, []api.MyGroup{
			{GroupSummary: api.GroupSummary{Group: "g", Name: "n", Head: 3}, Role: "member", Announcement: "sale", Pins: []uint64{2}, UnreadFrom: 3},
			{GroupSummary: api.GroupSummary{Group: "h", Name: "m"}, Pending: true},
		})
	}))
	mux.HandleFunc("GET /api/v1/groups/{gid}", f.authed(f.group))
	mux.HandleFunc("GET /api/v1/groups/{gid}/events", f.authed(f.events))
	mux.HandleFunc("PUT /api/v1/groups/{gid}/invites/{invite}/ref", f.authed(func(w http.ResponseWriter, r *http.Request) {
		var req api.InviteRefRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeErr(w, protocol.Errorf(protocol.CodeMalformed, "%v", err))
			return
		}
		f.mu.Lock()
		if f.refs == nil {
			f.refs = map[string]string{}
		}
		f.refs[r.PathValue("invite")] = req.Ref
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, req)
	}))
	mux.HandleFunc("GET /api/v1/ws", f.authed(f.ws.serve))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// authed requires a live session token, as the node does.
func (f *fakeNode) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("token")
		auth := r.Header.Get("Authorization")
		if auth != "" {
			token = strings.TrimPrefix(auth, "Bearer ")
		}
		f.mu.Lock()
		f.authHdrs = append(f.authHdrs, auth)
		_, ok := f.tokens[token]
		limited := f.limited > 0
		if limited {
			f.limited--
		}
		ra := f.retryAfter
		f.mu.Unlock()
		if limited {
			if ra == "" {
				ra = "0"
			}
			w.Header().Set("Retry-After", ra)
			writeErr(w, protocol.Errorf(protocol.CodeRateLimited, "too many requests; slow down"))
			return
		}
		if !ok {
			writeErr(w, protocol.Errorf(protocol.CodeUnauthenticated, "your session expired; sign in again"))
			return
		}
		h(w, r)
	}
}

// expireSessions forgets every session, as a node restart does.
func (f *fakeNode) expireSessions() {
	f.mu.Lock()
	f.tokens = map[string]protocol.UserID{}
	f.mu.Unlock()
}

func (f *fakeNode) challenge(w http.ResponseWriter, r *http.Request) {
	var req api.ChallengeRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeErr(w, protocol.Errorf(protocol.CodeMalformed, "bad JSON: %v", err))
		return
	}
	b := make([]byte, 0, protocol.ChallengeSize)
	id := f.host.ID()
	b = append(b, id[:]...)
	b = append(b, make([]byte, 32)...)
	rand.Read(b[32:64])
	b = binary.BigEndian.AppendUint64(b, uint64(time.Now().Add(time.Minute).UnixMilli()))
	f.mu.Lock()
	if f.badSize {
		b = b[:40]
	}
	enc := base64.StdEncoding.EncodeToString(b)
	f.challenges[enc] = true
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, api.ChallengeResponse{Challenge: enc, Expires: uint64(time.Now().Add(time.Minute).UnixMilli())})
}

func (f *fakeNode) session(w http.ResponseWriter, r *http.Request) {
	var req api.SessionRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeErr(w, protocol.Errorf(protocol.CodeMalformed, "bad JSON: %v", err))
		return
	}
	user, err := protocol.ParseUserID(req.User)
	if err != nil {
		writeErr(w, protocol.Errorf(protocol.CodeInvalid, "%v", err))
		return
	}
	ch, _ := base64.StdEncoding.DecodeString(req.Challenge)
	sig, _ := base64.StdEncoding.DecodeString(req.Signature)
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.challenges[req.Challenge] {
		writeErr(w, protocol.Errorf(protocol.CodeUnauthenticated, "the challenge is unknown, used or expired; ask for a new one"))
		return
	}
	delete(f.challenges, req.Challenge)
	if !protocol.VerifyRaw(user, protocol.DomainAuth, ch, sig) {
		writeErr(w, protocol.Errorf(protocol.CodeBadSignature, "the signature of the challenge does not verify"))
		return
	}
	tok := make([]byte, 16)
	rand.Read(tok)
	token := base64.RawURLEncoding.EncodeToString(tok)
	f.tokens[token] = user
	f.logins++
	writeJSON(w, http.StatusOK, api.SessionResponse{Token: token, User: user.String(), Expires: uint64(time.Now().Add(24 * time.Hour).UnixMilli())})
}

func (f *fakeNode) preview(w http.ResponseWriter, r *http.Request) {
	inv, err := protocol.ParseToken(r.URL.Query().Get("token"))
	if err != nil {
		writeErr(w, protocol.AsError(err))
		return
	}
	writeJSON(w, http.StatusOK, api.InvitePreview{
		Group: inv.Group.String(), Name: "shop", Members: 3, Cap: 500, Policy: "invite",
		Host: inv.Host.String(), Inviter: inv.Inviter.String(), MaxUses: inv.MaxUses, Valid: true,
	})
}

func (f *fakeNode) addrs() []string {
	return []string{"/ip4/127.0.0.1/tcp/4001/p2p/" + f.host.ID().String(), "/ip4/10.0.0.1/udp/4001/quic-v1"}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, e *protocol.Error) {
	writeJSON(w, api.HTTPStatus(e.Code), api.ErrorBody{Error: api.ErrorJSON{Code: e.Code.String(), Message: e.Msg}})
}

func (f *fakeNode) submit(w http.ResponseWriter, r *http.Request) {
	var req api.SubmitRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeErr(w, protocol.Errorf(protocol.CodeMalformed, "bad JSON: %v", err))
		return
	}
	raw, err := base64.StdEncoding.DecodeString(req.Submission)
	if err != nil {
		writeErr(w, protocol.Errorf(protocol.CodeMalformed, "submission is not base64"))
		return
	}
	sub, err := protocol.DecodeSubmission(raw)
	if err == nil {
		err = sub.Verify()
	}
	if err != nil {
		writeErr(w, protocol.AsError(err))
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	if f.refuse != nil {
		writeErr(w, f.refuse)
		return
	}
	if resp, ok := f.answered[sub.ID]; ok {
		writeJSON(w, http.StatusOK, resp)
		return
	}
	gid := sub.GroupID()
	ev := protocol.Event{Group: gid, Seq: 1, Time: uint64(time.Now().UnixMilli()), Via: f.host.ID(), Submission: raw}
	if prev := f.heads[gid]; prev != nil {
		ev.Seq, ev.Prev = prev.Seq+1, prev.ID
	} else if sub.Kind != protocol.KindCreate {
		ev.Seq, ev.Prev = 2, protocol.EventID{1} // pretend a create came first
	}
	signed, err := ev.Sign(f.host)
	if err != nil {
		f.t.Errorf("fake node: signing event: %v", err)
		writeErr(w, protocol.AsError(err))
		return
	}
	f.heads[gid] = signed
	f.subs = append(f.subs, sub)
	resp := api.SubmitResponse{Group: gid.String(), Seq: signed.Seq, ID: signed.ID.String(), Time: signed.Time, Event: base64.StdEncoding.EncodeToString(signed.Raw)}
	f.answered[sub.ID] = resp
	writeJSON(w, http.StatusOK, resp)
}

func (f *fakeNode) group(w http.ResponseWriter, r *http.Request) {
	gid, err := protocol.ParseGroupID(r.PathValue("gid"))
	if err != nil {
		writeErr(w, protocol.Errorf(protocol.CodeMalformed, "%v", err))
		return
	}
	if gid == (protocol.GroupID{}) {
		writeErr(w, protocol.Errorf(protocol.CodeUnknownGroup, "this node does not know group %s", gid))
		return
	}
	writeJSON(w, http.StatusOK, api.GroupView{
		GroupSummary: api.GroupSummary{Group: gid.String(), Name: "shop", Host: f.host.ID().String(), Hosted: true},
		HostAddrs:    append(f.addrs(), "not a multiaddr"),
		Policy:       "invite",
	})
}

func (f *fakeNode) events(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.queries = append(f.queries, r.URL.RawQuery)
	head := uint64(f.history)
	pageCap := f.pageCap
	f.mu.Unlock()
	q := r.URL.Query()
	from, limit := uint64(1), 100
	if s := q.Get("limit"); s != "" {
		limit, _ = strconv.Atoi(s)
	}
	if s := q.Get("before"); s != "" {
		before, _ := strconv.ParseUint(s, 10, 64)
		if before == 0 || before > head+1 {
			before = head + 1
		}
		if pageCap > 0 && limit > pageCap {
			limit = pageCap
		}
		first := uint64(1)
		if before > uint64(limit) {
			first = before - uint64(limit)
		}
		page := api.BackwardPage{Events: []api.EventView{}, Head: head}
		for s := first; s < before; s++ {
			page.Events = append(page.Events, api.EventView{Seq: s, Kind: "message", Text: "m" + strconv.FormatUint(s, 10)})
		}
		if first > 1 {
			page.Prev = first
		}
		writeJSON(w, http.StatusOK, page)
		return
	}
	if s := q.Get("from"); s != "" {
		from, _ = strconv.ParseUint(s, 10, 64)
	}
	if s := q.Get("limit"); s != "" {
		limit, _ = strconv.Atoi(s)
	}
	if limit > 1000 {
		writeErr(w, protocol.Errorf(protocol.CodeInvalid, "limit %d exceeds 1000", limit))
		return
	}
	if pageCap > 0 && limit > pageCap {
		limit = pageCap
	}
	page := api.EventsPage{Events: []api.EventView{}, Head: head, Next: from}
	for s := from; s <= head && len(page.Events) < limit; s++ {
		page.Events = append(page.Events, api.EventView{Seq: s, Kind: "message", Text: "m" + strconv.FormatUint(s, 10)})
		page.Next = s + 1
	}
	writeJSON(w, http.StatusOK, page)
}
