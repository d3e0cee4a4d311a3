package node

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/multiformats/go-multiaddr"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
	"github.com/qunchat/qun/web"
)

// Limits of the HTTP API (docs/API.md, docs/openapi.yaml).
const (
	// maxAPIBody bounds a request body: 128 KiB, room for the base64 of
	// the largest submission (protocol.MaxSubmissionSize) and its host
	// addresses.
	maxAPIBody = 128 << 10
	// maxHostAddrs and maxHostAddrLen bound the host_addrs of a submit
	// request, as an invite bounds its addresses.
	maxHostAddrs   = protocol.MaxInviteAddrs
	maxHostAddrLen = 1024
)

// defaultPage and maxPage bound the events of one history page.
const (
	defaultPage = 100
	maxPage     = 1000
)

func (n *Node) startAPI() error {
	tlsConf, err := n.tlsConfig()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", n.cfg.APIAddr)
	if err != nil {
		return fmt.Errorf("HTTP API on %s: %w", n.cfg.APIAddr, err)
	}
	n.apiLn = ln
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	n.api = &http.Server{
		Handler:           n.apiHandler(),
		ConnContext:       n.apiConnContext, // WebSockets tune their socket (ws_tcp.go)
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.api.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("HTTP API stopped", "err", err)
		}
	}()
	return nil
}

func (n *Node) apiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/node", n.limited(n.apiNode))
	mux.HandleFunc("POST /api/v1/auth/challenge", n.limited(n.apiChallenge))
	mux.HandleFunc("POST /api/v1/auth/session", n.limited(n.apiSession))
	mux.HandleFunc("GET /api/v1/invites/preview", n.limited(n.apiPreview))
	mux.HandleFunc("POST /api/v1/invites/short", n.authed(n.apiShortCreate))
	mux.HandleFunc("GET /api/v1/invites/short/{handle}", n.limited(n.apiShortGet))
	mux.HandleFunc("GET /j/{handle}", n.limited(n.webShort))
	mux.HandleFunc("POST /api/v1/submit", n.authed(n.apiSubmit))
	mux.HandleFunc("GET /api/v1/me/groups", n.authed(n.apiMyGroups))
	mux.HandleFunc("POST /api/v1/blobs", n.authed(n.apiUpload))
	mux.HandleFunc("GET /api/v1/groups/{gid}/blobs/{hash}", n.authed(n.apiBlob))
	mux.HandleFunc("GET /api/v1/me/profile", n.authed(n.apiMyProfile))
	mux.HandleFunc("PUT /api/v1/me/profile", n.authed(n.apiSetMyProfile))
	mux.HandleFunc("GET /api/v1/groups", n.authed(n.apiGroups))
	mux.HandleFunc("GET /api/v1/groups/{gid}", n.authed(n.apiGroup))
	mux.HandleFunc("GET /api/v1/groups/{gid}/events", n.authed(n.apiEvents))
	mux.HandleFunc("GET /api/v1/ws", n.authed(wsHandshake(n.apiWS)))
	mux.Handle("/", web.Handler()) // the web light client
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, protocol.Errorf(protocol.CodeNotFound, "no API endpoint %s %s", r.Method, r.URL.Path))
	})
	return mux
}

// wsHandshake refuses, with the usual JSON error body, a request to the
// WebSocket endpoint that is no WebSocket handshake the library would
// accept (it answers those with plain text): 400 invalid, or 403 forbidden
// for a browser page of another origin.
func wsHandshake(h sessionHandler) sessionHandler {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		if err := checkWSHandshake(r); err != nil {
			writeError(w, err)
			return
		}
		h(w, r, s)
	}
}

