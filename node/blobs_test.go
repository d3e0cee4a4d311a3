package node

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// photo is a phone's JPEG: with an EXIF segment naming where it was taken.
func photo(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for x := range 640 {
		img.Set(x, x%480, color.RGBA{G: 180, A: 255})
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	exif := []byte("Exif\x00\x00GPS 31.2304N 121.4737E")
	seg := binary.BigEndian.AppendUint16([]byte{0xff, 0xe1}, uint16(len(exif)+2))
	b := buf.Bytes()
	return append(append(append([]byte{}, b[:2]...), append(seg, exif...)...), b[2:]...)
}

// upload posts raw bytes to /api/v1/blobs.
func (a *apiClient) upload(mime string, data []byte) (api.AttachmentView, int, *api.ErrorJSON) {
	a.t.Helper()
	req, _ := http.NewRequest("POST", a.base+"/api/v1/blobs?name=tea.jpg", bytes.NewReader(data))
	req.Header.Set("Content-Type", mime)
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var v api.AttachmentView
	if resp.StatusCode != 200 {
		var eb api.ErrorBody
		if err := json.Unmarshal(body, &eb); err != nil || eb.Error.Message == "" {
			a.t.Fatalf("upload: status %d without a readable error: %s", resp.StatusCode, body)
		}
		return v, resp.StatusCode, &eb.Error
	}
	if err := json.Unmarshal(body, &v); err != nil {
		a.t.Fatal(err)
	}
	return v, 200, nil
}

// download gets a group's blob.
func (a *apiClient) download(gid protocol.GroupID, hash string) ([]byte, int, http.Header) {
	a.t.Helper()
	req, _ := http.NewRequest("GET", a.base+"/api/v1/groups/"+gid.String()+"/blobs/"+hash, nil)
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return body, resp.StatusCode, resp.Header
}

func blobFiles(t *testing.T, n *testNode) int {
	count := 0
	filepath.Walk(filepath.Join(n.dir, "blobs"), func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			count++
		}
		return nil
	})
	return count
}

