package light

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
	"golang.org/x/time/rate"
)

// WebSocket limits (docs/API.md).
const (
	wsQueue          = 4096
	wsMaxMessage     = 4096
	wsMaxSubs        = 1000
	wsMsgRate        = 20
	wsMsgBurst       = 100
	wsPage           = 256
	statusSessionEnd = websocket.StatusCode(4001)
)

// wsConn is one light client's WebSocket. The handler goroutine reads
// client messages; one writer goroutine owns the socket's writes; one pump
// goroutine per subscription reads the group's stored events in order and
// queues them. Pumps pull from storage and the socket's send buffer is
// small (ws_tcp.go), so a slow client costs little memory: when it cannot
// take a write for wsWriteTimeout it is dropped with a TCP reset.
type wsConn struct {
	srv    *Server
	s      *session
	c      *websocket.Conn
	tcp    *net.TCPConn // the socket under c, when the node can reach it (ws_tcp.go)
	ctx    context.Context
	cancel context.CancelCauseFunc
	out    chan []byte // JSON messages, ready to write
	wg     sync.WaitGroup

	mu   sync.Mutex
	subs map[protocol.GroupID]*wsSub
}

// wsSub is one subscription's pump.
type wsSub struct {
	stop context.CancelFunc
	done chan struct{} // closed when the pump has returned
}

// end stops the pump and waits until it can send nothing more.
func (s *wsSub) end() {
	s.stop()
	<-s.done
}

// closeError carries the WebSocket close status and reason.
type closeError struct {
	code   websocket.StatusCode
	reason string
}

func (e *closeError) Error() string { return e.reason }

func (srv *Server) apiWS(w http.ResponseWriter, r *http.Request, s *session) {
	tcp := tcpConnOf(r.Context())
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has answered the request
	}
	limitSendBuffer(tcp)
	c.SetReadLimit(wsMaxMessage)
	ctx, cancel := context.WithCancelCause(srv.ctx)
	wc := &wsConn{srv: srv, s: s, c: c, tcp: tcp, ctx: ctx, cancel: cancel, out: make(chan []byte, wsQueue), subs: map[protocol.GroupID]*wsSub{}}
	srv.hub.add(wc)
	defer srv.hub.remove(wc)
	wc.wg.Add(1)
	go wc.writeLoop()
	expiry := time.AfterFunc(time.Until(s.expires), func() {
		cancel(&closeError{statusSessionEnd, "session expired; sign in again"})
	})
	err = wc.readLoop()
	expiry.Stop()
	if err != nil {
		cancel(err)
	} else {
		cancel(nil)
	}
	wc.wg.Wait()
	var ce *closeError
	switch cause := context.Cause(ctx); {
	case errors.As(cause, &ce):
		if h := srv.cfg.OnDrop; h != nil {
			h(ce.reason)
		}
		srv.log.Info("closing a light client's WebSocket", "user", s.user, "reason", ce.reason)
		c.Close(ce.code, ce.reason)
	case srv.ctx.Err() != nil:
		c.Close(websocket.StatusGoingAway, "node shutting down")
	default:
		c.CloseNow()
	}
}

// readLoop handles client messages until the connection ends.
func (wc *wsConn) readLoop() error {
	lim := rate.NewLimiter(wsMsgRate, wsMsgBurst)
	for {
		typ, data, err := wc.c.Read(wc.ctx)
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusMessageTooBig {
				return &closeError{websocket.StatusMessageTooBig, "message too big"}
			}
			return nil // closed by the client or by us
		}
		if !lim.Allow() {
			return &closeError{websocket.StatusPolicyViolation, "too many messages"}
		}
		if typ != websocket.MessageText {
			wc.send(api.WSServerMessage{Type: "error", Code: protocol.CodeMalformed.String(), Message: "send JSON text messages"})
			continue
		}
		var m api.WSClientMessage
		if err := json.Unmarshal(data, &m); err != nil {
			wc.send(api.WSServerMessage{Type: "error", Code: protocol.CodeMalformed.String(), Message: "a message is one JSON object: " + err.Error()})
			continue
		}
		if err := wc.handle(m); err != nil {
			pe := protocol.AsError(err)
			wc.send(api.WSServerMessage{Type: "error", Group: m.Group, Code: pe.Code.String(), Message: pe.Msg})
		}
	}
}

