package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qunchat/qun/bridge"
	"github.com/qunchat/qun/bridge/irc"
	"github.com/qunchat/qun/bridge/matrix"
	"github.com/qunchat/qun/bridge/webhook"
	"github.com/qunchat/qun/bridge/xmpp"
	"github.com/qunchat/qun/internal/testserver"
	"github.com/qunchat/qun/protocol"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"
)

// token finds the tags of the test's messages in what a side received.
var token = regexp.MustCompile(`m-[a-z]+-[0-9]+`)

// side is one place where people write: a Qun user, an IRC user, an XMPP
// user or the platform. got holds the tags it received from the others,
// in the order they came.
type side struct {
	name string
	send func(ctx context.Context, text string) error

	mu  sync.Mutex
	got []string
}

func (s *side) receive(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, token.FindAllString(text, -1)...)
}

func (s *side) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// xmppAccount registers user on the prosody xs and returns its
// configuration, with its password in a file in dir.
func xmppAccount(t *testing.T, xs *testserver.Prosody, dir, user string) bridge.XMPP {
	t.Helper()
	xs.Register(user, "pw-"+user)
	file := filepath.Join(dir, user+".password")
	if err := os.WriteFile(file, []byte("pw-"+user), 0o600); err != nil {
		t.Fatal(err)
	}
	return bridge.XMPP{JID: user + "@" + testserver.ProsodyDomain, PasswordFile: file, Server: xs.Addr(), CAFile: xs.CAFile}
}

