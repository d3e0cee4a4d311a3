package web_test

import (
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestBrowserMessageBody encodes message bodies (kind 19) with images and
// files (field 7, since 1.1) with the page's proto.js, from the JSON an
// upload answers, and compares every byte with the protocol package; the
// page's decoder reads them back.
func TestBrowserMessageBody(t *testing.T) {
	chromiumPath(t)
	b := openModules(t)
	defer b.checkExceptions()

	jpeg := []byte{0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4}
	photo := protocol.Attachment{Blob: *protocol.NewBlobRef("image/jpeg", []byte("a photo of tea")), Name: "tea.jpg", Thumb: jpeg}
	photo.Blob.Width, photo.Blob.Height = 640, 480
	noThumb := protocol.Attachment{Blob: *protocol.NewBlobRef("image/png", []byte("a png")), Name: "图.png"}
	noThumb.Blob.Width, noThumb.Blob.Height = 1, 65535
	pdf := protocol.Attachment{Blob: *protocol.NewBlobRef("application/pdf", []byte("%PDF-1.4 invoice")), Name: "发票 invoice.pdf"}
	nine := make([]protocol.Attachment, protocol.MaxAttachments)
	for i := range nine {
		nine[i] = photo
	}
	bodies := []protocol.MessageBody{
		{Text: "no attachment"},
		{Attachments: []protocol.Attachment{photo}},
		{Text: "看看这个", ReplyTo: 7, Attachments: []protocol.Attachment{photo, noThumb}},
		{Text: "发票", Link: "https://shop.example/o/1", Attachments: []protocol.Attachment{pdf}},
		{Attachments: nine},
	}
	type jsMsg struct {
		Text        string               `json:"text,omitempty"`
		ReplyTo     uint64               `json:"replyTo,omitempty"`
		Link        string               `json:"link,omitempty"`
		Attachments []api.AttachmentView `json:"attachments,omitempty"`
	}
	var in []jsMsg
	for _, m := range bodies {
		j := jsMsg{Text: m.Text, ReplyTo: m.ReplyTo, Link: m.Link}
		for i := range m.Attachments {
			a := &m.Attachments[i]
			j.Attachments = append(j.Attachments, api.AttachmentView{BlobRefView: *api.NewBlobRefView(&a.Blob), Name: a.Name, Thumb: a.Thumb})
		}
		in = append(in, j)
		if _, err := protocol.DecodeBody(protocol.KindMessage, m.Encode()); err != nil {
			t.Fatalf("test body %+v: %v", m, err)
		}
	}
	js, _ := json.Marshal(in)
	type out struct {
		Hex  []string
		Back []jsMsg
	}
	got := eval[out](b, "encoding messages", `(async () => {
  const P = await import("/js/proto.js");
  const C = await import("/js/codec.js");
  const enc = `+string(js)+`.map((m) => P.body.message(m));
  return { Hex: enc.map(C.toHex), Back: enc.map((e) => { const d = P.decodeMessage(e);
    return { text: d.text, replyTo: d.replyTo, link: d.link, attachments: d.attachments.map((a) => {
      const o = { ...a }; for (const k of Object.keys(o)) if (!o[k]) delete o[k]; return o; }) }; }) };
})()`)
	for i, m := range bodies {
		if want := hex.EncodeToString(m.Encode()); got.Hex[i] != want {
			t.Errorf("message %d: the page encodes %s, the protocol %s", i, got.Hex[i], want)
		}
		wantJSON, _ := json.Marshal(in[i])
		gotJSON, _ := json.Marshal(got.Back[i])
		if string(wantJSON) != string(gotJSON) {
			t.Errorf("message %d decoded by the page: %s, want %s", i, gotJSON, wantJSON)
		}
	}
}
