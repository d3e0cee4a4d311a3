package light

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/multiformats/go-multiaddr"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// blobTransferTimeout bounds one upload or download of a blob.
const blobTransferTimeout = 10 * time.Minute

func (s *Server) apiNode(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.b.NodeInfo())
}

func (s *Server) apiChallenge(w http.ResponseWriter, r *http.Request) {
	var req api.ChallengeRequest
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	if _, err := protocol.ParseUserID(req.User); err != nil {
		writeError(w, protocol.Errorf(protocol.CodeInvalid, "%v", err))
		return
	}
	ch, exp, err := s.sessions.challenge()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, api.ChallengeResponse{
		Challenge: base64.StdEncoding.EncodeToString(ch), Expires: uint64(exp.UnixMilli()),
	})
}

func (s *Server) apiSession(w http.ResponseWriter, r *http.Request) {
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
	sess, err := s.sessions.open(user, ch, sig)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, api.SessionResponse{Token: sess.token, User: user.String(), Expires: uint64(sess.expires.UnixMilli())})
}

func (s *Server) apiSubmit(w http.ResponseWriter, r *http.Request, sess *session) {
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
	addrs, err := parseHostAddrs(req.HostAddrs)
	if err != nil {
		writeError(w, err)
		return
	}
	sub, err := protocol.DecodeSubmission(raw)
	if err != nil {
		writeError(w, err)
		return
	}
	if sub.Author != sess.user {
		writeError(w, protocol.Errorf(protocol.CodeForbidden, "the submission's author is not the signed-in user"))
		return
	}
	ev, err := s.b.Submit(r.Context(), sub, addrs)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, api.SubmitResponse{
		Group: ev.Group.String(), Seq: ev.Seq, ID: ev.ID.String(), Time: ev.Time,
		Event: base64.StdEncoding.EncodeToString(ev.Raw),
	})
}

func (s *Server) apiGroups(w http.ResponseWriter, _ *http.Request, sess *session) {
	if !s.b.IsNodeAdmin(sess.user) {
		writeError(w, protocol.Errorf(protocol.CodeForbidden, "only the node's admins can list every group it holds; see /api/v1/me/groups"))
		return
	}
	writeJSON(w, http.StatusOK, s.b.AllGroups())
}

