package node

// Blobs: the images and files of messages (docs/PROTOCOL.md, "Blobs").
// A blob is stored once per node under DATA/blobs, named by its SHA-256,
// and verified against its reference before it is stored or served. A
// group's index (group meta "blob/HASH", written in the commit of the
// message that refers to it) says which blobs the group may serve and
// which node the message came through. Nodes fetch blobs from each other
// over BlobProtocol under the group's privacy rule; the host fetches every
// blob of its groups from the sender's home node after sequencing, and a
// member's node fetches on demand, when one of its light clients asks.

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/storage"
)

// BlobProtocol serves a group's blobs to the nodes its privacy rule allows.
// Request: one frame of 64 bytes, the group ID then the blob's hash. Reply:
// one frame, 0x00 then the blob's bytes, or 0x01, the error code (one byte)
// and a sentence.
const BlobProtocol = "/qun/blob/1.0.0"

const (
	// metaBlobPrefix starts a group's blob index keys: prefix + hash.
	metaBlobPrefix = "blob/"
	// metaBlobSeqPrefix starts the keys of the last seq that refers to a
	// blob (8 bytes, big-endian): prefix + hash. Since 1.2; a blob indexed
	// before has none, and is readable only to those who read the whole log.
	metaBlobSeqPrefix = "blobseq/"
	// blobFetchTimeout bounds one fetch of a blob from one peer.
	blobFetchTimeout = 60 * time.Second
	// hostFetchTries is how often a host tries to get a blob of a message
	// it sequenced from the node the message came through.
	hostFetchTries = 6
)

// blobStore keeps blobs as files named by their hash.
type blobStore struct{ dir string }

func (b *blobStore) path(h protocol.Hash) string {
	x := hex.EncodeToString(h[:])
	return filepath.Join(b.dir, x[:2], x)
}

func (b *blobStore) has(h protocol.Hash) bool {
	_, err := os.Stat(b.path(h))
	return err == nil
}

// read returns the blob's bytes; a missing blob is an error for which
// os.IsNotExist holds.
func (b *blobStore) read(h protocol.Hash) ([]byte, error) { return os.ReadFile(b.path(h)) }

// write stores data after checking it is the blob ref refers to: written
// to a temporary file, synced, then renamed, so a blob is whole or absent.
func (b *blobStore) write(ref *protocol.BlobRef, data []byte) error {
	if err := ref.Verify(data); err != nil {
		return err
	}
	p := b.path(ref.Hash)
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), p)
}

// blobIndexEntry is a group's index value of a blob: the node the message
// came through, then the reference's size and media type.
type blobIndexEntry struct {
	via protocol.UserID
	ref protocol.BlobRef
}

func (e blobIndexEntry) encode() []byte {
	b := append(e.via[:0:0], e.via[:]...)
	b = binary.BigEndian.AppendUint64(b, e.ref.Size)
	return append(b, e.ref.MIME...)
}

func decodeBlobIndex(h protocol.Hash, b []byte) (blobIndexEntry, bool) {
	if len(b) < 40 {
		return blobIndexEntry{}, false
	}
	var e blobIndexEntry
	copy(e.via[:], b)
	e.ref = protocol.BlobRef{Hash: h, Size: binary.BigEndian.Uint64(b[32:]), MIME: string(b[40:])}
	return e, true
}

func blobKey(h protocol.Hash) string { return metaBlobPrefix + string(h[:]) }

func blobSeqKey(h protocol.Hash) string { return metaBlobSeqPrefix + string(h[:]) }

