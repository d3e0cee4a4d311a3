package main

import (
	"bytes"
	"context"
	"encoding/base64"
	binenc "encoding/binary"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// fakeAPI answers the node API well enough to test the command line's
// parsing and output: it sequences every valid submission without group
// rules and serves the events back. End-to-end tests against real nodes
// live elsewhere.
type fakeAPI struct {
	t    *testing.T
	host *protocol.Key
	srv  *httptest.Server

	mu     sync.Mutex
	subs   []*protocol.SignedSubmission
	events map[protocol.GroupID][]*protocol.SignedEvent
	refuse *protocol.Error
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	host, err := protocol.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeAPI{t: t, host: host, events: map[protocol.GroupID][]*protocol.SignedEvent{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/node", func(w http.ResponseWriter, r *http.Request) {
		fakeJSON(w, http.StatusOK, api.NodeInfo{PeerID: host.ID().String(), Addrs: []string{f.addr()}, Version: "test"})
	})
	// Sign-in as the node does it, without keeping the sessions: any
	// bearer token is accepted.
	mux.HandleFunc("POST /api/v1/auth/challenge", func(w http.ResponseWriter, r *http.Request) {
		ch := make([]byte, protocol.ChallengeSize)
		id := host.ID()
		copy(ch, id[:])
		binenc.BigEndian.PutUint64(ch[64:], uint64(time.Now().Add(time.Minute).UnixMilli()))
		fakeJSON(w, http.StatusOK, api.ChallengeResponse{Challenge: base64.StdEncoding.EncodeToString(ch), Expires: binenc.BigEndian.Uint64(ch[64:])})
	})
	mux.HandleFunc("POST /api/v1/auth/session", func(w http.ResponseWriter, r *http.Request) {
		var req api.SessionRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		user, err := protocol.ParseUserID(req.User)
		ch, _ := base64.StdEncoding.DecodeString(req.Challenge)
		sig, _ := base64.StdEncoding.DecodeString(req.Signature)
		if err != nil || !protocol.VerifyRaw(user, protocol.DomainAuth, ch, sig) {
			fakeError(w, protocol.Errorf(protocol.CodeBadSignature, "the signature of the challenge does not verify"))
			return
		}
		fakeJSON(w, http.StatusOK, api.SessionResponse{Token: "t-" + req.User, User: req.User, Expires: uint64(time.Now().Add(time.Hour).UnixMilli())})
	})
	mux.HandleFunc("POST /api/v1/submit", f.submit)
	mux.HandleFunc("GET /api/v1/groups", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		out := []api.GroupSummary{}
		for gid, evs := range f.events {
			out = append(out, api.GroupSummary{Group: gid.String(), Name: "Tea", Host: host.ID().String(), Hosted: true, Head: uint64(len(evs)), Members: 1})
		}
		fakeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /api/v1/groups/{gid}", func(w http.ResponseWriter, r *http.Request) {
		gid, _ := protocol.ParseGroupID(r.PathValue("gid"))
		f.mu.Lock()
		defer f.mu.Unlock()
		evs, ok := f.events[gid]
		if !ok {
			fakeError(w, protocol.Errorf(protocol.CodeUnknownGroup, "this node does not know group %s", gid))
			return
		}
		fakeJSON(w, http.StatusOK, api.GroupView{
			GroupSummary: api.GroupSummary{Group: gid.String(), Name: "Tea", Host: host.ID().String(), Hosted: true, Head: uint64(len(evs)), Members: 1},
			HostAddrs:    []string{f.addr()},
			Owner:        host.ID().String(), Policy: "invite", Cap: 500, History: "join", ReadFrom: 4,
			Pins:       []uint64{2},
			MemberList: []api.MemberView{{User: host.ID().String(), Role: "owner", Joined: 1}},
			Invites:    []api.InviteView{{ID: strings.Repeat("ab", 32), Inviter: host.ID().String(), MaxUses: 5, Uses: 1, Ref: "ORDER-1"}},
		})
	})
	mux.HandleFunc("PUT /api/v1/groups/{gid}/invites/{invite}/ref", func(w http.ResponseWriter, r *http.Request) {
		var req api.InviteRefRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fakeJSON(w, http.StatusOK, req)
	})
	mux.HandleFunc("GET /api/v1/groups/{gid}/events", func(w http.ResponseWriter, r *http.Request) {
		gid, _ := protocol.ParseGroupID(r.PathValue("gid"))
		from, _ := strconv.ParseUint(r.URL.Query().Get("from"), 10, 64)
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		if from == 0 {
			from = 1
		}
		if limit == 0 {
			limit = 100
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		evs := f.events[gid]
		if b := r.URL.Query().Get("before"); b != "" { // a backward page
			before, _ := strconv.ParseUint(b, 10, 64)
			head := uint64(len(evs))
			if before == 0 || before > head+1 {
				before = head + 1
			}
			first := uint64(1)
			if before > uint64(limit) {
				first = before - uint64(limit)
			}
			page := api.BackwardPage{Events: []api.EventView{}, Head: head}
			for s := first; s < before; s++ {
				page.Events = append(page.Events, api.NewEventView(evs[s-1]))
			}
			if first > 1 {
				page.Prev = first
			}
			fakeJSON(w, http.StatusOK, page)
			return
		}
		page := api.EventsPage{Events: []api.EventView{}, Head: uint64(len(evs)), Next: from}
		for s := from; s <= uint64(len(evs)) && len(page.Events) < limit; s++ {
			page.Events = append(page.Events, api.NewEventView(evs[s-1]))
			page.Next = s + 1
		}
		fakeJSON(w, http.StatusOK, page)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) addr() string { return "/ip4/127.0.0.1/tcp/7781/p2p/" + f.host.ID().String() }

func fakeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fakeError(w http.ResponseWriter, e *protocol.Error) {
	fakeJSON(w, api.HTTPStatus(e.Code), api.ErrorBody{Error: api.ErrorJSON{Code: e.Code.String(), Message: e.Msg}})
}

func (f *fakeAPI) submit(w http.ResponseWriter, r *http.Request) {
	var req api.SubmitRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fakeError(w, protocol.Errorf(protocol.CodeMalformed, "bad JSON"))
		return
	}
	raw, _ := base64.StdEncoding.DecodeString(req.Submission)
	sub, err := protocol.DecodeSubmission(raw)
	if err == nil {
		err = sub.Verify()
	}
	if err != nil {
		fakeError(w, protocol.AsError(err))
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse != nil {
		fakeError(w, f.refuse)
		return
	}
	gid := sub.GroupID()
	evs := f.events[gid]
	ev := protocol.Event{Group: gid, Seq: uint64(len(evs)) + 1, Time: uint64(time.Now().UnixMilli()), Via: f.host.ID(), Submission: raw}
	if len(evs) > 0 {
		ev.Prev = evs[len(evs)-1].ID
	} else if sub.Kind != protocol.KindCreate {
		fakeError(w, protocol.Errorf(protocol.CodeUnknownGroup, "unknown group"))
		return
	}
	signed, err := ev.Sign(f.host)
	if err != nil {
		f.t.Errorf("fake API: %v", err)
		fakeError(w, protocol.AsError(err))
		return
	}
	f.events[gid] = append(evs, signed)
	f.subs = append(f.subs, sub)
	fakeJSON(w, http.StatusOK, api.SubmitResponse{Group: gid.String(), Seq: signed.Seq, ID: signed.ID.String(), Time: signed.Time, Event: base64.StdEncoding.EncodeToString(signed.Raw)})
}

func (f *fakeAPI) last() *protocol.SignedSubmission {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.subs) == 0 {
		f.t.Fatal("no submission")
	}
	return f.subs[len(f.subs)-1]
}

// result is the outcome of one command run.
type result struct {
	handled bool
	code    int
	stdout  string
	stderr  string
}

// env runs commands against a fake node with a fresh key.
type env struct {
	t    *testing.T
	api  *fakeAPI
	key  string
	vars map[string]string
}

func newEnv(t *testing.T) *env {
	dir := t.TempDir()
	e := &env{t: t, api: newFakeAPI(t), key: filepath.Join(dir, "user.key")}
	e.vars = map[string]string{"QUN_API": e.api.srv.URL, "QUN_KEY": e.key}
	saveNewKey(t, e.key) // no command makes a key but qun key new
	return e
}

// saveNewKey writes a new key file at path and returns the key.
func saveNewKey(t *testing.T, path string) *protocol.Key {
	t.Helper()
	k, err := protocol.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := client.SaveKey(path, k); err != nil {
		t.Fatal(err)
	}
	return k
}

func (e *env) run(name string, args ...string) result {
	e.t.Helper()
	var out, errb bytes.Buffer
	handled, code := runClientEnv(context.Background(), name, args, &out, &errb, func(k string) string { return e.vars[k] })
	return result{handled, code, out.String(), errb.String()}
}

// ok runs a command that must succeed.
func (e *env) ok(name string, args ...string) result {
	e.t.Helper()
	r := e.run(name, args...)
	if !r.handled || r.code != 0 {
		e.t.Fatalf("qun %s %s: exit %d\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// group creates a group and returns its ID.
func (e *env) group() string {
	e.t.Helper()
	r := e.ok("group", "create", "--name", "Tea shop", "--json")
	var out struct{ Group string }
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		e.t.Fatal(err)
	}
	return out.Group
}

func decodeLine(t *testing.T, s string) map[string]any {
	t.Helper()
	if strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") {
		t.Fatalf("want one line of JSON, got %q", s)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("not JSON: %q: %v", s, err)
	}
	return m
}

func TestNotAClientCommand(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"node", "version", "help", "frobnicate"} {
		if r := e.run(name); r.handled || r.stdout != "" || r.stderr != "" {
			t.Errorf("%s handled by runClient: %+v", name, r)
		}
	}
}

func TestFlagsAnywhere(t *testing.T) {
	e := newEnv(t)
	gid := e.group()
	mention := e.api.host.ID().String()
	r := e.ok("send", gid, "hello", "--reply", "1", "--mention", mention, "--json", "world", "--all")
	m := decodeLine(t, r.stdout)
	if m["seq"].(float64) != 2 || m["id"] == "" || m["group"] != gid {
		t.Errorf("send output %v", m)
	}
	b := e.api.last().DecodedBody().(*protocol.MessageBody)
	if b.Text != "hello world" || b.ReplyTo != 1 || !b.MentionAll || len(b.Mentions) != 1 || b.Mentions[0].String() != mention {
		t.Errorf("message %+v", b)
	}

	// Flags before the positionals, with = and single dashes.
	e.ok("send", "-json", "--reply=2", gid, "again")
	if b := e.api.last().DecodedBody().(*protocol.MessageBody); b.Text != "again" || b.ReplyTo != 2 {
		t.Errorf("message %+v", b)
	}

	// After --, everything is text.
	e.ok("send", gid, "--", "--json", "-5", "degrees")
	if b := e.api.last().DecodedBody().(*protocol.MessageBody); b.Text != "--json -5 degrees" {
		t.Errorf("text after --: %q", b.Text)
	}

	// Subcommands may follow flags.
	r = e.ok("group", "--api", e.api.srv.URL, "--json", "info", gid)
	if m := decodeLine(t, r.stdout); m["group"] != gid {
		t.Errorf("group info output %v", m)
	}

	// --api and --key on the command line win over the environment.
	other := filepath.Join(t.TempDir(), "other.key")
	saveNewKey(t, other)
	r = e.ok("whoami", "--key", other)
	k, err := client.LoadKey(other)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(r.stdout) != k.ID().String() {
		t.Errorf("whoami --key printed %q", r.stdout)
	}
	e.vars["QUN_API"] = "http://127.0.0.1:1"
	e.ok("groups", "--api", e.api.srv.URL)
}

func TestUsageErrors(t *testing.T) {
	e := newEnv(t)
	gid := e.group()
	user := e.api.host.ID().String()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"send"}, "missing GID"},
		{[]string{"send", gid}, "missing TEXT"},
		{[]string{"send", gid, "  "}, "missing TEXT"},
		{[]string{"send", "nothex", "hi"}, `GID "nothex" is not a group ID`},
		{[]string{"send", gid, "hi", "--reply", "x"}, `invalid value "x" for flag -reply`},
		{[]string{"send", gid, "hi", "--mention", "bob"}, "not a user ID"},
		{[]string{"send", gid, "hi", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"send", gid, "hi", "--reply"}, "flag needs an argument: -reply"},
		{[]string{"history", gid, "extra"}, `unexpected argument "extra"`},
		{[]string{"history", gid, "--limit", "-1"}, "--limit must not be negative"},
		{[]string{"pin", gid, "0"}, `SEQ "0" is not an event number`},
		{[]string{"pin", gid}, "missing SEQ"},
		{[]string{"role", gid, user, "king"}, "ROLE must be owner, admin, member or bridge"},
		{[]string{"role", gid, "bob", "admin"}, `USERID "bob" is not a user ID`},
		{[]string{"kick", gid}, "missing USERID"},
		{[]string{"unban", gid, user, "--reason", "x"}, "flag provided but not defined: -reason"},
		{[]string{"mute", gid, user, "--for", "soon"}, "want a duration"},
		{[]string{"join"}, "missing TOKEN"},
		{[]string{"join", "tok", "--note", "hi"}, "--note goes with --request"},
		{[]string{"invite", "create", gid, "--ttl", "-1h"}, "must not be negative"},
		{[]string{"invite", "create", gid, "--uses", "2000000"}, "--uses must be at most"},
		{[]string{"invite", "revoke", gid, "abc"}, `INVITE_ID "abc" is not an invite ID`},
		{[]string{"group", "create"}, "missing --name NAME"},
		{[]string{"group", "create", "--name", "x", "--policy", "closed"}, "--policy must be open, approval or invite"},
		{[]string{"group", "create", "--name", "x", "--cap", "0"}, "--cap must be between 1 and 10000"},
		{[]string{"group", "update", gid}, "nothing to change"},
		{[]string{"group", "update", gid, "--history", "some"}, `--history must be all or join, not "some"`},
		{[]string{"group", "update", gid, "--name", ""}, "--name must not be empty"},
		{[]string{"group", "info"}, "missing GID"},
		{[]string{"group"}, "missing subcommand"},
		{[]string{"group", "frob"}, `unknown subcommand "frob"`},
		{[]string{"invite", gid}, "unknown subcommand"},
		{[]string{"whoami", "me"}, `unexpected argument "me"`},
		{[]string{"groups", "--api", "ftp://x"}, "--api"},
		{[]string{"groups", "--timeout", "-1s"}, "--timeout must not be negative"},
	} {
		r := e.run(tc.args[0], tc.args[1:]...)
		if !r.handled || r.code != 2 {
			t.Errorf("qun %s: exit %d, want 2 (stderr %q)", strings.Join(tc.args, " "), r.code, r.stderr)
			continue
		}
		lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
		if !strings.Contains(lines[0], tc.want) || !strings.HasPrefix(lines[0], "qun ") {
			t.Errorf("qun %s: stderr %q, want it to say %q", strings.Join(tc.args, " "), r.stderr, tc.want)
		}
		if !strings.HasPrefix(lines[len(lines)-1], "usage: qun ") {
			t.Errorf("qun %s: no usage line in %q", strings.Join(tc.args, " "), r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("qun %s: printed %q on stdout", strings.Join(tc.args, " "), r.stdout)
		}
	}
}

