package node

// Sync scheduling: when a replica asks its peers for missing events.

import (
	"context"
	"errors"
	"fmt"
	"time"

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

// syncLoop catches the replica up with the host: at start, when a gap
// persists for gapGrace, and every SyncInterval.
func (g *group) syncLoop() {
	defer g.wg.Done()
	t := time.NewTicker(g.n.cfg.SyncInterval)
	defer t.Stop()
	grace := time.NewTimer(gapGrace)
	grace.Stop()
	var missing uint64 // first missing seq when the grace timer was started
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
		}
		if err := g.syncOnce(); err != nil && g.ctx.Err() == nil {
			g.log.Debug("sync incomplete", "err", err)
		}
	}
}

// syncOnce fetches everything after the local head from the host or, when
// the host is unreachable, from another replica.
func (g *group) syncOnce() error {
	if !g.syncDue() {
		return nil
	}
	g.mu.Lock()
	// From the head held, not after it: the peer's event at that seq is
	// compared with ours (fork.go), so a host that signed another event
	// there is caught at the next sync.
	from := max(g.state.Head, 1)
	g.mu.Unlock()
	var errs []error
	for _, p := range g.syncPeers() {
		err := g.syncFrom(p, from)
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", p, err))
	}
	return errors.Join(errs...)
}

func (g *group) syncFrom(p peer.ID, from uint64) error {
	for {
		// Fetch only up to the first event held already (from gossip or
		// the host's answer): what follows it is arriving.
		limit := uint64(protocol.MaxSyncBatch)
		if end := g.gapEnd(); end >= from {
			limit = min(limit, end-from+1)
		}
		ctx, cancel := context.WithTimeout(g.ctx, 30*time.Second)
		evs, head, err := g.n.fetch(ctx, p, g.id, g.host, from, uint32(limit))
		cancel()
		if err != nil {
			return err
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
		for _, p := range g.topic.ListPeers() {
			if p != peers[0] && g.allowsPeer(p) {
				peers = append(peers, p)
			}
		}
	}
	return peers
}
