package node

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/qunchat/qun/protocol"
	"google.golang.org/protobuf/encoding/protowire"
)

// Stream framing of /qun/submit/1.0.0 and /qun/sync/1.0.0: every message is
// one frame, uvarint(length) || bytes, with the length bounded per protocol.

// maxSyncFrame bounds a sync response frame.
const maxSyncFrame = 8 << 20

// maxSyncBytes is the budget of events a sync response carries.
const maxSyncBytes = 4 << 20

// writeFrame writes one frame with a single Write: on a libp2p stream every
// Write is a yamux frame, a Noise message and a system call.
func writeFrame(w io.Writer, b []byte) error {
	buf := make([]byte, 0, binary.MaxVarintLen64+len(b))
	buf = binary.AppendUvarint(buf, uint64(len(b)))
	_, err := w.Write(append(buf, b...))
	return err
}

func readFrame(r *bufio.Reader, max int) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > uint64(max) {
		return nil, protocol.Errorf(protocol.CodeTooLarge, "frame of %d bytes exceeds the limit of %d", n, max)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// submitReply is the answer of the host on /qun/submit/1.0.0:
// message SubmitReply { uint32 code = 1; string message = 2; bytes event = 3; }
// code 0 (absent) means success and event holds the signed event.
type submitReply struct {
	code  protocol.Code
	msg   string
	event []byte
}

// appendStatus encodes fields 1 (code) and 2 (message) of a reply.
func appendStatus(b []byte, code protocol.Code, msg string) []byte {
	if code != 0 {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(code))
	}
	if msg != "" {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, msg)
	}
	return b
}

func (r *submitReply) encode() []byte {
	b := appendStatus(nil, r.code, r.msg)
	if len(r.event) > 0 {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendBytes(b, r.event)
	}
	return b
}

// replyCode decodes the code field of a reply: a varint that fits a Code.
func replyCode(f protocol.Field) (protocol.Code, error) {
	v, err := f.Uint32()
	if err == nil && v > 0xffff {
		err = protocol.Errorf(protocol.CodeMalformed, "malformed: code %d is out of range", v)
	}
	return protocol.Code(v), err
}

// The replies are read with protocol.Walk, the one protobuf decoder: they
// follow the canonical rules of docs/PROTOCOL.md like every signed payload.

func decodeSubmitReply(b []byte) (*submitReply, error) {
	r := &submitReply{}
	err := protocol.Walk(b, nil, nil, func(f protocol.Field) error {
		var err error
		switch f.Num {
		case 1:
			r.code, err = replyCode(f)
		case 2:
			var d []byte
			d, err = f.Data()
			r.msg = string(d)
		case 3:
			r.event, err = f.Data()
		default:
			err = f.Unknown()
		}
		return err
	})
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeMalformed, "malformed submit reply: %v", err)
	}
	if r.code == 0 && r.event == nil {
		return nil, protocol.Errorf(protocol.CodeMalformed, "malformed submit reply: no event and no error")
	}
	return r, nil
}

// syncRequest asks a replica for events:
// message SyncRequest { bytes group = 1; uint64 from = 2; uint32 limit = 3; }
type syncRequest struct {
	group protocol.GroupID
	from  uint64
	limit uint32
}

func (r *syncRequest) encode() []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, r.group[:])
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, r.from)
	if r.limit != 0 { // a zero value is omitted (canonical form)
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(r.limit))
	}
	return b
}

func decodeSyncRequest(b []byte) (*syncRequest, error) {
	r := &syncRequest{}
	var haveGroup bool
	err := protocol.Walk(b, nil, nil, func(f protocol.Field) error {
		switch f.Num {
		case 1:
			k, err := f.Key()
			r.group, haveGroup = k, err == nil
			return err
		case 2:
			v, err := f.Uint64()
			r.from = v
			return err
		case 3:
			v, err := f.Uint32()
			r.limit = min(v, protocol.MaxSyncBatch)
			return err
		}
		return f.Unknown()
	})
	if err == nil && (!haveGroup || r.from == 0) {
		err = fmt.Errorf("a sync request names a group and a first seq >= 1")
	}
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeMalformed, "malformed sync request: %v", err)
	}
	return r, nil
}

// syncReply answers a sync request:
// message SyncReply { uint32 code = 1; string message = 2; uint64 head = 3; repeated bytes events = 4; uint64 base = 5; }
// The events are consecutive, starting at the requested seq. base (since
// 1.2) comes with code history_hidden: the requester may fetch only the
// events after it, and starts from the host's checkpoint at it.
type syncReply struct {
	code   protocol.Code
	msg    string
	head   uint64
	events [][]byte
	base   uint64
}

func (r *syncReply) encode() []byte {
	b := appendStatus(nil, r.code, r.msg)
	if r.head != 0 {
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, r.head)
	}
	for _, e := range r.events {
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendBytes(b, e)
	}
	if r.base != 0 {
		b = protowire.AppendTag(b, 5, protowire.VarintType)
		b = protowire.AppendVarint(b, r.base)
	}
	return b
}

func decodeSyncReply(b []byte) (*syncReply, error) {
	r := &syncReply{}
	err := protocol.Walk(b, []protowire.Number{4}, nil, func(f protocol.Field) error {
		var err error
		switch f.Num {
		case 1:
			r.code, err = replyCode(f)
		case 2:
			var d []byte
			d, err = f.Data()
			r.msg = string(d)
		case 3:
			r.head, err = f.Uint64()
		case 4:
			if len(r.events) >= protocol.MaxSyncBatch {
				return fmt.Errorf("more than %d events", protocol.MaxSyncBatch)
			}
			var d []byte
			d, err = f.Data()
			r.events = append(r.events, d)
		case 5:
			r.base, err = f.Uint64()
		default:
			err = f.Unknown()
		}
		return err
	})
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeMalformed, "malformed sync reply: %v", err)
	}
	if (r.base != 0) != (r.code == protocol.CodeHistoryHidden) {
		return nil, protocol.Errorf(protocol.CodeMalformed, "malformed sync reply: a base comes with code history_hidden, and only with it")
	}
	return r, nil
}
