package matrix

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/qunchat/qun/bridge"
)

// A homeserver of the test's own, on loopback, that answers /sync with
// what no real server should send: invalid UTF-8, events that are not
// objects or have fields of the wrong types, a body of a megabyte, an
// answer that is not JSON at all. The connector hands on what decodes,
// drops the rest one by one, and goes on.

const badBatch = `{"next_batch":"s2","rooms":{"join":{"!r:fake":{"timeline":{"events":[
 {"type":"m.room.message","event_id":"$1","sender":"@a:fake","content":{"msgtype":"m.text","body":"bad ` + "\xff\xfe" + ` bytes"}},
 "not an event",
 {"type":5,"event_id":"$2","sender":"@a:fake","content":{}},
 {"type":"m.room.message","event_id":"$3","sender":"@a:fake","content":"a string"},
 {"type":"m.room.message","event_id":"$4","sender":"@a:fake","content":{"msgtype":"m.text","body":{"nested":true}}},
 {"type":"m.room.message","sender":"@a:fake","content":{"msgtype":"m.text","body":"no event ID"}},
 {"type":"m.room.message","event_id":"$5","content":{"msgtype":"m.text","body":"no sender"}},
 {"type":"m.room.message","event_id":"$6","sender":"@a:fake","content":{"msgtype":"m.text","body":"ctl \u0000\u0007\u009b"}},
 {"type":"m.room.message","event_id":"$7","sender":"@a:fake","content":{"msgtype":"m.text","body":"HUGE"}},
 {"type":"m.room.member","state_key":5,"event_id":"$8","sender":"@a:fake","content":{"membership":"join"}},
 {"type":"m.room.member","state_key":"@a:fake","event_id":"$9","sender":"@a:fake","content":{"membership":"join","displayname":["x"]}},
 {"type":"m.room.redaction","event_id":"$10","sender":"@a:fake","content":{"redacts":7}},
 {"type":"m.room.message","event_id":"$11","sender":"@a:fake","content":{"msgtype":"m.text","body":"* e","m.relates_to":{"rel_type":"m.replace","event_id":"$1"},"m.new_content":null}},
 {"type":"m.room.message","event_id":"$12","sender":"@a:fake","unsigned":"x","content":{"msgtype":"m.text","body":"unsigned not an object"}},
 {"type":"m.room.message","event_id":"$13","sender":"@a:fake","content":{"msgtype":"m.text","body":"last of the first batch"}}
]}}}}}`

