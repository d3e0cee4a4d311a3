package node

// The light-client side of blobs: uploads to the home node and downloads
// under the group's read rule (docs/API.md, "Images and files").

import (
	"context"
	"encoding/binary"
	"os"

	"github.com/qunchat/qun/internal/media"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
	"github.com/qunchat/qun/storage"
)

// UploadQuota is how many bytes of blobs one user may upload to a node.
const UploadQuota = 1 << 30

const quotaKeyPrefix = "quota/" // node-scope meta: bytes a user uploaded

// upload stores an image or a file for a message the user is about to
// send. Images are checked by their bytes, their metadata removed, their
// size read and a thumbnail made; the answer is the attachment to put into
// the message (forAvatar: checked as a profile's avatar).
func (n *Node) upload(user protocol.UserID, mimeType, name string, data []byte, forAvatar bool) (api.AttachmentView, error) {
	res, err := media.Clean(mimeType, data)
	if err != nil {
		return api.AttachmentView{}, protocol.Errorf(protocol.CodeInvalid, "%s", refusalText(err))
	}
	if limit := protocol.MaxBlobBytesFor(res.MIME); uint64(len(res.Data)) > limit {
		what := "a file"
		if protocol.IsImageMIME(res.MIME) {
			what = "an image"
		}
		return api.AttachmentView{}, protocol.Errorf(protocol.CodeTooLarge, "%s may have at most %d MB", what, limit>>20)
	}
	att := protocol.Attachment{Blob: *protocol.NewBlobRef(res.MIME, res.Data), Name: name}
	att.Blob.Width, att.Blob.Height = uint32(res.Width), uint32(res.Height)
	if att.IsImage() {
		if th, err := media.Thumbnail(res.Data, protocol.MaxThumbBytes); err == nil {
			att.Thumb = th
		}
	}
	// What the message will say is checked now, with the protocol's rules
	// (?for=avatar: those of a profile's avatar).
	body := protocol.Body(&protocol.MessageBody{Attachments: []protocol.Attachment{att}})
	if forAvatar {
		body = protocol.NewProfileBody(protocol.Profile{Avatar: &att.Blob})
	}
	if _, err := protocol.DecodeBody(body.Kind(), body.Encode()); err != nil {
		return api.AttachmentView{}, err
	}
	if !n.blobs.has(att.Blob.Hash) {
		if err := n.chargeQuota(user, uint64(len(res.Data))); err != nil {
			return api.AttachmentView{}, err
		}
		if err := n.blobs.write(&att.Blob, res.Data); err != nil {
			return api.AttachmentView{}, blobError(err)
		}
	}
	return api.AttachmentView{BlobRefView: *api.NewBlobRefView(&att.Blob), Name: att.Name, Thumb: att.Thumb}, nil
}

// refusalText is the reason of a media refusal without its prefix.
func refusalText(err error) string {
	msg := err.Error()
	if p := media.ErrRefused.Error() + ": "; len(msg) > len(p) && msg[:len(p)] == p {
		return msg[len(p):]
	}
	return msg
}

// chargeQuota counts size bytes against the user's upload quota.
func (n *Node) chargeQuota(u protocol.UserID, size uint64) error {
	key := quotaKeyPrefix + string(u[:])
	n.quotaMu.Lock()
	defer n.quotaMu.Unlock()
	var used uint64
	if v, ok, err := n.store.Meta(storage.NodeScope, key); err != nil {
		return protocol.Errorf(protocol.CodeInternal, "reading your upload quota: %v", err)
	} else if ok && len(v) == 8 {
		used = binary.BigEndian.Uint64(v)
	}
	if used+size > UploadQuota {
		return protocol.Errorf(protocol.CodeForbidden, "your uploads to this node would exceed %d MB (used: %d MB)", UploadQuota>>20, used>>20)
	}
	if err := n.store.SetMeta(storage.NodeScope, key, binary.BigEndian.AppendUint64(nil, used+size)); err != nil {
		return storeError(err)
	}
	return nil
}

// openBlob returns the stored blob of a group's message, fetched first
// when missing and checked against its hash once per start of the node
// (then served from the file, not from memory).
func (n *Node) openBlob(ctx context.Context, g *group, e blobIndexEntry) (*os.File, error) {
	if _, ok := n.blobChecked.Load(e.ref.Hash); !ok {
		if _, err := n.blob(ctx, g, e); err != nil {
			return nil, err
		}
		n.blobChecked.Store(e.ref.Hash, struct{}{})
	}
	f, err := os.Open(n.blobs.path(e.ref.Hash))
	if os.IsNotExist(err) { // gone since it was checked: fetch and check it again
		n.blobChecked.Delete(e.ref.Hash)
		if _, err := n.blob(ctx, g, e); err != nil {
			return nil, err
		}
		n.blobChecked.Store(e.ref.Hash, struct{}{})
		f, err = os.Open(n.blobs.path(e.ref.Hash))
	}
	if err != nil {
		n.blobChecked.Delete(e.ref.Hash)
		return nil, protocol.Errorf(protocol.CodeInternal, "opening the file: %v", err)
	}
	return f, nil
}
