package node

// The request/response stream protocols (submit, sync, info) share one
// client and one server helper: one request frame in, one reply frame out,
// on a fresh stream, with the same deadlines, bounds and resets.

import (
	"bufio"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"

	"github.com/qunchat/qun/protocol"
)

// Deadlines of one exchange, counted from the moment the stream is opened
// (client) or accepted (server).
const (
	// requestStartTimeout is how long a server waits for the first byte of
	// the request frame: a stream that stays idle longer is reset.
	requestStartTimeout = 2 * time.Second
	// requestReadTimeout bounds reading the whole request frame.
	requestReadTimeout = 10 * time.Second
	// streamTimeout bounds one whole exchange: request, handling, reply.
	streamTimeout = 30 * time.Second
	// redialInterval is how often a node clears libp2p's dial backoff for a
	// peer it is not connected to before dialing it for a request, so a
	// host that comes back is reached at once, not after the swarm's 5 s
	// or longer backoff.
	redialInterval = 500 * time.Millisecond
)

// serveRequest runs the server side of one exchange: it joins the service's
// resource scope, reads one request frame of at most maxReq bytes (its first
// byte within requestStartTimeout, all of it within requestReadTimeout),
// writes handle's reply as one frame and closes the stream. handle gets a
// context that ends with the exchange's deadline. Any failure resets the
// stream.
func (n *Node) serveRequest(s network.Stream, service string, maxReq int, handle func(ctx context.Context, remote peer.ID, req []byte) []byte) {
	if err := s.Scope().SetService(service); err != nil {
		s.Reset()
		return
	}
	opened := time.Now()
	if s.SetDeadline(opened.Add(streamTimeout)) != nil || s.SetReadDeadline(opened.Add(requestStartTimeout)) != nil {
		s.Reset()
		return
	}
	br := bufio.NewReader(s)
	if _, err := br.Peek(1); err != nil {
		s.Reset()
		return
	}
	if s.SetReadDeadline(opened.Add(requestReadTimeout)) != nil {
		s.Reset()
		return
	}
	req, err := readFrame(br, maxReq)
	if err != nil {
		s.Reset()
		return
	}
	ctx, cancel := context.WithDeadline(n.ctx, opened.Add(streamTimeout))
	reply := handle(ctx, s.Conn().RemotePeer(), req)
	cancel()
	if err := writeFrame(s, reply); err != nil {
		s.Reset()
		return
	}
	_ = s.Close()
}

// request runs the client side of one exchange with p: it opens a stream
// for proto (clearing the dial backoff first when allowed, see redial),
// writes req as one frame, closes its side and reads one reply frame of at
// most maxReply bytes. The exchange ends with ctx or after streamTimeout.
// Failures are CodeUnavailable errors naming the peer as who.
func (n *Node) request(ctx context.Context, p peer.ID, proto string, who string, req []byte, maxReply int) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, streamTimeout)
	defer cancel()
	n.redial(p)
	s, err := n.host.NewStream(ctx, p, protocolID(proto))
	if err != nil && errors.Is(err, swarm.ErrDialBackoff) {
		// Another request of this node dialed p moments ago, while p was
		// down, and the gate let it clear the backoff: p may be back now.
		// Wait for the gate once rather than fail for the swarm's backoff.
		select {
		case <-time.After(redialInterval):
		case <-ctx.Done():
		}
		n.redial(p)
		s, err = n.host.NewStream(ctx, p, protocolID(proto))
	}
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeUnavailable, "%s %s cannot be reached: %v", who, p, err)
	}
	stop := context.AfterFunc(ctx, func() { s.Reset() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	if err := writeFrame(s, req); err != nil {
		s.Reset()
		return nil, protocol.Errorf(protocol.CodeUnavailable, "sending to %s %s failed: %v", who, p, err)
	}
	if err := s.CloseWrite(); err != nil {
		s.Reset()
		return nil, protocol.Errorf(protocol.CodeUnavailable, "sending to %s %s failed: %v", who, p, err)
	}
	reply, err := readFrame(bufio.NewReader(s), maxReply)
	if err != nil {
		s.Reset()
		return nil, protocol.Errorf(protocol.CodeUnavailable, "%s %s did not answer: %v", who, p, err)
	}
	_ = s.Close()
	return reply, nil
}

// redial clears the swarm's dial backoff for p when the node is not
// connected to p and did not clear it in the last redialInterval. A known
// peer that was down for a moment is then dialed again at once, while a
// peer that stays down is dialed at most once per redialInterval.
func (n *Node) redial(p peer.ID) {
	if n.host.Network().Connectedness(p) == network.Connected {
		return
	}
	sw, ok := n.host.Network().(*swarm.Swarm)
	if !ok || !n.redials.allow(p, time.Now()) {
		return
	}
	sw.Backoff().Clear(p)
}

// redialGate remembers when the dial backoff of each peer was last
// cleared. The zero value is ready to use.
type redialGate struct {
	mu   sync.Mutex
	last map[peer.ID]time.Time
}

// maxRedialPeers bounds the gate's memory: older entries are dropped first.
const maxRedialPeers = 4096

func (r *redialGate) allow(p peer.ID, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		r.last = map[peer.ID]time.Time{}
	}
	if t, ok := r.last[p]; ok && now.Sub(t) < redialInterval {
		return false
	}
	if len(r.last) >= maxRedialPeers {
		for q, t := range r.last {
			if now.Sub(t) >= redialInterval {
				delete(r.last, q)
			}
		}
		if len(r.last) >= maxRedialPeers {
			return false
		}
	}
	r.last[p] = now
	return true
}
