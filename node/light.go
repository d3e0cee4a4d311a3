package node

import (
	"encoding/base64"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strings"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// The light-client part of the HTTP API (docs/API.md, "Light-client API"):
// sessions, invite previews, the user's groups, backward history and the
// WebSocket (ws.go). Access rules live in canRead.

type sessionHandler func(w http.ResponseWriter, r *http.Request, s *session)

// clientAddr is the rate-limit key of a request's client: its IPv4
// address, or the /64 of its IPv6 address (one host usually holds a whole
// /64, so per-address limits would be none).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	if ip = ip.Unmap(); ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// limited applies the per-address request rate.
func (n *Node) limited(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !n.sessions.allow("addr " + clientAddr(r)) {
			w.Header().Set("Retry-After", "1")
			writeError(w, protocol.Errorf(protocol.CodeRateLimited, "too many requests; slow down"))
			return
		}
		h(w, r)
	}
}

// authed requires a session (Authorization: Bearer, or ?token= for the
// WebSocket) and applies the per-session request rate.
func (n *Node) authed(h sessionHandler) http.HandlerFunc {
	return n.limited(func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("token")
		if auth := r.Header.Get("Authorization"); auth != "" {
			var ok bool
			if token, ok = strings.CutPrefix(auth, "Bearer "); !ok {
				writeError(w, protocol.Errorf(protocol.CodeUnauthenticated, "the Authorization header must be \"Bearer TOKEN\""))
				return
			}
		}
		s, err := n.sessions.lookup(token)
		if err != nil {
			writeError(w, err)
			return
		}
		if !n.sessions.allow("session " + s.token) {
			w.Header().Set("Retry-After", "1")
			writeError(w, protocol.Errorf(protocol.CodeRateLimited, "too many requests; slow down"))
			return
		}
		h(w, r, s)
	})
}

func (n *Node) apiChallenge(w http.ResponseWriter, r *http.Request) {
	var req api.ChallengeRequest
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	if _, err := protocol.ParseUserID(req.User); err != nil {
		writeError(w, protocol.Errorf(protocol.CodeInvalid, "%v", err))
		return
	}
	ch, exp, err := n.sessions.challenge()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, api.ChallengeResponse{
		Challenge: base64.StdEncoding.EncodeToString(ch), Expires: uint64(exp.UnixMilli()),
	})
}

func (n *Node) apiSession(w http.ResponseWriter, r *http.Request) {
	var req api.SessionRequest
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	user, err := protocol.ParseUserID(req.User)
	if err != nil {
		writeError(w, protocol.Errorf(protocol.CodeInvalid, "%v", err))
		return
	}
	ch, err1 := base64.StdEncoding.DecodeString(req.Challenge)
	sig, err2 := base64.StdEncoding.DecodeString(req.Signature)
	if err1 != nil || err2 != nil {
		writeError(w, protocol.Errorf(protocol.CodeMalformed, "challenge and signature must be standard base64"))
		return
	}
	s, err := n.sessions.open(user, ch, sig)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, api.SessionResponse{Token: s.token, User: user.String(), Expires: uint64(s.expires.UnixMilli())})
}

// canRead reports whether user may read group g here: a member, a node
// admin, or anyone when the group is public. It is checked against the
// group's current state at every read and every WebSocket batch.
func (n *Node) canRead(user protocol.UserID, g *group) error {
	_, _, err := n.readAccess(user, g)
	return err
}

// readAccess is canRead that also returns, read under the same lock, the
// seq the state is at (the user may read every event up to it when err is
// nil) and the head on disk, which is never ahead of the state.
func (n *Node) readAccess(user protocol.UserID, g *group) (stateHead, committed uint64, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	stateHead, committed = g.state.Head, g.committed
	switch {
	case n.admins[user] || g.state.Public || g.state.Members[user] != nil:
		return stateHead, committed, nil
	case g.state.Banned[user]:
		return stateHead, committed, protocol.Errorf(protocol.CodeBanned, "you are banned from this group")
	}
	return stateHead, committed, protocol.Errorf(protocol.CodePrivate, "only members can read this group")
}

