package light

import (
	"sync"

	"github.com/qunchat/qun/protocol"
)

// hub knows the open WebSockets of each user, for pushes that concern a
// user rather than a subscription.
type hub struct {
	mu     sync.Mutex
	byUser map[protocol.UserID]map[*wsConn]struct{}
}

func (h *hub) add(wc *wsConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byUser == nil {
		h.byUser = map[protocol.UserID]map[*wsConn]struct{}{}
	}
	m := h.byUser[wc.s.user]
	if m == nil {
		m = map[*wsConn]struct{}{}
		h.byUser[wc.s.user] = m
	}
	m[wc] = struct{}{}
}

func (h *hub) remove(wc *wsConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.byUser[wc.s.user], wc)
	if len(h.byUser[wc.s.user]) == 0 {
		delete(h.byUser, wc.s.user)
	}
}

// Push queues a JSON message on every open WebSocket of user, whether it
// is subscribed to anything or not. It never blocks: a WebSocket whose
// queue is full misses it (that client is about to be dropped as too slow,
// and a page refreshes its groups when it connects again).
func (s *Server) Push(user protocol.UserID, msg []byte) {
	h := &s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	for wc := range h.byUser[user] {
		select {
		case wc.out <- msg:
		default:
		}
	}
}
