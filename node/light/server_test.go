package light

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestSessionAnswers: requests without a session, with a malformed
// Authorization header and with an expired session are refused with 401
// and a sentence saying which, before the backend is asked anything (the
// server here has none).
func TestSessionAnswers(t *testing.T) {
	node := newKey(t).ID()
	srv := New(nil, Config{Node: node, RatePerSecond: -1})
	defer srv.Close()
	user := newKey(t)
	ch, _, err := srv.sessions.challenge()
	if err != nil {
		t.Fatal(err)
	}
	sess, err := srv.sessions.open(user.ID(), ch, user.SignRaw(protocol.DomainAuth, ch))
	if err != nil {
		t.Fatal(err)
	}
	if u, err := srv.User(sess.token); err != nil || u != user.ID() {
		t.Fatalf("User of a live token: %s, %v", u, err)
	}
	h := srv.Handler()
	call := func(auth string) (int, api.ErrorJSON) {
		req := httptest.NewRequest("GET", "/api/v1/me/groups", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var eb api.ErrorBody
		_ = json.Unmarshal(rec.Body.Bytes(), &eb)
		return rec.Code, eb.Error
	}
	for _, c := range []struct{ name, auth, want string }{
		{"no session", "", "sign in first"},
		{"not a bearer token", "Basic abc", "Bearer TOKEN"},
		{"unknown token", "Bearer nope", "sign in first"},
	} {
		if st, e := call(c.auth); st != http.StatusUnauthorized || e.Code != "unauthenticated" || !strings.Contains(e.Message, c.want) {
			t.Errorf("%s: %d %+v", c.name, st, e)
		}
	}
	srv.sessions.mu.Lock()
	srv.sessions.tokens[sess.token].expires = time.Now().Add(-time.Second)
	srv.sessions.mu.Unlock()
	if st, e := call("Bearer " + sess.token); st != http.StatusUnauthorized || !strings.Contains(e.Message, "expired") {
		t.Errorf("expired session: %d %+v", st, e)
	}
	if _, err := srv.User(sess.token); err == nil {
		t.Error("an expired token still names its user")
	}
}