func checkWSHandshake(r *http.Request) *protocol.Error {
	if !headerHasToken(r.Header, "Connection", "upgrade") || !headerHasToken(r.Header, "Upgrade", "websocket") {
		return protocol.Errorf(protocol.CodeInvalid, "this is the WebSocket endpoint: open it with a WebSocket handshake (Connection: Upgrade, Upgrade: websocket)")
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		return protocol.Errorf(protocol.CodeInvalid, "the node speaks WebSocket version 13 only")
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return protocol.Errorf(protocol.CodeInvalid, "a WebSocket handshake has one Sec-WebSocket-Key header")
	}
	if k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(keys[0])); err != nil || len(k) != 16 {
		return protocol.Errorf(protocol.CodeInvalid, "Sec-WebSocket-Key must be the base64 of 16 bytes")
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		if u, err := url.Parse(origin); err != nil || !strings.EqualFold(u.Host, r.Host) {
			return protocol.Errorf(protocol.CodeForbidden, "a page of another origin (%q) may not open this node's WebSocket", origin)
		}
	}
	return nil
}

// headerHasToken reports whether a comma-separated header has token
// (case-insensitive).
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers with the error body of err and the status of its
// code; a 429 always says when to retry.
func writeError(w http.ResponseWriter, err error) {
	pe := protocol.AsError(err)
	if pe.Code == protocol.CodeRateLimited && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, api.HTTPStatus(pe.Code), api.ErrorBody{Error: api.ErrorJSON{Code: pe.Code.String(), Message: pe.Msg}})
}

// NodeInfo describes the node.
func (n *Node) NodeInfo() api.NodeInfo {
	info := api.NodeInfo{PeerID: n.host.ID().String(), Version: Version, Addrs: []string{}, Admins: []string{}}
	for _, a := range n.Addrs() {
		info.Addrs = append(info.Addrs, a.String())
	}
	for _, a := range n.Admins() {
		info.Admins = append(info.Admins, a.String())
	}
	sort.Strings(info.Admins)
	return info
}

func (n *Node) apiNode(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, n.NodeInfo())
}

func (n *Node) apiSubmit(w http.ResponseWriter, r *http.Request, s *session) {
	var req api.SubmitRequest
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	raw, err := base64.StdEncoding.DecodeString(req.Submission)
	if err != nil || len(raw) == 0 {
		writeError(w, protocol.Errorf(protocol.CodeMalformed, "submission must be standard base64 of the signed submission"))
		return
	}
	if len(req.HostAddrs) > maxHostAddrs {
		writeError(w, protocol.Errorf(protocol.CodeInvalid, "at most %d host addresses, not %d", maxHostAddrs, len(req.HostAddrs)))
		return
	}
	var addrs []multiaddr.Multiaddr
	for _, h := range req.HostAddrs {
		if len(h) > maxHostAddrLen {
			writeError(w, protocol.Errorf(protocol.CodeInvalid, "a host address has at most %d characters", maxHostAddrLen))
			return
		}
		a, err := multiaddr.NewMultiaddr(h)
		if err != nil {
			writeError(w, protocol.Errorf(protocol.CodeInvalid, "host address %q: %v", h, err))
			return
		}
		addrs = append(addrs, a)
	}
	sub, err := protocol.DecodeSubmission(raw)
	if err != nil {
		writeError(w, err)
		return
	}
	if sub.Author != s.user {
		writeError(w, protocol.Errorf(protocol.CodeForbidden, "the submission's author is not the signed-in user"))
		return
	}
	ev, err := n.Submit(r.Context(), raw, addrs)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, api.SubmitResponse{
		Group: ev.Group.String(), Seq: ev.Seq, ID: ev.ID.String(), Time: ev.Time,
		Event: base64.StdEncoding.EncodeToString(ev.Raw),
	})
}

