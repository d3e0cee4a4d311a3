package web_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/web"
)

// openModules starts a browser on the web client without a node (the page
// shows its key screen) so that a test can import the modules.
func openModules(t *testing.T) *browser {
	srv := httptest.NewServer(web.Handler())
	t.Cleanup(srv.Close)
	b := newBrowser(t, "modules", 800, 600, "en-US", t.TempDir())
	b.do("opening the page", 20*time.Second,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(css("#btn-new-key")),
	)
	return b
}

// TestBrowserWorkedExample builds and signs the worked example of
// docs/PROTOCOL.md with the page's own modules and the browser's WebCrypto,
// and checks every byte; it also decodes and verifies the example event.
func TestBrowserWorkedExample(t *testing.T) {
	chromiumPath(t)
	b := openModules(t)
	defer b.checkExceptions()
	type result struct {
		Pub, Peer, Create, GroupID, Message, MessageID, Key, KeyID string
		EventSeq, EventTime                                        float64
		EventOK, EventTampered                                     bool
		Addr, AddrBack                                             string
	}
	r := eval[result](b, "running the example", `(async () => {
  const C = await import("/js/codec.js");
  const P = await import("/js/proto.js");
  const K = await import("/js/keys.js");
  const s = await K.fromSeed(C.fromHex("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"));
  const host = C.fromHex("e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f0");
  const c = await P.signSubmission(s, { group: null, kind: P.KIND.create, body: P.body.create({ name: "Tea shop" }, host),
    time: 1700000000000, nonce: C.fromHex("0102030405060708") });
  const m = await P.signSubmission(s, { group: C.fromHex(c.id), kind: P.KIND.message, body: P.body.message({ text: "你好, world" }),
    time: 1700000001000, nonce: C.fromHex("090a0b0c0d0e0f10") });
  const ev = C.fromHex("`+exampleEvent+`");
  const d = P.decodeEvent(ev);
  const bad = ev.slice(); bad[bad.length - 70] ^= 1;
  const k2 = await K.parseKeyFile(s.keyFile());
  const addr = "/ip4/127.0.0.1/tcp/7781/p2p/12D3KooWRRmq4Bhvg3TUdnj4qaENeEnReVahxXqo5tokPMLkqkDV";
  return { Pub: C.toHex(s.publicKey), Peer: s.id, Create: C.toHex(c.raw), GroupID: c.id, Message: C.toHex(m.raw), MessageID: m.id,
    Key: s.keyFile(), KeyID: k2.id, EventSeq: d.seq, EventTime: d.time, EventOK: await P.verifyEvent(d, host),
    EventTampered: await P.verifyEvent(P.decodeEvent(bad), host),
    Addr: C.toHex(P.multiaddrBytes(addr)), AddrBack: P.multiaddrToString(P.multiaddrBytes(addr)) };
})()`)
	want := result{
		Pub:       "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664",
		Peer:      "12D3KooWJ1TsijH7H5F74hfAD5XishQz3sxrmAtVY37GtNd9CqYf",
		Create:    "0a6508011801222079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad0496642880d095ffbc31320801020304050607083a2c0a085465612073686f703a20e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f0124034d9a15b9c406c68fb54590c670ddbefa94c9ac7a0416b2c3e0efe5e45495905b2fb8856a2e9e56ca3b9995b7852e577f1db64ff707d11b762b2ec7d7b8d0f0c",
		GroupID:   "0f3794545965be3363902d1a4cc15e21f8bbb39570f9bfefb6cb3e1cfd457cd9",
		Message:   "0a6a080112200f3794545965be3363902d1a4cc15e21f8bbb39570f9bfefb6cb3e1cfd457cd91813222079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad04966428e8d795ffbc313208090a0b0c0d0e0f103a0f0a0de4bda0e5a5bd2c20776f726c64124091bfda3cee344fb95bd48e81da913f9982b0613878ba4d75689daff7d0d2d1b9aae461a3105e7069b0d1b42f25910608a804d083fd44ba83b88a70498468a406",
		MessageID: "6bee4bc41b4a676557a2660e18c6d9a2091c55f27685ad31be2763d1cf803f04",
		// libp2p's PrivateKey protobuf: 08 01 12 40 || seed || public key.
		Key:      base64.StdEncoding.EncodeToString(append(append([]byte{8, 1, 0x12, 0x40}, mustHex("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20")...), mustHex("79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664")...)) + "\n",
		KeyID:    "12D3KooWJ1TsijH7H5F74hfAD5XishQz3sxrmAtVY37GtNd9CqYf",
		EventSeq: 1, EventTime: 1700000000500, EventOK: true, EventTampered: false,
		Addr:     "047f000001061e65a50326002408011220e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f0",
		AddrBack: "/ip4/127.0.0.1/tcp/7781/p2p/12D3KooWRRmq4Bhvg3TUdnj4qaENeEnReVahxXqo5tokPMLkqkDV",
	}
	if r != want {
		t.Errorf("the browser's example:\n got %+v\nwant %+v", r, want)
	}
}