func (wc *wsConn) handle(m api.WSClientMessage) error {
	if m.Type == "ping" {
		wc.send(api.WSServerMessage{Type: "pong"})
		return nil
	}
	gid, err := protocol.ParseGroupID(m.Group)
	if err != nil {
		return protocol.Errorf(protocol.CodeInvalid, "%v", err)
	}
	switch m.Type {
	case "subscribe":
		return wc.subscribe(gid, m.From)
	case "unsubscribe":
		wc.mu.Lock()
		old := wc.subs[gid]
		delete(wc.subs, gid)
		wc.mu.Unlock()
		if old != nil {
			old.end()
		}
		return nil
	case "ack":
		return wc.srv.b.Ack(wc.s.user, gid, m.Seq)
	}
	return protocol.Errorf(protocol.CodeInvalid, "unknown message type %q (subscribe, unsubscribe, ack, ping)", m.Type)
}

func (wc *wsConn) subscribe(gid protocol.GroupID, from uint64) error {
	feed, err := wc.srv.b.Subscribe(wc.s.user, gid)
	if err != nil {
		return err
	}
	// The state and the head are read together: the user may read every
	// event up to clear, so a removal still to come is after it.
	clear, head, err := feed.Access()
	if err != nil {
		feed.Close()
		return err
	}
	if from == 0 {
		from = head + 1
		if cur, ok := feed.Cursor(); ok {
			from = min(cur, head) + 1
		}
	}
	from = max(from, feed.First())
	// Only the read loop changes subscriptions, so the map needs no lock
	// between these steps; the lock is for the pumps' readers.
	wc.mu.Lock()
	old := wc.subs[gid]
	n := len(wc.subs)
	wc.mu.Unlock()
	if old != nil {
		old.end() // a new subscription replaces the old one, which sends nothing more
	} else if n >= wsMaxSubs {
		feed.Close()
		return protocol.Errorf(protocol.CodeInvalid, "at most %d subscriptions per connection", wsMaxSubs)
	}
	ctx, stop := context.WithCancel(wc.ctx)
	sub := &wsSub{stop: stop, done: make(chan struct{})}
	wc.mu.Lock()
	wc.subs[gid] = sub
	wc.mu.Unlock()
	wc.send(api.WSServerMessage{Type: "subscribed", Group: gid.String(), From: from, Head: head})
	wc.wg.Add(1)
	go func() {
		defer close(sub.done)
		defer feed.Close()
		if end := wc.pump(ctx, gid, feed, from, clear); end != nil {
			wc.mu.Lock()
			if wc.subs[gid] == sub {
				delete(wc.subs, gid)
			}
			wc.mu.Unlock()
			wc.srv.log.Info("ending a light client's subscription", "user", wc.s.user, "group", gid, "code", end.Code)
			wc.sendCtx(ctx, api.WSServerMessage{Type: "ended", Group: gid.String(), Code: end.Code.String(), Message: end.Msg})
		}
	}()
	return nil
}

// pump sends the group's events from seq `from` on, in order: the stored
// ones, then each new one as it is stored. The JSON of each event is made
// once per group and shared by every subscriber (the Feed's Frames).
//
// The read rule is checked again for every batch, against the group's
// current state (no storage read): the user may read every event up to
// clear, the state's seq at the last check that let them. When a check
// refuses, the pump sends the batch's events up to the one that removed
// the user (a kick, ban, leave or change to private), and returns why the
// subscription ends; nothing sequenced after the removal is sent.
func (wc *wsConn) pump(ctx context.Context, gid protocol.GroupID, feed Feed, from, clear uint64) *protocol.Error {
	defer wc.wg.Done()
	first := from
	told := "ok" // the status the client knows: it assumes ok until told
	for {
		status, reason, healthChanged := feed.Health()
		if status != told {
			select {
			case wc.out <- statusMessage(gid, status, reason):
				told = status
			case <-ctx.Done():
				return nil
			}
		}
		head, changed := feed.Head()
		for from <= head {
			frames, err := feed.Frames(from, min(head-from+1, wsPage))
			if err != nil || len(frames) == 0 {
				wc.cancel(&closeError{websocket.StatusInternalError, fmt.Sprintf("reading events failed: %v", err)})
				return nil
			}
			send, end := wc.readable(feed, frames, first, from, &clear)
			for _, f := range frames[:send] {
				select {
				case wc.out <- f.Data:
				case <-ctx.Done():
					return nil
				}
			}
			if end != nil {
				return end
			}
			from += uint64(len(frames))
		}
		select {
		case <-changed:
		case <-healthChanged:
		case <-ctx.Done():
			return nil
		}
	}
}