// blobReadable reports whether a reader who may read the group from seq
// first on may have blob h: an event from first on refers to it, or it is
// the avatar of a member now (a profile is state, seen by every member).
func (g *group) blobReadable(h protocol.Hash, first uint64) bool {
	if first <= 1 {
		return true
	}
	if v, ok, err := g.n.store.Meta(g.id, blobSeqKey(h)); err == nil && ok && len(v) == 8 && binary.BigEndian.Uint64(v) >= first {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, m := range g.state.Members {
		if a := m.Profile.Avatar; a != nil && a.Hash == h {
			return true
		}
	}
	return false
}

// blobWrites returns the index writes for the blobs events refer to: the
// attachments of messages and the avatars of profiles.
func blobWrites(gid protocol.GroupID, events []*protocol.SignedEvent) (out []storage.MetaWrite, wanted []blobIndexEntry) {
	add := func(ev *protocol.SignedEvent, ref protocol.BlobRef) {
		e := blobIndexEntry{via: ev.Via, ref: ref}
		out = append(out, storage.MetaWrite{Scope: gid, Key: blobKey(ref.Hash), Val: e.encode()},
			storage.MetaWrite{Scope: gid, Key: blobSeqKey(ref.Hash), Val: binary.BigEndian.AppendUint64(nil, ev.Seq)})
		wanted = append(wanted, e)
	}
	for _, ev := range events {
		switch b := ev.Sub.DecodedBody().(type) {
		case *protocol.MessageBody:
			for _, a := range b.Attachments {
				add(ev, a.Blob)
			}
		case *protocol.ProfileBody:
			if b.Avatar != nil {
				add(ev, *b.Avatar)
			}
		}
	}
	return out, wanted
}

// blobEntry looks a blob up in a group's index.
func (n *Node) blobEntry(gid protocol.GroupID, h protocol.Hash) (blobIndexEntry, bool, error) {
	v, ok, err := n.store.Meta(gid, blobKey(h))
	if err != nil || !ok {
		return blobIndexEntry{}, false, err
	}
	e, ok := decodeBlobIndex(h, v)
	return e, ok, nil
}

// fetchBlobs gets, in the background, the blobs a host sequenced messages
// with, from the nodes the messages came through.
func (g *group) fetchBlobs(wanted []blobIndexEntry) {
	n := g.n
	for _, e := range wanted {
		if e.via == n.id || n.blobs.has(e.ref.Hash) {
			continue
		}
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			wait := 500 * time.Millisecond
			for try := 1; ; try++ {
				_, err := n.fetchBlobFrom(n.ctx, e.via.PeerID(), g.id, e.ref)
				if err == nil || n.ctx.Err() != nil {
					return
				}
				if try == hostFetchTries {
					g.log.Warn("could not get a blob from the node its message came through; members' nodes will ask again", "blob", hex.EncodeToString(e.ref.Hash[:8]), "from", e.via, "err", err)
					return
				}
				select {
				case <-n.ctx.Done():
					return
				case <-time.After(jitter(wait)):
				}
				wait *= 2
			}
		}()
	}
}

// blob returns the bytes of a blob of group g, fetching it from the host
// or the node its message came through when this node lacks it.
func (n *Node) blob(ctx context.Context, g *group, e blobIndexEntry) ([]byte, error) {
	data, err := n.blobs.read(e.ref.Hash)
	if err == nil && e.ref.Verify(data) == nil {
		return data, nil
	}
	if err == nil { // damaged on disk: fetch it again
		n.log.Error("a stored blob does not match its hash; fetching it again", "blob", hex.EncodeToString(e.ref.Hash[:8]))
		_ = os.Remove(n.blobs.path(e.ref.Hash))
	} else if !os.IsNotExist(err) {
		return nil, protocol.Errorf(protocol.CodeInternal, "reading the blob: %v", err)
	}
	// Many readers of a new image wait for one fetch. It runs under the
	// node's context, not the first reader's, which may leave.
	v, err, _ := n.blobFetch.Do(string(e.ref.Hash[:]), func() (any, error) {
		var errs []error
		for _, p := range []peer.ID{g.host.PeerID(), e.via.PeerID()} {
			if p == n.host.ID() {
				continue
			}
			data, err := n.fetchBlobFrom(n.ctx, p, g.id, e.ref)
			if err == nil {
				return data, nil
			}
			errs = append(errs, err)
		}
		return nil, protocol.Errorf(protocol.CodeUnavailable, "no node could give this file: %v", errors.Join(errs...))
	})
	if err != nil {
		return nil, err
	}
	return v.([]byte), nil
}