// TestBrowserQR draws QR codes of several sizes with the page's encoder and,
// when zbarimg (zbar-tools) is installed, decodes them again. Without it,
// it checks the size of the codes only.
func TestBrowserQR(t *testing.T) {
	chromiumPath(t)
	b := openModules(t)
	defer b.checkExceptions()
	zbar, zerr := exec.LookPath("zbarimg")
	if zerr != nil {
		t.Log("zbarimg is not installed (apt-get install zbar-tools): the codes are not decoded")
	}
	dir := t.TempDir()
	long := "http://127.0.0.1:7780/join#" + strings.Repeat("Cr8BCAESIK0A4Q1K-_", 80)
	for _, text := range []string{long[:1], long[:17], long[:60], "邀请你加入“茶馆” https://qun.example/join#Cr8B", long[:120], long[:300], long[:420], long[:700], long[:1200]} {
		type qr struct {
			PNG     string
			Version float64
			Ecl     string
			Matrix  string
		}
		q := eval[qr](b, "drawing a QR code", `(async () => {
  const Q = await import("/js/qr.js");
  const c = document.createElement("canvas");
  const r = Q.drawQR(c, `+jsString(text)+`, 3);
  return { PNG: c.toDataURL("image/png"), Version: r.version, Ecl: r.ecl,
    Matrix: r.modules.map((row) => row.map((x) => (x ? "1" : "0")).join("")).join("\\n") };
})()`)
		sum := sha256.Sum256([]byte(q.Matrix))
		if want, ok := qrGolden[len(text)]; ok && hex.EncodeToString(sum[:]) != want {
			t.Errorf("%d bytes: the code's modules changed (sha256 %x); if zbarimg reads the new code, update qrGolden", len(text), sum)
		}
		if q.Version < 1 || q.Version > 40 {
			t.Fatalf("%d bytes: version %v", len(text), q.Version)
		}
		t.Logf("%d bytes: version %v-%s, modules sha256 %x", len(text), q.Version, q.Ecl, sum)
		if zerr != nil {
			continue
		}
		png, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(q.PNG, "data:image/png;base64,"))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "qr.png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(zbar, "-q", "--raw", "-Sbinary", path).Output()
		if err != nil {
			t.Errorf("%d bytes (version %v-%s): zbarimg cannot read the code: %v", len(text), q.Version, q.Ecl, err)
			continue
		}
		if got := strings.TrimSuffix(string(out), "\n"); got != text {
			t.Errorf("%d bytes (version %v-%s): zbarimg reads %q", len(text), q.Version, q.Ecl, got)
		}
	}
}

// qrGolden holds the SHA-256 of the module matrix (rows of 0 and 1) of
// codes that zbarimg decoded, by text length: without zbarimg the test
// still notices any change of the encoder's output.
var qrGolden = map[int]string{
	1:    "675d302e12497cb278679b1e9991c28dee6c588a13596fa0827a40b84dba43a2",
	17:   "c4a1dca54985796e6fa5f053b78ae59a784dd8357b54f184f182cc02b65d9c17",
	57:   "7e37ba379ed5d5a23a86f810d3614de1e6c3827cbe3d6bd2f98d5ceb5e46f57b",
	60:   "98fee5867a110afc8ea96d09035d454d097e0f927299ab228dfa3a1be34a510b",
	120:  "56446b5eae9314a97396baca1f21c5c3365e9399e9bd5c46dc69d53172158e51",
	300:  "19dd3dba7ab966b1f9cc08cce3fc83fff3a0a2e5bbf9ef53861e04b099004b81",
	420:  "d63739b49c874307c195f80866cee9ecbb8991835860817015c3f5cdcef3e7e4",
	700:  "76092a41dde76dedca5a3649a8788283090b8f671451c9e6a961716823866815",
	1200: "091ac021398c1b6d51ffc084cd3d1cfa37f306de94ed3b5ef72e80a7dd9d7597",
}

