package node

// The light-client side of blobs: uploads to the home node and downloads
// under the group's read rule (docs/API.md, "Images and files").

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"time"

	"github.com/qunchat/qun/internal/media"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
	"github.com/qunchat/qun/storage"
)

// UploadQuota is how many bytes of blobs one user may upload to a node.
const UploadQuota = 1 << 30

const quotaKeyPrefix = "quota/" // node-scope meta: bytes a user uploaded

// blobTransferTimeout bounds one upload or download of a blob.
const blobTransferTimeout = 10 * time.Minute

// apiUpload stores an image or a file for a message the user is about to
// send: POST /api/v1/blobs with the bytes as the body and their media type
// in Content-Type (the optional ?name= is echoed). Images are checked by
// their bytes, their metadata removed, their size read and a thumbnail
// made; the answer is the attachment to put into the message.
func (n *Node) apiUpload(w http.ResponseWriter, r *http.Request, s *session) {
	if err := n.diskFull(); err != nil {
		writeError(w, err)
		return
	}
	// A file of 50 MB takes longer than the server's request timeout on a
	// slow link.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(blobTransferTimeout))
	name := r.URL.Query().Get("name")
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, protocol.MaxFileBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, protocol.Errorf(protocol.CodeTooLarge, "a file may have at most %d MB", protocol.MaxFileBytes>>20))
		return
	case err != nil:
		writeError(w, protocol.Errorf(protocol.CodeMalformed, "reading the upload: %v", err))
		return
	}
	res, err := media.Clean(r.Header.Get("Content-Type"), data)
	if err != nil {
		writeError(w, protocol.Errorf(protocol.CodeInvalid, "%s", refusalText(err)))
		return
	}
	if limit := protocol.MaxBlobBytesFor(res.MIME); uint64(len(res.Data)) > limit {
		what := "a file"
		if protocol.IsImageMIME(res.MIME) {
			what = "an image"
		}
		writeError(w, protocol.Errorf(protocol.CodeTooLarge, "%s may have at most %d MB", what, limit>>20))
		return
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
	if r.URL.Query().Get("for") == "avatar" {
		body = protocol.NewProfileBody(protocol.Profile{Avatar: &att.Blob})
	}
	if _, err := protocol.DecodeBody(body.Kind(), body.Encode()); err != nil {
		writeError(w, err)
		return
	}
	if !n.blobs.has(att.Blob.Hash) {
		if err := n.chargeQuota(s.user, uint64(len(res.Data))); err != nil {
			writeError(w, err)
			return
		}
		if err := n.blobs.write(&att.Blob, res.Data); err != nil {
			writeError(w, blobError(err))
			return
		}
	}
	writeJSON(w, http.StatusOK, api.AttachmentView{BlobRefView: *api.NewBlobRefView(&att.Blob), Name: att.Name, Thumb: att.Thumb})
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

// apiBlob serves a blob of a group to a member who may read the group:
// GET /api/v1/groups/{gid}/blobs/{hash}. Only blobs that a message of the
// group refers to; a blob this node lacks is fetched from the host or the
// node the message came through, and verified, first.
func (n *Node) apiBlob(w http.ResponseWriter, r *http.Request, s *session) {
	g, err := n.readableGroup(r, s)
	if err != nil {
		writeError(w, err)
		return
	}
	raw, err := hex.DecodeString(r.PathValue("hash"))
	if err != nil || len(raw) != 32 {
		writeError(w, protocol.Errorf(protocol.CodeInvalid, "a blob is named by its SHA-256 in 64 lower-case hex digits"))
		return
	}
	var h protocol.Hash
	copy(h[:], raw)
	e, ok, err := n.blobEntry(g.id, h)
	if err != nil {
		writeError(w, protocol.Errorf(protocol.CodeInternal, "reading the group's files: %v", err))
		return
	}
	if !ok {
		writeError(w, protocol.Errorf(protocol.CodeNotFound, "no message of this group has this file"))
		return
	}
	f, err := n.openBlob(r.Context(), g, e)
	if err != nil {
		writeError(w, err)
		return
	}
	defer f.Close()
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(blobTransferTimeout))
	hdr := w.Header()
	hdr.Set("Content-Type", e.ref.MIME)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	hdr.Set("Cache-Control", "private, max-age=31536000, immutable")
	if !protocol.IsImageMIME(e.ref.MIME) {
		name := r.URL.Query().Get("name")
		if name == "" {
			name = hex.EncodeToString(h[:6])
		}
		hdr.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	}
	hdr.Set("ETag", fmt.Sprintf("%q", hex.EncodeToString(h[:])))
	http.ServeContent(w, r, "", time.Time{}, f)
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
