package protocol

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// Attachments of messages: every rule at its boundary, through the body
// decoder every replica runs.
func TestAttachments(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n....")
	img := func(size uint64) Attachment {
		return Attachment{Blob: BlobRef{Hash: Hash{1}, MIME: "image/jpeg", Size: size, Width: 800, Height: 600}, Name: "tea.jpg", Thumb: png}
	}
	file := func(mime string, size uint64) Attachment {
		return Attachment{Blob: BlobRef{Hash: Hash{2}, MIME: mime, Size: size}, Name: "receipt.pdf"}
	}
	many := func(n int) []Attachment {
		out := make([]Attachment, n)
		for i := range out {
			out[i] = img(1000)
		}
		return out
	}
	with := func(f func(*Attachment)) []Attachment { a := img(1000); f(&a); return []Attachment{a} }
	cases := []struct {
		name string
		atts []Attachment
		text string
		want error
	}{
		{"an image alone", []Attachment{img(1000)}, "", nil},
		{"an image of 10 MiB", []Attachment{img(MaxImageBytes)}, "", nil},
		{"an image over 10 MiB", []Attachment{img(MaxImageBytes + 1)}, "", ErrInvalid},
		{"a file of 50 MiB", []Attachment{file("application/pdf", MaxFileBytes)}, "", nil},
		{"a file over 50 MiB", []Attachment{file("application/pdf", MaxFileBytes+1)}, "", ErrInvalid},
		{"nine attachments", many(MaxAttachments), "look", nil},
		{"ten attachments", many(MaxAttachments + 1), "look", ErrInvalid},
		{"a thumbnail on a file", with(func(a *Attachment) { a.Blob.MIME = "application/pdf" }), "", ErrInvalid},
		{"a thumbnail of 8 KiB", with(func(a *Attachment) { a.Thumb = append(png, make([]byte, MaxThumbBytes-len(png))...) }), "", nil},
		{"a thumbnail over 8 KiB", with(func(a *Attachment) { a.Thumb = append(png, make([]byte, MaxThumbBytes-len(png)+1)...) }), "", ErrInvalid},
		{"a thumbnail that is no image", with(func(a *Attachment) { a.Thumb = []byte("<svg onload=x>") }), "", ErrInvalid},
		{"a path as name", with(func(a *Attachment) { a.Name = "../etc/passwd" }), "", ErrInvalid},
		{"a name with a control character", with(func(a *Attachment) { a.Name = "a\nb.jpg" }), "", ErrInvalid},
		{"a name of 255 bytes", with(func(a *Attachment) { a.Name = strings.Repeat("n", MaxFileNameBytes) }), "", nil},
		{"a name of 256 bytes", with(func(a *Attachment) { a.Name = strings.Repeat("n", MaxFileNameBytes+1) }), "", ErrInvalid},
		{"no name", with(func(a *Attachment) { a.Name = "" }), "", nil},
		{"an upper-case media type", with(func(a *Attachment) { a.Blob.MIME = "Image/JPEG" }), "", ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := &MessageBody{Text: c.text, Attachments: c.atts}
			got, err := DecodeBody(KindMessage, b.Encode())
			if c.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				m := got.(*MessageBody)
				if len(m.Attachments) != len(c.atts) || m.Attachments[0].Blob != c.atts[0].Blob || m.Attachments[0].Name != c.atts[0].Name || !bytes.Equal(m.Attachments[0].Thumb, c.atts[0].Thumb) {
					t.Fatalf("round trip: %+v", m.Attachments)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}
