package protocol

import (
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// field is one decoded field of a canonical protobuf message.
type field struct {
	num protowire.Number
	typ protowire.Type
	u   uint64 // value of a varint field
	b   []byte // value of a bytes field (aliases the input)
}

// walk decodes b field by field and calls fn for each, enforcing the
// canonical form every qun payload uses: only varint and length-delimited
// fields, minimal varints and tags, strictly ascending field numbers (a field
// listed in repeated may appear several times in a row), no zero varints and
// no empty bytes unless the field is listed in mayBeEmpty. Unknown fields are
// reported by fn.
//
// When fn answers a field with CodeUpgradeNeeded (a field of a later
// revision, see unknownField, or an embedded message holding one), walk
// calls fn no more: it checks only the canonical form of the rest of b that
// holds in every revision (wire types, minimal encodings, no zero varints,
// ascending numbers, where a later field may repeat and may be empty) and
// then returns that refusal. So upgrade_needed means "well-formed, of a
// later revision", and the shape rules of the whole message, which a later
// field may change, are never applied to it.
func walk(b []byte, repeated, mayBeEmpty []protowire.Number, fn func(f field) error) error {
	var last protowire.Number
	var upgrade error // set once fn met a field of a later revision
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return malformed("bad field tag: %v", protowire.ParseError(n))
		}
		if n != protowire.SizeTag(num) {
			return malformed("non-minimal tag of field %d", num)
		}
		b = b[n:]
		if num < last || (num == last && upgrade == nil && !contains(repeated, num)) {
			return malformed("field %d out of order or repeated", num)
		}
		last = num
		f := field{num: num, typ: typ}
		empty := false // an empty value where the field must not be empty, if it is a known field
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return malformed("field %d: bad varint", num)
			}
			if n != protowire.SizeVarint(v) {
				return malformed("field %d: non-minimal varint", num)
			}
			if v == 0 {
				return malformed("field %d: zero value must be omitted", num)
			}
			f.u, b = v, b[n:]
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return malformed("field %d: bad length", num)
			}
			if sz := protowire.SizeBytes(len(v)); n != sz {
				return malformed("field %d: non-minimal length", num)
			}
			empty = len(v) == 0 && !contains(mayBeEmpty, num)
			f.b, b = v, b[n:]
		default:
			return malformed("field %d: wire type %d not used by qun", num, typ)
		}
		if upgrade != nil {
			continue
		}
		err := fn(f)
		if isUpgrade(err) {
			upgrade = err
			continue
		}
		if empty {
			return malformed("field %d: empty value must be omitted", num)
		}
		if err != nil {
			return err
		}
	}
	return upgrade
}

// Field is one field of a message read by Walk: its number, its wire type
// and its value (Varint for a varint field, Bytes for a length-delimited
// one; Bytes aliases the input).
type Field struct {
	Num    protowire.Number
	Type   protowire.Type
	Varint uint64
	Bytes  []byte
}

// Walk reads the protobuf message b field by field in Qun's canonical form
// (docs/PROTOCOL.md, "Canonical encoding") and calls fn for each field: only
// varint and length-delimited fields, minimal tags, varints and lengths,
// strictly ascending field numbers (a number in repeated may appear several
// times in a row), no zero varints and no empty bytes (unless the number is
// in mayBeEmpty). fn reports unknown fields and wrong types (see
// Field.Unknown, Field.Uint32, Field.Data). A refusal is a *Error with
// CodeMalformed (Field.Unknown included: stream messages have no later
// revisions); if fn answers a field with CodeUpgradeNeeded, Walk checks only
// the canonical form of the rest and returns that refusal. It is the one
// protobuf decoder of Qun: every signed payload and every stream-protocol
// message is read with it.
func Walk(b []byte, repeated, mayBeEmpty []protowire.Number, fn func(Field) error) error {
	return walk(b, repeated, mayBeEmpty, func(f field) error {
		return fn(Field{Num: f.num, Type: f.typ, Varint: f.u, Bytes: f.b})
	})
}

func (f Field) inner() field { return field{num: f.Num, typ: f.Type, u: f.Varint, b: f.Bytes} }

// Unknown is the refusal of a field the message does not define
// (CodeMalformed: stream messages change with their protocol ID).
func (f Field) Unknown() error { return undefinedField(f.inner()) }