// decodeBody reads a request body that is exactly one JSON object of v's
// fields (white space around it allowed), at most maxAPIBody bytes.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAPIBody))
	dec.DisallowUnknownFields()
	tooBig := func(err error) bool {
		var e *http.MaxBytesError
		return errors.As(err, &e)
	}
	if err := dec.Decode(v); err != nil {
		if tooBig(err) {
			return protocol.Errorf(protocol.CodeTooLarge, "request body exceeds %d bytes", maxAPIBody)
		}
		return protocol.Errorf(protocol.CodeMalformed, "request body is not the expected JSON: %v", err)
	}
	// Anything but white space after the object is refused, so that what
	// the node acts on is all that was sent.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if tooBig(err) {
			return protocol.Errorf(protocol.CodeTooLarge, "request body exceeds %d bytes", maxAPIBody)
		}
		return protocol.Errorf(protocol.CodeMalformed, "request body has data after its JSON object; send one object")
	}
	return nil
}

func (n *Node) apiGroups(w http.ResponseWriter, _ *http.Request, s *session) {
	if !n.admins[s.user] {
		writeError(w, protocol.Errorf(protocol.CodeForbidden, "only the node's admins can list every group it holds; see /api/v1/me/groups"))
		return
	}
	gids := n.heldGroups()
	out := make([]api.GroupSummary, 0, len(gids))
	for _, gid := range gids {
		if _, d, ok := n.held(gid); ok && d.known {
			out = append(out, d.summary) // asleep: its summary cannot have changed
			continue
		}
		n.withState(gid, func(g *group) { out = append(out, g.summary()) })
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	writeJSON(w, http.StatusOK, out)
}

// summary describes the group. Called with g.mu held.
func (g *group) summary() api.GroupSummary {
	status, reason := g.status()
	return api.GroupSummary{
		Group: g.id.String(), Name: g.state.Name, Host: g.host.String(), Hosted: g.hosted,
		Head: g.committed, Members: len(g.state.Members), Status: status, StatusReason: reason,
	}
}

func (n *Node) pathGroup(r *http.Request) (*group, error) {
	gid, err := protocol.ParseGroupID(r.PathValue("gid"))
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeInvalid, "%v", err)
	}
	g := n.group(gid)
	if g == nil {
		return nil, protocol.Errorf(protocol.CodeUnknownGroup, "this node does not know group %s", gid)
	}
	return g, nil
}

// GroupView describes the current state of a group held here.
func (n *Node) GroupView(gid protocol.GroupID) (api.GroupView, error) {
	g := n.group(gid)
	if g == nil {
		return api.GroupView{}, protocol.Errorf(protocol.CodeUnknownGroup, "this node does not know group %s", gid)
	}
	return g.view(), nil
}

