package webhook

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestDecodeRequest(t *testing.T) {
	for _, tc := range []struct {
		kind kind
		body string
		want request
		code string // of the refusal; "" for none
	}{
		{kindMessage, `{"channel":"c","id":"m","user":"u","text":"a\tb\r\nc"}`, request{Channel: "c", ID: "m", User: "u", Text: "a\tb\r\nc"}, ""},
		{kindMessage, ` { "text" : "hi", "user":"u", "id":"m", "channel":"c", "name":null, "reply_to":"" } `, request{Channel: "c", ID: "m", User: "u", Text: "hi"}, ""},
		{kindMessage, `{"channel":"c","id":"m","user":"u","text":"\ud83c\udf75 \u4f60"}`, request{Channel: "c", ID: "m", User: "u", Text: "🍵 你"}, ""},
		{kindInvite, `{"channel":"c","user":"u","name":"Ａlice"}`, request{Channel: "c", User: "u", Name: "Ａlice"}, ""},
		{kindDelete, `{"channel":"c","id":"` + strings.Repeat("i", MaxIDBytes) + `"}`, request{Channel: "c", ID: strings.Repeat("i", MaxIDBytes)}, ""},
		{kindDelete, `{"channel":"c","id":"` + strings.Repeat("i", MaxIDBytes+1) + `"}`, request{}, "too_long"},
		{kindDelete, `{"channel":"c","id":"m","id":"m"}`, request{}, "duplicate_field"},
		{kindDelete, `{"channel":"c","id":{"x":1}}`, request{}, "wrong_type"},
		{kindDelete, `{"channel":"c","id":true}`, request{}, "wrong_type"},
		{kindDelete, `{"channel":"c","id":"m"`, request{}, "bad_json"},
		{kindDelete, ``, request{}, "bad_json"},
		{kindDelete, `null`, request{}, "bad_json"},
		{kindDelete, `"x"`, request{}, "bad_json"},
		{kindDelete, `{"channel":"c",,"id":"m"}`, request{}, "bad_json"},
		{kindDelete, `{"channel":"c","id":"m"} x`, request{}, "bad_json"},
		{kindDelete, `{"channel":"c","id":""}`, request{}, "missing_field"},
		{kindDelete, `{"channel":"c","id":"\u001b[31m"}`, request{}, "control_character"},
		{kindMessage, `{"channel":"c","id":"m","user":"u","text":"bell\u0007"}`, request{}, "control_character"},
		{kindMessage, `{"channel":"c","id":"m","user":"u","text":"x","reply_to":"a\nb"}`, request{}, "control_character"},
		{kindEdit, "{\"channel\":\"c\",\"id\":\"m\",\"text\":\"\xff\"}", request{}, "invalid_utf8"},
		{kindEdit, `{"channel":"c","id":"m","text":"x","user":"u"}`, request{}, "unknown_field"},
	} {
		got, err := decodeRequest(tc.kind, []byte(tc.body))
		var re *requestError
		switch {
		case tc.code == "" && err != nil:
			t.Errorf("%s: %v", tc.body, err)
		case tc.code == "" && got != tc.want:
			t.Errorf("%s: got %+v, want %+v", tc.body, got, tc.want)
		case tc.code != "" && (!errors.As(err, &re) || re.Code != tc.code || re.Status != 400 || re.Message == ""):
			t.Errorf("%.60s: got %+v, %v; want %s", tc.body, got, err, tc.code)
		}
	}
}

// FuzzDecodeRequest: no body panics the decoder; what it accepts is a
// JSON object whose strings the standard decoder reads the same, within
// every limit; what it refuses is a 400 with a code and a reason.
func FuzzDecodeRequest(f *testing.F) {
	f.Add(uint8(kindMessage), []byte(`{"channel":"shop","id":"m-1","user":"u","name":"Alice","text":"hi","reply_to":"out-1"}`))
	f.Fuzz(func(t *testing.T, k uint8, body []byte) {
		kd := kind(k % 4)
		r, err := decodeRequest(kd, body)
		if err != nil {
			var re *requestError
			if !errors.As(err, &re) || re.Status != 400 || re.Code == "" || re.Message == "" {
				t.Fatalf("refusal %#v", err)
			}
			return
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("accepted what encoding/json refuses: %v", err)
		}
		for _, f := range fields[kd] {
			v := *f.at(&r)
			if want, _ := m[f.name].(string); v != want {
				t.Fatalf("%s: %q, encoding/json says %q", f.name, v, want)
			}
			if f.required && strings.TrimSpace(v) == "" || len(v) > f.max || !utf8.ValidString(v) {
				t.Fatalf("%s: accepted %q", f.name, v)
			}
			for _, c := range v {
				if unicode.IsControl(c) && !(f.text && strings.ContainsRune("\t\r\n", c)) {
					t.Fatalf("%s: accepted %q", f.name, v)
				}
			}
		}
		if len(m) > len(fields[kd]) {
			t.Fatalf("accepted more fields than %s has: %v", kindNames[kd], m)
		}
	})
}