func (s *Server) apiMyGroups(w http.ResponseWriter, _ *http.Request, sess *session) {
	out, err := s.b.MyGroups(sess.user)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiGroup(w http.ResponseWriter, r *http.Request, sess *session) {
	gid, err := pathGroup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	v, err := s.b.Group(sess.user, gid)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// apiEvents serves a page of history: forward from ?from=SEQ, or backward
// before ?before=SEQ.
func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request, sess *session) {
	gid, err := pathGroup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	limit, err := queryUint(r, "limit", DefaultPage)
	if err == nil && (limit == 0 || limit > MaxPage) {
		err = protocol.Errorf(protocol.CodeInvalid, "limit must be between 1 and %d", MaxPage)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	if r.URL.Query().Has("before") {
		before, err := queryUint(r, "before", 0)
		if err != nil {
			writeError(w, err)
			return
		}
		page, err := s.b.EventsBefore(sess.user, gid, before, limit)
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
	page, err := s.b.Events(sess.user, gid, from, limit)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// apiPreview previews an invite. Without a session it answers only from
// what the node holds; asking the host of a group held elsewhere (a dial
// to the address in the invite) needs a session and is rate-limited per
// session (docs/API.md, "Invite preview").
func (s *Server) apiPreview(w http.ResponseWriter, r *http.Request) {
	inv, err := protocol.ParseToken(r.URL.Query().Get("token"))
	if err != nil {
		writeError(w, err)
		return
	}
	if p, ok, err := s.b.LocalPreview(inv); ok || err != nil {
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, p)
		return
	}
	var sess *session
	if auth := r.Header.Get("Authorization"); auth != "" {
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok {
			writeError(w, protocol.Errorf(protocol.CodeUnauthenticated, "the Authorization header must be \"Bearer TOKEN\""))
			return
		}
		if sess, err = s.sessions.lookup(token); err != nil {
			writeError(w, err)
			return
		}
	}
	if sess == nil {
		writeError(w, protocol.Errorf(protocol.CodeUnauthenticated, "this node does not hold the group of this invite; sign in, and the node asks the group's host"))
		return
	}
	if !s.sessions.allowPreview(sess.token) {
		w.Header().Set("Retry-After", "1")
		writeError(w, protocol.Errorf(protocol.CodeRateLimited, "too many previews of invites to other nodes; try again in a few seconds"))
		return
	}
	p, err := s.b.RemotePreview(r.Context(), inv)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// parseHostAddrs reads the text multiaddrs of a group's host that a
// client sends (host_addrs, addr=), bounded as an invite bounds them.
func parseHostAddrs(in []string) ([]multiaddr.Multiaddr, error) {
	if len(in) > maxHostAddrs {
		return nil, protocol.Errorf(protocol.CodeInvalid, "at most %d host addresses, not %d", maxHostAddrs, len(in))
	}
	var addrs []multiaddr.Multiaddr
	for _, h := range in {
		if len(h) > maxHostAddrLen {
			return nil, protocol.Errorf(protocol.CodeInvalid, "a host address has at most %d characters", maxHostAddrLen)
		}
		a, err := multiaddr.NewMultiaddr(h)
		if err != nil {
			return nil, protocol.Errorf(protocol.CodeInvalid, "host address %.80q: %v", h, err)
		}
		addrs = append(addrs, a)
	}
	return addrs, nil
}

// apiAbout describes a group someone shows on their profile (since 1.5):
// from this node when it holds the group, else from the group's host
// (host=USERID, at the addr= addresses), at the rate of previews of other
// nodes' invites (docs/API.md, "About a group").
func (s *Server) apiAbout(w http.ResponseWriter, r *http.Request, sess *session) {
	gid, err := pathGroup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if d, ok, err := s.b.LocalAbout(gid); ok || err != nil {
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, d)
		return
	}
	q := r.URL.Query()
	if q.Get("host") == "" {
		writeError(w, protocol.Errorf(protocol.CodeUnknownGroup, "this node does not hold group %s: name its host (host=USERID&addr=MULTIADDR)", gid))
		return
	}
	host, err := protocol.ParseUserID(q.Get("host"))
	if err != nil {
		writeError(w, protocol.Errorf(protocol.CodeInvalid, "host: %s", protocol.AsError(err).Msg))
		return
	}
	addrs, err := parseHostAddrs(q["addr"])
	if err != nil {
		writeError(w, err)
		return
	}
	if !s.sessions.allowPreview(sess.token) {
		w.Header().Set("Retry-After", "1")
		writeError(w, protocol.Errorf(protocol.CodeRateLimited, "too many questions to other nodes; try again in a few seconds"))
		return
	}
	d, err := s.b.RemoteAbout(r.Context(), gid, host, addrs)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// shortLink is the link of handle on the address the request came to.
func shortLink(r *http.Request, handle string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/j/" + handle
}

func (s *Server) apiShortCreate(w http.ResponseWriter, r *http.Request, sess *session) {
	var req api.ShortInviteRequest
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	inv, err := protocol.ParseToken(req.Token)
	if err != nil {
		writeError(w, err)
		return
	}
	h, err := s.b.RegisterShortInvite(inv, sess.user)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, api.ShortInvite{Handle: h, Link: shortLink(r, h), Token: inv.Token()})
}

// apiShortGet answers pages of any origin: a handle grants nothing, and
// the web client of a user's home node looks up a text code's invite at
// its host (web/static/js/invitecode.js, web.ShortInviteSources).
func (s *Server) apiShortGet(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	h := r.PathValue("handle")
	inv, err := s.b.ShortInvite(h)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, api.ShortInvite{Handle: h, Link: shortLink(r, h), Token: inv.Token()})
}

// webShort sends a browser from a short link to the web client's join
// page with the full token.
func (s *Server) webShort(w http.ResponseWriter, r *http.Request) {
	inv, err := s.b.ShortInvite(r.PathValue("handle"))
	if err != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("这个邀请链接无效或已失效。\nThis invite link is not valid.\n"))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/join#"+inv.Token(), http.StatusFound)
}

// apiUpload stores an image or a file for a message the user is about to
// send: POST /api/v1/blobs with the bytes as the body and their media type
// in Content-Type (the optional ?name= is echoed; ?for=avatar checks it as
// a profile's avatar). The answer is the attachment to put into the
// message.
func (s *Server) apiUpload(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.b.DiskFull(); err != nil {
		writeError(w, err)
		return
	}
	// A file of 50 MB takes longer than the server's request timeout on a
	// slow link.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(blobTransferTimeout))
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, protocol.MaxFileBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, protocol.Errorf(protocol.CodeTooLarge, "a file may have at most %d MB", protocol.MaxFileBytes>>20))
		return
	case err != nil:
		writeError(w, protocol.Errorf(protocol.CodeMalformed, "reading the upload: %v", err))
		return
	}
	q := r.URL.Query()
	att, err := s.b.Upload(sess.user, r.Header.Get("Content-Type"), q.Get("name"), data, q.Get("for") == "avatar")
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, att)
}

