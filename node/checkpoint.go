package node

// Checkpoints (protocol 1.2): in a private group whose new members read
// from their join, a node that becomes home to a new member may not fetch
// the events before the admission. It starts its replica from the host-signed
// state just before it (a checkpoint) and verifies forward from there.
//
// The host keeps the checkpoint made when it sequenced the admission (the
// state is in memory then), at most maxCheckpoints per group; one it no
// longer has is rebuilt from its own log.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/storage"
)

// CheckpointProtocol serves a hosted group's checkpoints to the nodes that
// may start from them.
const CheckpointProtocol = "/qun/checkpoint/1.0.0"

const (
	// maxCheckpoints is how many checkpoints a host keeps per group.
	maxCheckpoints = 8
	// metaCheckpointPrefix starts a hosted group's checkpoint keys:
	// prefix + seq (16 hex digits) + "/" + chunk (4 digits).
	metaCheckpointPrefix = "ckpt/"
	// metaBaseCheckpoint is where a replica started from a checkpoint
	// keeps it, signed (writeChunked): the state at the start of its log.
	metaBaseCheckpoint = "baseckpt/"
	// checkpointChunk is the size of one stored piece of a checkpoint.
	checkpointChunk = 256 << 10
	// maxCheckpointFrame bounds a checkpoint reply: the checkpoint and the
	// group's create event.
	maxCheckpointFrame = protocol.MaxCheckpointSize + protocol.MaxEventSize + 64
)

// needsCheckpoint reports whether admitting the submission makes a node
// home to a member that may not fetch the events before it: the node then
// starts from the state before the admission. Called with g.mu held, with
// the state before the admission.
func needsCheckpoint(st *protocol.State, sub *protocol.SignedSubmission, via protocol.UserID) bool {
	if st.Public || st.History != protocol.HistoryFromJoin {
		return false
	}
	var home protocol.UserID
	switch sub.Kind {
	case protocol.KindJoin:
		home = via
	case protocol.KindApprove:
		b, ok := sub.DecodedBody().(*protocol.MemberBody)
		if !ok || st.Requests[b.Member] == nil {
			return false
		}
		home = st.Requests[b.Member].Home
	default:
		return false
	}
	_, held := st.NodeFrom(home)
	return !held
}

// pendingCheckpoint is a checkpoint made by the sequencer, to store.
type pendingCheckpoint struct {
	seq     uint64
	payload []byte
}

func checkpointKey(seq uint64) string {
	return fmt.Sprintf("%s%016x/", metaCheckpointPrefix, seq)
}

// storeCheckpoint writes a checkpoint's payload in chunks and forgets all
// but the newest maxCheckpoints.
func (g *group) storeCheckpoint(seq uint64, payload []byte) error {
	if err := g.writeChunked(checkpointKey(seq), payload); err != nil {
		return err
	}
	return g.pruneCheckpoints()
}

// writeChunked writes data under the group-scope meta keys key0000,
// key0001…, the count last under keyn (data cut short by a crash has no
// count and reads as absent), in commits the store takes.
func (g *group) writeChunked(key string, data []byte) error {
	var writes []storage.MetaWrite
	for i := 0; i*checkpointChunk < len(data); i++ {
		end := min(len(data), (i+1)*checkpointChunk)
		writes = append(writes, storage.MetaWrite{Scope: g.id, Key: fmt.Sprintf("%s%04d", key, i), Val: data[i*checkpointChunk : end]})
	}
	writes = append(writes, storage.MetaWrite{Scope: g.id, Key: key + "n", Val: []byte(strconv.Itoa(len(writes)))})
	for len(writes) > 0 { // a commit holds at most storage.MaxCommitBytes
		k := min(len(writes), max(1, storage.MaxCommitBytes/2/checkpointChunk))
		if err := g.n.store.Commit(storage.Batch{Group: g.id, Meta: writes[:k]}); err != nil {
			return err
		}
		writes = writes[k:]
	}
	return nil
}

