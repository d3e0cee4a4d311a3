package client

import (
	"context"
	"encoding/base64"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

func newTestClient(t *testing.T, f *fakeNode) *Client {
	t.Helper()
	key, err := protocol.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(f.srv.URL+"/", key, WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:7780":   "http://127.0.0.1:7780",
		"http://127.0.0.1:7780/":  "http://127.0.0.1:7780",
		"127.0.0.1:7780":          "http://127.0.0.1:7780",
		"https://node.example/qa": "https://node.example/qa",
	} {
		c, err := New(in, nil)
		if err != nil {
			t.Errorf("New(%q): %v", in, err)
			continue
		}
		if c.URL() != want {
			t.Errorf("New(%q).URL() = %q, want %q", in, c.URL(), want)
		}
	}
	for _, bad := range []string{"", "ftp://x", "http://", "http://x/?a=b"} {
		if _, err := New(bad, nil); err == nil {
			t.Errorf("New(%q) accepted a bad URL", bad)
		}
	}
	if _, err := New("http://x", nil, WithTimeout(-time.Second)); err == nil {
		t.Error("a negative timeout was accepted")
	}
	if _, err := New("http://x", nil, WithHTTPClient(nil)); err == nil {
		t.Error("a nil http.Client was accepted")
	}
}

func TestSubmitShape(t *testing.T) {
	f := newFakeNode(t)
	c := newTestClient(t, f)
	ctx := context.Background()
	gid := protocol.GroupID{7}
	before := uint64(time.Now().UnixMilli())
	resp, err := c.Send(ctx, gid, protocol.MessageBody{Text: "hello", ReplyTo: 1})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Group != gid.String() || resp.Seq != 2 {
		t.Errorf("response %+v", resp)
	}
	sub := f.subs[0]
	if sub.Kind != protocol.KindMessage || sub.Group != gid || sub.Author != c.Key().ID() {
		t.Errorf("submission kind %s group %s author %s", sub.Kind, sub.Group, sub.Author)
	}
	if len(sub.Nonce) != NonceBytes {
		t.Errorf("nonce of %d bytes", len(sub.Nonce))
	}
	if sub.Time < before || sub.Time > uint64(time.Now().UnixMilli()) {
		t.Errorf("submission time %d is not now", sub.Time)
	}
	if b := sub.DecodedBody().(*protocol.MessageBody); b.Text != "hello" || b.ReplyTo != 1 {
		t.Errorf("body %+v", b)
	}
	if len(f.reqs[0].HostAddrs) != 0 {
		t.Errorf("a message carried host addresses %v", f.reqs[0].HostAddrs)
	}

	// Two submissions of the same content differ (nonce), and retrying the
	// same bytes gives the same event.
	s1, err := c.Sign(protocol.KindMessage, gid, &protocol.MessageBody{Text: "x"})
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := c.Sign(protocol.KindMessage, gid, &protocol.MessageBody{Text: "x"})
	if s1.ID == s2.ID {
		t.Error("two signings gave the same submission")
	}
	r1, err := c.SubmitSigned(ctx, s1.Raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := c.SubmitSigned(ctx, s1.Raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *r1 != *r2 {
		t.Errorf("retry gave %+v, first %+v", r2, r1)
	}

	if _, err := c.Sign(protocol.KindPin, gid, &protocol.MessageBody{Text: "x"}); err == nil {
		t.Error("a message body was signed as a pin")
	}
	ro, _ := New(f.srv.URL, nil)
	if _, err := ro.Send(ctx, gid, protocol.MessageBody{Text: "x"}); !errors.Is(err, ErrNoKey) {
		t.Errorf("read-only client: %v", err)
	}
}

func TestCreateGroup(t *testing.T) {
	f := newFakeNode(t)
	c := newTestClient(t, f)
	ctx := context.Background()
	info, err := c.Node(ctx)
	if err != nil {
		t.Fatal(err)
	}
	host, err := protocol.ParseUserID(info.PeerID)
	if err != nil {
		t.Fatal(err)
	}
	name := "Tea shop"
	gid, resp, err := c.CreateGroup(ctx, host, protocol.Settings{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	if gid.String() != resp.Group || resp.Seq != 1 {
		t.Errorf("gid %s, response %+v", gid, resp)
	}
	if gid != f.subs[0].GroupID() {
		t.Errorf("gid %s is not the hash of the create submission", gid)
	}
	b := f.subs[0].DecodedBody().(*protocol.CreateBody)
	if b.Host != host || *b.Name != name {
		t.Errorf("create body %+v", b)
	}
}

func TestResponseChecked(t *testing.T) {
	// A node that answers with someone else's event is caught.
	f := newFakeNode(t)
	c := newTestClient(t, f)
	other, _ := c.Sign(protocol.KindMessage, protocol.GroupID{1}, &protocol.MessageBody{Text: "other"})
	resp, err := c.SubmitSigned(context.Background(), other.Raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/submit" {
			f.srv.Config.Handler.ServeHTTP(w, r) // sign in at the fake node
			return
		}
		writeJSON(w, http.StatusOK, resp)
	}))
	defer srv.Close()
	c2, _ := New(srv.URL, c.Key())
	_, err = c2.Send(context.Background(), protocol.GroupID{1}, protocol.MessageBody{Text: "mine"})
	if err == nil || !strings.Contains(err.Error(), "does not carry the submission") {
		t.Errorf("forged answer: %v", err)
	}
}

func TestErrors(t *testing.T) {
	f := newFakeNode(t)
	c := newTestClient(t, f)
	ctx := context.Background()
	f.refuse = protocol.Errorf(protocol.CodeMuted, "you are muted in this group until 2026-01-02 15:04:05 UTC")
	_, err := c.Send(ctx, protocol.GroupID{1}, protocol.MessageBody{Text: "hi"})
	if !errors.Is(err, protocol.ErrMuted) {
		t.Fatalf("muted: %v", err)
	}
	if err.Error() != f.refuse.Msg {
		t.Errorf("message %q, want %q", err, f.refuse.Msg)
	}
	_, err = c.Group(ctx, protocol.GroupID{})
	if !errors.Is(err, protocol.ErrUnknownGroup) {
		t.Errorf("unknown group: %v", err)
	}

	// Answers that are not an ErrorBody still become typed errors.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/node":
			http.Error(w, "upstream down\nmore", http.StatusBadGateway)
		case "/api/v1/invites/preview":
			w.Write([]byte("{not json"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c2, _ := New(srv.URL, nil)
	_, err = c2.Node(ctx)
	if !errors.Is(err, protocol.ErrUnavailable) || !strings.Contains(err.Error(), "502 Bad Gateway: upstream down") {
		t.Errorf("502: %v", err)
	}
	_, err = c2.Group(ctx, protocol.GroupID{1})
	if !errors.Is(err, ErrNeedSession) || !strings.Contains(err.Error(), "no key") {
		t.Errorf("keyless client: %v", err)
	}
	// Signing in at something that is not a qun node fails in words.
	c2, _ = New(srv.URL, c.Key())
	_, err = c2.Node(ctx)
	if !errors.Is(err, protocol.ErrUnavailable) || !strings.Contains(err.Error(), "502 Bad Gateway: upstream down") {
		t.Errorf("502: %v", err)
	}
	_, err = c2.Group(ctx, protocol.GroupID{1})
	if !errors.Is(err, protocol.ErrNotFound) || !strings.Contains(err.Error(), "signing in") {
		t.Errorf("plain 404: %v", err)
	}
	c2, _ = New(srv.URL, nil) // a keyless preview sends no session
	_, err = c2.Preview(ctx, "x")
	if err == nil || !strings.Contains(err.Error(), "JSON") {
		t.Errorf("bad JSON: %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, _ := New(url, nil)
	_, err := c.Node(context.Background())
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("closed server: %v", err)
	}
	for _, want := range []string{url, "qun node"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Node(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: %v", err)
	}

	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer slow.Close()
	defer close(block)
	c2, _ := New(slow.URL, nil, WithTimeout(50*time.Millisecond))
	_, err = c2.Node(context.Background())
	if err == nil || !strings.Contains(err.Error(), "did not answer in time") {
		t.Errorf("slow node: %v", err)
	}
}

func TestHistoryPaging(t *testing.T) {
	f := newFakeNode(t)
	c := newTestClient(t, f)
	ctx := context.Background()
	gid := protocol.GroupID{1}
	f.history = 2345

	var seqs []uint64
	for ev, err := range c.History(ctx, gid, 0, 0) {
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, ev.Seq)
	}
	if len(seqs) != 2345 || seqs[0] != 1 || seqs[2344] != 2345 {
		t.Fatalf("got %d events, first %v", len(seqs), seqs[:1])
	}
	for i, s := range seqs {
		if s != uint64(i+1) {
			t.Fatalf("event %d has seq %d", i, s)
		}
	}
	if got := strings.Join(f.queries, " "); got != "from=1&limit=1000 from=1001&limit=1000 from=2001&limit=1000" {
		t.Errorf("queries %s", got)
	}

	f.queries = nil
	n := 0
	for ev, err := range c.History(ctx, gid, 2000, 10) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Seq != uint64(2000+n) {
			t.Errorf("event %d has seq %d", n, ev.Seq)
		}
		n++
	}
	if n != 10 || len(f.queries) != 1 || f.queries[0] != "from=2000&limit=10" {
		t.Errorf("%d events, queries %v", n, f.queries)
	}

	// Stopping early fetches no more pages.
	f.queries = nil
	for range c.History(ctx, gid, 1, 0) {
		break
	}
	if len(f.queries) != 1 {
		t.Errorf("queries after break: %v", f.queries)
	}

	last, err := c.Last(ctx, gid, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(last) != 50 || last[0].Seq != 2296 || last[49].Seq != 2345 {
		t.Errorf("last 50: %d events from %d", len(last), last[0].Seq)
	}
	last, err = c.Last(ctx, gid, 1500)
	if err != nil {
		t.Fatal(err)
	}
	if len(last) != 1500 || last[0].Seq != 846 || last[1499].Seq != 2345 {
		t.Errorf("last 1500: %d events from %d", len(last), last[0].Seq)
	}
	f.history = 3
	f.queries = nil
	last, err = c.Last(ctx, gid, 50)
	if err != nil || len(last) != 3 || len(f.queries) != 1 {
		t.Errorf("short history: %d events, %v, queries %v", len(last), err, f.queries)
	}

	// Pages cut short (by the node's byte bound) are followed through next.
	f.history, f.pageCap = 100, 7
	last, err = c.Last(ctx, gid, 50)
	if err != nil || len(last) != 50 || last[0].Seq != 51 || last[49].Seq != 100 {
		t.Errorf("last 50 of short pages: %d events, %v", len(last), err)
	}
	last, err = c.Last(ctx, gid, 200)
	if err != nil || len(last) != 100 || last[0].Seq != 1 {
		t.Errorf("last 200 of 100 in short pages: %d events, %v", len(last), err)
	}
	n = 0
	for ev, err := range c.History(ctx, gid, 0, 0) {
		if err != nil || ev.Seq != uint64(n+1) {
			t.Fatalf("event %d: seq %d, %v", n, ev.Seq, err)
		}
		n++
	}
	if n != 100 {
		t.Errorf("history of short pages gave %d events", n)
	}

	if _, err := c.Events(ctx, gid, 1, MaxEventsLimit+1); err == nil {
		t.Error("a limit above the maximum was sent")
	}
}

func TestInviteAndJoin(t *testing.T) {
	f := newFakeNode(t)
	c := newTestClient(t, f)
	ctx := context.Background()
	gid := protocol.GroupID{9}
	before := time.Now().Truncate(time.Millisecond) // expiries are whole milliseconds
	inv, resp, err := c.CreateInvite(ctx, gid, 3, time.Hour, "ORDER-42")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Group != gid.String() {
		t.Errorf("response %+v", resp)
	}
	if inv.Group != gid || inv.Host != f.host.ID() || inv.Inviter != c.Key().ID() || inv.MaxUses != 3 || inv.Ref != "" {
		t.Errorf("invite %+v (the token must not carry the reference)", inv.Invite)
	}
	f.mu.Lock()
	kept := f.refs[inv.ID.String()]
	f.mu.Unlock()
	if kept != "ORDER-42" {
		t.Errorf("the reference kept by the host: %q", kept)
	}
	if exp := time.UnixMilli(int64(inv.Expires)); exp.Before(before.Add(time.Hour)) || exp.After(time.Now().Add(time.Hour)) {
		t.Errorf("expires %s", exp)
	}
	if len(inv.Addrs) != 2 { // the unparsable address is skipped
		t.Errorf("%d addresses in the invite", len(inv.Addrs))
	}
	if err := inv.Verify(); err != nil {
		t.Error(err)
	}
	body := f.subs[0].DecodedBody().(*protocol.InviteCreateBody)
	if string(body.Token) != string(inv.Raw) {
		t.Error("invite_create does not carry the token")
	}

	joiner := newTestClient(t, f)
	link := c.URL() + "/join#" + inv.Token()
	if _, err := joiner.Join(ctx, link); err != nil {
		t.Fatal(err)
	}
	sub := f.subs[1]
	jb := sub.DecodedBody().(*protocol.JoinBody)
	if sub.Kind != protocol.KindJoin || sub.Group != gid || string(jb.Token) != string(inv.Raw) || jb.Note != "" {
		t.Errorf("join %s %+v", sub.Kind, jb)
	}
	wantAddrs := []string{"/ip4/127.0.0.1/tcp/4001/p2p/" + f.host.ID().String(), "/ip4/10.0.0.1/udp/4001/quic-v1/p2p/" + f.host.ID().String()}
	if got := f.reqs[1].HostAddrs; strings.Join(got, " ") != strings.Join(wantAddrs, " ") {
		t.Errorf("join host_addrs %v, want %v", got, wantAddrs)
	}

	if _, err := joiner.RequestJoin(ctx, inv.Token(), "order 42, please"); err != nil {
		t.Fatal(err)
	}
	sub = f.subs[2]
	if jb := sub.DecodedBody().(*protocol.JoinBody); sub.Kind != protocol.KindJoinRequest || jb.Note != "order 42, please" {
		t.Errorf("join request %s %+v", sub.Kind, jb)
	}

	for _, bad := range []string{"not-a-token", "!!", ""} {
		_, err := joiner.Join(ctx, bad)
		if err == nil || !strings.Contains(err.Error(), "not a qun invite token") {
			t.Errorf("bad token %q: %v", bad, err)
		}
	}
	tampered := []byte(inv.Raw)
	tampered = append([]byte{}, tampered...)
	tampered[len(tampered)-1] ^= 1
	if _, err := joiner.Join(ctx, base64.RawURLEncoding.EncodeToString(tampered)); !errors.Is(err, protocol.ErrBadSignature) {
		t.Errorf("tampered token: %v", err)
	}
}

func TestModeration(t *testing.T) {
	f := newFakeNode(t)
	c := newTestClient(t, f)
	ctx := context.Background()
	gid := protocol.GroupID{3}
	u := protocol.UserID{5}
	calls := []struct {
		kind protocol.Kind
		do   func() (*api.SubmitResponse, error)
	}{
		{protocol.KindMute, func() (*api.SubmitResponse, error) { return c.Mute(ctx, gid, u, time.Minute, "spam") }},
		{protocol.KindMute, func() (*api.SubmitResponse, error) { return c.Mute(ctx, gid, protocol.UserID{}, 0, "") }},
		{protocol.KindUnmute, func() (*api.SubmitResponse, error) { return c.Unmute(ctx, gid, protocol.UserID{}) }},
		{protocol.KindKick, func() (*api.SubmitResponse, error) { return c.Kick(ctx, gid, u, "bye") }},
		{protocol.KindBan, func() (*api.SubmitResponse, error) { return c.Ban(ctx, gid, u, "") }},
		{protocol.KindUnban, func() (*api.SubmitResponse, error) { return c.Unban(ctx, gid, u) }},
		{protocol.KindApprove, func() (*api.SubmitResponse, error) { return c.Approve(ctx, gid, u) }},
		{protocol.KindReject, func() (*api.SubmitResponse, error) { return c.Reject(ctx, gid, u, "no") }},
		{protocol.KindRole, func() (*api.SubmitResponse, error) { return c.SetRole(ctx, gid, u, protocol.RoleAdmin) }},
		{protocol.KindPin, func() (*api.SubmitResponse, error) { return c.Pin(ctx, gid, 4) }},
		{protocol.KindUnpin, func() (*api.SubmitResponse, error) { return c.Unpin(ctx, gid, 4) }},
		{protocol.KindRecall, func() (*api.SubmitResponse, error) { return c.Recall(ctx, gid, 4) }},
		{protocol.KindAnnounce, func() (*api.SubmitResponse, error) { return c.Announce(ctx, gid, "") }},
		{protocol.KindInviteRevoke, func() (*api.SubmitResponse, error) { return c.RevokeInvite(ctx, gid, protocol.InviteID{1}) }},
		{protocol.KindLeave, func() (*api.SubmitResponse, error) { return c.Leave(ctx, gid) }},
	}
	for i, call := range calls {
		if _, err := call.do(); err != nil {
			t.Fatalf("%s: %v", call.kind, err)
		}
		if got := f.subs[i].Kind; got != call.kind {
			t.Errorf("call %d submitted %s, want %s", i, got, call.kind)
		}
	}
	m := f.subs[0].DecodedBody().(*protocol.MuteBody)
	if m.Member != u || m.Reason != "spam" || m.Until < uint64(time.Now().Add(50*time.Second).UnixMilli()) {
		t.Errorf("mute body %+v", m)
	}
	if m := f.subs[1].DecodedBody().(*protocol.MuteBody); !m.Member.IsZero() || m.Until != 0 {
		t.Errorf("mute-all body %+v", m)
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "dir", "user.key")
	k1, created, err := LoadOrCreateKey(path)
	if err != nil || !created {
		t.Fatalf("create: %v, created %v", err, created)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", st.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if !strings.HasSuffix(string(data), "\n") || strings.Count(string(data), "\n") != 1 {
		t.Errorf("key file content %q", data)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	if k, err := protocol.UnmarshalKey(raw); err != nil || k.ID() != k1.ID() {
		t.Errorf("key file does not hold the key: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}

	k2, created, err := LoadOrCreateKey(path)
	if err != nil || created || k2.ID() != k1.ID() {
		t.Fatalf("reload: %v, created %v, same %v", err, created, k2 != nil && k2.ID() == k1.ID())
	}

	for name, content := range map[string]string{
		"garbage": "hello world\n",
		"empty":   "",
		"short":   base64.StdEncoding.EncodeToString([]byte{1, 2, 3}) + "\n",
		"huge":    strings.Repeat("A", 10000),
	} {
		p := filepath.Join(dir, name+".key")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := LoadOrCreateKey(p)
		if err == nil || !strings.Contains(err.Error(), "is not a qun key") || !strings.Contains(err.Error(), p) {
			t.Errorf("%s key file: %v", name, err)
		}
		if after, _ := os.ReadFile(p); string(after) != content {
			t.Errorf("%s key file was overwritten", name)
		}
	}

	if err := SaveKey(path, k1); !errors.Is(err, fs.ErrExist) {
		t.Errorf("SaveKey over an existing file: %v", err)
	}
}