// readableGroup resolves {gid} and checks the session may read it.
func (n *Node) readableGroup(r *http.Request, s *session) (*group, error) {
	g, err := n.pathGroup(r)
	if err != nil {
		return nil, err
	}
	if err := n.canRead(s.user, g); err != nil {
		return nil, err
	}
	return g, nil
}

// apiMyGroups lists the user's groups from the member index: sleeping
// groups are read from the store, not loaded (table.go).
func (n *Node) apiMyGroups(w http.ResponseWriter, _ *http.Request, s *session) {
	gids, err := n.indexedGroups(s.user)
	if err != nil {
		writeError(w, protocol.Errorf(protocol.CodeInternal, "reading your groups: %v", err))
		return
	}
	out := []api.MyGroup{}
	for _, gid := range gids {
		cursor, hasCursor, _ := n.store.Cursor(s.user.String(), gid)
		n.withState(gid, func(g *group) { out = g.appendMine(out, s.user, cursor, hasCursor) })
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	writeJSON(w, http.StatusOK, out)
}

// appendMine appends the group to a member's or requester's list. Called
// with g.mu held.
func (g *group) appendMine(out []api.MyGroup, user protocol.UserID, cursor uint64, hasCursor bool) []api.MyGroup {
	m := g.state.Members[user]
	switch {
	case m != nil:
		mg := api.MyGroup{
			GroupSummary: g.summary(), Role: m.Role.String(), Announcement: g.state.Announcement,
			Pins: append([]uint64{}, g.state.Pins...),
		}
		if hasCursor {
			mg.UnreadFrom = cursor + 1
		}
		out = append(out, mg)
	case g.state.Requests[user] != nil:
		out = append(out, api.MyGroup{GroupSummary: g.summary(), Pending: true})
	}
	return out
}

// apiPreview previews an invite. Without a session it answers only from
// what the node holds; asking the host of a group held elsewhere (a dial
// to the address in the invite) needs a session and is rate-limited per
// session (docs/API.md, "Invite preview").
func (n *Node) apiPreview(w http.ResponseWriter, r *http.Request) {
	inv, err := protocol.ParseToken(r.URL.Query().Get("token"))
	if err != nil {
		writeError(w, err)
		return
	}
	if g := n.group(inv.Group); g != nil {
		p, err := g.preview(inv)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, p)
		return
	}
	var s *session
	if auth := r.Header.Get("Authorization"); auth != "" {
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok {
			writeError(w, protocol.Errorf(protocol.CodeUnauthenticated, "the Authorization header must be \"Bearer TOKEN\""))
			return
		}
		if s, err = n.sessions.lookup(token); err != nil {
			writeError(w, err)
			return
		}
	}
	if s == nil {
		writeError(w, protocol.Errorf(protocol.CodeUnauthenticated, "this node does not hold the group of this invite; sign in, and the node asks the group's host"))
		return
	}
	if !n.sessions.allowPreview(s.token) {
		w.Header().Set("Retry-After", "1")
		writeError(w, protocol.Errorf(protocol.CodeRateLimited, "too many previews of invites to other nodes; try again in a few seconds"))
		return
	}
	p, err := n.Preview(r.Context(), inv)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// backwardPage serves events?before=SEQ: the limit events before seq.
func (n *Node) backwardPage(g *group, before, limit uint64) (api.BackwardPage, error) {
	head := g.committedHead()
	if before == 0 || before > head+1 {
		before = head + 1
	}
	from := uint64(1)
	if before > limit {
		from = before - limit
	}
	page := api.BackwardPage{Events: []api.EventView{}, Head: head}
	if from < before {
		evs, err := n.Events(g.id, from, int(before-from))
		if err != nil {
			return page, err
		}
		for _, ev := range evs {
			page.Events = append(page.Events, g.eventView(ev))
		}
	}
	if from > 1 {
		page.Prev = from
	}
	return page, nil
}