// readChunked reads what writeChunked wrote under key, if whole.
func (g *group) readChunked(key string) ([]byte, bool, error) {
	v, ok, err := g.n.store.Meta(g.id, key+"n")
	if err != nil || !ok {
		return nil, false, err
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 1 {
		return nil, false, nil
	}
	var data []byte
	for i := range n {
		c, ok, err := g.n.store.Meta(g.id, fmt.Sprintf("%s%04d", key, i))
		if err != nil || !ok {
			return nil, false, err
		}
		data = append(data, c...)
	}
	return data, true, nil
}

// pruneCheckpoints deletes the oldest checkpoints beyond maxCheckpoints.
func (g *group) pruneCheckpoints() error {
	keys, err := g.n.store.MetaKeys(g.id, metaCheckpointPrefix)
	if err != nil {
		return err
	}
	seqOf := func(k string) string { // the 16 hex digits of the seq
		s := strings.TrimPrefix(k, metaCheckpointPrefix)
		return s[:min(len(s), 16)]
	}
	var seqs []string // distinct, ascending (keys are sorted)
	for _, k := range keys {
		if s := seqOf(k); len(seqs) == 0 || seqs[len(seqs)-1] != s {
			seqs = append(seqs, s)
		}
	}
	if len(seqs) <= maxCheckpoints {
		return nil
	}
	drop := map[string]bool{}
	for _, s := range seqs[:len(seqs)-maxCheckpoints] {
		drop[s] = true
	}
	var dels []storage.MetaWrite
	for _, k := range keys {
		if drop[seqOf(k)] {
			dels = append(dels, storage.MetaWrite{Scope: g.id, Key: k})
		}
	}
	return g.n.store.Commit(storage.Batch{Group: g.id, Meta: dels})
}

// storedCheckpoint reads the payload of the checkpoint at seq, if whole.
func (g *group) storedCheckpoint(seq uint64) ([]byte, bool, error) {
	return g.readChunked(checkpointKey(seq))
}

// checkpointPayload returns the checkpoint at seq: the stored one, or one
// rebuilt by replaying the host's own log up to seq (its events were
// checked when they were sequenced).
func (g *group) checkpointPayload(seq uint64) ([]byte, error) {
	if p, ok, err := g.storedCheckpoint(seq); err != nil || ok {
		return p, err
	}
	st := protocol.NewState()
	for st.Head < seq {
		recs, err := g.n.store.Range(g.id, st.Head+1, int(min(seq-st.Head, maxBatch)), maxSyncBytes)
		if err != nil {
			return nil, err
		}
		if len(recs) == 0 {
			return nil, fmt.Errorf("the log ends at %d", st.Head)
		}
		for _, r := range recs {
			ev, err := protocol.DecodeEvent(r.Data)
			if err == nil {
				err = st.Apply(ev, g.lookup)
			}
			if err != nil {
				return nil, fmt.Errorf("stored event %d does not apply: %w", r.Seq, err)
			}
		}
	}
	p := st.EncodeCheckpoint()
	if err := g.storeCheckpoint(seq, p); err != nil {
		g.log.Warn("could not keep a rebuilt checkpoint", "seq", seq, "err", err)
	}
	return p, nil
}

// checkpointRequest asks a host for a checkpoint:
// message CheckpointRequest { bytes group = 1; uint64 seq = 2; }
type checkpointRequest struct {
	group protocol.GroupID
	seq   uint64
}

func (r *checkpointRequest) encode() []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, r.group[:])
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	return protowire.AppendVarint(b, r.seq)
}

func decodeCheckpointRequest(b []byte) (*checkpointRequest, error) {
	r := &checkpointRequest{}
	var haveGroup bool
	err := protocol.Walk(b, nil, nil, func(f protocol.Field) error {
		switch f.Num {
		case 1:
			k, err := f.Key()
			r.group, haveGroup = k, err == nil
			return err
		case 2:
			v, err := f.Uint64()
			r.seq = v
			return err
		}
		return f.Unknown()
	})
	if err == nil && (!haveGroup || r.seq == 0) {
		err = errors.New("a checkpoint request names a group and a seq >= 1")
	}
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeMalformed, "malformed checkpoint request: %v", err)
	}
	return r, nil
}

// checkpointReply answers a checkpoint request:
// message CheckpointReply { uint32 code = 1; string message = 2; bytes genesis = 3; bytes checkpoint = 4; }
// genesis is the group's create event (it proves the host), checkpoint the
// host-signed checkpoint.
type checkpointReply struct {
	code       protocol.Code
	msg        string
	genesis    []byte
	checkpoint []byte
}

func (r *checkpointReply) encode() []byte {
	b := appendStatus(nil, r.code, r.msg)
	if len(r.genesis) > 0 {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendBytes(b, r.genesis)
	}
	if len(r.checkpoint) > 0 {
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendBytes(b, r.checkpoint)
	}
	return b
}

func decodeCheckpointReply(b []byte) (*checkpointReply, error) {
	r := &checkpointReply{}
	err := protocol.Walk(b, nil, nil, func(f protocol.Field) error {
		var err error
		switch f.Num {
		case 1:
			r.code, err = replyCode(f)
		case 2:
			var d []byte
			d, err = f.Data()
			r.msg = string(d)
		case 3:
			r.genesis, err = f.Data()
		case 4:
			r.checkpoint, err = f.Data()
		default:
			err = f.Unknown()
		}
		return err
	})
	if err == nil && r.code == 0 && (r.genesis == nil || r.checkpoint == nil) {
		err = errors.New("no checkpoint and no error")
	}
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeMalformed, "malformed checkpoint reply: %v", err)
	}
	return r, nil
}

