package matrix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/qunchat/qun/bridge"
	"github.com/qunchat/qun/internal/testserver"
)

// The tests run against a private Dendrite each (internal/testserver):
// the connector's bot, and mautrix clients that play the people of the
// room.

const wait = 30 * time.Second // the deadline of every wait for a condition

// testLogger is quiet unless QUN_TEST_LOG=1.
func testLogger(t testing.TB) *slog.Logger { return testserver.Logger(t) }

// person is a Matrix user of the test, with a client of their own.
type person struct {
	t   testing.TB
	cli *mautrix.Client
	id  id.UserID
	tok string
}

func newPerson(t testing.TB, d *testserver.Dendrite, name string) *person {
	t.Helper()
	mxid, tok := d.Register(t, name, "password-"+name)
	cli, err := mautrix.NewClient(d.URL(), id.UserID(mxid), tok)
	if err != nil {
		t.Fatal(err)
	}
	cli.Client = &http.Client{Timeout: 30 * time.Second}
	return &person{t: t, cli: cli, id: id.UserID(mxid), tok: tok}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	t.Cleanup(cancel)
	return ctx
}

// send posts content, again on an error (the server restarting) with the
// same transaction ID, until the deadline.
func (p *person) send(content any) id.EventID {
	p.t.Helper()
	return p.sendType(event.EventMessage, content)
}

func (p *person) sendType(typ event.Type, content any) id.EventID {
	p.t.Helper()
	txn := p.cli.TxnID()
	deadline := time.Now().Add(wait)
	retry := time.NewTicker(100 * time.Millisecond)
	defer retry.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		resp, err := p.cli.SendMessageEvent(ctx, roomOf(p.t), typ, content, mautrix.ReqSendEvent{TransactionID: txn})
		cancel()
		if err == nil {
			return resp.EventID
		}
		if time.Now().After(deadline) || httpStatus(err) >= 400 && httpStatus(err) < 500 {
			p.t.Fatalf("%s sending %v: %v", p.id, content, err)
		}
		<-retry.C // the server is away: try again
	}
}

func (p *person) text(s string) id.EventID {
	p.t.Helper()
	return p.send(&event.MessageEventContent{MsgType: event.MsgText, Body: s})
}

// event fetches an event of the room, waiting until the server has it.
func (p *person) event(eid id.EventID) *event.Event {
	p.t.Helper()
	var ev *event.Event
	waitFor(p.t, "event "+string(eid), func() bool {
		var err error
		ev, err = p.cli.GetEvent(ctxT(p.t), roomOf(p.t), eid)
		return err == nil
	})
	return ev
}

// rooms: each test has one room, created by its first person.
var testRooms sync.Map // test name → id.RoomID

func roomOf(t testing.TB) id.RoomID {
	r, ok := testRooms.Load(t.Name())
	if !ok {
		t.Fatal("the test has no room")
	}
	return r.(id.RoomID)
}

// env is a Dendrite, a bot account, a room #tea:localhost made by alice
// (public, the bot invited), and carol, a third person in the room.
type env struct {
	t     testing.TB
	d     *testserver.Dendrite
	bot   *person
	alice *person
	carol *person
	room  id.RoomID
	alias string
	token string // the bot's token file
}