// apiBlob serves a blob of a group to a user who may read the group:
// GET /api/v1/groups/{gid}/blobs/{hash}, only blobs that a message of the
// group refers to. Served with nosniff and a sandbox policy, so that no
// file runs as a page of the node's origin.
func (s *Server) apiBlob(w http.ResponseWriter, r *http.Request, sess *session) {
	gid, err := pathGroup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	raw, err := hex.DecodeString(r.PathValue("hash"))
	if err != nil || len(raw) != 32 {
		writeError(w, protocol.Errorf(protocol.CodeInvalid, "a blob is named by its SHA-256 in 64 lower-case hex digits"))
		return
	}
	var h protocol.Hash
	copy(h[:], raw)
	f, ref, err := s.b.OpenBlob(r.Context(), sess.user, gid, h)
	if err != nil {
		writeError(w, err)
		return
	}
	defer f.Close()
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(blobTransferTimeout))
	hdr := w.Header()
	hdr.Set("Content-Type", ref.MIME)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	hdr.Set("Cache-Control", "private, max-age=31536000, immutable")
	if !protocol.IsImageMIME(ref.MIME) {
		name := r.URL.Query().Get("name")
		if name == "" {
			name = hex.EncodeToString(h[:6])
		}
		hdr.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	}
	hdr.Set("ETag", fmt.Sprintf("%q", hex.EncodeToString(h[:])))
	http.ServeContent(w, r, "", time.Time{}, f)
}

func (s *Server) apiMyProfile(w http.ResponseWriter, _ *http.Request, sess *session) {
	p, err := s.b.MyProfile(sess.user)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) apiSetMyProfile(w http.ResponseWriter, r *http.Request, sess *session) {
	var p api.MyProfile
	if err := decodeBody(w, r, &p); err != nil {
		writeError(w, err)
		return
	}
	if err := s.b.SetMyProfile(sess.user, p); err != nil {
		writeError(w, err)
		return
	}
	stored, err := s.b.MyProfile(sess.user) // with what the shown groups are now
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, stored)
}

// apiInviteRef keeps an invite's reference on the host, for the admins.
func (s *Server) apiInviteRef(w http.ResponseWriter, r *http.Request, sess *session) {
	gid, err := pathGroup(r)
	if err != nil {
		writeError(w, err)
		return
	}
	id, err := protocol.ParseInviteID(r.PathValue("invite"))
	if err != nil {
		writeError(w, protocol.Errorf(protocol.CodeInvalid, "%v", err))
		return
	}
	var req api.InviteRefRequest
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	if err := s.b.SetInviteRef(sess.user, gid, id, req.Ref); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, req)
}

// apiContactSend sends an offer of a private conversation, signed by the
// session's user, through the group's host.
func (s *Server) apiContactSend(w http.ResponseWriter, r *http.Request, sess *session) {
	var req api.ContactRequest
	if err := decodeBody(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	raw, err := base64.StdEncoding.DecodeString(req.Offer)
	if err != nil || len(raw) == 0 {
		writeError(w, protocol.Errorf(protocol.CodeInvalid, "offer must be the base64 of a signed contact offer"))
		return
	}
	id, err := s.b.SendContact(r.Context(), sess.user, raw)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, api.ContactSent{ID: id})
}

// apiContacts lists the offers of private conversations kept for the
// session's user.
func (s *Server) apiContacts(w http.ResponseWriter, _ *http.Request, sess *session) {
	list, err := s.b.Contacts(sess.user)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, api.ContactList{Contacts: list})
}

// apiContactDismiss drops an offer kept for the session's user.
func (s *Server) apiContactDismiss(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	if err := s.b.DismissContact(sess.user, id); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, api.ContactSent{ID: id})
}