// TestGatewayAllSides: one Qun group on three nodes, routed at once to an
// IRC channel on ngircd, an XMPP multi-user chat on prosody, a Matrix room
// on Dendrite and a platform's webhooks. Seven sides write at the same
// time (three Qun users, an IRC user, an XMPP user, a Matrix user, the
// platform); each side gets every message of the others exactly once, in
// the group's order, and none of its own. Recalls follow every copy both
// ways.
func TestGatewayAllSides(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ngircd, prosody and dendrite")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ircd := testserver.StartNgircd(t)
	xs := testserver.StartProsody(t)
	hs := testserver.StartDendrite(t)
	w := testserver.NewWorld(t, ctx)
	third := testserver.UserOn(t, w.Platform)
	inv, _, err := w.Owner.CreateInvite(ctx, w.GID, 1, time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := third.Join(ctx, inv.Token()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	// The bridge's connectors.
	ircConn, err := irc.NewConnector("irc.test", bridge.IRC{Server: ircd.Addr(), Nick: "qunbridge"}, []string{"#tea"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ircConn.WithConfig(func(c *irc.Config) { c.MessagesPerSecond = -1 })
	room := "tea@" + testserver.ProsodyMUC
	xmppCfg := func(user string) bridge.XMPP { return xmppAccount(t, xs, dir, user) }
	xmppConn, err := xmpp.New("xmpp.test", xmppCfg("bridge"), []string{room}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	// Matrix: Dave makes the room and invites the bridge's bot.
	botID, botToken := hs.Register(t, "qunbot", "password-qunbot")
	daveID, daveToken := hs.Register(t, "dave", "password-dave")
	dave, err := mautrix.NewClient(hs.URL(), id.UserID(daveID), daveToken)
	if err != nil {
		t.Fatal(err)
	}
	created, err := dave.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat", Name: "Tea", Invite: []id.UserID{id.UserID(botID)}})
	if err != nil {
		t.Fatal(err)
	}
	mxRoom := string(created.RoomID)
	tokenFile := func(name, tok string) string {
		f := filepath.Join(dir, name+".token")
		if err := os.WriteFile(f, []byte(tok), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	mxConn, err := matrix.New("matrix.test", bridge.Matrix{Homeserver: hs.URL(), User: botID, TokenFile: tokenFile("bot", botToken)},
		[]string{mxRoom}, filepath.Join(dir, "matrix-bot"), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}

	secret := []byte("all-sides-secret-0123456789abcdef0123456789")
	if err := os.WriteFile(filepath.Join(dir, "secret"), secret, 0o600); err != nil {
		t.Fatal(err)
	}
	platform := &side{name: "platform"}
	var deletes sync.Map // what each remote side was told to delete
	var hookMu sync.Mutex
	hookKeys := map[string]bool{}
	plat := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get(webhook.HeaderTimestamp), 10, 64)
		if r.Header.Get(webhook.HeaderSignature) != webhook.Sign(secret, ts, body) {
			rw.WriteHeader(http.StatusUnauthorized)
			return
		}
		var h struct{ Type, Text, ID string }
		_ = json.Unmarshal(body, &h)
		if h.Type == "delete" {
			deletes.Store("platform", h.ID)
		}
		hookMu.Lock()
		seen := hookKeys[r.Header.Get(webhook.HeaderWebhookID)]
		hookKeys[r.Header.Get(webhook.HeaderWebhookID)] = true
		hookMu.Unlock()
		if !seen && h.Type == "message" {
			platform.receive(h.Text)
		}
	}))
	defer plat.Close()
	hookConn, err := webhook.New("webhook.test", bridge.Webhook{Listen: "127.0.0.1:0", URL: plat.URL, SecretFile: filepath.Join(dir, "secret")},
		[]string{"shop-42"}, filepath.Join(dir, "outbox"), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer hookConn.Close()

	store, err := bridge.OpenStore(filepath.Join(dir, "store"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	g, err := bridge.New(bridge.Options{
		Client: w.BridgeUser, Store: store, Connectors: []bridge.Connector{ircConn, xmppConn, mxConn, hookConn},
		Routes: []bridge.Route{{Group: w.GID.String(), Remote: []string{"irc.test:#tea", "xmpp.test:" + room, "matrix.test:" + mxRoom, "webhook.test:shop-42"}}},
		Web:    w.Platform.APIURL(), Logger: testLogger(t), StatusEvery: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	gctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = g.Run(gctx) }()
	defer func() { stop(); <-done }()
	testserver.WaitUntil(t, 30*time.Second, "every connector connected", func() bool {
		return ircConn.Status().Connected && xmppConn.Status().Connected && mxConn.Status().Connected && hookConn.Addr() != nil
	})
	endpoint := "http://" + hookConn.Addr().String()

	// The people of the other networks.
	ircUser := irc.New(irc.Config{Addr: ircd.Addr(), Nick: "alice", Channels: []string{"#tea"}, MessagesPerSecond: -1, Logger: testLogger(t)})
	go ircUser.Run(gctx)
	defer ircUser.Close()
	xmppUser, err := xmpp.New("xmpp.person", xmppCfg("carol"), []string{room}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	xmppIn := make(chan bridge.Inbound, 256)
	go xmppUser.Run(gctx, xmppIn)
	mxUser, err := matrix.New("matrix.person", bridge.Matrix{Homeserver: hs.URL(), User: daveID, TokenFile: tokenFile("dave", daveToken)},
		[]string{mxRoom}, filepath.Join(dir, "matrix-dave"), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	mxIn := make(chan bridge.Inbound, 256)
	go mxUser.Run(gctx, mxIn)
	var mxIDs sync.Map // tag → Dave's ID of his message

	var xmppIDs sync.Map // tag → the XMPP person's ID of her message
	sides := []*side{
		{name: "owner", send: func(ctx context.Context, text string) error {
			_, err := w.Owner.Send(ctx, w.GID, protocol.MessageBody{Text: text})
			return err
		}},
		{name: "buyer", send: func(ctx context.Context, text string) error {
			_, err := w.Buyer.Send(ctx, w.GID, protocol.MessageBody{Text: text})
			return err
		}},
		{name: "third", send: func(ctx context.Context, text string) error {
			_, err := third.Send(ctx, w.GID, protocol.MessageBody{Text: text})
			return err
		}},
		{name: "irc", send: func(ctx context.Context, text string) error { return ircUser.Say(ctx, "#tea", text) }},
		{name: "matrix", send: func(ctx context.Context, text string) error {
			id, err := mxUser.Send(ctx, mxRoom, bridge.Outbound{Event: "dave-" + strings.Fields(text)[0], Text: text})
			mxIDs.Store(strings.Fields(text)[0], id)
			return err
		}},
		{name: "xmpp", send: func(ctx context.Context, text string) error {
			id, err := xmppUser.Send(ctx, room, bridge.Outbound{Text: text})
			xmppIDs.Store(strings.Fields(text)[0], id)
			return err
		}},
		platform,
	}
	platform.send = func(ctx context.Context, text string) error {
		id := strings.Fields(text)[0]
		body, _ := json.Marshal(map[string]string{"channel": "shop-42", "id": id, "user": "lin", "name": "Lin", "text": text})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/v1/messages", bytes.NewReader(body))
		ts := time.Now().Unix()
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts, 10))
		req.Header.Set(webhook.HeaderSignature, webhook.Sign(secret, ts, body))
		req.Header.Set(webhook.HeaderWebhookID, "req-"+id)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("the bridge answered %s", resp.Status)
		}
		return nil
	}
	byName := map[string]*side{}
	for _, s := range sides {
		byName[s.name] = s
	}
	// What the remote people receive.
	go func() {
		for m := range ircUser.Messages() {
			if m.Notice && strings.Contains(m.Text, "recalled") {
				deletes.Store("irc", m.Text)
			}
			byName["irc"].receive(m.Text)
		}
	}()
	go func() {
		for {
			select {
			case m := <-mxIn:
				if m.Deletes != "" {
					deletes.Store("matrix", m.Deletes)
				}
				byName["matrix"].receive(m.Text)
			case m := <-xmppIn:
				if m.Deletes != "" {
					deletes.Store("xmpp", m.Deletes)
				}
				byName["xmpp"].receive(m.Text)
			case <-gctx.Done():
				return
			}
		}
	}()
	testserver.WaitUntil(t, 30*time.Second, "the people in their channels", func() bool {
		return ircUser.Connected() && xmppUser.Status().Connected && mxUser.Status().Connected
	})
	// The IRC, XMPP and Matrix people are in: start once the bridge sees that
	// the IRC person's line reaches it (IRC has no history to catch up).
	if err := ircUser.Say(ctx, "#tea", "m-ready-0"); err != nil {
		t.Fatal(err)
	}
	head0 := uint64(0)
	testserver.WaitUntil(t, 30*time.Second, "the first line from IRC in the group", func() bool {
		for ev, err := range w.Owner.History(ctx, w.GID, 1, 0) {
			if err == nil && strings.Contains(ev.Text, "m-ready-0") {
				head0 = ev.Seq
				return true
			}
		}
		return false
	})
	testserver.WaitUntil(t, 30*time.Second, "the first line from IRC on XMPP and the platform", func() bool {
		return slices.Contains(byName["xmpp"].received(), "m-ready-0") && slices.Contains(byName["matrix"].received(), "m-ready-0") &&
			slices.Contains(platform.received(), "m-ready-0")
	})

	// Everyone writes at once.
	const k = 6
	var wg sync.WaitGroup
	for _, s := range sides {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range k {
				if err := s.send(ctx, fmt.Sprintf("m-%s-%d says hello", s.name, i)); err != nil {
					t.Errorf("%s: %v", s.name, err)
					return
				}
			}
		}()
	}
	wg.Wait()

	// The group's order of the test's messages.
	var order []string
	testserver.WaitUntil(t, 60*time.Second, "every message in the group", func() bool {
		order = order[:0]
		for ev, err := range w.Owner.History(ctx, w.GID, head0+1, 0) {
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind == "message" {
				order = append(order, token.FindAllString(ev.Text, -1)...)
			}
		}
		return len(order) >= k*len(sides)
	})
	if len(order) != k*len(sides) {
		t.Fatalf("the group holds %d of the test's messages, want %d: %q", len(order), k*len(sides), order)
	}
	for _, s := range sides[:3] {
		s.got = nil // Qun users read the group itself
		for _, tag := range order {
			if !strings.HasPrefix(tag, "m-"+s.name+"-") {
				s.receive(tag)
			}
		}
	}
	for _, s := range sides {
		var want []string
		for _, tag := range order {
			if !strings.HasPrefix(tag, "m-"+s.name+"-") {
				want = append(want, tag)
			}
		}
		testserver.WaitUntil(t, 60*time.Second, s.name+" to get the others' messages", func() bool {
			got := s.received()
			got = slices.DeleteFunc(got, func(tag string) bool { return tag == "m-ready-0" })
			return len(got) >= len(want)
		})
		got := slices.DeleteFunc(s.received(), func(tag string) bool { return tag == "m-ready-0" })
		if !slices.Equal(got, want) {
			t.Errorf("%s got, in this order:\n%q\nwant (the group's order, without its own):\n%q", s.name, got, want)
		}
	}

	// A recall on Qun follows every copy: a notice on IRC, a retraction
	// on XMPP, a delete webhook.
	var recallSeq uint64
	for ev, err := range w.Owner.History(ctx, w.GID, head0+1, 0) {
		if err == nil && strings.HasPrefix(ev.Text, "m-owner-0 ") {
			recallSeq = ev.Seq
		}
	}
	if _, err := w.Owner.Recall(ctx, w.GID, recallSeq); err != nil {
		t.Fatal(err)
	}
	for _, where := range []string{"irc", "xmpp", "matrix", "platform"} {
		testserver.WaitUntil(t, 20*time.Second, "the recall on "+where, func() bool { _, ok := deletes.Load(where); return ok })
	}
	if v, _ := deletes.Load("irc"); v != "[a message of 店长 was recalled]" {
		t.Errorf("IRC was told %q", v)
	}
	// An XMPP retraction recalls the relayed message on Qun.
	id, _ := xmppIDs.Load("m-xmpp-0")
	if err := xmppUser.Delete(ctx, room, id.(string)); err != nil {
		t.Fatal(err)
	}
	testserver.WaitUntil(t, 20*time.Second, "the retraction recalled on Qun", func() bool {
		for ev, err := range w.Owner.History(ctx, w.GID, head0+1, 0) {
			if err == nil && ev.Kind == "message" && ev.Recalled != nil && ev.Bridged != nil && ev.Bridged.Network == "xmpp.test" {
				return true
			}
		}
		return false
	})
	// So does a Matrix redaction.
	mid, _ := mxIDs.Load("m-matrix-0")
	if err := mxUser.Delete(ctx, mxRoom, mid.(string)); err != nil {
		t.Fatal(err)
	}
	testserver.WaitUntil(t, 20*time.Second, "the redaction recalled on Qun", func() bool {
		for ev, err := range w.Owner.History(ctx, w.GID, head0+1, 0) {
			if err == nil && ev.Kind == "message" && ev.Recalled != nil && ev.Bridged != nil && ev.Bridged.Network == "matrix.test" {
				return true
			}
		}
		return false
	})
}

// TestGatewayServerRestart: the XMPP server goes down mid-stream. IRC is
// unaffected (what Qun and IRC say meanwhile goes between them at once),
// nothing written on Qun is lost for XMPP (its channel catches up once the
// bridge is back in the room), and the room reaches Qun again.
func TestGatewayServerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ngircd and prosody")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ircd := testserver.StartNgircd(t)
	xs := testserver.StartProsody(t)
	w := testserver.NewWorld(t, ctx)
	dir := t.TempDir()
	room := "tea@" + testserver.ProsodyMUC
	ircConn, err := irc.NewConnector("irc.test", bridge.IRC{Server: ircd.Addr(), Nick: "qunbridge"}, []string{"#tea"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ircConn.WithConfig(func(c *irc.Config) { c.MessagesPerSecond = -1 })
	xmppConn, err := xmpp.New("xmpp.test", xmppAccount(t, xs, dir, "bridge"), []string{room}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	carolCfg := xmppAccount(t, xs, dir, "carol")
	store, err := bridge.OpenStore(filepath.Join(dir, "store"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	g, err := bridge.New(bridge.Options{
		Client: w.BridgeUser, Store: store, Connectors: []bridge.Connector{ircConn, xmppConn},
		Routes: []bridge.Route{{Group: w.GID.String(), Remote: []string{"irc.test:#tea", "xmpp.test:" + room}}},
		Web:    w.Platform.APIURL(), Logger: testLogger(t), StatusEvery: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	gctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = g.Run(gctx) }()
	defer func() { stop(); <-done }()
	testserver.WaitUntil(t, 30*time.Second, "both connectors", func() bool {
		return ircConn.Status().Connected && xmppConn.Status().Connected
	})
	alice := &side{name: "irc"}
	ircUser := irc.New(irc.Config{Addr: ircd.Addr(), Nick: "alice", Channels: []string{"#tea"}, MessagesPerSecond: -1, Logger: testLogger(t)})
	go ircUser.Run(gctx)
	defer ircUser.Close()
	go func() {
		for m := range ircUser.Messages() {
			alice.receive(m.Text)
		}
	}()
	testserver.WaitUntil(t, 20*time.Second, "alice on IRC", ircUser.Connected)
	send := func(text string) {
		t.Helper()
		if _, err := w.Buyer.Send(ctx, w.GID, protocol.MessageBody{Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	send("m-qun-0 before")
	testserver.WaitUntil(t, 20*time.Second, "IRC hears Qun", func() bool { return slices.Contains(alice.received(), "m-qun-0") })

	xs.Stop()
	testserver.WaitUntil(t, 20*time.Second, "the bridge to notice XMPP is gone", func() bool { return !xmppConn.Status().Connected })
	for i := 1; i <= 5; i++ {
		send(fmt.Sprintf("m-qun-%d while XMPP is down", i))
	}
	testserver.WaitUntil(t, 20*time.Second, "IRC unaffected", func() bool { return len(alice.received()) == 6 })
	head := testserver.GroupHead(t, ctx, w.Owner, w.GID)
	if err := ircUser.Say(ctx, "#tea", "m-irc-0 while XMPP is down"); err != nil {
		t.Fatal(err)
	}
	testserver.EventAt(t, ctx, w.Owner, w.GID, head+1)

	xs.StartAgain()
	testserver.WaitUntil(t, 60*time.Second, "the XMPP channel caught up with the group", func() bool {
		head := testserver.GroupHead(t, ctx, w.Owner, w.GID)
		for _, l := range g.Status() {
			if strings.Contains(l, fmt.Sprintf("xmpp.test:%s ✓ at %d", room, head)) {
				return true
			}
		}
		return false
	})
	carol, err := xmpp.New("xmpp.person", carolCfg, []string{room}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	go carol.Run(gctx, make(chan bridge.Inbound, 64))
	testserver.WaitUntil(t, 30*time.Second, "carol in the room", func() bool { return carol.Status().Connected })
	head = testserver.GroupHead(t, ctx, w.Owner, w.GID)
	if _, err := carol.Send(ctx, room, bridge.Outbound{Text: "m-xmpp-0 after the restart"}); err != nil {
		t.Fatal(err)
	}
	if ev := testserver.EventAt(t, ctx, w.Owner, w.GID, head+1); ev.Bridged == nil || ev.Bridged.Network != "xmpp.test" {
		t.Fatalf("after the restart Qun got %+v", ev)
	}
	testserver.WaitUntil(t, 20*time.Second, "IRC hears XMPP again", func() bool { return slices.Contains(alice.received(), "m-xmpp-0") })
}