const exampleEvent = "0afb01080112200f3794545965be3363902d1a4cc15e21f8bbb39570f9bfefb6cb3e1cfd457cd9180128f4d395ffbc313220e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f03aa9010a6508011801222079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad0496642880d095ffbc31320801020304050607083a2c0a085465612073686f703a20e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f0124034d9a15b9c406c68fb54590c670ddbefa94c9ac7a0416b2c3e0efe5e45495905b2fb8856a2e9e56ca3b9995b7852e577f1db64ff707d11b762b2ec7d7b8d0f0c12409f5f49222a5361466545c201f5df8169c5c7d8c51ba980fe4fd782d0d51a88acaccecdbc325bd5d083bbc690b3f5923d92aea50ef4359dc718068b38efade20a"

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return "\"" + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + "\""
}

// TestBrowserI18n checks that both languages have the same keys, and that
// every key the modules use (literal, or one of a known family) exists.
func TestBrowserI18n(t *testing.T) {
	chromiumPath(t)
	b := openModules(t)
	defer b.checkExceptions()
	type dicts struct{ En, Zh []string }
	d := eval[dicts](b, "reading the dictionaries", `(async () => {
  const I = await import("/js/i18n.js");
  await import("/js/directory.js"); // modules that add their own words
  await import("/js/shown.js");
  await import("/js/shop.js");
  return { En: Object.keys(I.dictionaries.en), Zh: Object.keys(I.dictionaries.zh) };
})()`)
	en, zh := map[string]bool{}, map[string]bool{}
	for _, k := range d.En {
		en[k] = true
	}
	for _, k := range d.Zh {
		zh[k] = true
		if !en[k] {
			t.Errorf("zh has %q, en does not", k)
		}
	}
	for _, k := range d.En {
		if !zh[k] {
			t.Errorf("en has %q, zh does not", k)
		}
	}
	var used []string
	files, _ := filepath.Glob("static/js/*.js")
	// Every string literal that looks like a key: "family.name…".
	literal := regexp.MustCompile(`"((?:common|nav|conn|key|groups|create|settings|policy|role|join|chat|ev|manage|dur|err|profile|person|history|contact|dir|shown|shop)\.[A-Za-z0-9_.]*)"`)
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range literal.FindAllStringSubmatch(string(src), -1) {
			if !strings.HasSuffix(m[1], ".") && !strings.HasSuffix(m[1], ".js") { // not a prefix completed at run time, nor a module
				used = append(used, m[1])
			}
		}
	}
	for c := protocol.Code(1); c <= protocol.CodeUnauthenticated; c++ {
		used = append(used, "err."+c.String())
	}
	for _, fam := range [][]string{
		{"role.", "owner", "admin", "member", "bridge"},
		{"policy.", "open", "approval", "invite"},
		{"history.", "all", "join"},
		{"conn.", "connecting", "live", "reconnecting", "idle"},
		{"dur.", "10m", "1h", "1d", "7d", "30d", "forever", "never"},
		{"manage.inv.", "active", "revoked", "expired", "usedUp"},
		{"manage.tab.", "members", "requests", "invites", "settings"},
		{"key.bad.", "badBase64", "notEd25519", "pubMismatch"},
		{"profile.bad.", "utf8", "tooLong", "control", "edge"},
		{"profile.field.", "name", "bio", "nick"},
		{"err.", "unreachable", "invite_invalid"},
		{"shop.tab.", "orders", "rules", "broadcasts", "live", "stats"},
		{"shop.state.", "accepted", "dispatched", "delivered", "closed"},
		{"shop.next.", "dispatched", "delivered", "closed"},
		{"shop.invite.", "buyer", "staff", "courier"},
		{"shop.action.", "warn", "mute", "kick"},
		{"shop.bc.kind.", "message", "announce"},
		{"shop.bc.to.", "all", "groups", "tags", "family"},
		{"shop.bc.state.", "scheduled", "sending", "sent"},
		{"shop.src.", "order", "live", "invite", "open", "approval", "directory"},
	} {
		for _, k := range fam[1:] {
			used = append(used, fam[0]+k)
		}
	}
	for _, k := range used {
		if !en[k] {
			t.Errorf("the modules use %q, which the dictionaries lack", k)
		}
	}
}