// statusMessage is the WebSocket message telling a subscriber the group's
// condition: "ok" again, or "quarantined", "forked" or "recovering" with
// the reason.
func statusMessage(gid protocol.GroupID, status, reason string) []byte {
	data, _ := json.Marshal(api.WSServerMessage{Type: "status", Group: gid.String(), Status: status, Message: reason})
	return data
}

// readable re-checks the read rule for a batch of frames starting at seq
// from, of a pump that started at first. It returns how many frames may be
// sent and, when the subscription must end after them, why.
func (wc *wsConn) readable(feed Feed, frames []Frame, first, from uint64, clear *uint64) (int, *protocol.Error) {
	user := wc.s.user
	stateHead, _, err := feed.Access()
	if err == nil {
		*clear = max(*clear, stateHead)
		return len(frames), nil
	}
	// The user was removed after clear: at the first frame of this batch
	// that can do it, or later.
	for i := range frames {
		if f := &frames[i]; f.Seq > *clear && f.Revokes(user) {
			return i + 1, endReason(f, user)
		}
	}
	// No removal in the batch. The events are readable if this pump saw
	// every event after clear and the state is past the batch (the removal
	// is still to be stored); otherwise send nothing more.
	last := frames[len(frames)-1].Seq
	if (first <= *clear+1 || from <= *clear+1) && stateHead > last {
		return len(frames), nil
	}
	return 0, protocol.AsError(err)
}

// endReason says why the event f ended user's right to read.
func endReason(f *Frame, user protocol.UserID) *protocol.Error {
	switch {
	case f.Kind == protocol.KindBan && f.Member == user:
		return protocol.Errorf(protocol.CodeBanned, "you were banned from this group")
	case f.Kind == protocol.KindKick && f.Member == user:
		return protocol.Errorf(protocol.CodeNotMember, "you were removed from this group")
	case f.Kind == protocol.KindLeave && f.Member == user:
		return protocol.Errorf(protocol.CodeNotMember, "you left this group")
	}
	return protocol.Errorf(protocol.CodePrivate, "the group became private: only members can read it")
}

// send queues a control message; it gives up when the connection ends.
func (wc *wsConn) send(m api.WSServerMessage) {
	data, err := json.Marshal(m)
	if err != nil {
		return
	}
	select {
	case wc.out <- data:
	case <-wc.ctx.Done():
	}
}

// sendCtx is send that also gives up when ctx ends.
func (wc *wsConn) sendCtx(ctx context.Context, m api.WSServerMessage) {
	data, err := json.Marshal(m)
	if err != nil {
		return
	}
	select {
	case wc.out <- data:
	case <-ctx.Done():
	}
}

// writeLoop owns the socket's writes.
func (wc *wsConn) writeLoop() {
	defer wc.wg.Done()
	for {
		select {
		case <-wc.ctx.Done():
			return
		case data := <-wc.out:
			// The cause is set before the connection's context ends, so
			// the read side, which fails as soon as the socket closes,
			// finds "too slow" as the reason.
			slow := time.AfterFunc(wc.srv.cfg.WriteTimeout, func() {
				resetOnClose(wc.tcp) // the client took nothing: discard what it did not take
				wc.cancel(&closeError{websocket.StatusPolicyViolation, fmt.Sprintf("too slow: no write possible for %s", wc.srv.cfg.WriteTimeout)})
			})
			err := wc.c.Write(wc.ctx, websocket.MessageText, data)
			slow.Stop()
			if err != nil {
				wc.cancel(nil) // the connection broke (or was too slow: the cause is already set)
				return
			}
		}
	}
}
