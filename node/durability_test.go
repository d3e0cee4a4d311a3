package node

import (
	"bufio"
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/qunchat/qun/protocol"
)

// TestEquivocationDetected: the group's host (its real key) answers a
// forwarded submission with a new event for a seq the replica holds another
// event at — what a host that lost acknowledged events and sequenced over
// them does. The replica must not acknowledge it, must keep both events as
// a fork proof, and must freeze the group with a reason clients see.
func TestEquivocationDetected(t *testing.T) {
	a, b, c, gid, keys := threeNodeGroup(t)
	last := sendMany(t, gid, 10, 2, []*testNode{a, b}, []*protocol.Key{keys[0], keys[1]})
	waitHead(t, 10*time.Second, gid, last, a, b, c)
	reused := last - 3

	// The impostor is the host itself, restarted with a damaged log: same
	// key, new address, and it sequences the next submission at seq reused.
	hostKey := a.key
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(libp2p.Identity(hostKey.Libp2p()), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	prev, err := b.store.Event(gid, reused-1)
	if err != nil {
		t.Fatal(err)
	}
	prevEv, _ := protocol.DecodeEvent(prev)
	h.SetStreamHandler(protocolID(protocol.SubmitProtocol), func(s network.Stream) {
		defer s.Close()
		raw, err := readFrame(bufio.NewReader(s), protocol.MaxSubmissionSize)
		if err != nil {
			s.Reset()
			return
		}
		via, _ := protocol.UserIDFromPeer(s.Conn().RemotePeer())
		e := protocol.Event{Group: gid, Seq: reused, Prev: prevEv.ID, Time: nowMS(), Via: via, Submission: raw}
		ev, err := e.Sign(hostKey)
		if err != nil {
			s.Reset()
			return
		}
		_ = writeFrame(s, (&submitReply{event: ev.Raw}).encode())
	})
	b.Host().Network().ClosePeer(h.ID())
	b.Host().Peerstore().ClearAddrs(h.ID())
	b.Host().Peerstore().AddAddrs(h.ID(), h.Addrs(), time.Hour)

	_, err = submit(t, b, keys[1], gid, text("after the damage"))
	if err == nil {
		t.Fatal("the replica acknowledged an event it does not hold (seq re-used by the host)")
	}
	if protocol.AsError(err).Code != protocol.CodeForked {
		t.Fatalf("refusal %v, want code forked", err)
	}
	v, err := b.GroupView(gid)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != "forked" || v.StatusReason == "" {
		t.Fatalf("group status %q (%q), want forked with a reason", v.Status, v.StatusReason)
	}
	proof, ok, err := b.ForkProof(gid)
	if err != nil || !ok || len(proof) != 2 {
		t.Fatalf("fork proof: %d events, ok %v, err %v", len(proof), ok, err)
	}
	var seqs []uint64
	for _, raw := range proof {
		ev, err := protocol.DecodeEvent(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := ev.VerifyHost(hostKey.ID()); err != nil {
			t.Fatalf("a proof event is not host-signed: %v", err)
		}
		seqs = append(seqs, ev.Seq)
	}
	if seqs[0] != reused || seqs[1] != reused {
		t.Fatalf("proof seqs %v, want both %d", seqs, reused)
	}
	// The stored log is untouched and the proof survives a restart.
	if h, _ := b.Head(gid); h != last {
		t.Fatalf("replica head %d, want %d", h, last)
	}
	dir := b.dir
	b.Close()
	b2 := startNode(t, dir)
	v, _ = b2.GroupView(gid)
	if v.Status != "forked" {
		t.Fatalf("after restart the group status is %q, want forked", v.Status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := b2.Submit(ctx, sign(t, keys[1], gid, text("frozen?")).Raw, nil); protocol.AsError(err).Code != protocol.CodeForked {
		t.Fatalf("submission to a forked group: %v, want forked", err)
	}
}