func TestHelp(t *testing.T) {
	e := newEnv(t)
	for _, args := range [][]string{{"send", "--help"}, {"group", "create", "-h"}} {
		r := e.run(args[0], args[1:]...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: qun "+args[0]) || !strings.Contains(r.stdout, "-api URL") {
			t.Errorf("%v: exit %d, stdout %q", args, r.code, r.stdout)
		}
	}
	r := e.run("invite", "--help")
	if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "usage: qun invite create GID") || !strings.Contains(r.stdout, "usage: qun invite revoke GID") {
		t.Errorf("invite --help: %+v", r)
	}
	var b bytes.Buffer
	printClientUsage(&b)
	for _, c := range commands {
		if !strings.Contains(b.String(), "  "+c.name) {
			t.Errorf("usage does not list %s", c.name)
		}
	}
}

func TestOutput(t *testing.T) {
	e := newEnv(t)

	r := e.ok("group", "create", "--name", "Tea shop", "--policy", "approval", "--cap", "50", "--public", "--history", "join")
	if !strings.HasPrefix(r.stdout, `created group "Tea shop": `) || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("group create printed %q", r.stdout)
	}
	if r.stderr != "" {
		t.Errorf("group create wrote on stderr: %q", r.stderr)
	}
	cb := e.api.last().DecodedBody().(*protocol.CreateBody)
	if *cb.Name != "Tea shop" || *cb.Policy != protocol.PolicyApproval || *cb.Cap != 50 || !*cb.Public || cb.Host != e.api.host.ID() || cb.Description != nil || *cb.History != protocol.HistoryFromJoin {
		t.Errorf("create body %+v", cb)
	}

	r = e.ok("group", "create", "--json", "My", "shop")
	m := decodeLine(t, r.stdout)
	gid, _ := m["group"].(string)
	if m["name"] != "My shop" || m["seq"].(float64) != 1 || len(gid) != 64 || m["id"] == "" {
		t.Errorf("group create --json printed %v", m)
	}
	if r.stderr != "" {
		t.Errorf("group create --json wrote on stderr: %q", r.stderr)
	}

	r = e.ok("invite", "create", gid, "--uses", "5", "--ref", "ORDER-7", "--json")
	m = decodeLine(t, r.stdout)
	token, _ := m["token"].(string)
	if m["link"] != e.api.srv.URL+"/join#"+token || m["uses"].(float64) != 5 || m["ref"] != "ORDER-7" || len(m["id"].(string)) != 64 {
		t.Errorf("invite create --json printed %v", m)
	}
	exp := time.UnixMilli(int64(m["expires"].(float64)))
	if d := time.Until(exp); d < 167*time.Hour || d > 169*time.Hour {
		t.Errorf("default ttl gives expiry in %s", d)
	}
	inv, err := protocol.ParseToken(token)
	if err != nil || inv.ID.String() != m["id"] {
		t.Errorf("token does not parse to the invite: %v", err)
	}
	r = e.ok("invite", "create", gid, "--ttl", "0", "--uses", "1")
	if !strings.Contains(r.stdout, "(1 use, never expires), seq 3\n"+e.api.srv.URL+"/join#") {
		t.Errorf("invite create printed %q", r.stdout)
	}

	e.vars["QUN_KEY"] = filepath.Join(t.TempDir(), "joiner.key")
	saveNewKey(t, e.vars["QUN_KEY"])
	r = e.ok("join", token, "--json")
	m = decodeLine(t, r.stdout)
	if m["group"] != gid || m["status"] != "joined" || m["name"] != "Tea" || m["seq"].(float64) != 4 {
		t.Errorf("join --json printed %v", m)
	}
	r = e.ok("join", e.api.srv.URL+"/join#"+token, "--request", "--note", "order 7")
	if r.stdout != `asked to join group "Tea" (`+gid+"), seq 5; an admin must approve you\n" {
		t.Errorf("join --request printed %q", r.stdout)
	}

	r = e.ok("send", gid, "hello", "there")
	if r.stdout != "sent, seq 6\n" {
		t.Errorf("send printed %q", r.stdout)
	}
	e.ok("send", gid, "line one\nline two", "--reply", "6")
	user := e.api.host.ID().String()
	e.ok("mute", gid, user, "--for", "1d", "--reason", "spam")
	if b := e.api.last().DecodedBody().(*protocol.MuteBody); b.Reason != "spam" || b.Until < uint64(time.Now().Add(23*time.Hour).UnixMilli()) {
		t.Errorf("mute body %+v", b)
	}
	r = e.ok("mute", gid)
	if r.stdout != "muted everyone below admin until unmuted, seq 9\n" {
		t.Errorf("mute printed %q", r.stdout)
	}
	r = e.ok("pin", gid, "#6")
	if r.stdout != "pinned #6, seq 10\n" {
		t.Errorf("pin printed %q", r.stdout)
	}
	r = e.ok("role", gid, user, "ADMIN", "--json")
	m = decodeLine(t, r.stdout)
	if m["seq"].(float64) != 11 || m["event"] == "" {
		t.Errorf("role --json printed %v", m)
	}
	e.ok("announce", gid, "")
	if b := e.api.last().DecodedBody().(*protocol.AnnounceBody); b.Text != "" {
		t.Errorf("announce body %+v", b)
	}

	r = e.ok("history", gid)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	author := "…" + e.api.subs[0].Author.String()[44:]
	wantSuffix := []string{
		author + ` created the group "My shop"`,
		author + " created an invite",
		author + " created an invite",
		" joined",
		" asked to join: order 7",
		": hello there",
		" (reply to #6): line one",
		"    line two",
		" muted …" + user[len(user)-8:] + " until ",
		" muted everyone until unmuted",
		" pinned #6",
		" made …" + user[len(user)-8:] + " admin",
		" cleared the announcement",
	}
	if len(lines) != len(wantSuffix) {
		t.Fatalf("history printed %d lines:\n%s", len(lines), r.stdout)
	}
	for i, want := range wantSuffix {
		if !strings.Contains(lines[i], want) {
			t.Errorf("history line %d = %q, want it to contain %q", i, lines[i], want)
		}
	}
	if !strings.HasPrefix(lines[0], "#1 20") || !strings.Contains(lines[0], " UTC ") {
		t.Errorf("history line 0 = %q", lines[0])
	}

	r = e.ok("history", gid, "--limit", "2", "--json")
	evLines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(evLines) != 2 {
		t.Fatalf("history --limit 2 printed %q", r.stdout)
	}
	var ev api.EventView
	if err := json.Unmarshal([]byte(evLines[0]), &ev); err != nil || ev.Seq != 11 || ev.Kind != "role" || ev.Role != "admin" || ev.Author == "" || ev.ID == "" || ev.Time == 0 {
		t.Errorf("history --json line %q (%v)", evLines[0], err)
	}
	r = e.ok("history", gid, "--from", "6", "--limit", "1", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &ev); err != nil || ev.Seq != 6 || ev.Text != "hello there" || ev.Kind != "message" {
		t.Errorf("history --from 6 printed %q", r.stdout)
	}

	r = e.ok("groups")
	if !strings.Contains(r.stdout, gid+` "Tea": 1 members, head #12, hosted here`) {
		t.Errorf("groups printed %q", r.stdout)
	}
	r = e.ok("group", "info", gid)
	for _, want := range []string{"group " + gid + ` "Tea"`, "host: " + user + " (this node)", "policy: invite, cap 500, private, head #12", "pinned: #2", "owner  " + user + " joined #1", "1 of 5 uses, ref ORDER-1",
		"history: new members read from their join on", "you read from event #4 (history before your join is hidden)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("group info does not say %q:\n%s", want, r.stdout)
		}
	}
}

