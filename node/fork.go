package node

// Fork detection: a replica compares every event it receives for a seq it
// already holds with the stored one. Two events with one seq, both signed
// by the host, prove that the host equivocated (or lost acknowledged events
// and sequenced new ones over them): the node keeps both as a fork proof,
// freezes the group and tells every client.

import (
	"fmt"

	"github.com/qunchat/qun/protocol"
)

// metaFork holds a group's fork proof: two framed signed events.
const metaFork = "fork"

// compareHeld checks a verified event for a seq this node has stored.
// Called with g.mu held.
func (g *group) compareHeld(ev *protocol.SignedEvent) {
	if ev.Seq > g.committed || g.frozen() {
		return // not on disk yet: the commit in flight holds the applied one
	}
	if gid, seq, ok, err := g.n.store.LookupEvent(ev.ID); err == nil && ok && gid == g.id && seq == ev.Seq {
		return // the same event
	}
	raw, err := g.n.store.Event(g.id, ev.Seq)
	if err != nil {
		return
	}
	ours, err := protocol.DecodeEvent(raw)
	if err != nil || ours.ID == ev.ID {
		return
	}
	g.forked(ours, ev)
}

// forked stores the proof and freezes the group. Called with g.mu held.
func (g *group) forked(a, b *protocol.SignedEvent) {
	proof := encodeFrames([][]byte{a.Raw, b.Raw})
	if err := g.n.store.SetMeta(g.id, metaFork, proof); err != nil {
		g.log.Error("saving a fork proof failed", "err", err)
	}
	g.setForked(a.Seq)
}

func (g *group) setForked(seq uint64) {
	g.log.Error("the group's host signed two different events for one seq; group frozen", "seq", seq)
	g.setHealth(&groupHealth{
		code: protocol.CodeForked,
		reason: fmt.Sprintf("the group's host signed two different events for seq %d; this node keeps both as proof "+
			"and has frozen the group (nothing new is accepted or applied)", seq),
	})
}

// loadFork restores the forked condition of a group at start.
func (g *group) loadFork() {
	raw, ok, err := g.n.store.Meta(g.id, metaFork)
	if err != nil || !ok {
		return
	}
	evs := decodeFrames(raw)
	if len(evs) != 2 {
		return
	}
	if ev, err := protocol.DecodeEvent(evs[0]); err == nil {
		g.setForked(ev.Seq)
	}
}

// ForkProof returns the two host-signed events with one seq that froze the
// group, when it is forked.
func (n *Node) ForkProof(gid protocol.GroupID) ([][]byte, bool, error) {
	raw, ok, err := n.store.Meta(gid, metaFork)
	if err != nil || !ok {
		return nil, false, err
	}
	return decodeFrames(raw), true, nil
}

// encodeFrames and decodeFrames frame byte strings with a 4-byte length.
func encodeFrames(parts [][]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, byte(len(p)>>24), byte(len(p)>>16), byte(len(p)>>8), byte(len(p)))
		b = append(b, p...)
	}
	return b
}

func decodeFrames(b []byte) [][]byte {
	var out [][]byte
	for len(b) >= 4 {
		l := int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		if l > len(b)-4 {
			return out
		}
		out = append(out, b[4:4+l])
		b = b[4+l:]
	}
	return out
}
