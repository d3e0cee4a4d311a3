package web_test

import (
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/qunchat/qun/protocol"
)

// TestBrowserReactionEditBody encodes reaction (kind 22) and edit (kind
// 23) bodies with the page's proto.js and compares every byte with the
// protocol package; the page's check of an emoji agrees with what the
// protocol accepts.
func TestBrowserReactionEditBody(t *testing.T) {
	chromiumPath(t)
	b := openModules(t)
	defer b.checkExceptions()

	reactions := []protocol.ReactionBody{
		{Target: 1, Emoji: "👍"},
		{Target: 127, Emoji: "❤️"},
		{Target: 128, Emoji: "😂", Remove: true},
		{Target: 1 << 40, Emoji: "👨‍👩‍👧‍👦"},
		{Target: 9007199254740991, Emoji: "🇨🇳", Remove: true},
		{Target: 3, Emoji: "好"},
	}
	edits := []protocol.EditBody{
		{Target: 1, Text: "x"},
		{Target: 300, Text: "龙井 35 元 https://shop.example/p/1"},
		{Target: 1 << 33, Text: strings.Repeat("茶", protocol.MaxTextRunes)},
	}
	type jsReaction struct {
		Target uint64 `json:"target"`
		Emoji  string `json:"emoji"`
		Remove bool   `json:"remove"`
	}
	type jsEdit struct {
		Target uint64 `json:"target"`
		Text   string `json:"text"`
	}
	var rin []jsReaction
	for _, r := range reactions {
		if _, err := protocol.DecodeBody(protocol.KindReaction, r.Encode()); err != nil {
			t.Fatalf("test reaction %+v: %v", r, err)
		}
		rin = append(rin, jsReaction{r.Target, r.Emoji, r.Remove})
	}
	var ein []jsEdit
	for _, e := range edits {
		if _, err := protocol.DecodeBody(protocol.KindEdit, e.Encode()); err != nil {
			t.Fatalf("test edit %+v: %v", e.Target, err)
		}
		ein = append(ein, jsEdit{e.Target, e.Text})
	}
	// Emoji the page accepts exactly when the protocol does.
	emoji := []string{"👍", "🙏", "👌", "🎉", "ok", "+1", "🍵🍵🍵🍵🍵🍵🍵🍵", "🍵🍵🍵🍵🍵🍵🍵🍵🍵", "a b", "a\tb", "\u3000", "x\u00a0",
		"a\u0085", "\u2028", "👨‍👩‍👧‍👦", "🏳️‍🌈", "", strings.Repeat("é", 8), "\u0301\u0301\u0301\u0301\u0301\u0301\u0301\u0301", "\u200b"}
	rj, _ := json.Marshal(rin)
	ej, _ := json.Marshal(ein)
	mj, _ := json.Marshal(emoji)
	type out struct {
		Reactions, Edits []string
		OK               []bool
	}
	got := eval[out](b, "encoding reactions and edits", `(async () => {
  const P = await import("/js/proto.js");
  const C = await import("/js/codec.js");
  return {
    Reactions: `+string(rj)+`.map((r) => C.toHex(P.body.reaction(r))),
    Edits: `+string(ej)+`.map((e) => C.toHex(P.body.edit(e))),
    OK: `+string(mj)+`.map((s) => P.checkEmoji(s) === null),
  };
})()`)
	for i, r := range reactions {
		if want := hex.EncodeToString(r.Encode()); got.Reactions[i] != want {
			t.Errorf("reaction %+v: the page encodes %s, the protocol %s", r, got.Reactions[i], want)
		}
	}
	for i, e := range edits {
		if want := hex.EncodeToString(e.Encode()); got.Edits[i] != want {
			t.Errorf("edit %d (target %d): the page encodes %s, the protocol %s", i, e.Target, got.Edits[i], want)
		}
	}
	for i, s := range emoji {
		_, err := protocol.DecodeBody(protocol.KindReaction, (&protocol.ReactionBody{Target: 1, Emoji: s}).Encode())
		if want := err == nil; got.OK[i] != want {
			t.Errorf("emoji %q: the page accepts it: %v, the protocol: %v (%v)", s, got.OK[i], want, err)
		}
	}
}
