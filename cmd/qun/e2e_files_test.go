package main

import (
	"bytes"
	"context"
	bin "encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// phonePhoto is a JPEG with an EXIF segment naming where it was taken.
func phonePhoto(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for x := range 320 {
		img.Set(x, x%240, color.RGBA{B: 200, A: 255})
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	exif := []byte("Exif\x00\x00GPS 31.2304N 121.4737E")
	seg := bin.BigEndian.AppendUint16([]byte{0xff, 0xe1}, uint16(len(exif)+2))
	b := buf.Bytes()
	return append(append(append([]byte{}, b[:2]...), append(seg, exif...)...), b[2:]...)
}

// TestE2EFiles: with real nodes, the shop sends a photo and a buyer on
// another node a PDF with `qun send --file`; history shows both; `qun
// save` on the other side writes the PDF byte for byte and the photo
// without its location.
func TestE2EFiles(t *testing.T) {
	a, b := startProc(t, t.TempDir()), startProc(t, t.TempDir())
	admin := []string{"--api", a.api, "--key", filepath.Join(a.dir, "admin.key")}
	meiKey := filepath.Join(t.TempDir(), "mei.key")
	mei := []string{"--api", b.api, "--key", meiKey}
	must(t, qunCLI, "key", "new", "--key", meiKey)
	gid := qunJSON(t, append([]string{"group", "create", "--name", "Tea shop"}, admin...)...)["group"].(string)
	link := qunJSON(t, append([]string{"invite", "create", gid}, admin...)...)["link"].(string)
	qunJSON(t, append([]string{"join", link}, mei...)...)

	dir := t.TempDir()
	photo, pdf := filepath.Join(dir, "oolong.jpg"), filepath.Join(dir, "receipt.pdf")
	pdfBytes := []byte("%PDF-1.7\norder 42, paid 19.90 CNY\n")
	os.WriteFile(photo, phonePhoto(t), 0o644)
	os.WriteFile(pdf, pdfBytes, 0o644)
	shot := qunJSON(t, append([]string{"send", gid, "新到的乌龙", "--file", photo}, admin...)...)
	receipt := qunJSON(t, append([]string{"send", gid, "--file", pdf}, mei...)...)

	hist := must(t, qunCLI, append([]string{"history", gid}, mei...)...)
	if !strings.Contains(hist, "新到的乌龙 [image 320×240 oolong.jpg]") || !strings.Contains(hist, "[file receipt.pdf 34 B]") {
		t.Fatalf("history:\n%s", hist)
	}
	out := t.TempDir()
	must(t, qunCLI, append([]string{"save", gid, jsonNum(shot["seq"]), "--dir", out}, mei...)...)
	must(t, qunCLI, append([]string{"save", gid, jsonNum(receipt["seq"]), "--dir", out}, admin...)...)
	got, err := os.ReadFile(filepath.Join(out, "receipt.pdf"))
	if err != nil || !bytes.Equal(got, pdfBytes) {
		t.Fatalf("the saved PDF differs: %q %v", got, err)
	}
	img, err := os.ReadFile(filepath.Join(out, "oolong.jpg"))
	if err != nil || bytes.Contains(img, []byte("GPS")) {
		t.Fatalf("the saved photo: %v, still has its location: %v", err, bytes.Contains(img, []byte("GPS")))
	}
	if _, err := jpeg.Decode(bytes.NewReader(img)); err != nil {
		t.Fatalf("the saved photo does not decode: %v", err)
	}
	// A reaction and an edit, from the terminal.
	qunJSON(t, append([]string{"react", gid, jsonNum(shot["seq"]), "👍"}, mei...)...)
	typo := qunJSON(t, append([]string{"send", gid, "乌龙茶 19.9 元"}, admin...)...)
	qunJSON(t, append([]string{"edit", gid, jsonNum(typo["seq"]), "乌龙茶 29.9 元"}, admin...)...)
	_, errs, code := qunCLI(t, append([]string{"edit", gid, jsonNum(typo["seq"]), "改价"}, mei...)...)
	if code != 1 || !strings.Contains(errs, "only the author") {
		t.Fatalf("editing another's message: exit %d %q", code, errs)
	}
	// Mei's node gets the edit from the host a moment later.
	wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	waitFor(t, wctx, "the edit to reach the member's node", func() bool {
		hist = must(t, qunCLI, append([]string{"history", gid}, mei...)...)
		return strings.Contains(hist, "(edited)")
	})
	for _, want := range []string{"reacted 👍 to #" + jsonNum(shot["seq"]), "乌龙茶 29.9 元 (edited)", "edited #" + jsonNum(typo["seq"])} {
		if !strings.Contains(hist, want) {
			t.Fatalf("history lacks %q:\n%s", want, hist)
		}
	}
	_, errs, code = qunCLI(t, append([]string{"send", gid, "--file", filepath.Join(dir, "missing.png")}, mei...)...)
	if code != 1 || !strings.Contains(errs, "missing.png") {
		t.Fatalf("a missing file: exit %d %q", code, errs)
	}
}
