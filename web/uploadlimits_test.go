package web_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/qunchat/qun/protocol"
)

// sizedFile writes a file of exactly size bytes into dir: head, then
// zeros (a sparse file, so even 50 MiB costs nothing to make).
func sizedFile(t *testing.T, dir, name string, head []byte, size int64) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, head, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, size); err != nil {
		t.Fatal(err)
	}
	return p
}

// smallJPEG is a valid 64×48 JPEG; bytes after its end do not change the
// picture, so it can be made as large as a test needs.
func smallJPEG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{R: uint8(x * 4), G: 120, B: uint8(y * 5), A: 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// countFiles counts the files under dir (none when it does not exist).
func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("counting the files under %s: %v", dir, err)
	}
	return n
}

// countBlobPostsJS makes the page count the uploads it starts (requests
// to /api/v1/blobs) in window.__blobPosts.
const countBlobPostsJS = `(() => {
  if (window.__blobPosts !== undefined) return;
  window.__blobPosts = 0;
  const open = XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.open = function (method, url, ...rest) {
    if (String(url).includes("/api/v1/blobs")) window.__blobPosts++;
    return open.call(this, method, url, ...rest);
  };
})()`

// TestUploadLimits: the limits of an attachment, protocol.MaxImageBytes
// (10 MiB) for an image and protocol.MaxFileBytes (50 MiB) for any other
// file, are the page's too (proto.js). On a phone, in Chinese and then in
// English, an image one byte over its limit and a file one byte over its
// limit are each refused on the page with one line in the user's language
// that names the file and the limit: no upload starts, the node stores no
// blob, nothing is sent. An image and a file of exactly their limits
// upload end to end (the node stores both) and go out in one message.
func TestUploadLimits(t *testing.T) {
	chromiumPath(t)
	art := artifactsDir(t)
	n := startNode(t)
	url := appURL(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), sceneTimeout)
	defer cancel()
	const step = sceneStep

	owner, host := nodeAdmin(t, n, url, 30*time.Second)
	name := "龙井茶庄"
	gid, _, err := owner.CreateGroup(ctx, host, protocol.Settings{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	// messages lists the group's messages, each as the attachments it
	// carries ("name mime size", comma-separated).
	messages := func() []string {
		t.Helper()
		page, err := owner.Events(ctx, gid, 1, 500)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range page.Events {
			if e.Kind != "message" {
				continue
			}
			var atts []string
			for _, a := range e.Attachments {
				atts = append(atts, fmt.Sprintf("%s %s %d", a.Name, a.MIME, a.Size))
			}
			out = append(out, strings.Join(atts, ", "))
		}
		return out
	}

	b := newBrowser(t, "limits-zh", 390, 844, "zh-CN", art)
	defer b.checkExceptions()
	b.do("opening the group", step,
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(css("#btn-import-key")),
		chromedp.SetValue(css("#key-import-text"), strings.TrimSpace(readFile(t, filepath.Join(n.dir, "admin.key")))),
		chromedp.Click(css("#btn-import-key")),
		chromedp.WaitVisible(css("#btn-new-group")),
		chromedp.Evaluate[chromedp.Void](`location.hash = "#/g/`+gid.String()+`"`),
		waitText("#group-name", name, step),
		chromedp.WaitVisible(css("#composer")),
		chromedp.WaitVisible(css("#conn.live")),
		chromedp.Evaluate[chromedp.Void](countBlobPostsJS),
	)

	// The page's limits are the node's.
	type limits struct{ Image, File int64 }
	if l := eval[limits](b, "reading the page's limits", `import("/js/proto.js").then((P) => ({ Image: P.MAX_IMAGE_BYTES, File: P.MAX_FILE_BYTES }))`); l.Image != protocol.MaxImageBytes || l.File != protocol.MaxFileBytes {
		t.Fatalf("the page's limits are %+v, the protocol's {Image:%d File:%d}", l, protocol.MaxImageBytes, protocol.MaxFileBytes)
	}

	dir := t.TempDir()
	pic := smallJPEG(t)
	bigImage := sizedFile(t, dir, "big-photo.jpg", pic, protocol.MaxImageBytes+1)
	bigFile := sizedFile(t, dir, "catalog.pdf", []byte("%PDF-1.7\n"), protocol.MaxFileBytes+1)
	blobs := filepath.Join(n.dir, "blobs")
	before := countFiles(t, blobs)

	// refused picks path on the file input and waits for the line want;
	// for a while after, no upload starts, the tray stays empty, the node
	// stores nothing and the group has no message.
	refused := func(path, want string) {
		t.Helper()
		b.do("picking "+filepath.Base(path), step,
			chromedp.SetUploadFiles(css("#attach-input"), []string{path}),
			waitText("#group-status.error", want, step),
		)
		if line := get(b, "reading the refusal", chromedp.Text(css("#group-status"))); line != want {
			t.Errorf("the refusal reads %q, want the one line %q", line, want)
		}
		holdsFor(t, 500*time.Millisecond, func() error {
			type state struct{ Posts, Tray int }
			s := eval[state](b, "reading the uploads", `({ Posts: window.__blobPosts, Tray: document.querySelector("#attach-tray").children.length })`)
			if s.Posts != 0 || s.Tray != 0 {
				return fmt.Errorf("after %s was refused: %d uploads started, %d in the tray", filepath.Base(path), s.Posts, s.Tray)
			}
			if c := countFiles(t, blobs); c != before {
				return fmt.Errorf("after %s was refused the node has %d blob files, had %d", filepath.Base(path), c, before)
			}
			return nil
		})
	}
	refused(bigImage, "「big-photo.jpg」未发送：图片最大 10 MB。")
	b.screenshot("80-limits-image-zh")
	refused(bigFile, "「catalog.pdf」未发送：文件最大 50 MB。")
	b.screenshot("81-limits-file-zh")

	// The same in English.
	b.do("switching to English", step,
		chromedp.Click(css(".topbar .lang")),
		waitText(".topbar .lang", "中文", step),
		chromedp.WaitVisible(css("#composer")),
		chromedp.WaitVisible(css("#conn.live")),
	)
	refused(bigImage, "“big-photo.jpg” was not sent: an image may have at most 10 MB.")
	refused(bigFile, "“catalog.pdf” was not sent: a file may have at most 50 MB.")
	b.screenshot("82-limits-file-en")
	b.do("sending what was left", step, chromedp.Click(css("#btn-send")))
	holdsFor(t, 300*time.Millisecond, func() error {
		if m := messages(); m != nil {
			return fmt.Errorf("after the refusals the group has messages with %+v", m)
		}
		return nil
	})

	// Exactly at the limits: both upload, the node stores both, and they
	// go out in one message.
	okImage := sizedFile(t, dir, "tea-photo.jpg", pic, protocol.MaxImageBytes)
	okFile := sizedFile(t, dir, "price-list.pdf", []byte("%PDF-1.7\n"), protocol.MaxFileBytes)
	start := time.Now()
	b.do("uploading an image and a file at their limits", 2*time.Minute,
		chromedp.SetUploadFiles(css("#attach-input"), []string{okImage, okFile}),
		waitJS(`document.querySelectorAll("#attach-tray .pending").length === 2`, step),
		waitJS(`document.querySelectorAll("#attach-tray .pending.done").length === 2`, 2*time.Minute),
	)
	t.Logf("uploading 60 MiB took %s", time.Since(start).Round(time.Millisecond))
	if s := get(b, "reading the status line", chromedp.Text(css("#group-status"))); s != "" {
		t.Errorf("uploads at the limits show %q", s)
	}
	if posts := eval[int](b, "counting the uploads", `window.__blobPosts`); posts != 2 {
		t.Errorf("%d uploads started, want 2", posts)
	}
	if c := countFiles(t, blobs); c != before+2 {
		t.Errorf("the node has %d blob files, want %d", c, before+2)
	}
	b.do("sending them", step,
		chromedp.Click(css("#btn-send")),
		waitJS(`document.querySelectorAll(".msg.mine .att-file, .msg.mine .att-image").length === 2`, step),
	)
	b.screenshot("83-limits-sent")
	want := fmt.Sprintf("tea-photo.jpg image/jpeg %d, price-list.pdf application/pdf %d", protocol.MaxImageBytes, protocol.MaxFileBytes)
	if got := messages(); len(got) != 1 || got[0] != want {
		t.Errorf("the group's messages carry %q, want one with %q", got, want)
	}
}
