package node

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// Fuzz targets for every decoder of bytes that arrive from the network in
// this package: stream frames, submit replies, sync requests and replies,
// and the HTTP API's submit body. Their seeds run with the plain tests.

func FuzzReadFrame(f *testing.F) {
	var buf bytes.Buffer
	writeFrame(&buf, []byte("hello"))
	f.Add(buf.Bytes())
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := readFrame(bufio.NewReader(bytes.NewReader(b)), 1024)
		if err == nil && len(got) > 1024 {
			t.Fatalf("frame of %d bytes passed a limit of 1024", len(got))
		}
	})
}

func FuzzDecodeSubmitReply(f *testing.F) {
	f.Add((&submitReply{event: []byte("event")}).encode())
	f.Add((&submitReply{code: protocol.CodeMuted, msg: "you are muted"}).encode())
	f.Add([]byte{0x08})
	f.Add([]byte{0x1a, 0x00}) // regression: an empty event field was accepted, and lost on re-encoding
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeSubmitReply(b)
		if err != nil {
			return
		}
		again, err := decodeSubmitReply(r.encode())
		if err != nil || !reflect.DeepEqual(normReply(again), normReply(r)) {
			t.Fatalf("re-encoded reply differs: %+v vs %+v (%v)", again, r, err)
		}
	})
}

func normReply(r *submitReply) submitReply {
	c := *r
	if len(c.event) == 0 {
		c.event = nil
	}
	return c
}

func FuzzDecodeSyncRequest(f *testing.F) {
	f.Add((&syncRequest{group: protocol.GroupID{1}, from: 1, limit: 100}).encode())
	f.Add([]byte{0x0a, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeSyncRequest(b)
		if err != nil {
			return
		}
		if r.limit > protocol.MaxSyncBatch || r.from == 0 {
			t.Fatalf("accepted request out of bounds: %+v", r)
		}
		again, err := decodeSyncRequest(r.encode())
		if err != nil || *again != *r {
			t.Fatalf("re-encoded request differs: %+v vs %+v (%v)", again, r, err)
		}
	})
}

func FuzzDecodeSyncReply(f *testing.F) {
	f.Add((&syncReply{head: 3, events: [][]byte{[]byte("a"), []byte("b")}}).encode())
	f.Add((&syncReply{code: protocol.CodePrivate, msg: "private"}).encode())
	f.Add((&syncReply{code: protocol.CodeHistoryHidden, msg: "hidden", base: 41}).encode())
	f.Add((&syncReply{head: 3, base: 2}).encode()) // a base without history_hidden: refused
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeSyncReply(b)
		if err != nil {
			return
		}
		if len(r.events) > protocol.MaxSyncBatch {
			t.Fatalf("accepted %d events", len(r.events))
		}
		if _, err := decodeSyncReply(r.encode()); err != nil {
			t.Fatalf("re-encoded reply refused: %v", err)
		}
	})
}

func FuzzDecodeCheckpointRequest(f *testing.F) {
	f.Add((&checkpointRequest{group: protocol.GroupID{1}, seq: 41}).encode())
	f.Add([]byte{0x0a, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeCheckpointRequest(b)
		if err != nil {
			return
		}
		if r.seq == 0 {
			t.Fatalf("accepted a request for seq 0")
		}
		again, err := decodeCheckpointRequest(r.encode())
		if err != nil || *again != *r {
			t.Fatalf("re-encoded request differs: %+v vs %+v (%v)", again, r, err)
		}
	})
}

func FuzzDecodeCheckpointReply(f *testing.F) {
	f.Add((&checkpointReply{genesis: []byte("g"), checkpoint: []byte("c")}).encode())
	f.Add((&checkpointReply{code: protocol.CodeHistoryHidden, msg: "hidden"}).encode())
	f.Add((&checkpointReply{genesis: []byte("g")}).encode()) // no checkpoint: refused
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeCheckpointReply(b)
		if err != nil {
			return
		}
		if r.code == 0 && (r.genesis == nil || r.checkpoint == nil) {
			t.Fatal("accepted a success without a checkpoint")
		}
		if _, err := decodeCheckpointReply(r.encode()); err != nil {
			t.Fatalf("re-encoded reply refused: %v", err)
		}
	})
}