func (n *Node) handleCheckpoint(s network.Stream) {
	n.serveRequest(s, "qun-checkpoint", maxSyncRequest, func(_ context.Context, remote peer.ID, frame []byte) []byte {
		return n.serveCheckpoint(remote, frame).encode()
	})
}

// serveCheckpoint answers a checkpoint request: only the host signs
// checkpoints, and only for a seq the requester may start from (at or after
// the seq before the first it may fetch) and the host has stored.
func (n *Node) serveCheckpoint(from peer.ID, frame []byte) *checkpointReply {
	fail := func(err error) *checkpointReply {
		pe := protocol.AsError(err)
		return &checkpointReply{code: pe.Code, msg: pe.Msg}
	}
	req, err := decodeCheckpointRequest(frame)
	if err != nil {
		return fail(err)
	}
	g := n.group(req.group)
	if g == nil {
		return fail(protocol.Errorf(protocol.CodeUnknownGroup, "this node does not hold group %s", req.group))
	}
	if !g.hosted {
		return fail(protocol.Errorf(protocol.CodeNotHost, "this node does not host group %s: ask its host", req.group))
	}
	set := g.allowed.Load()
	limit, ok := set.limit(from)
	if !ok || !set.allows(from) && req.seq > limit {
		return fail(protocol.Errorf(protocol.CodePrivate, "group %s is private to its members' nodes", req.group))
	}
	if first := set.first(from); req.seq+1 < first {
		return fail(protocol.Errorf(protocol.CodeHistoryHidden, "this node may start group %s at event %d at the earliest", req.group, first-1))
	}
	if c := g.committedHead(); req.seq > c {
		return fail(protocol.Errorf(protocol.CodeNotFound, "group %s has no event %d yet (head %d)", req.group, req.seq, c))
	}
	payload, err := g.checkpointPayload(req.seq)
	if err != nil {
		return fail(protocol.Errorf(protocol.CodeInternal, "making the checkpoint: %v", err))
	}
	genesis, err := n.store.Event(g.id, 1)
	if err != nil {
		return fail(protocol.Errorf(protocol.CodeInternal, "reading the create event: %v", err))
	}
	return &checkpointReply{genesis: genesis, checkpoint: n.key.Sign(protocol.DomainCheckpoint, payload)}
}

// fetchCheckpoint asks the host for the checkpoint at seq and verifies it:
// the create event proves the host (its hash is the group ID and it names
// the host), the host signed the checkpoint, and it is the group's state at
// seq.
func (g *group) fetchCheckpoint(ctx context.Context, seq uint64) (*protocol.State, []byte, error) {
	g.n.ensureHostAddrs(g.id, g.host)
	req := checkpointRequest{group: g.id, seq: seq}
	frame, err := g.n.request(ctx, g.host.PeerID(), CheckpointProtocol, "host", req.encode(), maxCheckpointFrame)
	if err != nil {
		return nil, nil, err
	}
	reply, err := decodeCheckpointReply(frame)
	if err != nil {
		return nil, nil, err
	}
	if reply.code != 0 {
		return nil, nil, &protocol.Error{Code: reply.code, Msg: reply.msg}
	}
	gen, err := protocol.DecodeEvent(reply.genesis)
	if err == nil {
		err = verifyEvents(nil, g.host, []*protocol.SignedEvent{gen})
	}
	if err == nil && (gen.Seq != 1 || gen.Group != g.id) {
		err = errors.New("it is not the group's create event")
	}
	if err == nil {
		var named protocol.UserID
		if named, err = gen.GenesisHost(); err == nil && named != g.host {
			err = fmt.Errorf("the group's create event names host %s", named)
		}
	}
	if err != nil {
		return nil, nil, protocol.Errorf(protocol.CodeNotHost, "the host of group %s could not prove it: %v", g.id, err)
	}
	c, err := protocol.DecodeCheckpoint(reply.checkpoint)
	if err != nil {
		return nil, nil, err
	}
	if err := c.Verify(g.host); err != nil {
		return nil, nil, err
	}
	st := c.State
	if st.Group != g.id || st.Head != seq || st.Host != g.host {
		return nil, nil, protocol.Errorf(protocol.CodeBrokenChain, "the host sent a checkpoint of group %s at %d, not of group %s at %d", st.Group, st.Head, g.id, seq)
	}
	return st, reply.checkpoint, nil
}

