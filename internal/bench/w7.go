package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// w7 measures images: the shop uploads photos of about 1 MB through its
// node's API (checked, metadata stripped, thumbnail, hashed, fsynced), then
// sends one in a message to a group whose members' light clients are on
// node C; each client downloads the full image from C as soon as C has
// stored the message (C fetches it once from the host over the blob
// protocol, every client gets it from C).
func (e *env) w7(ctx context.Context) (r Result) {
	r = Result{Workload: "W7", Title: "images",
		Mode: "three nodes in one process (A hosts, members' light clients on C), uploads and downloads through the HTTP API, fsync on"}
	nw, err := e.network(ctx)
	if err != nil {
		r.Err = err
		return r
	}
	photos := make([][]byte, e.cfg.Images)
	for i := range photos {
		photos[i] = noisePhoto(i)
	}
	shop, err := signIn(ctx, nw.a.node.APIURL(), nw.a.admin)
	if err != nil {
		r.Err = err
		return r
	}
	fmt.Fprintf(e.progress, "W7: uploading %d photos of ~%d KB…\n", len(photos), len(photos[0])>>10)
	var total int
	var atts []api.AttachmentView
	start := time.Now()
	for i, p := range photos {
		a, err := shop.upload(ctx, p, fmt.Sprintf("photo-%d.jpg", i))
		if err != nil {
			r.Err = err
			return r
		}
		atts = append(atts, a)
		total += len(p)
	}
	took := time.Since(start)
	r.add("upload_mb_per_s", float64(total)/(1<<20)/took.Seconds(), nil)
	r.add("upload_ms_per_photo", ms(took)/float64(len(photos)), nil)

	// The members: light clients whose home is C.
	fmt.Fprintf(e.progress, "W7: %d members join through C and sign in…\n", e.cfg.ImageMembers)
	clients := make([]*lightClient, e.cfg.ImageMembers)
	for i := range clients {
		k, err := protocol.NewKey()
		if err != nil {
			r.Err = err
			return r
		}
		if _, err := submit(ctx, nw.c, joinSub(k, nw.inv)); err != nil {
			r.Err = fmt.Errorf("member %d joining: %w", i, err)
			return r
		}
		if clients[i], err = signIn(ctx, nw.c.node.APIURL(), k); err != nil {
			r.Err = err
			return r
		}
	}
	rss0, _ := rssMB()
	ref, err := atts[0].Ref()
	if err != nil {
		r.Err = err
		return r
	}
	msg := &protocol.MessageBody{Text: "new arrivals", Attachments: []protocol.Attachment{{Blob: *ref, Name: atts[0].Name, Thumb: atts[0].Thumb}}}
	sent := time.Now()
	ev, err := submit(ctx, nw.a, mustSign(nw.a.admin, nw.gid, msg))
	if err != nil {
		r.Err = err
		return r
	}
	if err := waitHeads(ctx, nw.gid, ev.Seq, nw.c); err != nil {
		r.Err = err
		return r
	}
	lat := make([]time.Duration, len(clients))
	errs := make([]error, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.blob(ctx, nw.gid, *ref)
			lat[i], errs[i] = time.Since(sent), err
		}()
	}
	wg.Wait()
	all := time.Since(sent)
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
			if r.Err == nil {
				r.Err = fmt.Errorf("a member's download: %w", err)
			}
		}
	}
	rss1, _ := rssMB()
	r.add("fanout_members", float64(len(clients)), nil)
	r.add("fanout_failed", float64(failed), atMost(0))
	r.add("fanout_mb_per_s", float64(len(clients))*float64(ref.Size)/(1<<20)/all.Seconds(), nil)
	r.add("fanout_p50_ms", ms(percentile(lat, 0.50)), nil)
	r.add("fanout_p99_ms", ms(percentile(lat, 0.99)), nil)
	r.add("fanout_rss_growth_mb", rss1-rss0, nil)
	r.note("photos: %d JPEGs of %d×%d noise (~%d KB each), distinct; latency from the send to each member's complete download; RSS of the whole process (three nodes and the clients)", len(photos), photoSide, photoSide, len(photos[0])>>10)
	return r
}

// photoSide is the side of the bench's photos: noise at JPEG quality 90
// comes to about 1 MB.
const photoSide = 1060

// noisePhoto is a JPEG of noise (incompressible, like a photo), distinct
// per seed.
func noisePhoto(seed int) []byte {
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	img := image.NewRGBA(image.Rect(0, 0, photoSide, photoSide))
	for y := range photoSide {
		for x := range photoSide {
			img.Set(x, y, color.RGBA{uint8(rng.Uint32()), uint8(rng.Uint32()), uint8(rng.Uint32()), 255})
		}
	}
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	return buf.Bytes()
}

// upload posts an image to /api/v1/blobs.
func (c *lightClient) upload(ctx context.Context, data []byte, name string) (api.AttachmentView, error) {
	var a api.AttachmentView
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+"/api/v1/blobs?name="+name, bytes.NewReader(data))
	if err != nil {
		return a, err
	}
	req.Header.Set("Content-Type", "image/jpeg")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return a, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return a, fmt.Errorf("upload: status %d: %s", resp.StatusCode, b)
	}
	return a, json.NewDecoder(resp.Body).Decode(&a)
}

// blob downloads a group's blob and checks it against ref as it arrives.
func (c *lightClient) blob(ctx context.Context, gid protocol.GroupID, ref protocol.BlobRef) error {
	req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/v1/groups/%s/blobs/%x", c.base, gid, ref.Hash[:]), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("download: status %d: %s", resp.StatusCode, b)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil {
		return err
	}
	if uint64(n) != ref.Size || !bytes.Equal(h.Sum(nil), ref.Hash[:]) {
		return fmt.Errorf("download: %d bytes that are not the blob", n)
	}
	return nil
}
