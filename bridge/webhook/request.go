package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/qunchat/qun/bridge"
)

// Limits of a request's fields, in bytes.
const (
	MaxIDBytes   = 256 // id, reply_to, channel
	MaxUserBytes = 256 // user, name
	MaxTextBytes = 16 << 10
)

// requestError is a refused request: its HTTP status, a code for
// programs and a sentence for people.
type requestError struct {
	Status  int
	Code    string
	Message string
}

func (e *requestError) Error() string { return e.Message }

func refusal(status int, code, format string, a ...any) *requestError {
	return &requestError{Status: status, Code: code, Message: fmt.Sprintf(format, a...)}
}

// kind is an endpoint's request.
type kind int

const (
	kindMessage kind = iota
	kindEdit
	kindDelete
	kindInvite
)

// request is a decoded and checked request to one of the POST endpoints.
type request struct {
	Channel, ID, User, Name, Text, ReplyTo string
}

type field struct {
	name     string
	required bool
	max      int
	text     bool // may hold line breaks and tabs
	at       func(*request) *string
}

var (
	fChannel = field{name: "channel", required: true, max: MaxIDBytes, at: func(r *request) *string { return &r.Channel }}
	fID      = field{name: "id", required: true, max: MaxIDBytes, at: func(r *request) *string { return &r.ID }}
	fUser    = field{name: "user", required: true, max: MaxUserBytes, at: func(r *request) *string { return &r.User }}
	fName    = field{name: "name", max: MaxUserBytes, at: func(r *request) *string { return &r.Name }}
	fText    = field{name: "text", required: true, max: MaxTextBytes, text: true, at: func(r *request) *string { return &r.Text }}
	fReplyTo = field{name: "reply_to", max: MaxIDBytes, at: func(r *request) *string { return &r.ReplyTo }}
)

// fields are each request's fields, in the order the errors name them.
var fields = map[kind][]field{
	kindMessage: {fChannel, fID, fUser, fName, fText, fReplyTo},
	kindEdit:    {fChannel, fID, fText},
	kindDelete:  {fChannel, fID},
	kindInvite:  {fChannel, fUser, fName},
}

var kindNames = map[kind]string{kindMessage: "a message", kindEdit: "an edit", kindDelete: "a delete", kindInvite: "an invite"}

func fieldList(fs []field) string {
	var names []string
	for _, f := range fs {
		names = append(names, f.name)
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// decodeRequest decodes body as a request of kind k and checks it: a JSON
// object of k's fields only, each at most once, strings (or null for an
// absent one), the required ones present and not empty, valid UTF-8,
// no control characters (but line breaks and tabs in text), within the
// limits. It returns a *requestError (400) saying what is wrong.
func decodeRequest(k kind, body []byte) (request, error) {
	var r request
	if !utf8.Valid(body) {
		at := 0
		for at < len(body) {
			ru, n := utf8.DecodeRune(body[at:])
			if ru == utf8.RuneError && n <= 1 {
				break
			}
			at += n
		}
		return r, refusal(400, "invalid_utf8", "the body is not valid UTF-8 (at byte %d)", at)
	}
	fs := fields[k]
	dec := json.NewDecoder(bytes.NewReader(body))
	bad := func(err error) error {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return refusal(400, "bad_json", "the body is not JSON: %v (at byte %d)", se, se.Offset)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return refusal(400, "bad_json", "the body is not JSON: it ends early")
		}
		return refusal(400, "bad_json", "the body is not JSON: %v", err)
	}
	tok, err := dec.Token()
	if err != nil {
		return r, bad(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return r, refusal(400, "bad_json", "the body must be a JSON object ({…}) with %s", fieldList(fs))
	}
	seen := make(map[string]bool, len(fs))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return r, bad(err)
		}
		key, _ := tok.(string)
		var f *field
		for i := range fs {
			if fs[i].name == key {
				f = &fs[i]
			}
		}
		if f == nil {
			return r, refusal(400, "unknown_field", "unknown field %.80q: %s has %s", key, kindNames[k], fieldList(fs))
		}
		if seen[key] {
			return r, refusal(400, "duplicate_field", "the field %q is there twice", key)
		}
		seen[key] = true
		tok, err = dec.Token()
		if err != nil {
			return r, bad(err)
		}
		switch v := tok.(type) {
		case string:
			*f.at(&r) = v
		case nil:
		default:
			return r, refusal(400, "wrong_type", "the field %q must be a string", key)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return r, bad(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return r, refusal(400, "bad_json", "the body has more after its JSON object")
	}
	for _, f := range fs {
		v := *f.at(&r)
		empty := v == ""
		if f.text {
			empty = strings.TrimSpace(v) == ""
		}
		if f.required && empty {
			return r, refusal(400, "missing_field", "%s needs the field %q (%s)", kindNames[k], f.name, fieldList(requiredOf(fs)))
		}
		if len(v) > f.max {
			return r, refusal(400, "too_long", "the field %q has %d bytes; at most %d", f.name, len(v), f.max)
		}
		if i := strings.IndexFunc(v, func(c rune) bool {
			return unicode.IsControl(c) && !(f.text && (c == '\n' || c == '\t' || c == '\r'))
		}); i >= 0 {
			return r, refusal(400, "control_character", "the field %q has a control character (U+%04X) at byte %d", f.name, []rune(v[i:])[0], i)
		}
	}
	return r, nil
}

func requiredOf(fs []field) []field {
	var out []field
	for _, f := range fs {
		if f.required {
			out = append(out, f)
		}
	}
	return out
}

// inbound is what r of kind k gives the gateway; key is the request's
// idempotency key (Qun-Webhook-Id).
func (r request) inbound(k kind, key string) bridge.Inbound {
	m := bridge.Inbound{Channel: r.Channel}
	switch k {
	case kindMessage:
		m.ID, m.User, m.Name, m.Text, m.ReplyTo = r.ID, r.User, r.Name, r.Text, r.ReplyTo
	case kindEdit:
		m.ID, m.Edits, m.Text = r.ID+"#edit-"+key, r.ID, r.Text
	case kindDelete:
		m.Deletes = r.ID
	case kindInvite:
		m.Invite, m.User, m.Name = true, r.User, r.Name
	}
	return m
}
