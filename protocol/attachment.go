package protocol

import (
	"strings"
	"unicode/utf8"
)

// Attachment is an image or a file of a message (field 7 of the message
// body, repeated, since 1.1): the blob it refers to, the file's name and,
// for images, a small inline thumbnail shown before the blob is fetched
// (docs/PROTOCOL.md, "Attachment").
type Attachment struct {
	Blob  BlobRef // field 1 (required)
	Name  string  // field 2: the file's name, ≤ MaxFileNameBytes, no path
	Thumb []byte  // field 3: a JPEG, PNG or WebP of ≤ MaxThumbBytes; images only
}

// IsImage reports whether the attachment's blob is an image a client may
// show inline (one of ImageMIMEs).
func (a *Attachment) IsImage() bool { return imageMIME(a.Blob.MIME) }

// ImageMIMEs are the media types of images a message shows inline; every
// other media type is a file.
var ImageMIMEs = []string{"image/jpeg", "image/png", "image/webp", "image/gif"}

// IsImageMIME reports whether m is one of ImageMIMEs.
func IsImageMIME(m string) bool { return imageMIME(m) }

func imageMIME(m string) bool {
	for _, x := range ImageMIMEs {
		if m == x {
			return true
		}
	}
	return false
}

// MaxBlobBytesFor returns the largest blob of media type mime a message may
// carry: MaxImageBytes for images, MaxFileBytes for other files.
func MaxBlobBytesFor(mime string) uint64 {
	if imageMIME(mime) {
		return MaxImageBytes
	}
	return MaxFileBytes
}

func (a *Attachment) encode() []byte {
	var e encoder
	e.bytesAlways(1, a.Blob.encode())
	e.string(2, a.Name)
	e.bytes(3, a.Thumb)
	return e.b
}

func (a *Attachment) decode(data []byte) error {
	seen := false
	err := walk(data, nil, nil, func(f field) error {
		var err error
		switch f.num {
		case 1:
			if err = wantBytes(f); err == nil {
				seen = true
				err = a.Blob.decode(f.b)
			}
		case 2:
			if err = wantBytes(f); err == nil {
				a.Name = string(f.b)
				err = checkFileName(a.Name)
			}
		case 3:
			if err = wantBytes(f); err == nil {
				a.Thumb = f.b
				err = checkThumb(a.Thumb)
			}
		default:
			err = unknownField(f)
		}
		return err
	})
	if err != nil {
		return err
	}
	switch {
	case !seen:
		return invalid("an attachment needs its blob reference")
	case a.Blob.Size > MaxBlobBytesFor(a.Blob.MIME):
		return invalid("an attachment of type %s may have at most %d bytes, not %d", a.Blob.MIME, MaxBlobBytesFor(a.Blob.MIME), a.Blob.Size)
	case a.Thumb != nil && !a.IsImage():
		return invalid("only an image attachment has a thumbnail")
	}
	return nil
}

// checkFileName: valid UTF-8 of 1..MaxFileNameBytes bytes, no control
// character, no "/" or "\", not "." or "..".
func checkFileName(s string) error {
	switch {
	case s == "" || len(s) > MaxFileNameBytes:
		return invalid("a file name has 1 to %d bytes", MaxFileNameBytes)
	case !utf8.ValidString(s):
		return invalid("a file name must be valid UTF-8")
	case s == "." || s == "..", strings.ContainsAny(s, `/\`):
		return invalid("a file name is a name, not a path")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return invalid("a file name has no control characters")
		}
	}
	return nil
}

// checkThumb: ≤ MaxThumbBytes, a JPEG, PNG or WebP by its first bytes.
func checkThumb(b []byte) error {
	if len(b) == 0 || len(b) > MaxThumbBytes {
		return invalid("a thumbnail has 1 to %d bytes", MaxThumbBytes)
	}
	if thumbType(b) == "" {
		return invalid("a thumbnail is a JPEG, PNG or WebP image")
	}
	return nil
}

// thumbType returns the media type of a thumbnail by its magic bytes, or "".
func thumbType(b []byte) string {
	switch {
	case len(b) >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff:
		return "image/jpeg"
	case len(b) >= 8 && string(b[:8]) == "\x89PNG\r\n\x1a\n":
		return "image/png"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "image/webp"
	}
	return ""
}