// Uint64 returns the value of a varint field (malformed if f is not a varint).
func (f Field) Uint64() (uint64, error) {
	if err := wantVarint(f.inner()); err != nil {
		return 0, err
	}
	return f.Varint, nil
}

// Uint32 returns the value of a varint field that must fit 32 bits.
func (f Field) Uint32() (uint32, error) { return u32(f.inner()) }

// Data returns the value of a length-delimited field (malformed if f is a varint).
func (f Field) Data() ([]byte, error) {
	if err := wantBytes(f.inner()); err != nil {
		return nil, err
	}
	return f.Bytes, nil
}

// Key returns the value of a 32-byte field (a key, a hash or an ID).
func (f Field) Key() ([32]byte, error) {
	var k [32]byte
	err := bytes32(f.inner(), &k)
	return k, err
}

func contains(list []protowire.Number, n protowire.Number) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}

// unknownField is the refusal of a field that a message of a group's log
// (a submission, an event, an invite or a body) does not define in this
// revision: it may be a field of a later one, so it is upgrade_needed, not
// malformed (docs/PROTOCOL.md, "Protocol evolution").
func unknownField(f field) error {
	return upgradeNeeded("field %d is of a later protocol revision", f.num)
}

// undefinedField is the refusal of a field that a message outside the log
// (the signed envelope, a head notice, a stream message) does not define:
// those change only with a new domain, topic or protocol ID.
func undefinedField(f field) error {
	return malformed("unknown field %d (wire type %d)", f.num, f.typ)
}

func wantVarint(f field) error {
	if f.typ != protowire.VarintType {
		return malformed("field %d must be a varint", f.num)
	}
	return nil
}

func wantBytes(f field) error {
	if f.typ != protowire.BytesType {
		return malformed("field %d must be length-delimited", f.num)
	}
	return nil
}

// bytes32 decodes a 32-byte field. An all-zero value is the default, which
// the encoder omits (encoder.key): accepting it would let two encodings
// decode to the same value.
func bytes32(f field, dst *[32]byte) error {
	if err := wantBytes(f); err != nil {
		return err
	}
	if len(f.b) != 32 {
		return malformed("field %d must be 32 bytes, got %d", f.num, len(f.b))
	}
	if [32]byte(f.b) == ([32]byte{}) {
		return malformed("field %d: zero value must be omitted", f.num)
	}
	copy(dst[:], f.b)
	return nil
}

// text decodes a UTF-8 string field of at most maxRunes characters.
func text(f field, maxRunes int, what string) (string, error) {
	if err := wantBytes(f); err != nil {
		return "", err
	}
	if len(f.b) > 4*maxRunes || !utf8.Valid(f.b) {
		return "", invalid("%s is not valid UTF-8 text of at most %d characters", what, maxRunes)
	}
	if n := utf8.RuneCount(f.b); n > maxRunes {
		return "", invalid("%s has %d characters; the limit is %d", what, n, maxRunes)
	}
	return string(f.b), nil
}

// u32 decodes a varint field that must fit 32 bits.
func u32(f field) (uint32, error) {
	if err := wantVarint(f); err != nil {
		return 0, err
	}
	if f.u > 1<<32-1 {
		return 0, malformed("field %d exceeds 32 bits", f.num)
	}
	return uint32(f.u), nil
}

// encoder builds canonical payloads. Callers append fields in ascending order.
type encoder struct{ b []byte }

func (e *encoder) varint(num protowire.Number, v uint64) {
	if v == 0 {
		return
	}
	e.b = protowire.AppendTag(e.b, num, protowire.VarintType)
	e.b = protowire.AppendVarint(e.b, v)
}

func (e *encoder) bytes(num protowire.Number, v []byte) {
	if len(v) == 0 {
		return
	}
	e.bytesAlways(num, v)
}

// bytesAlways encodes v even when it is empty (for fields whose presence matters).
func (e *encoder) bytesAlways(num protowire.Number, v []byte) {
	e.b = protowire.AppendTag(e.b, num, protowire.BytesType)
	e.b = protowire.AppendBytes(e.b, v)
}

func (e *encoder) string(num protowire.Number, v string) { e.bytes(num, []byte(v)) }

func (e *encoder) key(num protowire.Number, v [32]byte) {
	if v == ([32]byte{}) {
		return
	}
	e.bytes(num, v[:])
}

func (e *encoder) bool(num protowire.Number, v bool) {
	if v {
		e.varint(num, 1)
	}
}