// TestBlobs: a member uploads a photo to their home node (its location is
// removed), sends it in a message; the host fetches it from that node;
// another member's node fetches it from the host and serves it to its
// member byte for byte. A non-member is refused through the API and over
// the blob protocol; bytes that do not match the hash are refused; bad
// uploads store nothing.
func TestBlobs(t *testing.T) {
	a, b, c := startNode(t, ""), startNode(t, ""), startNode(t, "")
	gid := createGroup(t, a, "photos", protocol.PolicyInvite)
	inv := invite(t, a, a.admin, gid, a, 0, 0)
	bob, carol, eve := newKey(t), newKey(t), newKey(t)
	join(t, b, bob, inv)
	join(t, c, carol, inv)
	cb, cc, ce := newAPI(t, b, bob).signIn(), newAPI(t, c, carol).signIn(), newAPI(t, a, eve).signIn()

	att, _, e := cb.upload("image/jpeg", photo(t))
	if e != nil {
		t.Fatalf("upload: %+v", e)
	}
	if att.Width != 640 || att.Height != 480 || att.MIME != "image/jpeg" || len(att.Thumb) == 0 || len(att.Thumb) > protocol.MaxThumbBytes {
		t.Fatalf("upload answered %+v", att)
	}
	ref, err := att.Ref()
	if err != nil {
		t.Fatal(err)
	}
	msg := &protocol.MessageBody{Text: "这个茶叶", Attachments: []protocol.Attachment{{Blob: *ref, Name: att.Name, Thumb: att.Thumb}}}
	var sr api.SubmitResponse
	cb.mustCall("POST", "/api/v1/submit", api.SubmitRequest{Submission: base64.StdEncoding.EncodeToString(sign(t, bob, gid, msg).Raw)}, &sr)
	waitHead(t, 10*time.Second, gid, sr.Seq, a, c)
	waitFor(t, 10*time.Second, "the host to fetch the photo from the sender's node", func() bool { return a.blobs.has(ref.Hash) })

	got, status, hdr := cc.download(gid, att.Hash)
	if status != 200 || ref.Verify(got) != nil {
		t.Fatalf("carol's download: status %d, %d bytes", status, len(got))
	}
	if bytes.Contains(got, []byte("GPS")) {
		t.Fatal("the photo still says where it was taken")
	}
	if hdr.Get("Content-Type") != "image/jpeg" || hdr.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("headers %v", hdr)
	}
	var page api.EventsPage
	cc.mustCall("GET", "/api/v1/groups/"+gid.String()+"/events?from="+jsonUint(sr.Seq), nil, &page)
	if len(page.Events) != 1 || len(page.Events[0].Attachments) != 1 || page.Events[0].Attachments[0].Hash != att.Hash {
		t.Fatalf("the event view lacks the attachment: %+v", page.Events)
	}

	// Outsiders: a non-member through the API, a non-member's node over
	// the blob protocol.
	if _, status, _ := ce.download(gid, att.Hash); status != 403 {
		t.Fatalf("a non-member's download: status %d, want 403", status)
	}
	d := startNode(t, "")
	if err := d.Host().Connect(context.Background(), addrInfo(a)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.fetchBlobFrom(context.Background(), a.PeerID(), gid, *ref); protocol.AsError(err).Code != protocol.CodePrivate {
		t.Fatalf("an outsider node's fetch: %v, want private", err)
	}
	if d.blobs.has(ref.Hash) {
		t.Fatal("the outsider node stored the blob")
	}
	// A blob no message of the group refers to is not served.
	if _, status, _ := cc.download(gid, hex.EncodeToString(make([]byte, 32))); status != 404 {
		t.Fatalf("an unreferenced blob: status %d, want 404", status)
	}

	// A peer that sends other bytes than the hash names is refused.
	fake, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	fake.SetStreamHandler(protocolID(BlobProtocol), func(s network.Stream) {
		defer s.Close()
		buf := make([]byte, 128)
		s.Read(buf)
		writeFrame(s, append([]byte{0}, bytes.Repeat([]byte{'x'}, int(ref.Size))...))
	})
	if err := c.Host().Connect(context.Background(), fake.Peerstore().PeerInfo(fake.ID())); err != nil {
		t.Fatal(err)
	}
	os.Remove(c.blobs.path(ref.Hash))
	if _, err := c.fetchBlobFrom(context.Background(), fake.ID(), gid, *ref); protocol.AsError(err).Code != protocol.CodeInvalid {
		t.Fatalf("wrong bytes: %v, want invalid", err)
	}
	if c.blobs.has(ref.Hash) {
		t.Fatal("bytes that do not match were stored")
	}

	// Bad uploads store nothing.
	before := blobFiles(t, b)
	for _, bad := range []struct {
		what, mime string
		data       []byte
		status     int
	}{
		{"an SVG", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), 400},
		{"a JPEG called PNG", "image/png", photo(t), 400},
		{"a file over 50 MB", "application/pdf", make([]byte, protocol.MaxFileBytes+1), 413},
		{"an empty file", "application/pdf", nil, 400},
	} {
		if _, status, e := cb.upload(bad.mime, bad.data); status != bad.status {
			t.Fatalf("%s: status %d (%+v), want %d", bad.what, status, e, bad.status)
		} else {
			t.Logf("%s: %s", bad.what, e.Message)
		}
	}
	if after := blobFiles(t, b); after != before {
		t.Fatalf("refused uploads stored %d files", after-before)
	}
	// An avatar: uploaded for a profile, readable by the group's members
	// through any of their nodes once the profile event refers to it.
	av, _, e := cb.upload("image/jpeg", photo(t))
	if e != nil {
		t.Fatal(e.Message)
	}
	avRef, _ := av.Ref()
	pr, e := cb.submit(gid, protocol.NewProfileBody(protocol.Profile{Name: "Bob", Avatar: avRef}))
	if e != nil {
		t.Fatalf("profile with the avatar: %+v", e)
	}
	waitHead(t, 10*time.Second, gid, pr.Seq, c)
	if got, status, _ := cc.download(gid, av.Hash); status != 200 || avRef.Verify(got) != nil {
		t.Fatalf("carol's download of bob's avatar: status %d", status)
	}
	// A kicked member's node gets nothing more: not over the API (carol
	// may no longer read), not over the blob protocol (c is home to no
	// member now).
	kick := mustSubmit(t, a, a.admin, gid, protocol.NewMemberBody(protocol.KindKick, carol.ID(), ""))
	waitHead(t, 10*time.Second, gid, kick.Seq, c)
	if _, status, _ := cc.download(gid, av.Hash); status != 403 {
		t.Fatalf("a kicked member's download: status %d, want 403", status)
	}
	if _, err := c.fetchBlobFrom(context.Background(), a.PeerID(), gid, *avRef); protocol.AsError(err).Code != protocol.CodePrivate {
		t.Fatalf("a kicked member's node fetching: %v, want private", err)
	}
	anon := &apiClient{t: t, base: b.APIURL()}
	if _, status, _ := anon.upload("image/jpeg", photo(t)); status != 401 {
		t.Fatalf("an upload without session: %d", status)
	}
}

func jsonUint(v uint64) string { b, _ := json.Marshal(v); return string(b) }