func TestBadServer(t *testing.T) {
	huge := strings.Repeat("y", 1<<20)
	var syncs atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_matrix/client/v3/account/whoami", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"user_id":"@bot:fake"}`))
	})
	mux.HandleFunc("POST /_matrix/client/v3/join/{room}", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"room_id":"!r:fake"}`))
	})
	mux.HandleFunc("GET /_matrix/client/v3/sync", func(w http.ResponseWriter, r *http.Request) {
		syncs.Add(1)
		switch r.URL.Query().Get("since") {
		case "":
			w.Write([]byte(`{"next_batch":"s1"}`))
		case "s1":
			w.Write([]byte(strings.Replace(badBatch, "HUGE", huge, 1)))
		case "s2":
			if syncs.Load() < 5 { // twice: not JSON, then a room that is not an object
				if syncs.Load() == 3 {
					w.Write([]byte("<html>a proxy's error page</html>"))
				} else {
					w.Write([]byte(`{"next_batch":"s3","rooms":{"join":{"!r:fake":"garbage"}}}`))
				}
				return
			}
			w.Write([]byte(`{"next_batch":"s3","rooms":{"join":{"!r:fake":{"timeline":{"events":[
				{"type":"m.room.message","event_id":"$20","sender":"@a:fake","content":{"msgtype":"m.text","body":"after the garbage"}}]}}}}}`))
		default:
			select {
			case <-r.Context().Done():
			case <-time.After(200 * time.Millisecond):
			}
			w.Write([]byte(`{"next_batch":"` + r.URL.Query().Get("since") + `"}`))
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"errcode":"M_NOT_FOUND","error":"no"}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	token := filepath.Join(t.TempDir(), "token")
	os.WriteFile(token, []byte("t\n"), 0o600)
	c, err := New("matrix.fake", bridge.Matrix{Homeserver: srv.URL, User: "@bot:fake", TokenFile: token},
		[]string{"!r:fake"}, t.TempDir(), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	c.tune.minBackoff, c.tune.maxBackoff = 10*time.Millisecond, 50*time.Millisecond
	c.tune.pollTimeout = time.Second
	r := run(t, c)
	got := map[string]bridge.Inbound{}
	for {
		m := r.next()
		got[m.ID] = m
		if m.Text == "after the garbage" {
			break
		}
	}
	want := map[string]string{
		"$1":  "bad \ufffd\ufffd bytes",
		"$6":  "ctl \x00\x07\u009b",
		"$7":  huge,
		"$11": "e",
		"$12": "unsigned not an object",
		"$13": "last of the first batch",
		"$20": "after the garbage",
	}
	for eid, text := range want {
		m, ok := got[eid]
		switch {
		case eid == "$12" && !ok: // an event with unsigned not an object does not decode
		case !ok:
			t.Errorf("%s did not come in", eid)
		case m.Text != text:
			t.Errorf("%s: %.40q, want %.40q", eid, m.Text, text)
		case !utf8.ValidString(m.Text):
			t.Errorf("%s: not UTF-8", eid)
		}
	}
	for eid, m := range got {
		if _, ok := want[eid]; !ok {
			t.Errorf("%s came in: %+v", eid, m)
		}
	}
	if got["$11"].Edits != "$1" {
		t.Errorf("the edit: %+v", got["$11"])
	}
	st := c.Status()
	if !st.Connected {
		t.Errorf("status: %+v", st)
	}
	// The token kept goes past the garbage.
	waitFor(t, "the token s3 kept", func() bool {
		s, err := loadState(c.dir)
		return err == nil && s.NextBatch >= "s3" && s.User == "@bot:fake"
	})
}

// TestUnreadableToken: a kept token the server cannot read (its database
// is new) makes the connector start from now, relaying nothing old.
func TestUnreadableToken(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_matrix/client/v3/account/whoami", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"user_id":"@bot:fake"}`))
	})
	mux.HandleFunc("POST /_matrix/client/v3/join/{room}", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"room_id":"!r:fake"}`))
	})
	mux.HandleFunc("GET /_matrix/client/v3/sync", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("since") {
		case "old-server":
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"errcode":"M_INVALID_PARAM","error":"bad since"}`))
		case "":
			w.Write([]byte(`{"next_batch":"n1","rooms":{"join":{"!r:fake":{"timeline":{"events":[
				{"type":"m.room.message","event_id":"$old","sender":"@a:fake","content":{"msgtype":"m.text","body":"old"}}]}}}}}`))
		case "n1":
			w.Write([]byte(`{"next_batch":"n2","rooms":{"join":{"!r:fake":{"timeline":{"events":[
				{"type":"m.room.message","event_id":"$new","sender":"@a:fake","content":{"msgtype":"m.text","body":"new"}}]}}}}}`))
		default:
			select {
			case <-r.Context().Done():
			case <-time.After(200 * time.Millisecond):
			}
			w.Write([]byte(`{"next_batch":"n2"}`))
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	token := filepath.Join(t.TempDir(), "token")
	os.WriteFile(token, []byte("t"), 0o600)
	dir := t.TempDir()
	if err := saveState(dir, state{User: "@bot:fake", NextBatch: "old-server"}); err != nil {
		t.Fatal(err)
	}
	c, err := New("matrix.fake", bridge.Matrix{Homeserver: srv.URL, User: "@bot:fake", TokenFile: token},
		[]string{"!r:fake"}, dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	c.tune.minBackoff, c.tune.maxBackoff = 10*time.Millisecond, 50*time.Millisecond
	r := run(t, c)
	if m := r.next(); m.ID != "$new" {
		t.Fatalf("first in: %+v", m)
	}
}
