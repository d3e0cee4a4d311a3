package node

// Group health: a group that cannot go on normally is held read-only with a
// reason that the API shows and every refusal names, while the rest of the
// node is unaffected.
//
//   - quarantined: the node cannot apply an event of the group's log (a
//     stored one at start, or one the host signed). Reads of what is stored
//     are served; the replica retries with backoff, the host at restart.
//   - forked: the host signed two different events with one seq. Both are
//     kept as a fork proof; the group is frozen.
//   - recovering: the host lost events it had acknowledged and fetches them
//     back from replicas before it sequences anything.

import (
	"errors"
	"fmt"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/storage"
)

// Quarantine retry backoff.
const (
	quarantineFirstRetry = time.Second
	quarantineMaxRetry   = 5 * time.Minute
)

// groupHealth is a group's condition; nil means healthy.
type groupHealth struct {
	code    protocol.Code // CodeQuarantined, CodeForked or CodeRecovering
	reason  string
	since   time.Time
	retryAt time.Time     // quarantined: when to try again
	backoff time.Duration // quarantined: the wait after the next failure
}

// unhealthy returns the refusal for writes while the group is not healthy.
func (g *group) unhealthy() error {
	h := g.health.Load()
	if h == nil {
		return nil
	}
	return protocol.Errorf(h.code, "%s", h.reason)
}

// frozen reports whether the group is frozen by a fork proof.
func (g *group) frozen() bool {
	h := g.health.Load()
	return h != nil && h.code == protocol.CodeForked
}

// status returns the group's condition for the API: "ok", "quarantined",
// "forked" or "recovering", and the reason.
func (g *group) status() (string, string) {
	h := g.health.Load()
	if h == nil {
		return "ok", ""
	}
	return h.code.String(), h.reason
}

// quarantine holds the group read-only after err and schedules a retry.
// An event of a later protocol revision holds it until the node is
// upgraded instead (holdForUpgrade).
func (g *group) quarantine(seq uint64, err error) {
	old := g.health.Load()
	if old != nil && (old.code == protocol.CodeForked || old.code == protocol.CodeUpgradeNeeded) {
		return
	}
	if errors.Is(err, protocol.ErrUpgradeNeeded) {
		g.holdForUpgrade(seq, err)
		return
	}
	backoff := quarantineFirstRetry
	if old != nil && old.code == protocol.CodeQuarantined {
		backoff = old.backoff
	}
	now := time.Now()
	h := &groupHealth{
		code:    protocol.CodeQuarantined,
		reason:  fmt.Sprintf("this node cannot apply event %d of the group and holds it read-only: %s", seq, protocol.AsError(err).Msg),
		since:   now,
		retryAt: now.Add(backoff),
		backoff: min(2*backoff, quarantineMaxRetry),
	}
	if old != nil && old.code == protocol.CodeQuarantined {
		h.since = old.since
	} else {
		g.log.Error("group quarantined", "seq", seq, "err", err)
	}
	g.setHealth(h)
}

// holdForUpgrade holds the group read-only because its event seq, signed
// by its host, uses a kind or field of a later protocol revision: this node
// cannot apply it, must not skip it, and a retry cannot change that. A
// restart with an upgraded node loads the group afresh (docs/PROTOCOL.md,
// "Protocol evolution").
func (g *group) holdForUpgrade(seq uint64, err error) {
	g.log.Error("group held read-only: its log uses a later protocol revision; upgrade this node", "seq", seq, "err", err)
	g.setHealth(&groupHealth{
		code: protocol.CodeUpgradeNeeded,
		reason: fmt.Sprintf("event %d of the group uses a later revision of the Qun protocol than this node (%s) knows: upgrade the node; until then the group is read-only here",
			seq, protocol.VersionText),
		since: time.Now(),
	})
}

// setHealth changes the group's condition (nil: healthy) and wakes the
// WebSocket pumps, which tell their clients (ws.go).
func (g *group) setHealth(h *groupHealth) {
	g.health.Store(h)
	g.healthMu.Lock()
	if g.healthCh != nil {
		close(g.healthCh)
		g.healthCh = nil
	}
	g.healthMu.Unlock()
}

// healthWait returns the group's status and reason and a channel closed at
// its next change. The channel is made on the first call, so a group
// without WebSocket subscribers pays nothing.
func (g *group) healthWait() (status, reason string, changed <-chan struct{}) {
	g.healthMu.Lock()
	if g.healthCh == nil {
		g.healthCh = make(chan struct{})
	}
	ch := g.healthCh
	g.healthMu.Unlock()
	status, reason = g.status()
	return status, reason, ch
}

// syncDue reports whether the replica should sync now: not while frozen by
// a fork, and for a quarantined group only when its retry is due.
func (g *group) syncDue() bool {
	h := g.health.Load()
	switch {
	case h == nil:
		return true
	case h.code == protocol.CodeForked, h.code == protocol.CodeUpgradeNeeded:
		return false
	case h.code == protocol.CodeQuarantined:
		return !time.Now().Before(h.retryAt)
	}
	return true
}

// appliedOK marks a quarantined group healthy once an event applies again.
func (g *group) appliedOK() {
	if h := g.health.Load(); h != nil && h.code == protocol.CodeQuarantined {
		g.log.Info("group out of quarantine", "head", g.state.Head)
		g.setHealth(nil)
	}
}

// storeError turns a failed write into the refusal a client sees (nil
// stays nil).
func storeError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, storage.ErrStorageFull) {
		return protocol.Errorf(protocol.CodeStorageFull, "%s", storageFullReason(err))
	}
	return protocol.Errorf(protocol.CodeInternal, "the node could not save the event: %v", err)
}

func storageFullReason(err error) string {
	return "the node's disk is full, so it cannot store new events; it keeps serving what it holds and accepts again once space is freed (" + err.Error() + ")"
}

// diskFull returns the refusal for writes while the node's disk is full.
func (n *Node) diskFull() error {
	if !n.store.Full() {
		return nil
	}
	return protocol.Errorf(protocol.CodeStorageFull, "%s", storageFullReason(storage.ErrStorageFull))
}