func (g *group) view() api.GroupView {
	hostAddrs := []string{}
	if g.hosted {
		for _, a := range g.n.Addrs() {
			hostAddrs = append(hostAddrs, a.String())
		}
	} else {
		for _, a := range g.n.host.Peerstore().Addrs(g.host.PeerID()) {
			hostAddrs = append(hostAddrs, a.String()+"/p2p/"+g.host.PeerID().String())
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.state
	v := api.GroupView{
		GroupSummary: g.summary(), HostAddrs: hostAddrs, Owner: s.Owner.String(),
		Description: s.Description, Avatar: s.Avatar, Policy: s.Policy.String(), Cap: s.Cap,
		Public: s.Public, Announcement: s.Announcement, Pins: append([]uint64{}, s.Pins...),
		MuteAllUntil: api.JSONTime(s.MuteAllUntil), MutedAll: s.MuteAllUntil > nowMS(), HeadID: s.HeadID.String(),
		MemberList: []api.MemberView{}, Banned: []string{}, Requests: []api.RequestView{},
		Invites: []api.InviteView{},
	}
	for u, m := range s.Members {
		v.MemberList = append(v.MemberList, api.MemberView{
			User: u.String(), Role: m.Role.String(), Home: m.Home.String(), Joined: m.Joined,
			MutedUntil: api.JSONTime(m.MutedUntil), Muted: m.MutedUntil > nowMS(),
		})
		v.MemberList[len(v.MemberList)-1].SetProfile(m.Profile)
	}
	sort.Slice(v.MemberList, func(i, j int) bool { return v.MemberList[i].Joined < v.MemberList[j].Joined })
	for u := range s.Banned {
		v.Banned = append(v.Banned, u.String())
	}
	sort.Strings(v.Banned)
	for u, r := range s.Requests {
		v.Requests = append(v.Requests, api.RequestView{User: u.String(), Seq: r.Seq, Note: r.Note})
	}
	sort.Slice(v.Requests, func(i, j int) bool { return v.Requests[i].Seq < v.Requests[j].Seq })
	for id, inv := range s.Invites {
		v.Invites = append(v.Invites, api.InviteView{
			ID: id.String(), Inviter: inv.Inviter.String(), Expires: inv.Expires, MaxUses: inv.MaxUses,
			Uses: inv.Uses, Ref: inv.Ref,
		})
	}
	sort.Slice(v.Invites, func(i, j int) bool { return v.Invites[i].ID < v.Invites[j].ID })
	return v
}

func (n *Node) apiGroup(w http.ResponseWriter, r *http.Request, s *session) {
	g, err := n.readableGroup(r, s)
	if err != nil {
		writeError(w, err)
		return
	}
	v := g.view()
	g.mu.Lock()
	admin := n.admins[s.user] || g.state.IsAdmin(s.user)
	g.mu.Unlock()
	if !admin {
		// Invites carry external references (other buyers' order numbers),
		// requests their notes: for the group's admins only.
		v.Invites, v.Requests, v.Banned = []api.InviteView{}, []api.RequestView{}, []string{}
	}
	writeJSON(w, http.StatusOK, v)
}

// Events returns up to limit stored events of a group from seq on.
func (n *Node) Events(gid protocol.GroupID, from uint64, limit int) ([]*protocol.SignedEvent, error) {
	if from == 0 {
		from = 1
	}
	recs, err := n.store.Range(gid, from, limit, maxSyncBytes)
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeInternal, "reading events: %v", err)
	}
	out := make([]*protocol.SignedEvent, 0, len(recs))
	for _, r := range recs {
		ev, err := protocol.DecodeEvent(r.Data)
		if err != nil {
			return nil, protocol.Errorf(protocol.CodeInternal, "stored event %d: %v", r.Seq, err)
		}
		out = append(out, ev)
	}
	return out, nil
}

func (n *Node) apiEvents(w http.ResponseWriter, r *http.Request, s *session) {
	g, err := n.readableGroup(r, s)
	if err != nil {
		writeError(w, err)
		return
	}
	limit, err := queryUint(r, "limit", defaultPage)
	if err == nil && (limit == 0 || limit > maxPage) {
		err = protocol.Errorf(protocol.CodeInvalid, "limit must be between 1 and %d", maxPage)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	q := r.URL.Query()
	if q.Has("before") {
		before, err := queryUint(r, "before", 0)
		if err != nil {
			writeError(w, err)
			return
		}
		page, err := n.backwardPage(g, before, limit)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, page)
		return
	}
	from, err := queryUint(r, "from", 1)
	if err == nil && from == 0 {
		err = protocol.Errorf(protocol.CodeInvalid, "from must be at least 1")
	}
	if err != nil {
		writeError(w, err)
		return
	}
	head := g.committedHead()
	page := api.EventsPage{Events: []api.EventView{}, Head: head, Next: from}
	if from <= head {
		evs, err := n.Events(g.id, from, int(min(limit, head-from+1)))
		if err != nil {
			writeError(w, err)
			return
		}
		for _, ev := range evs {
			page.Events = append(page.Events, g.eventView(ev))
			page.Next = ev.Seq + 1
		}
	}
	writeJSON(w, http.StatusOK, page)
}

func queryUint(r *http.Request, name string, def uint64) (uint64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, protocol.Errorf(protocol.CodeInvalid, "%s must be a whole number, not %q", name, s)
	}
	return v, nil
}
