package web_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/qunchat/qun/protocol"
)

// phonePhoto is a JPEG as a phone takes it: 640×480 with an EXIF segment
// that says where it was taken.
func phonePhoto(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for y := range 480 {
		for x := range 640 {
			img.Set(x, y, color.RGBA{R: uint8(x / 3), G: 140, B: uint8(y / 2), A: 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	exif := []byte("Exif\x00\x00GPS 31.2304N 121.4737E Hangzhou tea farm")
	seg := binary.BigEndian.AppendUint16([]byte{0xff, 0xe1}, uint16(len(exif)+2))
	b := buf.Bytes()
	return append(append(append([]byte{}, b[:2]...), append(seg, exif...)...), b[2:]...)
}

// screenshotPNG is a small PNG, as a screenshot pasted from the clipboard.
func screenshotPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 300, 500))
	for y := range 500 {
		for x := range 300 {
			img.Set(x, y, color.RGBA{R: 200, G: uint8(y / 2), B: uint8(x), A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// fetchBytes fetches url in the page (with its session) and returns the
// bytes.
func fetchBytes(b *browser, what, urlJS string) []byte {
	b.t.Helper()
	s := eval[string](b, what, `(async () => {
  const r = await fetch(`+urlJS+`);
  if (!r.ok) throw new Error("HTTP " + r.status);
  const C = await import("/js/codec.js");
  return C.toBase64(new Uint8Array(await r.arrayBuffer()));
})()`)
	data, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return data
}

// fileEventJS dispatches a paste (on the composer) or a drop (on the
// chat) of one file of the given bytes, as a browser does for a pasted
// screenshot or a file dragged in.
func fileEventJS(kind, name, mime string, data []byte) string {
	target, ev := `document.querySelector(".chat")`, `new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true })`
	if kind == "paste" {
		target, ev = `document.querySelector("#composer")`, `new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true })`
	}
	return `(async () => {
  const C = await import("/js/codec.js");
  const dt = new DataTransfer();
  dt.items.add(new File([C.fromBase64(` + jsString(base64.StdEncoding.EncodeToString(data)) + `)], ` + jsString(name) + `, { type: ` + jsString(mime) + ` }));
  ` + target + `.dispatchEvent(` + ev + `);
})()`
}

// throttleUploads slows the page's uploads (POST /api/v1/blobs) down to
// 150 kB/s, or lets them run again.
func throttleUploads(on bool) chromedp.Action[chromedp.Void] { return throttleUploadsAt(on, 150_000) }

// throttleUploadsAt slows the page's uploads down to bps bytes a second,
// or lets them run again.
func throttleUploadsAt(on bool, bps float64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		p := network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: []*network.Conditions{}}
		if on {
			p.MatchedNetworkConditions = append(p.MatchedNetworkConditions, &network.Conditions{
				URLPattern: "*://*:*/api/v1/blobs*", Latency: 20, DownloadThroughput: -1, UploadThroughput: bps,
			})
		}
		_, err := cdp.Call(ctx, tg, network.EmulateNetworkConditionsByRule, p)
		return err
	})
}

// TestAttachments: images and files between two nodes and two phone
// browsers (issue 8). The shop (node A, the host, Chinese) tries an SVG,
// which its node refuses with a readable line, and nothing is sent; it
// picks a phone photo (with GPS in its EXIF) through the file input and
// pastes a screenshot, and sends both in one message with text. The buyer
// (node B, English) sees both thumbnails within a second of the send, then
// the full images; opens one full size and closes it with Esc; the full
// image its node serves has no EXIF left. The buyer drops a PDF onto the
// chat and sends it alone: the shop downloads it byte for byte. An upload
// is slowed down to show its progress and is canceled: nothing of it is
// sent. A product card and links in the text are shown, safely.
func TestAttachments(t *testing.T) {
	sc := shopScene(t, "龙井茶庄")
	shop, buyer, owner, gid, ctx := sc.shop, sc.buyer, sc.owner, sc.gid, sc.ctx
	const step = sceneStep
	sc.openShop()
	sc.join()
	shop.do("seeing the buyer join", step, waitText("#messages", "加入了群", step))

	// The attach button is a tap target of at least 44 px.
	if ok := eval[bool](shop, "measuring the attach button", `(() => { const r = document.querySelector("#btn-attach").getBoundingClientRect(); return r.width >= 44 && r.height >= 44; })()`); !ok {
		t.Error("the attach button is smaller than 44×44 px")
	}

	messages := func() int {
		page, err := owner.Events(ctx, gid, 1, 500)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range page.Events {
			if e.Kind == "message" {
				n++
			}
		}
		return n
	}

	// An SVG is refused by the shop's node: one readable line, nothing sent.
	svg := writeTemp(t, "logo.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`))
	shop.do("uploading an SVG", step,
		chromedp.SetUploadFiles(css("#attach-input"), []string{svg}),
		waitText("#group-status.error", "「logo.svg」未发送", step),
		waitText("#group-status.error", "image/svg+xml", step),
		waitJS(`document.querySelector("#attach-tray").children.length === 0`, step),
		chromedp.Click(css("#btn-send")),
	)
	line := get(shop, "reading the refusal", chromedp.Text(css("#group-status")))
	t.Logf("the shop sees: %s", line)
	if strings.Contains(line, "\n") || len([]rune(line)) > 160 {
		t.Errorf("the refusal is not one short line: %q", line)
	}
	shop.screenshot("60-shop-svg-refused")
	holdsFor(t, 300*time.Millisecond, func() error {
		if n := messages(); n != 0 {
			return fmt.Errorf("after the refused SVG the group has %d messages, want 0", n)
		}
		return nil
	})

	// A photo picked through the file input, a screenshot pasted.
	photo := phonePhoto(t)
	if !bytes.Contains(photo, []byte("Exif")) {
		t.Fatal("the test photo has no EXIF")
	}
	shot := screenshotPNG(t)
	shop.do("picking and pasting images", step,
		chromedp.SetUploadFiles(css("#attach-input"), []string{writeTemp(t, "IMG_2024.jpg", photo)}),
		waitJS(`document.querySelectorAll("#attach-tray .pending.done").length === 1`, step),
		chromedp.Evaluate[chromedp.Void](fileEventJS("paste", "image.png", "image/png", shot), chromedp.EvalAwaitPromise),
		waitJS(`document.querySelectorAll("#attach-tray .pending.done").length === 2`, step),
		chromedp.SendKeys(css("#composer"), "新茶到了"),
	)
	shop.screenshot("61-shop-two-images-ready")
	sent := time.Now()
	shop.do("sending the images", step,
		chromedp.Click(css("#btn-send")),
		waitJS(`document.querySelectorAll(".msg.mine .att-image").length === 2`, step),
		waitJS(`document.querySelector("#attach-tray").hidden`, step),
	)

	// The buyer sees the thumbnails at once, then the full images.
	buyer.do("seeing the thumbnails", 10*time.Second,
		waitJS(`document.querySelectorAll('.msg .att-image img.thumb[src^="data:image/jpeg;base64,"]').length === 2`, 10*time.Second),
	)
	if d := time.Since(sent); d > time.Second {
		t.Errorf("the buyer saw the thumbnails %s after the send, want within 1 s", d.Round(time.Millisecond))
	} else {
		t.Logf("the buyer saw the thumbnails %s after the send", d.Round(time.Millisecond))
	}
	buyer.screenshot("62-buyer-thumbnails")
	buyer.do("loading the full images", step,
		waitText(".msg .text", "新茶到了", step),
		waitJS(`document.querySelectorAll(".msg .att-image.loaded").length === 2`, step),
	)
	// Sized by the stated width and height: the photo is 4:3.
	ratio := eval[float64](buyer, "measuring the photo", `(() => { const r = document.querySelector(".msg .att-image").getBoundingClientRect(); return r.width / r.height; })()`)
	if ratio < 1.25 || ratio > 1.42 {
		t.Errorf("the photo shows with a ratio of %.2f, want 4:3", ratio)
	}
	buyer.screenshot("63-buyer-full-images")
	buyer.do("opening the photo", step,
		chromedp.Click(css(".msg .att-image")),
		chromedp.WaitVisible(css("#image-viewer")),
		waitJS(`document.querySelector("#viewer-image").complete && document.querySelector("#viewer-image").naturalWidth === 640`, step),
	)
	buyer.screenshot("64-buyer-photo-full-size")
	buyer.do("closing the photo", step,
		chromedp.KeyEvent("\x1b"),
		chromedp.WaitNotPresent(css("#image-viewer")),
	)
	// The full image as the buyer's node serves it: the photo, without EXIF.
	hash := get(buyer, "reading the hash", chromedp.AttributeValue(css(".msg .att-image"), "data-hash")).Value
	full := fetchBytes(buyer, "downloading the photo", `document.querySelector('.msg .att-image[data-hash="`+hash+`"] img.full').src`)
	if sum := sha256.Sum256(full); hex.EncodeToString(sum[:]) != hash {
		t.Errorf("the photo's bytes do not match its hash")
	}
	if bytes.Contains(full, []byte("Exif")) || bytes.Contains(full, []byte("GPS")) || bytes.Contains(full, []byte("Hangzhou")) {
		t.Error("the photo the buyer downloads still has its EXIF (location)")
	}
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(full)); err != nil || cfg.Width != 640 || cfg.Height != 480 {
		t.Errorf("the downloaded photo: %v, %dx%d", err, cfg.Width, cfg.Height)
	}

	// The buyer drops a PDF on the chat and sends it alone.
	pdf := append([]byte("%PDF-1.4\n% invoice of order 1001\n"), make([]byte, 40_000)...)
	rand.Read(pdf[40:])
	buyer.do("dropping a PDF", step,
		chromedp.Evaluate[chromedp.Void](fileEventJS("drop", "invoice 1001.pdf", "application/pdf", pdf), chromedp.EvalAwaitPromise),
		waitJS(`document.querySelectorAll("#attach-tray .pending.done").length === 1`, step),
	)
	buyer.screenshot("65-buyer-pdf-ready")
	buyer.do("sending the PDF", step,
		chromedp.Click(css("#btn-send")),
		waitText(".msg.mine .att-file .file-name", "invoice 1001.pdf", step),
	)
	shop.do("seeing the PDF", step,
		waitText(".msg .att-file .file-name", "invoice 1001.pdf", step),
		waitText(".msg .att-file .file-size", "39 KB", step),
	)
	shop.screenshot("66-shop-sees-pdf")
	href := get(shop, "reading the download link", chromedp.AttributeValue(css(".msg .att-file a.download"), "href")).Value
	if !strings.Contains(href, "&name=invoice%201001.pdf") {
		t.Errorf("the download link %q does not name the file", href)
	}
	if got := fetchBytes(shop, "downloading the PDF", `document.querySelector(".msg .att-file a.download").href`); !bytes.Equal(got, pdf) {
		t.Errorf("the shop downloads %d bytes, not the buyer's PDF of %d", len(got), len(pdf))
	}

	// A slow upload shows its progress and is canceled: nothing is sent.
	big := make([]byte, 3<<20)
	rand.Read(big)
	before := messages()
	shop.do("uploading slowly", step,
		throttleUploads(true),
		chromedp.SetUploadFiles(css("#attach-input"), []string{writeTemp(t, "catalog.zip", big)}),
		waitJS(`(() => { const p = document.querySelector("#attach-tray .pending .pct"); return p && parseInt(p.textContent) >= 1; })()`, step),
	)
	shop.screenshot("67-shop-upload-progress")
	shop.do("canceling the upload", step,
		chromedp.Click(css("#attach-tray .cancel-upload")),
		waitJS(`document.querySelector("#attach-tray").hidden`, step),
		throttleUploads(false),
		chromedp.SendKeys(css("#composer"), "文件不发了"),
		chromedp.Click(css("#btn-send")),
		waitText(".msg.mine:last-child .text", "文件不发了", step),
	)
	if n := messages(); n != before+1 {
		t.Errorf("%d messages after the canceled upload and a text, want %d", n, before+1)
	}
	if get(shop, "looking at the last message", chromedp.Evaluate[bool](`!!document.querySelector(".msg.mine:last-child .attachments")`)) {
		t.Error("the message after a canceled upload carries an attachment")
	}

	// A product card with its picture (uploaded to the shop's node and
	// attached: the page loads no image from other origins) and links:
	// only http and https, opened safely.
	pic, err := owner.Upload(ctx, "image/jpeg", "longjing.jpg", phonePhoto(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := owner.SendProduct(ctx, gid, "详情见 https://shop.example/longjing?id=1。别点 javascript:alert(1)",
		protocol.Product{ID: "LJ-250", Title: "西湖龙井 250g", Price: "19.90", Currency: "CNY", URL: "https://shop.example/p/lj"}, pic); err != nil {
		t.Fatal(err)
	}
	card := `.msg a.product[href="https://shop.example/p/lj"][target="_blank"][rel="noopener noreferrer"]`
	buyer.do("seeing the product", step,
		chromedp.WaitVisible(css(card)),
		waitText(card+" .product-title", "西湖龙井 250g", step),
		waitText(card+" .product-price", "¥19.90", step),
		chromedp.WaitVisible(css(`.msg .text a[href="https://shop.example/longjing?id=1"][rel="noopener noreferrer"][target="_blank"]`)),
		waitJS(`(() => { const i = document.querySelector(`+"`"+card+` img.product-image.loaded`+"`"+`);
			return !!i && i.naturalWidth === 640 && i.src.includes("/blobs/`+fmt.Sprintf("%x", pic.Blob.Hash[:])+`"); })()`, step),
	)
	if n := eval[int](buyer, "counting the card's picture outside the card", `document.querySelector(`+"`"+card+"`"+`).closest(".msg").querySelectorAll(".att-image").length`); n != 0 {
		t.Errorf("the product's picture is shown %d more times under the card", n)
	}
	if n := eval[int](buyer, "counting unsafe links", `document.querySelectorAll('a[href^="javascript"], a[href^="data"]').length`); n != 0 {
		t.Errorf("%d javascript: or data: links on the page", n)
	}
	buyer.screenshot("68-buyer-product-card")
	if txt := get(buyer, "reading the chat", chromedp.Text(css("#messages"))); strings.Contains(txt, "logo.svg") || strings.Contains(txt, "catalog.zip") {
		t.Errorf("a refused or canceled file reached the buyer: %q", txt)
	}

	// Recalling asks once, in a dialog of the page: canceled, nothing
	// happens; confirmed, the file goes from both pages.
	pdfMsg := `.msg.mine:has(.att-file)`
	buyer.do("asking before the recall", step,
		chromedp.Click(css(pdfMsg+" .act-recall")),
		chromedp.WaitVisible(css("#confirm-dialog #btn-confirm-ok")),
		waitText("#confirm-text", "Recall this message?", step),
	)
	buyer.screenshot("69-buyer-recall-confirm")
	buyer.do("canceling the recall", step,
		chromedp.Click(css("#btn-confirm-cancel")),
		chromedp.WaitNotPresent(css("#confirm-dialog")),
	)
	holdsFor(t, 300*time.Millisecond, func() error {
		if !get(shop, "looking for the PDF", chromedp.Evaluate[bool](`document.querySelector(".msg .att-file") !== null`)) {
			return fmt.Errorf("the cancelled recall removed the PDF from the shop's page")
		}
		return nil
	})
	buyer.do("recalling", step,
		chromedp.Click(css(pdfMsg+" .act-recall")),
		chromedp.WaitVisible(css("#btn-confirm-ok")),
		chromedp.Click(css("#btn-confirm-ok")),
		chromedp.WaitNotPresent(css(".msg .att-file")),
	)
	shop.do("seeing the recall", step,
		waitText("#messages", "消息已撤回", step),
		chromedp.WaitNotPresent(css(".msg .att-file")),
	)
}
