package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// needZbar returns zbarimg, or skips the test (fails it under QUN_CI=1).
func needZbar(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("zbarimg")
	if err != nil {
		msg := "zbarimg is not installed (on Debian: apt-get install -y zbar-tools); the invite QR download test decodes the files with it"
		if os.Getenv("QUN_CI") == "1" {
			t.Fatal(msg + " and QUN_CI=1 makes its absence a failure")
		}
		t.Skip(msg)
	}
	return path
}

// zbarRead decodes the QR code in the image file path.
func zbarRead(t *testing.T, zbar, path string) string {
	t.Helper()
	out, err := exec.Command(zbar, "-q", "--raw", "-Sbinary", path).Output()
	if err != nil {
		t.Fatalf("zbarimg cannot read %s: %v", filepath.Base(path), err)
	}
	return strings.TrimSuffix(string(out), "\n")
}

// waitFile waits for the download of name into dir to end and returns its
// bytes.
func waitFile(t *testing.T, dir, name string, timeout time.Duration) []byte {
	t.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(50 * time.Millisecond) // poll interval of a bounded wait
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil && len(b) > 0 {
			if partial, _ := filepath.Glob(filepath.Join(dir, "*.crdownload")); len(partial) == 0 {
				return b
			}
		}
		select {
		case <-tick.C:
		case <-deadline:
			entries, _ := os.ReadDir(dir)
			var have []string
			for _, e := range entries {
				have = append(have, e.Name())
			}
			t.Fatalf("waiting %s for the download %s; the folder has %q", timeout, name, have)
		}
	}
}