// FuzzServeCheckpoint feeds request frames to a real host of a group whose
// new members read from their join: never a panic, never a checkpoint for
// a node the privacy rule does not allow.
func FuzzServeCheckpoint(f *testing.F) {
	n := startNode(f, "")
	name, hist := "fuzz", protocol.HistoryFromJoin
	gid := mustSubmit(f, n, n.admin, protocol.GroupID{}, &protocol.CreateBody{Host: n.ID(), Settings: protocol.Settings{Name: &name, History: &hist}}).Group
	f.Add((&checkpointRequest{group: gid, seq: 1}).encode())
	f.Add((&checkpointRequest{group: gid, seq: 1 << 62}).encode())
	f.Add([]byte("garbage"))
	stranger := startNode(f, "").PeerID()
	f.Fuzz(func(t *testing.T, b []byte) {
		if r := n.serveCheckpoint(stranger, b); r.code == 0 {
			t.Fatal("served a checkpoint of a private group to a stranger")
		}
		if r := n.serveCheckpoint(n.PeerID(), b); r.code == 0 && r.checkpoint == nil {
			t.Fatal("a success without a checkpoint")
		}
	})
}

// FuzzServeSync feeds request frames to a real node holding a group.
func FuzzServeSync(f *testing.F) {
	n := startNode(f, "")
	gid := createGroup(f, n, "fuzz", protocol.PolicyOpen)
	f.Add((&syncRequest{group: gid, from: 1, limit: 10}).encode())
	f.Add((&syncRequest{group: gid, from: 1 << 62, limit: 0}).encode())
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := n.serveSync(n.PeerID(), b)
		if r.code == 0 && len(r.events) > protocol.MaxSyncBatch {
			t.Fatalf("served %d events", len(r.events))
		}
	})
}

// FuzzAPISubmit posts arbitrary bodies to a real node's submit endpoint:
// never a panic, never a 2xx for bytes that are not a valid submission.
func FuzzAPISubmit(f *testing.F) {
	n := startNode(f, "")
	handler := n.light.Handler()
	valid := sign(f, n.admin, protocol.GroupID{}, &protocol.CreateBody{Host: n.ID(), Settings: protocol.Settings{Name: ptr("g")}})
	body, _ := json.Marshal(api.SubmitRequest{Submission: base64.StdEncoding.EncodeToString(valid.Raw)})
	f.Add(string(body))
	f.Add(`{"submission":"AAAA"}`)
	f.Add(`{"submission":"` + strings.Repeat("A", 100) + `","host_addrs":["/ip4/1.2.3.4"]}`)
	f.Add(`{"unknown":1}`)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/submit", strings.NewReader(body))
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		var resp api.SubmitResponse
		if rec.Code == http.StatusOK {
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || resp.Seq == 0 {
				t.Fatalf("200 without an event: %s", rec.Body)
			}
			return
		}
		var eb api.ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error.Message == "" {
			t.Fatalf("status %d without a readable error: %s", rec.Code, rec.Body)
		}
	})
}

// FuzzDecodeBlobReply: a blob reply decodes to bytes or a typed error,
// never a panic.
func FuzzDecodeBlobReply(f *testing.F) {
	f.Add([]byte{0, 'x'})
	f.Add([]byte{1, byte(protocol.CodePrivate), 'n', 'o'})
	f.Add([]byte{})
	f.Add([]byte{2})
	f.Fuzz(func(t *testing.T, b []byte) {
		data, err := decodeBlobReply(b)
		if err == nil && len(data) != len(b)-1 {
			t.Fatalf("decoded %d bytes of %d", len(data), len(b))
		}
		if err != nil && protocol.AsError(err).Msg == "" && len(b) < 2 {
			t.Fatalf("error without a reason: %v", err)
		}
	})
}

// FuzzServeBlob feeds request frames to a real node's blob server.
func FuzzServeBlob(f *testing.F) {
	n := startNode(f, "")
	gid := createGroup(f, n, "fuzz", protocol.PolicyOpen)
	f.Add(append(append([]byte{}, gid[:]...), make([]byte, 32)...))
	f.Add([]byte("short"))
	f.Fuzz(func(t *testing.T, b []byte) {
		reply := n.serveBlob(n.PeerID(), b)
		if _, err := decodeBlobReply(reply); err == nil {
			t.Fatalf("served a blob for %x", b)
		}
	})
}