func newEnv(t testing.TB) *env {
	t.Helper()
	d := testserver.StartDendrite(t)
	e := &env{t: t, d: d, alias: "#tea:" + testserver.DendriteServerName}
	e.bot = newPerson(t, d, "bot")
	e.alice = newPerson(t, d, "alice")
	e.carol = newPerson(t, d, "carol")
	ctx := ctxT(t)
	if err := e.alice.cli.SetDisplayName(ctx, "Alice A."); err != nil {
		t.Fatal(err)
	}
	resp, err := e.alice.cli.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat", RoomAliasName: "tea",
		Name: "Tea", Invite: []id.UserID{e.bot.id}})
	if err != nil {
		t.Fatal(err)
	}
	e.room = resp.RoomID
	testRooms.Store(t.Name(), e.room)
	t.Cleanup(func() { testRooms.Delete(t.Name()) })
	if _, err := e.carol.cli.JoinRoom(ctx, string(e.room), nil); err != nil {
		t.Fatal(err)
	}
	e.token = filepath.Join(t.TempDir(), "bot.token")
	if err := os.WriteFile(e.token, []byte(e.bot.tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// connector makes a connector for the room (by its ID, or its alias)
// with its state in dir, with short timings.
func (e *env) connector(dir, channel string) *Connector {
	e.t.Helper()
	c, err := New("matrix.hs", bridge.Matrix{Homeserver: e.d.URL(), User: string(e.bot.id), TokenFile: e.token},
		[]string{channel}, dir, testLogger(e.t))
	if err != nil {
		e.t.Fatal(err)
	}
	c.tune.pollTimeout = 5 * time.Second
	c.tune.minBackoff = 50 * time.Millisecond
	c.tune.maxBackoff = 500 * time.Millisecond
	c.tune.rejoinEvery = 300 * time.Millisecond
	return c
}

// running is a connector's Run in a goroutine, with what it hands on.
type running struct {
	t    testing.TB
	c    *Connector
	in   chan bridge.Inbound
	stop context.CancelFunc
	done chan error
	mu   sync.Mutex
	got  []bridge.Inbound
}

func run(t testing.TB, c *Connector) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{t: t, c: c, in: make(chan bridge.Inbound), stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- c.Run(ctx, r.in) }()
	t.Cleanup(func() { r.end() })
	return r
}

// end stops Run and waits for it.
func (r *running) end() {
	r.stop()
	select {
	case err := <-r.done:
		if err != nil && !errors.Is(err, context.Canceled) {
			r.t.Errorf("Run: %v", err)
		}
		r.done <- err // for a second end
	case <-time.After(wait):
		r.t.Errorf("Run did not return after its context ended")
	}
}

// next is the next Inbound, within the deadline.
func (r *running) next() bridge.Inbound {
	r.t.Helper()
	select {
	case m := <-r.in:
		r.mu.Lock()
		r.got = append(r.got, m)
		r.mu.Unlock()
		return m
	case err := <-r.done:
		r.done <- err
		r.t.Fatalf("Run returned: %v", err)
	case <-time.After(wait):
		r.t.Fatalf("nothing came in %v", wait)
	}
	return bridge.Inbound{}
}

// until takes Inbounds until one that ok accepts, and returns those
// before it and it.
func (r *running) until(ok func(bridge.Inbound) bool) (before []bridge.Inbound, m bridge.Inbound) {
	r.t.Helper()
	for {
		m := r.next()
		if ok(m) {
			return before, m
		}
		before = append(before, m)
	}
}

// collect takes Inbounds until done holds of all of them so far.
func (r *running) collect(done func([]bridge.Inbound) bool) []bridge.Inbound {
	r.t.Helper()
	var all []bridge.Inbound
	for !done(all) {
		all = append(all, r.next())
	}
	return all
}

// connected waits until Run has synced once.
func (r *running) connected() {
	r.t.Helper()
	waitFor(r.t, "the connector connected", func() bool { return r.c.Status().Connected })
}

func withText(s string) func(bridge.Inbound) bool {
	return func(m bridge.Inbound) bool { return m.Text == s }
}

// waitFor polls cond until it holds, failing the test at the deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testserver.WaitUntil(t, wait, what, cond)
}

// rawPut sends a room event with a raw JSON body, as a client that sends
// what it likes; it returns the HTTP status and the answer.
func (p *person) rawPut(d *testserver.Dendrite, typ, body string) (int, string) {
	p.t.Helper()
	u := fmt.Sprintf("%s/_matrix/client/v3/rooms/%s/send/%s/%s", d.URL(), roomOf(p.t), typ, p.cli.TxnID())
	req, _ := http.NewRequestWithContext(ctxT(p.t), http.MethodPut, u, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+p.tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out json.RawMessage
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, string(out)
}