func TestRuntimeErrors(t *testing.T) {
	e := newEnv(t)
	gid := e.group()
	e.api.refuse = protocol.Errorf(protocol.CodeMuted, "you are muted in this group until 2026-01-02 15:04:05 UTC")
	r := e.run("send", gid, "hi")
	if r.code != 1 || r.stderr != "qun: you are muted in this group until 2026-01-02 15:04:05 UTC\n" || r.stdout != "" {
		t.Errorf("muted: %+v", r)
	}
	e.api.refuse = protocol.Errorf(protocol.CodeForbidden, "only admins can create groups here")
	r = e.run("group", "create", "--name", "x")
	if r.code != 1 || !strings.Contains(r.stderr, "--key") {
		t.Errorf("forbidden create: %+v", r)
	}
	e.api.refuse = nil

	r = e.run("group", "info", strings.Repeat("0", 64))
	if r.code != 1 || !strings.HasPrefix(r.stderr, "qun: this node does not know group") {
		t.Errorf("unknown group: %+v", r)
	}
	r = e.run("join", "garbage")
	if r.code != 1 || !strings.Contains(r.stderr, "not a qun invite token") {
		t.Errorf("bad token: %+v", r)
	}

	e.api.srv.Close()
	r = e.run("send", gid, "hi")
	if r.code != 1 || !strings.Contains(r.stderr, e.api.srv.URL) || !strings.Contains(r.stderr, "qun node") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("node down: %+v", r)
	}

	// A corrupt key file is reported and left alone.
	if err := os.WriteFile(e.key, []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = e.run("whoami")
	if r.code != 1 || !strings.Contains(r.stderr, "is not a qun key") {
		t.Errorf("corrupt key: %+v", r)
	}
	if b, _ := os.ReadFile(e.key); string(b) != "garbage\n" {
		t.Error("the corrupt key file was overwritten")
	}
}

