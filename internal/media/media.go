package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // image.DecodeConfig for GIF
	"image/jpeg"
	_ "image/png" // and PNG
	"net/http"
	"strings"

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp" // image.DecodeConfig for WebP
)

// ErrRefused is wrapped by every refusal of Clean: the reason is in the
// message, in words for the person who uploaded.
var ErrRefused = errors.New("media: refused")

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrRefused}, args...)...)
}

// Images are the image types Clean knows; they are shown inline.
var Images = []string{"image/jpeg", "image/png", "image/webp", "image/gif"}

// refusedTypes are media types a browser would run or render as a page.
var refusedTypes = []string{"text/html", "image/svg+xml", "application/xhtml+xml", "text/javascript", "application/javascript", "application/x-javascript", "text/xml", "application/xml"}

// Result is a cleaned upload.
type Result struct {
	Data          []byte // the bytes to store (metadata removed from images)
	MIME          string // the media type, from the bytes for images
	Width, Height int    // images only
}

// Clean checks an upload declared as mime (what the client said; may be
// empty) and returns what to store. An image's type is taken from its
// bytes and must agree with a declared image type; its metadata is
// removed and its dimensions read. Anything else is a file, kept byte for
// byte, unless its declared or sniffed type is one a browser would run.
func Clean(mime string, data []byte) (Result, error) {
	mime = strings.ToLower(strings.TrimSpace(strings.Split(mime, ";")[0]))
	if len(data) == 0 {
		return Result{}, refuse("the file is empty")
	}
	sniffed := sniff(data)
	for _, t := range refusedTypes {
		if mime == t || sniffed == t {
			return Result{}, refuse("files of type %s are not accepted: a browser would run them", t)
		}
	}
	if isImage(sniffed) {
		if mime != "" && mime != sniffed && mime != "application/octet-stream" {
			return Result{}, refuse("the file is an image of type %s, not %s", sniffed, mime)
		}
		return cleanImage(sniffed, data)
	}
	if isImage(mime) {
		return Result{}, refuse("the file is not an image of type %s", mime)
	}
	if mime == "" {
		mime = "application/octet-stream"
	}
	if !validMIME(mime) {
		return Result{}, refuse("%q is not a media type", mime)
	}
	return Result{Data: data, MIME: mime}, nil
}

func isImage(m string) bool {
	for _, t := range Images {
		if m == t {
			return true
		}
	}
	return false
}

// sniff returns the media type of data by its first bytes.
func sniff(data []byte) string {
	switch {
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return "image/webp"
	}
	t := http.DetectContentType(data)
	t = strings.Split(t, ";")[0]
	if t == "text/xml" && bytes.Contains(bytes.ToLower(data[:min(len(data), 1024)]), []byte("<svg")) {
		return "image/svg+xml"
	}
	return t
}

// validMIME: lower-case type/subtype of the protocol's grammar.
func validMIME(m string) bool {
	typ, sub, ok := strings.Cut(m, "/")
	if !ok || len(m) > 127 {
		return false
	}
	name := func(s string) bool {
		if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= '0' && s[0] <= '9') {
			return false
		}
		for _, c := range s {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("!#$&-^_.+", c)) {
				return false
			}
		}
		return true
	}
	return name(typ) && name(sub)
}

