package node

// Sync scheduling: when a replica asks its peers for missing events.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/qunchat/qun/protocol"
)

// gapGrace is how long a replica lets gossip fill a gap before it syncs.
// Under a burst, gossip delivers out of order (validation runs
// concurrently) and the host's answer to a forwarded submission overtakes
// the gossip of earlier events: almost every gap closes within
// milliseconds, and syncing at once would fetch and verify again what
// gossip is about to deliver.
const gapGrace = 20 * time.Millisecond

// After a failed sync a replica retries soon, with a capped backoff and
// jitter, instead of waiting for the next SyncInterval: a replica cut off
// from its host (a partition, a host restart) catches up within about
// syncRetryMax of the host answering again.
const (
	syncRetryMin = 250 * time.Millisecond
	syncRetryMax = 2 * time.Second
	// syncTimeout bounds one sync request. A request that times out on
	// an open connection closes it: the connection is presumed dead (a
	// partition leaves TCP connections open, their retransmissions backed
	// off for seconds), and the retry dials afresh.
	syncTimeout = 10 * time.Second
	// syncRetryDial bounds the dial of a retry, so that a dial whose
	// packets were lost does not wait for TCP's SYN retransmissions.
	syncRetryDial = 2 * time.Second
)

// nextSyncRetry returns the backoff after prev (0: the first failure).
func nextSyncRetry(prev time.Duration) time.Duration {
	if prev == 0 {
		return syncRetryMin
	}
	return min(2*prev, syncRetryMax)
}

// jitter returns a delay in [d/2, d).
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2)
}

// syncLoop catches the replica up with the host: at start, when a gap
// persists for gapGrace, every SyncInterval, and after a failed sync with
// a backoff of syncRetryMin doubling to syncRetryMax.
func (g *group) syncLoop() {
	defer g.wg.Done()
	t := time.NewTicker(g.n.cfg.SyncInterval)
	defer t.Stop()
	grace := time.NewTimer(gapGrace)
	grace.Stop()
	retry := time.NewTimer(syncRetryMin)
	retry.Stop()
	defer retry.Stop()
	var missing uint64        // first missing seq when the grace timer was started
	var backoff time.Duration // 0 while syncs succeed
	g.kickSync()
	for {
		select {
		case <-g.ctx.Done():
			return
		case <-g.gapKick:
			if missing == 0 {
				g.mu.Lock()
				missing = g.state.Head + 1
				g.mu.Unlock()
				grace.Reset(gapGrace)
			}
			continue
		case <-grace.C:
			g.mu.Lock()
			filled := g.state.Head >= missing
			g.mu.Unlock()
			missing = 0
			if filled {
				continue
			}
		case <-t.C:
		case <-g.syncKick:
		case <-retry.C:
		}
		err := g.syncOnce(backoff > 0)
		switch {
		case g.ctx.Err() != nil:
			return
		case errors.Is(err, protocol.ErrUnavailable):
			// a peer could not be reached or did not answer: retry soon
			backoff = nextSyncRetry(backoff)
			retry.Reset(jitter(backoff))
			g.log.Debug("sync incomplete; retrying", "in", backoff, "err", err)
		default: // done, or refused for a reason a retry does not change
			if err != nil {
				g.log.Debug("sync incomplete", "err", err)
			}
			backoff = 0
			retry.Stop()
		}
	}
}

// syncOnce fetches everything after the local head from the host or, when
// the host is unreachable, from another replica. retrying shortens dials.
func (g *group) syncOnce(retrying bool) error {
	if !g.syncDue() {
		return nil // frozen by a fork, or a quarantined group's retry is not due
	}
	g.mu.Lock()
	// From the head held, not after it: the peer's event at that seq is
	// compared with ours (fork.go), so a host that signed another event
	// there is caught at the next sync; and a host that lost events learns
	// that this replica holds them (recovery.go).
	from := max(g.state.Head, 1)
	if g.state.Base > 0 && g.state.Head == g.state.Base {
		from = g.state.Base + 1 // the event at the base is not held here
	}
	g.mu.Unlock()
	var errs []error
	for _, p := range g.syncPeers() {
		err := g.syncFrom(p, from, retrying)
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", p, err))
	}
	return errors.Join(errs...)
}

func (g *group) syncFrom(p peer.ID, from uint64, retrying bool) error {
	if p == g.host.PeerID() {
		g.n.ensureHostAddrs(g.id, g.host)
	}
	for {
		// Fetch only up to the first event held already (from gossip or
		// the host's answer): what follows it is arriving.
		limit := uint64(protocol.MaxSyncBatch)
		if end := g.gapEnd(); end >= from {
			limit = min(limit, end-from+1)
		}
		ctx, cancel := context.WithTimeout(g.ctx, syncTimeout)
		if retrying {
			ctx = network.WithDialPeerTimeout(ctx, syncRetryDial)
		}
		connected := g.n.host.Network().Connectedness(p) == network.Connected
		evs, head, err := g.n.fetch(ctx, p, g.id, g.host, from, uint32(limit))
		timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded)
		cancel()
		if up, ok := err.(*upgradeError); ok {
			if len(evs) > 0 {
				if err := g.deliver(evs); err != nil {
					return err
				}
			}
			g.quarantine(up.seq, up.err) // held until the node is upgraded
			return nil
		}
		if he, ok := err.(*hiddenError); ok && p == g.host.PeerID() {
			ctx, cancel := context.WithTimeout(g.ctx, syncTimeout)
			err := g.startFromCheckpoint(ctx, he.base)
			cancel()
			if err != nil {
				return err
			}
			from = he.base + 1
			continue
		}
		if err != nil {
			if timedOut && connected && g.ctx.Err() == nil {
				_ = g.n.host.Network().ClosePeer(p)
			}
			return err
		}
		if p == g.host.PeerID() {
			g.sawHostHead(head)
		}
		if len(evs) > 0 {
			if err := g.deliver(evs); err != nil {
				return err
			}
			from = evs[len(evs)-1].Seq + 1
		}
		if len(evs) == 0 || from > head {
			return nil
		}
	}
}

// gapEnd returns the seq before the first buffered future event, or 0.
func (g *group) gapEnd() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	var first uint64
	for seq := range g.future {
		if first == 0 || seq < first {
			first = seq
		}
	}
	if first == 0 {
		return 0
	}
	return first - 1
}

// syncPeers lists the peers to sync from: the host first, then connected
// peers of the topic that may hold the group.
func (g *group) syncPeers() []peer.ID {
	peers := []peer.ID{g.host.PeerID()}
	if g.topic != nil {
		for _, p := range g.topic.topic.ListPeers() {
			if p != peers[0] && g.allowsPeer(p) {
				peers = append(peers, p)
			}
		}
	}
	return peers
}