func TestDefaultKey(t *testing.T) {
	home := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "config"))
	t.Setenv("HOME", home)
	t.Chdir(t.TempDir())
	e := newEnv(t)
	delete(e.vars, "QUN_KEY")

	cfg, err := os.UserConfigDir()
	if err != nil {
		t.Skip(err)
	}
	userKey := filepath.Join(cfg, "qun", "user.key")
	// No command makes a key: without one they say which is missing and
	// how to make it.
	for _, args := range [][]string{{"groups"}, {"whoami"}, {"send", strings.Repeat("ab", 32), "hi"}} {
		r := e.run(args[0], args[1:]...)
		if r.code != 1 || !strings.Contains(r.stderr, "no key file at "+userKey) || !strings.Contains(r.stderr, `"qun key new"`) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%s without a key: %+v", args[0], r)
		}
		if _, err := os.Stat(userKey); err == nil {
			t.Fatalf("%s made a key", args[0])
		}
	}
	r := e.ok("key", "new", "--json")
	m := decodeLine(t, r.stdout)
	if m["key"] != userKey || !strings.Contains(r.stderr, userKey) {
		t.Errorf("key new: %v, stderr %q", m, r.stderr)
	}
	r = e.ok("whoami", "--json")
	if w := decodeLine(t, r.stdout); w["key"] != userKey || w["user"] != m["user"] || r.stderr != "" {
		t.Errorf("whoami: %v, stderr %q", w, r.stderr)
	}
	e.ok("groups")

	// A node's admin key in ./qun-data wins.
	admin, err := protocol.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := client.SaveKey(filepath.Join("qun-data", "admin.key"), admin); err != nil {
		t.Fatal(err)
	}
	r = e.ok("whoami")
	if strings.TrimSpace(r.stdout) != admin.ID().String() || r.stderr != "" {
		t.Errorf("whoami with qun-data/admin.key: %+v", r)
	}
}

func TestParseHelpers(t *testing.T) {
	for in, want := range map[string]time.Duration{"90s": 90 * time.Second, "7d": 7 * 24 * time.Hour, "0": 0, "1h30m": 90 * time.Minute} {
		if d, err := parseDuration(in); err != nil || d != want {
			t.Errorf("parseDuration(%q) = %s, %v", in, d, err)
		}
	}
	for _, bad := range []string{"", "d", "-1h", "x7d", "1.5d", "soon"} {
		if _, err := parseDuration(bad); err == nil {
			t.Errorf("parseDuration(%q) accepted", bad)
		}
	}
	for in, want := range map[time.Duration]string{10 * time.Minute: "10m", time.Hour: "1h", 48 * time.Hour: "2d", 90 * time.Second: "1m30s", 25 * time.Hour: "25h"} {
		if got := formatDuration(in); got != want {
			t.Errorf("formatDuration(%s) = %q, want %q", in, got, want)
		}
	}
	if s, err := parseSeq("#12"); err != nil || s != 12 {
		t.Errorf("parseSeq(#12) = %d, %v", s, err)
	}
}