func cleanImage(mime string, data []byte) (Result, error) {
	var clean []byte
	var err error
	switch mime {
	case "image/jpeg":
		clean, err = stripJPEG(data)
	case "image/png":
		clean, err = stripPNG(data)
	case "image/webp":
		clean, err = stripWebP(data)
	default:
		clean = data // GIF carries no camera metadata
	}
	if err != nil {
		return Result{}, err
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(clean))
	if err != nil {
		return Result{}, refuse("the %s image cannot be read: %v", mime, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > 65535 || cfg.Height > 65535 {
		return Result{}, refuse("an image of %d×%d pixels is not accepted (at most 65535 on each side)", cfg.Width, cfg.Height)
	}
	return Result{Data: clean, MIME: mime, Width: cfg.Width, Height: cfg.Height}, nil
}

// stripJPEG removes the APP1 (EXIF, XMP), APP13 (IPTC) and COM segments
// before the image data.
func stripJPEG(b []byte) ([]byte, error) {
	if len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 {
		return nil, refuse("the JPEG image is damaged")
	}
	out := []byte{0xff, 0xd8}
	i := 2
	for {
		if i+4 > len(b) || b[i] != 0xff {
			return nil, refuse("the JPEG image is damaged")
		}
		marker := b[i+1]
		if marker == 0xda { // start of scan: the rest is image data
			return append(out, b[i:]...), nil
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return nil, refuse("the JPEG image is damaged")
		}
		if marker != 0xe1 && marker != 0xed && marker != 0xfe {
			out = append(out, b[i:i+2+n]...)
		}
		i += 2 + n
	}
}

// stripPNG removes the eXIf chunk and the text chunks (tEXt, zTXt, iTXt),
// which cameras and editors fill with location and device data.
func stripPNG(b []byte) ([]byte, error) {
	const sig = "\x89PNG\r\n\x1a\n"
	if len(b) < len(sig) || string(b[:len(sig)]) != sig {
		return nil, refuse("the PNG image is damaged")
	}
	out := []byte(sig)
	for i := len(sig); i < len(b); {
		if i+12 > len(b) {
			return nil, refuse("the PNG image is damaged")
		}
		n := int(binary.BigEndian.Uint32(b[i:]))
		if n < 0 || i+12+n > len(b) {
			return nil, refuse("the PNG image is damaged")
		}
		switch string(b[i+4 : i+8]) {
		case "eXIf", "tEXt", "zTXt", "iTXt":
		default:
			out = append(out, b[i:i+12+n]...)
		}
		i += 12 + n
	}
	return out, nil
}

// stripWebP removes the EXIF and XMP chunks of an extended WebP and clears
// their flags in the VP8X header.
func stripWebP(b []byte) ([]byte, error) {
	if len(b) < 12 {
		return nil, refuse("the WebP image is damaged")
	}
	out := append([]byte(nil), b[:12]...)
	for i := 12; i < len(b); {
		if i+8 > len(b) {
			return nil, refuse("the WebP image is damaged")
		}
		n := int(binary.LittleEndian.Uint32(b[i+4:]))
		end := i + 8 + n + n%2
		if n < 0 || end > len(b) {
			return nil, refuse("the WebP image is damaged")
		}
		switch id := string(b[i : i+4]); id {
		case "EXIF", "XMP ":
		case "VP8X":
			c := append([]byte(nil), b[i:end]...)
			if len(c) > 8 {
				c[8] &^= 0x08 | 0x04 // EXIF and XMP flags
			}
			out = append(out, c...)
		default:
			out = append(out, b[i:end]...)
		}
		i = end
	}
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out, nil
}

// ThumbSide is the longest side of a thumbnail, in pixels.
const ThumbSide = 160

// Thumbnail returns a JPEG of at most maxBytes showing the image data
// (one of Images) scaled to fit ThumbSide×ThumbSide, lowering the quality
// until it fits.
func Thumbnail(data []byte, maxBytes int) ([]byte, error) {
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, refuse("the image cannot be read: %v", err)
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > ThumbSide || h > ThumbSide {
		if w >= h {
			w, h = ThumbSide, max(1, h*ThumbSide/w)
		} else {
			w, h = max(1, w*ThumbSide/h), ThumbSide
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
	for q := 70; q >= 10; q -= 15 {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: q}); err != nil {
			return nil, err
		}
		if buf.Len() <= maxBytes {
			return buf.Bytes(), nil
		}
	}
	return nil, refuse("no thumbnail of at most %d bytes could be made", maxBytes)
}
