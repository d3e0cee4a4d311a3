package bridge_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/qunchat/qun/bridge"
)

// fakeConn is a Connector whose network is the test: what the gateway
// sends is recorded, and the test writes as remote people with say.
type fakeConn struct {
	name string
	caps bridge.Caps

	mu      sync.Mutex
	in      chan<- bridge.Inbound
	ready   chan struct{}
	next    int
	sent    []fakeCall // every call, in order
	fail    error      // Send fails with this while set
	running bool
}

// fakeCall is one call of the gateway: "send", "edit", "delete", "kick".
type fakeCall struct {
	Op      string
	Channel string
	ID      string
	Out     bridge.Outbound
	User    string
	Ban     bool
}

func newFake(name string, caps bridge.Caps) *fakeConn {
	return &fakeConn{name: name, caps: caps, ready: make(chan struct{})}
}

func (f *fakeConn) Name() string      { return f.name }
func (f *fakeConn) Caps() bridge.Caps { return f.caps }

func (f *fakeConn) Run(ctx context.Context, in chan<- bridge.Inbound) error {
	f.mu.Lock()
	f.in, f.running = in, true
	select {
	case <-f.ready:
	default:
		close(f.ready)
	}
	f.mu.Unlock()
	<-ctx.Done()
	f.mu.Lock()
	f.running = false
	f.mu.Unlock()
	return ctx.Err()
}

func (f *fakeConn) record(c fakeCall) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil && c.Op == "send" {
		return "", f.fail
	}
	if c.Op == "send" && f.caps.Delete {
		f.next++
		c.ID = fmt.Sprintf("%s-out-%d", f.name, f.next)
	}
	f.sent = append(f.sent, c)
	return c.ID, nil
}

func (f *fakeConn) Send(ctx context.Context, channel string, m bridge.Outbound) (string, error) {
	return f.record(fakeCall{Op: "send", Channel: channel, Out: m})
}

func (f *fakeConn) Edit(ctx context.Context, channel, id string, m bridge.Outbound) error {
	_, err := f.record(fakeCall{Op: "edit", Channel: channel, ID: id, Out: m})
	return err
}

func (f *fakeConn) Delete(ctx context.Context, channel, id string) error {
	_, err := f.record(fakeCall{Op: "delete", Channel: channel, ID: id})
	return err
}

func (f *fakeConn) Kick(ctx context.Context, channel, user, reason string, ban bool) error {
	_, err := f.record(fakeCall{Op: "kick", Channel: channel, User: user, Ban: ban})
	return err
}

func (f *fakeConn) Status() bridge.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return bridge.Status{Connected: f.running}
}

// say writes m as a remote person and waits for the gateway's outcome.
func (f *fakeConn) say(ctx context.Context, m bridge.Inbound) bridge.Result {
	<-f.ready
	done := make(chan bridge.Result, 1)
	m.Done = func(r bridge.Result) { done <- r }
	f.mu.Lock()
	in := f.in
	f.mu.Unlock()
	select {
	case in <- m:
	case <-ctx.Done():
		return bridge.Result{Err: ctx.Err()}
	}
	select {
	case r := <-done:
		return r
	case <-ctx.Done():
		return bridge.Result{Err: ctx.Err()}
	case <-time.After(30 * time.Second):
		return bridge.Result{Err: fmt.Errorf("no answer from the gateway")}
	}
}

// calls returns a copy of the calls so far.
func (f *fakeConn) calls() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeCall(nil), f.sent...)
}

// texts returns the texts of the messages sent, "Author: text".
func (f *fakeConn) texts() []string {
	var out []string
	for _, c := range f.calls() {
		if c.Op == "send" && c.Out.Kind == bridge.OutMessage {
			out = append(out, c.Out.Author+": "+c.Out.Text)
		}
	}
	return out
}
