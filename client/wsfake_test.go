package client

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/coder/websocket"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// fakeWS is the WebSocket of fakeNode: it serves each group's log as the
// node does (subscribed, then every event from `from` on, in order), and it
// can misbehave on purpose: drop a connection after a number of events,
// replay events already sent, skip one, refuse a group.
type fakeWS struct {
	f *fakeNode

	mu        sync.Mutex
	logs      map[protocol.GroupID][]api.EventView
	changed   chan struct{} // closed and replaced on every append
	subs      []wsRecord    // every subscribe received
	acks      []wsRecord    // every ack received
	cursors   map[protocol.GroupID]uint64
	conns     int // connections accepted
	live      map[*websocket.Conn]bool
	dropAfter int    // close each connection with 1008 after this many events (0: never)
	replay    uint64 // start each subscription this many events before its from
	skip      uint64 // skip this seq once
	private   map[protocol.GroupID]bool
	msgs      int // client messages received
	wg        sync.WaitGroup
}

type wsRecord struct {
	group protocol.GroupID
	seq   uint64
}

func newFakeWS(f *fakeNode) *fakeWS {
	return &fakeWS{
		f: f, logs: map[protocol.GroupID][]api.EventView{}, changed: make(chan struct{}),
		cursors: map[protocol.GroupID]uint64{}, live: map[*websocket.Conn]bool{}, private: map[protocol.GroupID]bool{},
	}
}

// append adds n events to a group's log.
func (w *fakeWS) append(gid protocol.GroupID, n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for range n {
		seq := uint64(len(w.logs[gid]) + 1)
		w.logs[gid] = append(w.logs[gid], api.EventView{Seq: seq, Kind: "message", Text: gid.String()[:4] + "-" + strconv.FormatUint(seq, 10)})
	}
	close(w.changed)
	w.changed = make(chan struct{})
}

// kill cuts every live connection without a close frame.
func (w *fakeWS) kill() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for c := range w.live {
		c.CloseNow()
	}
}

func (w *fakeWS) records(acks bool) []wsRecord {
	w.mu.Lock()
	defer w.mu.Unlock()
	if acks {
		return append([]wsRecord(nil), w.acks...)
	}
	return append([]wsRecord(nil), w.subs...)
}

func (w *fakeWS) serve(rw http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(rw, r, nil)
	if err != nil {
		return
	}
	w.mu.Lock()
	w.conns++
	w.live[c] = true
	w.wg.Add(1)
	w.mu.Unlock()
	defer w.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	var (
		wmu  sync.Mutex
		sent int
		pwg  sync.WaitGroup
		subs = map[protocol.GroupID]context.CancelFunc{}
	)
	var dropped bool
	send := func(m api.WSServerMessage) bool {
		wmu.Lock()
		if ctx.Err() != nil || dropped {
			wmu.Unlock()
			return false
		}
		b, _ := json.Marshal(m)
		if c.Write(ctx, websocket.MessageText, b) != nil {
			wmu.Unlock()
			return false
		}
		if m.Type == "event" {
			sent++
			w.mu.Lock()
			dropped = w.dropAfter > 0 && sent >= w.dropAfter
			w.mu.Unlock()
		}
		drop := dropped
		wmu.Unlock()
		if drop {
			c.Close(websocket.StatusPolicyViolation, "too slow: test")
			return false
		}
		return true
	}
	pump := func(pctx context.Context, gid protocol.GroupID, from uint64) {
		defer pwg.Done()
		for {
			w.mu.Lock()
			log, changed := w.logs[gid], w.changed
			w.mu.Unlock()
			for from <= uint64(len(log)) {
				ev := log[from-1]
				from++
				w.mu.Lock()
				skip := w.skip == ev.Seq
				if skip {
					w.skip = 0
				}
				w.mu.Unlock()
				if skip {
					continue
				}
				if pctx.Err() != nil || !send(api.WSServerMessage{Type: "event", Group: gid.String(), Event: &ev}) {
					return
				}
			}
			select {
			case <-changed:
			case <-pctx.Done():
				return
			}
		}
	}
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			break
		}
		var m api.WSClientMessage
		if json.Unmarshal(data, &m) != nil {
			continue
		}
		w.mu.Lock()
		w.msgs++
		w.mu.Unlock()
		if m.Type == "ping" {
			send(api.WSServerMessage{Type: "pong"})
			continue
		}
		gid, err := protocol.ParseGroupID(m.Group)
		if err != nil {
			send(api.WSServerMessage{Type: "error", Code: "invalid", Message: err.Error()})
			continue
		}
		w.mu.Lock()
		switch m.Type {
		case "subscribe":
			w.subs = append(w.subs, wsRecord{gid, m.From})
			private := w.private[gid]
			from := m.From
			if from == 0 {
				from = uint64(len(w.logs[gid])) + 1
				if cur, ok := w.cursors[gid]; ok {
					from = cur + 1
				}
			}
			head := uint64(len(w.logs[gid]))
			start := from
			if w.replay > 0 && start > w.replay {
				start -= w.replay
			}
			w.mu.Unlock()
			if private {
				send(api.WSServerMessage{Type: "error", Group: m.Group, Code: "private", Message: "only members can read this group"})
				continue
			}
			if stop := subs[gid]; stop != nil {
				stop()
			}
			pctx, stop := context.WithCancel(ctx)
			subs[gid] = stop
			send(api.WSServerMessage{Type: "subscribed", Group: m.Group, From: from, Head: head})
			pwg.Add(1)
			go pump(pctx, gid, start)
		case "unsubscribe":
			w.mu.Unlock()
			if stop := subs[gid]; stop != nil {
				stop()
				delete(subs, gid)
			}
		case "ack":
			w.acks = append(w.acks, wsRecord{gid, m.Seq})
			w.cursors[gid] = m.Seq
			w.mu.Unlock()
		default:
			w.mu.Unlock()
		}
	}
	cancel()
	pwg.Wait()
	c.CloseNow()
	w.mu.Lock()
	delete(w.live, c)
	w.mu.Unlock()
}
