package light

import (
	"net/http"

	"github.com/qunchat/qun/protocol"
)

// The API's ways of answering and decoding, for the node's other HTTP
// APIs (node/merchant) to answer alike: the same error bodies, statuses
// and limits.

// WriteJSON answers with status and v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }

// WriteError answers with the error body of err and the status of its code.
func WriteError(w http.ResponseWriter, err error) { writeError(w, err) }

// DecodeBody reads a request body that is exactly one JSON object of v's
// fields, at most MaxBody bytes.
func DecodeBody(w http.ResponseWriter, r *http.Request, v any) error { return decodeBody(w, r, v) }

// PathGroup parses the {gid} of a request's path.
func PathGroup(r *http.Request) (protocol.GroupID, error) { return pathGroup(r) }

// Allow takes one request from the rate limit of key (a session, a client
// address, an API token): false when it is spent.
func (s *Server) Allow(key string) bool { return s.sessions.allow(key) }

// ClientAddr is the rate-limit key of a request's client address.
func ClientAddr(r *http.Request) string { return clientAddr(r) }