// svgPath is one run of dark modules of the SVG: M{x} {y}h{run}v1h-{run}z.
var svgPath = regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`)

// TestInviteQRDownloads: on the group's host the invite panel (in Chinese)
// offers the short link's QR code as an SVG and as a PNG for print, named
// after the group. The SVG is a crisp vector with a quiet zone of four, a
// code of version 3 at most, and reads back (drawn by the browser) as the
// short link; the PNG is at least 30 mm at 600 dpi (708 px) with a whole
// number of pixels per module, says 600 dpi, and reads back as the short
// link. The panel shows the text code "群口令 HANDLE @ HOST"; pasted in the
// join box of another node, it opens the invite's preview there (as does
// the short link itself), and a code no invite has is one clear line.
func TestInviteQRDownloads(t *testing.T) {
	chromiumPath(t)
	zbar := needZbar(t)
	art := artifactsDir(t)
	a, b := startNode(t), startNode(t)
	urlA, urlB := appURL(t, a), appURL(t, b)
	owner := newBrowser(t, "owner", 1100, 900, "zh-CN", art)
	guest := newBrowser(t, "guest", 390, 800, "en-US", art)
	defer owner.checkExceptions()
	defer guest.checkExceptions()
	const step = 20 * time.Second
	const group = "茶馆 Tea/Shop"
	adminOpensGroup(t, owner, urlA, a, group, "invite")

	downloads := t.TempDir()
	owner.do("creating an invite and downloading its QR code", step,
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
				Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads,
			})
			return err
		}),
		chromedp.Click(css("#btn-manage")),
		chromedp.WaitVisible(css("#tab-invites")),
		chromedp.Click(css("#tab-invites")),
		chromedp.WaitVisible(css("#btn-invite")),
		chromedp.Click(css("#btn-invite")),
		chromedp.WaitVisible(css("#invite-code")),
		waitText("#btn-qr-print", "打印 PNG", step),
		tap("#btn-qr-svg"),
	)
	// Read in one evaluation: the panel is rebuilt (with the same link)
	// when the invite's event arrives, which may be at any moment here.
	short := eval[string](owner, "reading the short link", `document.querySelector("#invite-link").value`)
	m := regexp.MustCompile(`^` + regexp.QuoteMeta(urlA) + `/j/([1-9A-HJ-NP-Za-km-z]{8})$`).FindStringSubmatch(short)
	if m == nil {
		t.Fatalf("the invite link %q is not a short link of %s", short, urlA)
	}
	handle := m[1]
	base := "qun-invite-茶馆-Tea_Shop"

	// The SVG: crisp, a quiet zone of four, small enough for 30 mm.
	svg := string(waitFile(t, downloads, base+".svg", step))
	vb := regexp.MustCompile(`viewBox="0 0 (\d+) (\d+)"`).FindStringSubmatch(svg)
	if vb == nil || vb[1] != vb[2] || !strings.Contains(svg, `shape-rendering="crispEdges"`) || !strings.HasPrefix(svg, "<?xml") {
		t.Fatalf("the SVG is not a square crisp vector image:\n%s", svg)
	}
	n, _ := strconv.Atoi(vb[1]) // modules with the quiet zone
	size := n - 8
	if version := (size - 17) / 4; (size-17)%4 != 0 || version < 1 || version > 3 {
		t.Errorf("the short link's QR code is %d modules wide (version %d); want version 1 to 3 for 30 mm", size, version)
	}
	runs := svgPath.FindAllStringSubmatch(svg, -1)
	if len(runs) == 0 {
		t.Fatalf("the SVG has no dark modules:\n%s", svg)
	}
	minX, minY, maxX, maxY := n, n, 0, 0
	for _, r := range runs {
		x, _ := strconv.Atoi(r[1])
		y, _ := strconv.Atoi(r[2])
		w, _ := strconv.Atoi(r[3])
		minX, minY, maxX, maxY = min(minX, x), min(minY, y), max(maxX, x+w), max(maxY, y+1)
	}
	if minX != 4 || minY != 4 || maxX != n-4 || maxY != n-4 {
		t.Errorf("the dark modules span [%d,%d)×[%d,%d) of %d: want a quiet zone of 4", minX, maxX, minY, maxY, n)
	}
	// zbarimg reads no SVG: the browser draws it, 10 px a module.
	drawn := eval[string](owner, "drawing the SVG", `(async () => {
  const img = new Image();
  img.src = "data:image/svg+xml;base64,`+base64.StdEncoding.EncodeToString([]byte(svg))+`";
  await img.decode();
  const c = document.createElement("canvas");
  c.width = c.height = `+strconv.Itoa(n*10)+`;
  const g = c.getContext("2d");
  g.drawImage(img, 0, 0, c.width, c.height);
  return c.toDataURL("image/png");
})()`)
	svgPNG, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(drawn, "data:image/png;base64,"))
	if err != nil {
		t.Fatal(err)
	}
	scratch := t.TempDir()
	if err := os.WriteFile(filepath.Join(scratch, "svg.png"), svgPNG, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := zbarRead(t, zbar, filepath.Join(scratch, "svg.png")); got != short {
		t.Errorf("the SVG reads %q, want the short link %q", got, short)
	}

	// The print PNG: ≥ 30 mm at 600 dpi, whole modules, 600 dpi inside.
	owner.do("downloading the print PNG", step, tap("#btn-qr-print"))
	pngName := base + "-30mm.png"
	pngBytes := waitFile(t, downloads, pngName, step)
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatalf("the print PNG does not decode: %v", err)
	}
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	if w != h || w < 708 {
		t.Errorf("the print PNG is %d×%d px; want a square of at least 708 px (30 mm at 600 dpi)", w, h)
	}
	if w%n != 0 {
		t.Fatalf("the print PNG is %d px for %d modules: not a whole number of pixels per module", w, n)
	}
	px := w / n
	if err := wholeModules(img, n, px); err != nil {
		t.Errorf("the print PNG (%d px a module): %v", px, err)
	}
	if dpi := pngDPI(pngBytes); dpi < 599.5 || dpi > 600.5 {
		t.Errorf("the print PNG says %.1f dpi, want 600", dpi)
	}
	if got := zbarRead(t, zbar, filepath.Join(downloads, pngName)); got != short {
		t.Errorf("the print PNG reads %q, want the short link %q", got, short)
	}
	owner.screenshot("qr-downloads-owner-invite")

	// The text code, pasted on another node.
	code := get(owner, "reading the text code", chromedp.Value(css("#invite-code")))
	hostA := strings.TrimPrefix(urlA, "http://")
	if code != "群口令 "+handle+" @ "+hostA {
		t.Fatalf("the text code is %q, want %q", code, "群口令 "+handle+" @ "+hostA)
	}
	guest.do("pasting the text code on node B", step,
		chromedp.Navigate(urlB+"/"),
		chromedp.WaitVisible(css("#btn-new-key")),
		chromedp.Click(css("#btn-new-key")),
		chromedp.WaitVisible(css("#join-link")),
		chromedp.SetValue(css("#join-link"), "  Join my shop: "+code+"  "),
		chromedp.Click(css("#btn-open-link")),
		waitText("#preview-name", group, step),
		chromedp.WaitVisible(css("#btn-join")),
	)
	if origin := eval[string](guest, "reading the page's origin", `location.origin`); origin != urlB {
		t.Errorf("the preview is on %s, want the guest's node %s", origin, urlB)
	}
	guest.screenshot("qr-downloads-guest-preview")
	guest.do("pasting the short link and an unknown code", step,
		chromedp.Navigate(urlB+"/"),
		chromedp.WaitVisible(css("#join-link")),
		chromedp.SetValue(css("#join-link"), short),
		chromedp.Click(css("#btn-open-link")),
		waitText("#preview-name", group, step),
		chromedp.Navigate(urlB+"/"),
		chromedp.WaitVisible(css("#join-link")),
		chromedp.SetValue(css("#join-link"), "Qun code 11111111 @ "+hostA),
		chromedp.Click(css("#btn-open-link")),
		waitText("#join-link-status", hostA+" has no invite with this code", step),
	)
}

// wholeModules checks that img is a QR code of n×n modules of px pixels:
// every module one colour, black or white, and the quiet zone of four white.
func wholeModules(img image.Image, n, px int) error {
	b := img.Bounds()
	for my := 0; my < n; my++ {
		for mx := 0; mx < n; mx++ {
			first := gray(img, b.Min.X+mx*px, b.Min.Y+my*px)
			if first != 0 && first != 255 {
				return fmt.Errorf("module (%d,%d) is grey (%d)", mx, my, first)
			}
			if (mx < 4 || my < 4 || mx >= n-4 || my >= n-4) && first != 255 {
				return fmt.Errorf("module (%d,%d) of the quiet zone is dark", mx, my)
			}
			for y := 0; y < px; y++ {
				for x := 0; x < px; x++ {
					if g := gray(img, b.Min.X+mx*px+x, b.Min.Y+my*px+y); g != first {
						return fmt.Errorf("module (%d,%d) is not one colour at pixel (%d,%d)", mx, my, x, y)
					}
				}
			}
		}
	}
	return nil
}

func gray(img image.Image, x, y int) uint8 {
	r, g, bl, _ := img.At(x, y).RGBA()
	return uint8((r + g + bl) / 3 >> 8)
}

// pngDPI returns the resolution a PNG's pHYs chunk says (0 without one).
func pngDPI(p []byte) float64 {
	for i := 8; i+8 <= len(p); {
		l := int(binary.BigEndian.Uint32(p[i:]))
		if i+12+l > len(p) {
			break
		}
		if string(p[i+4:i+8]) == "pHYs" && l == 9 && p[i+16] == 1 {
			return float64(binary.BigEndian.Uint32(p[i+8:])) * 0.0254
		}
		i += 12 + l
	}
	return 0
}