// fetchBlobFrom asks peer p for a blob of group gid, verifies it against
// its reference and stores it.
func (n *Node) fetchBlobFrom(ctx context.Context, p peer.ID, gid protocol.GroupID, ref protocol.BlobRef) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, blobFetchTimeout)
	defer cancel()
	req := append(gid[:0:0], gid[:]...)
	req = append(req, ref.Hash[:]...)
	frame, err := n.request(ctx, p, BlobProtocol, "peer", req, protocol.MaxFileBytes+16)
	if err != nil {
		return nil, err
	}
	data, err := decodeBlobReply(frame)
	if err != nil {
		return nil, err
	}
	if err := ref.Verify(data); err != nil {
		return nil, protocol.Errorf(protocol.CodeInvalid, "peer %s sent a blob that is not the one asked for: %v", p, protocol.AsError(err).Msg)
	}
	if err := n.diskFull(); err != nil {
		return data, nil // serve it, but there is no room to keep it
	}
	if err := n.blobs.write(&ref, data); err != nil {
		n.log.Warn("storing a fetched blob failed", "err", err)
	}
	return data, nil
}

// decodeBlobReply decodes a BlobProtocol reply.
func decodeBlobReply(b []byte) ([]byte, error) {
	switch {
	case len(b) >= 1 && b[0] == 0:
		return b[1:], nil
	case len(b) >= 2 && b[0] == 1:
		return nil, &protocol.Error{Code: protocol.Code(b[1]), Msg: string(b[2:])}
	}
	return nil, protocol.Errorf(protocol.CodeMalformed, "a blob reply of %d bytes is not one", len(b))
}

func blobRefusal(err error) []byte {
	pe := protocol.AsError(err)
	return append([]byte{1, byte(pe.Code)}, pe.Msg...)
}

func (n *Node) handleBlob(s network.Stream) {
	n.serveRequest(s, "qun-blob", 64, func(_ context.Context, remote peer.ID, req []byte) []byte {
		return n.serveBlob(remote, req)
	})
}

// serveBlob answers a BlobProtocol request: only to a node the group's
// privacy rule allows now, only a blob a message of the group refers to.
func (n *Node) serveBlob(from peer.ID, req []byte) []byte {
	if len(req) != 64 {
		return blobRefusal(protocol.Errorf(protocol.CodeMalformed, "a blob request is 64 bytes, not %d", len(req)))
	}
	var gid protocol.GroupID
	var h protocol.Hash
	copy(gid[:], req)
	copy(h[:], req[32:])
	g, d, held := n.held(gid)
	if g == nil && held && !d.known {
		d, held = n.peek(gid, nil)
	}
	var set *allowSet
	switch {
	case g != nil:
		set = g.allowed.Load()
	case held:
		set = d.allowed
	default:
		return blobRefusal(protocol.Errorf(protocol.CodeUnknownGroup, "this node does not hold group %s", gid))
	}
	if !set.allows(from) {
		return blobRefusal(protocol.Errorf(protocol.CodePrivate, "group %s is private to its members' nodes", gid))
	}
	e, ok, err := n.blobEntry(gid, h)
	if err != nil || !ok {
		return blobRefusal(protocol.Errorf(protocol.CodeNotFound, "no message of group %s refers to this blob", gid))
	}
	if first := set.first(from); first > 1 {
		if g == nil {
			g = n.group(gid) // the avatar check reads the state
		}
		if g == nil || !g.blobReadable(h, first) {
			return blobRefusal(protocol.Errorf(protocol.CodeHistoryHidden, "no event of group %s that your node may fetch refers to this blob", gid))
		}
	}
	data, err := n.blobs.read(h)
	if err != nil || e.ref.Verify(data) != nil {
		return blobRefusal(protocol.Errorf(protocol.CodeNotFound, "this node does not hold the blob"))
	}
	return append([]byte{0}, data...)
}

// blobError is the refusal of a failed blob write.
func blobError(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return protocol.Errorf(protocol.CodeNotFound, "no such blob")
	}
	return protocol.Errorf(protocol.CodeInternal, "storing the file: %v", fmt.Sprint(err))
}
