package client

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
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
	reqs     []protocol.SubmitRequest     // every submit request
	answered map[protocol.SubmissionID]protocol.SubmitResponse
	heads    map[protocol.GroupID]*protocol.SignedEvent
	refuse   *protocol.Error // if set, submissions are refused with it
	history  int             // number of synthetic events per group
	pageCap  int             // if set, pages hold at most this many events (as a byte bound does)
	queries  []string        // raw queries of events requests
}

func newFakeNode(t *testing.T) *fakeNode {
	t.Helper()
	host, err := protocol.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeNode{t: t, host: host, answered: map[protocol.SubmissionID]protocol.SubmitResponse{}, heads: map[protocol.GroupID]*protocol.SignedEvent{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/node", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, protocol.NodeInfo{PeerID: host.ID().String(), Addrs: f.addrs(), Version: "test"})
	})
	mux.HandleFunc("POST /api/v1/submit", f.submit)
	mux.HandleFunc("GET /api/v1/groups", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, []protocol.GroupSummary{{Group: "g", Name: "n", Host: host.ID().String(), Hosted: true, Head: 3, Members: 2}})
	})
	mux.HandleFunc("GET /api/v1/groups/{gid}", f.group)
	mux.HandleFunc("GET /api/v1/groups/{gid}/events", f.events)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
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
	writeJSON(w, e.Code.HTTPStatus(), protocol.ErrorBody{Error: protocol.ErrorJSON{Code: e.Code.String(), Message: e.Msg}})
}

func (f *fakeNode) submit(w http.ResponseWriter, r *http.Request) {
	var req protocol.SubmitRequest
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
	resp := protocol.SubmitResponse{Group: gid.String(), Seq: signed.Seq, ID: signed.ID.String(), Time: signed.Time, Event: base64.StdEncoding.EncodeToString(signed.Raw)}
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
	writeJSON(w, http.StatusOK, protocol.GroupView{
		GroupSummary: protocol.GroupSummary{Group: gid.String(), Name: "shop", Host: f.host.ID().String(), Hosted: true},
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
	page := protocol.EventsPage{Events: []protocol.EventView{}, Head: head, Next: from}
	for s := from; s <= head && len(page.Events) < limit; s++ {
		page.Events = append(page.Events, protocol.EventView{Seq: s, Kind: "message", Text: "m" + strconv.FormatUint(s, 10)})
		page.Next = s + 1
	}
	writeJSON(w, http.StatusOK, page)
}
