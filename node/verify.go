package node

import (
	"runtime"
	"sync"

	"github.com/qunchat/qun/protocol"
)

// Signatures are verified once per node. An event reaches a replica up to
// three times — in the host's answer to a forwarded submission, by gossip,
// and by sync — and its submission was verified already when the home
// node forwarded it. Each group remembers what it verified recently:
// submission IDs whose author signature verified, and event IDs whose host
// and author signatures both verified. IDs are hashes of the signed bytes,
// so a remembered ID stands for exactly the bytes that were verified.

// verifiedCap bounds the IDs a group remembers. Duplicates arrive within
// moments of each other (gossip racing the host's answer), so a short
// memory is enough; an entry costs about 50 bytes.
const verifiedCap = 8192

// idSet is a bounded set of recently verified IDs: two generations of at
// most verifiedCap/2 entries each, the older dropped when the newer fills.
// An empty set allocates nothing, so idle groups cost nothing.
type idSet struct {
	mu        sync.Mutex
	cur, prev map[[32]byte]struct{}
}

func (s *idSet) has(id [32]byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.cur[id]
	if !ok {
		_, ok = s.prev[id]
	}
	return ok
}

func (s *idSet) add(id [32]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		s.cur = make(map[[32]byte]struct{})
	}
	if len(s.cur) >= verifiedCap/2 {
		s.prev, s.cur = s.cur, make(map[[32]byte]struct{}, verifiedCap/2)
	}
	s.cur[id] = struct{}{}
}

// verifySub checks a submission's author signature unless this group
// verified the same bytes before.
func (g *group) verifySub(sub *protocol.SignedSubmission) error {
	if g.verified.has(sub.ID) {
		return nil
	}
	if err := sub.Verify(); err != nil {
		return err
	}
	g.verified.add(sub.ID)
	return nil
}

// verifyEvent checks an event's host and author signatures, skipping what
// this group verified before.
func (g *group) verifyEvent(ev *protocol.SignedEvent) error {
	if g.verified.has(ev.ID) {
		return nil
	}
	if err := ev.VerifyHost(g.host); err != nil {
		return err
	}
	if err := g.verifySub(ev.Sub); err != nil {
		return err
	}
	g.verified.add(ev.ID)
	return nil
}

// verifyEvents verifies a batch of events (from sync) on every core and
// returns the first failure in seq order. g may be nil (a group the node
// does not hold yet): then nothing is remembered.
func verifyEvents(g *group, host protocol.UserID, evs []*protocol.SignedEvent) error {
	one := func(ev *protocol.SignedEvent) error {
		if g != nil && g.host == host {
			return g.verifyEvent(ev)
		}
		return ev.VerifyAll(host)
	}
	workers := min(runtime.GOMAXPROCS(0), len(evs)/8)
	if workers <= 1 {
		for _, ev := range evs {
			if err := one(ev); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, len(evs))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(evs); i += workers {
				errs[i] = one(evs[i])
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
