package protocol

import (
	"crypto/sha256"
	"strings"
)

// BlobRef refers to a blob: an image or a file stored by nodes outside the
// log, content-addressed by its SHA-256 (docs/PROTOCOL.md, "BlobRef"). It is
// an embedded message of the bodies that carry blobs: the avatar of a
// profile since 1.1, and later the images and files of messages. Its own
// rules hold wherever it appears; each use adds its own (the media types and
// the size a profile avatar may have, for example).
type BlobRef struct {
	Hash   Hash   // field 1: SHA-256 of the blob's bytes (required)
	MIME   string // field 2: media type such as "image/png", lower case, no parameters (required)
	Size   uint64 // field 3: the blob's size in bytes, ≥ 1 (required)
	Width  uint32 // field 4: pixels, for images (and videos); with Height
	Height uint32 // field 5: pixels; with Width
}

// NewBlobRef returns the reference of data with media type mime (without
// width and height). It does not check the media type: Body checks do.
func NewBlobRef(mime string, data []byte) *BlobRef {
	return &BlobRef{Hash: sha256.Sum256(data), MIME: mime, Size: uint64(len(data))}
}

// Verify checks that data is the blob r refers to: its size and its hash.
// A node verifies a blob before it stores or serves it.
func (r *BlobRef) Verify(data []byte) error {
	if uint64(len(data)) != r.Size {
		return invalid("the blob has %d bytes; its reference says %d", len(data), r.Size)
	}
	if Hash(sha256.Sum256(data)) != r.Hash {
		return invalid("the blob's SHA-256 is not the hash of its reference")
	}
	return nil
}

func (r *BlobRef) encode() []byte {
	var e encoder
	e.key(1, r.Hash)
	e.string(2, r.MIME)
	e.varint(3, r.Size)
	e.varint(4, uint64(r.Width))
	e.varint(5, uint64(r.Height))
	return e.b
}

func (r *BlobRef) decode(data []byte) error {
	err := walk(data, nil, nil, func(f field) error {
		var err error
		switch f.num {
		case 1:
			err = bytes32(f, (*[32]byte)(&r.Hash))
		case 2:
			if err = wantBytes(f); err == nil {
				r.MIME = string(f.b)
				err = checkMIME(r.MIME)
			}
		case 3:
			r.Size = f.u
			err = wantVarint(f)
		case 4:
			r.Width, err = blobSide(f, "width")
		case 5:
			r.Height, err = blobSide(f, "height")
		default:
			err = unknownField(f)
		}
		return err
	})
	if err != nil {
		return err
	}
	switch {
	case r.Hash == (Hash{}):
		return invalid("a blob reference needs the blob's SHA-256")
	case r.MIME == "":
		return invalid("a blob reference needs a media type")
	case r.Size == 0:
		return invalid("a blob reference needs the blob's size")
	case (r.Width == 0) != (r.Height == 0):
		return invalid("a blob reference has a width and a height, or neither")
	}
	return nil
}

func blobSide(f field, what string) (uint32, error) {
	v, err := u32(f)
	if err == nil && v > MaxBlobSide {
		err = invalid("a blob's %s of %d pixels exceeds the limit of %d", what, v, MaxBlobSide)
	}
	return v, err
}

// checkMIME checks a media type: type "/" subtype, each a restricted name of
// RFC 6838 in lower case (a letter or digit, then letters, digits and
// ! # $ & - ^ _ . +), at most MaxMIMEBytes in all, no parameters.
func checkMIME(s string) error {
	typ, sub, ok := strings.Cut(s, "/")
	if !ok || len(s) > MaxMIMEBytes || !mimeName(typ) || !mimeName(sub) {
		return invalid("media type %q is not of the form type/subtype in lower case (such as image/png), at most %d characters", s, MaxMIMEBytes)
	}
	return nil
}

func mimeName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case i > 0 && (c == '!' || c == '#' || c == '$' || c == '&' || c == '-' || c == '^' || c == '_' || c == '.' || c == '+'):
		default:
			return false
		}
	}
	return true
}