// startFromCheckpoint starts this replica, which holds nothing of the
// group, from the host's checkpoint at base: the state is stored as the
// log's base and the group's snapshot, and events after base are fetched
// as usual.
func (g *group) startFromCheckpoint(ctx context.Context, base uint64) error {
	st, signed, err := g.fetchCheckpoint(ctx, base)
	if err != nil {
		return err
	}
	g.mu.Lock()
	head := g.state.Head
	g.mu.Unlock()
	if head >= base {
		return nil // it holds what it needs (a stale refusal)
	}
	if head != 0 {
		// This node held the group before (its members left) up to head:
		// its log cannot continue at base+1, and nobody may send it the
		// events between. Its old copy is dropped; nothing in it was
		// readable to anyone here since its last member left.
		if err := g.forgetCopy(); err != nil {
			return err
		}
	}
	st.Base = base
	// The signed checkpoint is kept as the start of the log (load reads it
	// when no snapshot is at or after base: a state larger than a snapshot
	// may be), before the base that needs it.
	if err := g.writeChunked(metaBaseCheckpoint, signed); err != nil {
		return err
	}
	var snap *storage.Snapshot
	if data, err := st.MarshalSnapshot(); err == nil && len(data) <= g.n.snapshotLimit() {
		snap = &storage.Snapshot{Seq: base, Data: data}
	}
	// The store refuses a base under a stored event: if one arrived
	// meanwhile, nothing is written and the sync goes on from it.
	err = g.n.store.Commit(storage.Batch{
		Group: g.id, Base: &storage.Base{Seq: base, ID: st.HeadID},
		Snapshot: snap,
		Meta:     avatarIndex(g.id, st),
	})
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.state = st
	g.markCommitted(base)
	g.headHint.Store(base)
	g.refreshAllowed()
	index := g.indexAll()
	g.mu.Unlock()
	if err := g.writeIndex(index); err != nil {
		g.log.Warn("the member index lacks this group; its members' group lists miss it until it is loaded again", "err", err)
	}
	g.log.Info("started the replica from the host's checkpoint", "seq", base)
	return nil
}

// baseState reads the signed checkpoint this replica started from, at
// base, and returns its state (with Base set), checked again as it was
// when it arrived.
func (g *group) baseState(base uint64) (*protocol.State, error) {
	raw, ok, err := g.readChunked(metaBaseCheckpoint)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("the log starts after the checkpoint at %d, but neither the checkpoint nor a snapshot is stored", base)
	}
	c, err := protocol.DecodeCheckpoint(raw)
	if err == nil {
		err = c.Verify(g.host)
	}
	if err == nil && (c.State.Group != g.id || c.State.Head != base) {
		err = fmt.Errorf("it is of group %s at %d", c.State.Group, c.State.Head)
	}
	if err != nil {
		// %v: the reason is this node's stored copy, not the bytes' code.
		return nil, fmt.Errorf("the checkpoint at %d that this node's log starts from is damaged: %v", base, err)
	}
	c.State.Base = base
	return c.State, nil
}

// forgetCopy deletes this node's stale copy of the group (the log, its
// snapshot and meta), keeps what the node needs to reach the host, and
// resets the group to hold nothing. Events arrive only through this sync
// loop (a private group's events do not travel by gossip) or as answers to
// forwarded submissions, which are all after base and wait as future
// events: nothing is stored meanwhile.
func (g *group) forgetCopy() error {
	addrs, hasAddrs, _ := g.n.store.Meta(g.id, metaAddrs)
	if err := g.n.store.DeleteGroup(g.id); err != nil {
		return err
	}
	if err := g.n.store.SetMeta(g.id, metaHost, g.host[:]); err != nil {
		return err
	}
	if hasAddrs {
		if err := g.n.store.SetMeta(g.id, metaAddrs, addrs); err != nil {
			return err
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.log.Info("dropped this node's old copy of the group: its new member reads from a later checkpoint", "held", g.state.Head)
	g.state = protocol.NewState()
	g.committed = 0
	g.sinceSnapshot = 0
	g.cache = infoCache{}
	return nil
}

// avatarIndex returns the blob index writes for the members' avatars in a
// checkpoint's state: the profile events that set them are before it, and
// members see each other's pictures whenever they joined.
func avatarIndex(gid protocol.GroupID, st *protocol.State) []storage.MetaWrite {
	var out []storage.MetaWrite
	for _, m := range st.Members {
		if a := m.Profile.Avatar; a != nil {
			e := blobIndexEntry{via: m.Home, ref: *a}
			out = append(out, storage.MetaWrite{Scope: gid, Key: blobKey(a.Hash), Val: e.encode()})
		}
	}
	return out
}
