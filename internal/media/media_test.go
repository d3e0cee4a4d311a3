package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

func picture(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, x%h, color.RGBA{R: 200, A: 255})
	}
	return img
}

// jpegWithEXIF is a real JPEG with an EXIF segment holding a GPS position,
// as phones write them.
func jpegWithEXIF(t *testing.T) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, picture(64, 48), nil); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	exif := []byte("Exif\x00\x00GPS 31.2304N 121.4737E iPhone")
	seg := []byte{0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(exif)+2))
	return append(append(append([]byte{}, b[:2]...), append(seg, exif...)...), b[2:]...)
}

func pngWithText(t *testing.T) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, picture(30, 20)); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	text := []byte("Location\x00Shanghai, 31.23N")
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(text)))
	chunk = append(append(append(chunk, "tEXt"...), text...), 0, 0, 0, 0)
	return append(append(append([]byte{}, b[:33]...), chunk...), b[33:]...) // after IHDR
}

func TestCleanStripsMetadata(t *testing.T) {
	for _, c := range []struct {
		name, mime string
		data       []byte
		secret     string
		w, h       int
	}{
		{"jpeg", "image/jpeg", jpegWithEXIF(t), "GPS", 64, 48},
		{"png", "image/png", pngWithText(t), "Shanghai", 30, 20},
		{"jpeg declared as nothing", "", jpegWithEXIF(t), "GPS", 64, 48},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !bytes.Contains(c.data, []byte(c.secret)) {
				t.Fatal("the test image has no metadata")
			}
			r, err := Clean(c.mime, c.data)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(r.Data, []byte(c.secret)) {
				t.Fatalf("the metadata (%s) is still in the cleaned image", c.secret)
			}
			if r.Width != c.w || r.Height != c.h || r.MIME != sniff(c.data) {
				t.Fatalf("got %s %d×%d", r.MIME, r.Width, r.Height)
			}
			if _, _, err := image.Decode(bytes.NewReader(r.Data)); err != nil {
				t.Fatalf("the cleaned image does not decode: %v", err)
			}
		})
	}
}

func TestCleanRefusals(t *testing.T) {
	jpg := jpegWithEXIF(t)
	for _, c := range []struct {
		name, mime string
		data       []byte
	}{
		{"empty", "image/png", nil},
		{"svg", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`)},
		{"svg declared as a file", "application/octet-stream", []byte(`<?xml version="1.0"?><svg onload="alert(1)"/>`)},
		{"html", "application/pdf", []byte("<!DOCTYPE html><script>alert(1)</script>")},
		{"a jpeg declared as png", "image/png", jpg},
		{"a pdf declared as an image", "image/jpeg", []byte("%PDF-1.7 ...")},
		{"a damaged jpeg", "image/jpeg", jpg[:40]},
		{"a bad media type", "not a type", []byte("%PDF-1.7")},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Clean(c.mime, c.data); !errors.Is(err, ErrRefused) {
				t.Fatalf("got %v, want a refusal", err)
			} else {
				t.Log(err)
			}
		})
	}
}

func TestCleanKeepsFiles(t *testing.T) {
	pdf := []byte("%PDF-1.7\n receipt for order 42")
	r, err := Clean("application/pdf", pdf)
	if err != nil || !bytes.Equal(r.Data, pdf) || r.MIME != "application/pdf" {
		t.Fatalf("got %v %q %s", err, r.Data, r.MIME)
	}
}

func FuzzClean(f *testing.F) {
	f.Add("image/jpeg", []byte{0xff, 0xd8, 0xff, 0xe1, 0, 2, 0xff, 0xda})
	f.Add("image/png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x00tEXt\x00\x00\x00\x00"))
	f.Add("image/webp", []byte("RIFF\x10\x00\x00\x00WEBPVP8X\x04\x00\x00\x00\x0c\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, mime string, data []byte) {
		r, err := Clean(mime, data)
		if err == nil && (len(r.Data) == 0 || r.MIME == "") {
			t.Fatalf("accepted without data or type")
		}
	})
}

func TestThumbnail(t *testing.T) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, picture(1024, 768)); err != nil {
		t.Fatal(err)
	}
	th, err := Thumbnail(buf.Bytes(), 8<<10)
	if err != nil {
		t.Fatal(err)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(th))
	if err != nil || format != "jpeg" || cfg.Width != ThumbSide || cfg.Height != 120 || len(th) > 8<<10 {
		t.Fatalf("thumbnail %s %d×%d, %d bytes, %v", format, cfg.Width, cfg.Height, len(th), err)
	}
}
