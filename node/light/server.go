package light

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
	"github.com/qunchat/qun/web"
)

// Limits of the HTTP API (docs/API.md, docs/openapi.yaml).
const (
	// MaxBody bounds a request body: 128 KiB, room for the base64 of the
	// largest submission (protocol.MaxSubmissionSize) and its host
	// addresses.
	MaxBody = 128 << 10
	// maxHostAddrs and maxHostAddrLen bound the host_addrs of a submit
	// request, as an invite bounds its addresses.
	maxHostAddrs   = protocol.MaxInviteAddrs
	maxHostAddrLen = 1024
	// DefaultPage and MaxPage bound the events of one history page.
	DefaultPage = 100
	MaxPage     = 1000
)

// Config tunes a Server. The zero value of each field is its default.
type Config struct {
	// Node is the node's own ID, bound into every sign-in challenge.
	Node protocol.UserID
	// RatePerSecond and Burst limit requests per session and per client
	// address (DefaultRequestRate, DefaultRequestBurst); a negative rate
	// turns the limit off.
	RatePerSecond float64
	Burst         int
	// WriteTimeout is how long a WebSocket client may take no write
	// before it is dropped (DefaultWriteTimeout).
	WriteTimeout time.Duration
	// OnDrop, when set, is told why the server closed a WebSocket.
	OnDrop func(reason string)
	Log    *slog.Logger
}

// DefaultWriteTimeout is Config.WriteTimeout's default.
const DefaultWriteTimeout = 10 * time.Second

// Server is the light-client HTTP and WebSocket API of one node. It owns
// sessions, rate limits and the open WebSockets; what it serves comes from
// its Backend, which applies the groups' read rules.
type Server struct {
	b        Backend
	cfg      Config
	log      *slog.Logger
	ctx      context.Context // ends every WebSocket when the server closes
	cancel   context.CancelFunc
	sessions *sessions
	hub      hub
}

// New returns the server of backend b.
func New(b Backend, cfg Config) *Server {
	if cfg.RatePerSecond == 0 {
		cfg.RatePerSecond = DefaultRequestRate
	}
	if cfg.Burst == 0 {
		cfg.Burst = DefaultRequestBurst
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{b: b, cfg: cfg, log: cfg.Log, sessions: newSessions(cfg.Node, cfg.RatePerSecond, cfg.Burst)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// Close ends every WebSocket ("node shutting down"). An http.Server's
// Shutdown does not wait for hijacked connections, so call it first.
func (s *Server) Close() { s.cancel() }

// User returns the user of a live session token.
func (s *Server) User(token string) (protocol.UserID, error) {
	sess, err := s.sessions.lookup(token)
	if err != nil {
		return protocol.UserID{}, err
	}
	return sess.user, nil
}

// Handler routes the API, the short invite links and the web client.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/node", s.limited(s.apiNode))
	mux.HandleFunc("POST /api/v1/auth/challenge", s.limited(s.apiChallenge))
	mux.HandleFunc("POST /api/v1/auth/session", s.limited(s.apiSession))
	mux.HandleFunc("GET /api/v1/invites/preview", s.limited(s.apiPreview))
	mux.HandleFunc("POST /api/v1/invites/short", s.authed(s.apiShortCreate))
	mux.HandleFunc("GET /api/v1/invites/short/{handle}", s.limited(s.apiShortGet))
	mux.HandleFunc("GET /j/{handle}", s.limited(s.webShort))
	mux.HandleFunc("POST /api/v1/submit", s.authed(s.apiSubmit))
	mux.HandleFunc("GET /api/v1/me/groups", s.authed(s.apiMyGroups))
	mux.HandleFunc("POST /api/v1/blobs", s.authed(s.apiUpload))
	mux.HandleFunc("GET /api/v1/groups/{gid}/blobs/{hash}", s.authed(s.apiBlob))
	mux.HandleFunc("GET /api/v1/me/profile", s.authed(s.apiMyProfile))
	mux.HandleFunc("PUT /api/v1/me/profile", s.authed(s.apiSetMyProfile))
	mux.HandleFunc("GET /api/v1/groups", s.authed(s.apiGroups))
	mux.HandleFunc("GET /api/v1/groups/{gid}", s.authed(s.apiGroup))
	mux.HandleFunc("GET /api/v1/groups/{gid}/events", s.authed(s.apiEvents))
	mux.HandleFunc("GET /api/v1/groups/{gid}/about", s.authed(s.apiAbout))
	mux.HandleFunc("PUT /api/v1/groups/{gid}/invites/{invite}/ref", s.authed(s.apiInviteRef))
	mux.HandleFunc("POST /api/v1/contacts", s.authed(s.apiContactSend))
	mux.HandleFunc("GET /api/v1/me/contacts", s.authed(s.apiContacts))
	mux.HandleFunc("DELETE /api/v1/me/contacts/{id}", s.authed(s.apiContactDismiss))
	mux.HandleFunc("GET /api/v1/ws", s.authed(wsHandshake(s.apiWS)))
	mux.Handle("/", web.Handler()) // the web light client
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, protocol.Errorf(protocol.CodeNotFound, "no API endpoint %s %s", r.Method, r.URL.Path))
	})
	return mux
}

