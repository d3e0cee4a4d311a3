package webhook

import (
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/bridge"
)

const platformDoc = "../../docs/BRIDGE-PLATFORM.md"

// docExample is the worked example of docs/BRIDGE-PLATFORM.md.
type docExample struct {
	secret, body, signature string
	ts                      int64
}

func readDoc(t *testing.T) (string, docExample) {
	t.Helper()
	b, err := os.ReadFile(platformDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	m := regexp.MustCompile("(?m)^```text\nsecret: +(.+)\ntimestamp: +([0-9]+)\nbody: +(.+)\nsignature: +(.+)\n```$").FindStringSubmatch(doc)
	if m == nil {
		t.Fatal("the worked example is not in the doc")
	}
	ts, _ := strconv.ParseInt(m[2], 10, 64)
	return doc, docExample{secret: m[1], ts: ts, body: m[3], signature: m[4]}
}

// block is the fenced code block after the marker <!-- example: NAME -->.
func block(t *testing.T, doc, name string) string {
	t.Helper()
	m := regexp.MustCompile("(?s)<!-- example: " + name + " -->\n```[a-z]+\n(.*?)```\n").FindStringSubmatch(doc)
	if m == nil {
		t.Fatalf("no %s example in the doc", name)
	}
	return m[1]
}

// TestDocExample checks the worked example of docs/BRIDGE-PLATFORM.md
// against Sign, and runs the doc's openssl and Python snippets on it
// (where bash, openssl and python3 are installed); the Go snippet must
// parse.
func TestDocExample(t *testing.T) {
	doc, ex := readDoc(t)
	if len(ex.secret) < MinSecretBytes {
		t.Errorf("the example's secret is too short to be accepted")
	}
	if got := Sign([]byte(ex.secret), ex.ts, []byte(ex.body)); got != ex.signature {
		t.Fatalf("the doc says %s; Sign gives %s", ex.signature, got)
	}
	if _, _, err := verify([]byte(ex.secret), strconv.FormatInt(ex.ts, 10), ex.signature, []byte(ex.body), time.Unix(ex.ts, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := decodeRequest(kindMessage, []byte(ex.body)); err != nil {
		t.Errorf("the example's body is not a valid message: %v", err)
	}

	if _, err := parser.ParseFile(token.NewFileSet(), "doc.go", "package p\n"+block(t, doc, "go"), 0); err != nil {
		t.Errorf("the Go snippet: %v", err)
	}

	sh := block(t, doc, "shell")
	for _, want := range []string{"secret='" + ex.secret + "'", "timestamp=" + strconv.FormatInt(ex.ts, 10), "body='" + ex.body + "'"} {
		if !strings.Contains(sh, want) {
			t.Errorf("the shell snippet does not have %s", want)
		}
	}
	if bash, err := exec.LookPath("bash"); err != nil {
		t.Log("no bash: the shell snippet is not run")
	} else if _, err := exec.LookPath("openssl"); err != nil {
		t.Log("no openssl: the shell snippet is not run")
	} else {
		out, err := exec.CommandContext(t.Context(), bash, "-c", sh).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != ex.signature {
			t.Errorf("the shell snippet gives %q, %v; want %s", out, err, ex.signature)
		}
	}

	if py, err := exec.LookPath("python3"); err != nil {
		t.Log("no python3: the Python snippet is not run")
	} else {
		check := block(t, doc, "python") + `
import sys
secret, ts, body, sig = (a.encode() for a in sys.argv[1:5])
h = {"Qun-Timestamp": ts.decode(), "Qun-Signature": sig.decode()}
verify(secret, h, body, now=int(ts) + 299)
for bad in ({**h, "Qun-Signature": "v1=" + "0" * 64}, {**h, "Qun-Timestamp": str(int(ts) + 1)}, {}):
    try:
        verify(secret, bad, body, now=int(ts))
    except ValueError:
        continue
    sys.exit("accepted %r" % bad)
try:
    verify(secret, h, body, now=int(ts) + 301)
    sys.exit("accepted a stale request")
except ValueError:
    pass
print("ok")
`
		out, err := exec.CommandContext(t.Context(), py, "-c", check, ex.secret, strconv.FormatInt(ex.ts, 10), ex.body, ex.signature).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "ok" {
			t.Errorf("the Python snippet: %s %v", out, err)
		}
	}

	// The limits the doc gives are the code's.
	for _, want := range []string{
		"at most **65,536 bytes**", "| a request's body | 65,536 bytes |", "| `text` | 16,384 bytes |",
		"| `user`, `name` | 256 bytes |", "100,000 undelivered webhooks", "within **5 minutes**", "at least 32 bytes",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("the doc does not say %q", want)
		}
	}
	if MaxBodyBytes != 65536 || MaxTextBytes != 16384 || MaxUserBytes != 256 || MaxIDBytes != 256 || MaxPending != 100_000 || TimestampWindow != 5*time.Minute || MinSecretBytes != 32 {
		t.Error("a limit changed: change docs/BRIDGE-PLATFORM.md too")
	}
}

// TestDocCurl runs the doc's curl examples (qun_post and the status
// request) against a connector, where bash, curl and openssl are
// installed.
func TestDocCurl(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	doc, _ := readDoc(t)
	c := start(t, deadURL, t.TempDir(), []string{"shop-42"})
	g := runGateway(t, c.in, func(m bridge.Inbound) (bridge.Result, bool) {
		if m.Invite {
			return bridge.Result{Invite: &bridge.Invite{Link: "https://qun.example/join#t", Token: "t", QR: []byte("png")}}, true
		}
		return bridge.Result{Event: "ev", Seq: 1042}, true
	})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "webhook.secret"), append(append([]byte{}, testSecret...), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	const docAddr = "http://127.0.0.1:7790"
	post := block(t, doc, "qun_post")
	if !strings.Contains(post, docAddr) {
		t.Fatalf("qun_post does not post to %s", docAddr)
	}
	for _, tc := range []struct{ name, want string }{
		{"messages", `{"event":"ev","seq":1042}`},
		{"edits", `{"event":"ev","seq":1042}`},
		{"deletes", `{"event":"ev","seq":1042}`},
		{"invites", `{"link":"https://qun.example/join#t","token":"t","qr_png":"cG5n"}`},
		{"status", `{"name":"webhook.platform","connected":true,`},
	} {
		script := strings.ReplaceAll(post+block(t, doc, tc.name), docAddr, "http://"+c.Addr().String())
		cmd := exec.CommandContext(t.Context(), "bash", "-euc", script)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), tc.want) {
			t.Errorf("%s: %s %v; want %s", tc.name, out, err, tc.want)
		}
	}
	got := g.inbound()
	if len(got) != 4 || got[0].ID != "m-1001" || got[0].Name != "Alice" || got[1].Edits != "m-1001" || got[2].Deletes != "m-1001" || !got[3].Invite {
		t.Errorf("the gateway got %+v", got)
	}
}
