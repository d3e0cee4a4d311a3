package web_test

import (
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestBrowserProfileBody encodes profile bodies (kind 21) with the page's
// proto.js and compares every byte with the protocol package; and checks
// the page's rules for profile strings against the protocol's on the
// examples of docs/PROTOCOL.md, so the page refuses before signing exactly
// what every replica refuses.
func TestBrowserProfileBody(t *testing.T) {
	chromiumPath(t)
	b := openModules(t)
	defer b.checkExceptions()

	avatar := protocol.NewBlobRef("image/png", []byte("not really a png"))
	avatar.Width, avatar.Height = 64, 48
	profiles := []protocol.Profile{
		{},
		{Name: "王小明"},
		{Bio: "喜欢喝茶 🍵"},
		{Nick: "小明 (VIP)"},
		{Name: "Mei", Bio: "tea lover 🍵", Nick: "梅"},
		{Name: "Mei", Avatar: avatar},
	}
	type jsProfile struct {
		Name   string           `json:"name,omitempty"`
		Bio    string           `json:"bio,omitempty"`
		Nick   string           `json:"nick,omitempty"`
		Avatar *api.BlobRefView `json:"avatar,omitempty"`
	}
	var in []jsProfile
	for _, p := range profiles {
		in = append(in, jsProfile{p.Name, p.Bio, p.Nick, api.NewBlobRefView(p.Avatar)})
	}
	js, _ := json.Marshal(in)
	got := eval[[]string](b, "encoding profiles", `(async () => {
  const P = await import("/js/proto.js");
  const C = await import("/js/codec.js");
  if (P.KIND.profile !== 21) throw new Error("KIND.profile is " + P.KIND.profile);
  return `+string(js)+`.map((p) => C.toHex(P.body.profile(p)));
})()`)
	for i, p := range profiles {
		if want := hex.EncodeToString(protocol.NewProfileBody(p).Encode()); got[i] != want {
			t.Errorf("profile %+v: the page encodes %s, the protocol %s", p, got[i], want)
		}
	}

	// Profile strings: the examples of docs/PROTOCOL.md and a few more.
	a32, tea32 := strings.Repeat("a", 32), strings.Repeat("茶", 32)
	cases := []string{
		"Mei", "梅 (VIP)", "Mei  Lin", "tea lover 🍵", "👨\u200d👩\u200d👧", "می\u200cخواهم", "☕️",
		a32, tea32, strings.Repeat("🍵", 32), a32 + "a", tea32 + "茶",
		" Mei", "Mei ", "\u3000梅", "Mei\u00a0", "\u200d👩", "Mei\u200c", " ",
		"Mei\tLin", "Mei\nLin", "\u001b", "\u007f", "\u0085", "\u00ad", "\u200b", "\u200e", "\u202e",
		"\u2066", "\u2028", "\ufeff", "\U000e0041", "a\u0600b", "a\U0001d173b", "王小明",
	}
	type verdict struct {
		OK   bool
		Code string
	}
	casesJS, _ := json.Marshal(cases)
	verdicts := eval[[]verdict](b, "checking profile strings", `(async () => {
  const P = await import("/js/proto.js");
  return `+string(casesJS)+`.map((s) => { const r = P.checkProfileText(s, P.MAX_NAME_RUNES); return { OK: !r, Code: r ? r.code : "" }; });
})()`)
	for i, s := range cases {
		err := protocol.NewProfileBody(protocol.Profile{Name: s}).Check()
		if verdicts[i].OK != (err == nil) {
			t.Errorf("name %+q: the page says ok=%v (%s), the protocol %v", s, verdicts[i].OK, verdicts[i].Code, err)
		}
	}
	// The page's own: a lone surrogate (not UTF-8), the bio's limit, and
	// the trimming of what a person typed.
	type extra struct {
		Surrogate, Bio160, Bio161, Trimmed string
	}
	e := eval[extra](b, "checking more", `(async () => {
  const P = await import("/js/proto.js");
  const c = (s, max) => { const r = P.checkProfileText(s, max); return r ? r.code : "ok"; };
  return { Surrogate: c("a\uD800b", 32), Bio160: c("茶".repeat(160), P.MAX_BIO_RUNES), Bio161: c("茶".repeat(161), P.MAX_BIO_RUNES),
    Trimmed: P.cleanProfileText("\u3000 Mei Lin \n") };
})()`)
	if want := (extra{"utf8", "ok", "tooLong", "Mei Lin"}); e != want {
		t.Errorf("got %+v, want %+v", e, want)
	}
}

// TestBrowserNames checks the labels of names.js: nick before name before
// short ID, and a suffix of the ID for every name that two people show
// (or that mimics a short ID or "me").
func TestBrowserNames(t *testing.T) {
	chromiumPath(t)
	b := openModules(t)
	defer b.checkExceptions()
	ids := make([]string, 6)
	for i := range ids {
		k, err := protocol.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = k.ID().String()
	}
	idsJS, _ := json.Marshal(ids)
	got := eval[[]string](b, "labelling", `(async () => {
  const N = await import("/js/names.js");
  const U = await import("/js/ui.js");
  const id = `+string(idsJS)+`;
  const n = new N.Names(id[0]);
  n.setMembers([
    { user: id[0], role: "owner", name: "Boss" },
    { user: id[1], role: "member", name: "王小明" },
    { user: id[2], role: "member", name: "王小明" },
    { user: id[3], role: "admin", name: "Ann", nick: "小红" },
    { user: id[4], role: "member", name: U.short(id[5]) },
    { user: id[5], role: "member" },
  ], 10);
  const before = [0, 1, 2, 3, 4, 5].map((i) => n.plain(id[i]));
  // A rename that ends a clash, seen live (seq 11).
  n.noteProfile({ seq: 11, kind: "profile", author: id[2], name: "王大明" });
  // An older profile (seq 9) changes nothing.
  n.noteProfile({ seq: 9, kind: "profile", author: id[3], name: "Old" });
  return [...before, n.plain(id[1]), n.plain(id[2]), n.plain(id[3]), n.label(id[0]), n.label(id[0], "subject"),
    String(n.matches(id[3], "小红")), String(n.matches(id[3], "ann")), String(n.matches(id[3], id[3].slice(-5).toLowerCase())), String(n.matches(id[1], "boss"))];
})()`)
	suffixed := func(name, id string) bool {
		return strings.HasPrefix(name, "王小明 · ") && strings.HasSuffix(id, strings.TrimPrefix(name, "王小明 · "))
	}
	if got[0] != "Boss" {
		t.Errorf("a unique name: %q", got[0])
	}
	if !suffixed(got[1], ids[1]) || !suffixed(got[2], ids[2]) || got[1] == got[2] {
		t.Errorf("two 王小明: %q and %q, want each with the end of its ID", got[1], got[2])
	}
	if got[3] != "小红" {
		t.Errorf("the nick first: %q", got[3])
	}
	short5 := "…" + ids[5][len(ids[5])-6:]
	if !strings.HasPrefix(got[4], short5+" · ") || got[5] != short5 {
		t.Errorf("a name that mimics a short ID: %q (and the real one %q)", got[4], got[5])
	}
	if got[6] != "王小明" || got[7] != "王大明" || got[8] != "小红" {
		t.Errorf("after a rename: %q, %q; after an older event: %q", got[6], got[7], got[8])
	}
	if got[9] != "me" || got[10] != "You" {
		t.Errorf("the user: %q, %q", got[9], got[10])
	}
	if got[11] != "true" || got[12] != "true" || got[13] != "true" || got[14] != "false" {
		t.Errorf("search: %v", got[11:])
	}
}