// session is an authenticated light client (session.go).
type sessionHandler func(w http.ResponseWriter, r *http.Request, sess *session)

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
func (s *Server) limited(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.sessions.allow("addr " + clientAddr(r)) {
			w.Header().Set("Retry-After", "1")
			writeError(w, protocol.Errorf(protocol.CodeRateLimited, "too many requests; slow down"))
			return
		}
		h(w, r)
	}
}

// authed requires a session (Authorization: Bearer, or ?token= for the
// WebSocket) and applies the per-session request rate.
func (s *Server) authed(h sessionHandler) http.HandlerFunc {
	return s.limited(func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("token")
		if auth := r.Header.Get("Authorization"); auth != "" {
			var ok bool
			if token, ok = strings.CutPrefix(auth, "Bearer "); !ok {
				writeError(w, protocol.Errorf(protocol.CodeUnauthenticated, "the Authorization header must be \"Bearer TOKEN\""))
				return
			}
		}
		sess, err := s.sessions.lookup(token)
		if err != nil {
			writeError(w, err)
			return
		}
		if !s.sessions.allow("session " + sess.token) {
			w.Header().Set("Retry-After", "1")
			writeError(w, protocol.Errorf(protocol.CodeRateLimited, "too many requests; slow down"))
			return
		}
		h(w, r, sess)
	})
}

// wsHandshake refuses, with the usual JSON error body, a request to the
// WebSocket endpoint that is no WebSocket handshake the library would
// accept (it answers those with plain text): 400 invalid, or 403 forbidden
// for a browser page of another origin.
func wsHandshake(h sessionHandler) sessionHandler {
	return func(w http.ResponseWriter, r *http.Request, sess *session) {
		if err := checkWSHandshake(r); err != nil {
			writeError(w, err)
			return
		}
		h(w, r, sess)
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

// decodeBody reads a request body that is exactly one JSON object of v's
// fields (white space around it allowed), at most MaxBody bytes.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody))
	dec.DisallowUnknownFields()
	tooBig := func(err error) bool {
		var e *http.MaxBytesError
		return errors.As(err, &e)
	}
	if err := dec.Decode(v); err != nil {
		if tooBig(err) {
			return protocol.Errorf(protocol.CodeTooLarge, "request body exceeds %d bytes", MaxBody)
		}
		return protocol.Errorf(protocol.CodeMalformed, "request body is not the expected JSON: %v", err)
	}
	// Anything but white space after the object is refused, so that what
	// the node acts on is all that was sent.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if tooBig(err) {
			return protocol.Errorf(protocol.CodeTooLarge, "request body exceeds %d bytes", MaxBody)
		}
		return protocol.Errorf(protocol.CodeMalformed, "request body has data after its JSON object; send one object")
	}
	return nil
}

func queryUint(r *http.Request, name string, def uint64) (uint64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	u, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, protocol.Errorf(protocol.CodeInvalid, "%s must be a whole number, not %q", name, v)
	}
	return u, nil
}

// pathGroup parses the {gid} of a request.
func pathGroup(r *http.Request) (protocol.GroupID, error) {
	gid, err := protocol.ParseGroupID(r.PathValue("gid"))
	if err != nil {
		return gid, protocol.Errorf(protocol.CodeInvalid, "%v", err)
	}
	return gid, nil
}
