package bridge

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
)

// sampleDir is a folder with the sample configuration and the files it
// names.
func sampleDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	sample, err := os.ReadFile("bridge.sample.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bridge.toml"), sample, 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := protocol.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := client.SaveKey(filepath.Join(dir, "bridge.key"), k); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"xmpp.password", "matrix.token", "webhook.secret"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestSampleConfig: the sample in the repository (and the README) is a
// configuration the bridge takes.
func TestSampleConfig(t *testing.T) {
	dir := sampleDir(t)
	cfg, err := LoadConfig(filepath.Join(dir, "bridge.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.ConnectorNames(), " "); got != "irc.libera matrix.hs webhook.platform xmpp.shop" {
		t.Fatalf("connectors %q", got)
	}
	if len(cfg.Routes) != 1 || len(cfg.Routes[0].Remote) != 4 || cfg.Routes[0].Direction != "both" {
		t.Fatalf("routes %+v", cfg.Routes)
	}
}

// TestConfigProblems: each mistake is named with its line, all of them at
// once, and a configuration with any is not taken.
func TestConfigProblems(t *testing.T) {
	dir := sampleDir(t)
	cases := []struct {
		name string
		conf string
		want []string // "line N: substring", in order
	}{
		{"a TOML syntax error", "key = \"bridge.key\"\napi = \n", []string{"line 2: "}},
		{"unknown keys", "key = \"bridge.key\"\napi = \"http://127.0.0.1:7780\"\ndata = \"d\"\nspeed = 3\n[irc.x]\nserver = \"a:1\"\nnick = \"n\"\ncolour = \"red\"\n",
			[]string{`line 4: unknown key "speed"`, `line 8: unknown key "irc.x.colour"`}},
		{"a wrong type", "key = 7\n", []string{"line 1: "}},
		{"everything missing", "", []string{"needs key", "needs api", "needs data", "no connector", "no route"}},
		{"wrong values, line by line", `key = "missing.key"
api = "ftp://node"
data = "d"

[irc.libera]
server = "irc.example.org"
nick = "9lives"
nick_template = "[name]"
messages_per_second = -1

[xmpp.shop]
jid = "no-at-sign"
password_file = "nope.txt"

[matrix.hs]
homeserver = "https://m.example.org"
user = "bot"
token_file = "matrix.token"

[[route]]
group = "xyz"
direction = "sideways"
remote = ["irc.libera:tea", "irc.other:#x", "nocolon", "matrix.hs:room"]

[[route]]
group = "3aff237f5705ab9ce4994b41e45d57b0a29049693fd3ce977cd4f5bbabaaabc5"
remote = ["xmpp.shop:tea@muc.example.org", "xmpp.shop:tea@muc.example.org"]
`, []string{
			"line 1: key: ",
			"line 2: api: \"ftp://node\" is not an http",
			"line 6: server: \"irc.example.org\" is not host:port",
			"line 7: nick: \"9lives\" is not an IRC nick",
			"line 8: nick_template: \"[name]\" has no {name}",
			"line 9: messages_per_second: -1 is not between",
			"line 12: jid: \"no-at-sign\" is not a bare JID",
			"line 13: password_file: nope.txt cannot be read",
			"line 17: user: \"bot\" is not a Matrix user ID",
			"line 21: route 1: group \"xyz\" is not a group ID",
			"line 22: route 1: direction \"sideways\"",
			"line 23: route 1: remote \"irc.libera:tea\": an IRC channel starts with #",
			"line 23: route 1: remote \"irc.other:#x\" names the connector irc.other, which is not configured",
			"line 23: route 1: remote \"nocolon\" is not KIND.NAME:CHANNEL",
			"line 23: route 1: remote \"matrix.hs:room\": a Matrix room",
			"line 27: route 2: remote \"xmpp.shop:tea@muc.example.org\" is already in the route at line 27",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, problems := ParseConfig([]byte(tc.conf), dir)
			if cfg != nil {
				t.Fatal("a configuration with problems was taken")
			}
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("problems:\n%s\nwant %d:\n%s", strings.Join(got, "\n"), len(tc.want), strings.Join(tc.want, "\n"))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d is %q, want it to contain %q", i+1, got[i], w)
				}
			}
		})
	}
}

// FuzzParseConfig: any bytes give a configuration or problems, never a
// panic, and a configuration only without problems.
//
// go test -run '^$' -fuzz FuzzParseConfig -fuzztime 60s ./bridge/
func FuzzParseConfig(f *testing.F) {
	sample, err := os.ReadFile("bridge.sample.toml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	f.Add([]byte("key = 7\n[[route]]\nremote = [\"irc.x:#a\"]\n[irc.x]\nserver = \":\"\n"))
	f.Add([]byte("[[route]]\n[[route]]\ngroup = \"\"\n[irc.\"a b\"]\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, problems := ParseConfig(data, dir)
		if (cfg == nil) == (len(problems) == 0) {
			t.Fatalf("config %v with %d problems", cfg != nil, len(problems))
		}
		for _, p := range problems {
			if p.Msg == "" || p.Line < 0 {
				t.Fatalf("problem %+v", p)
			}
		}
	})
}

// TestXMPPConfig: an [xmpp.NAME]'s optional nick and ca_file are taken
// when right and named with their line when wrong.
func TestXMPPConfig(t *testing.T) {
	dir := sampleDir(t)
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), []byte("-----BEGIN CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	head := "key = \"bridge.key\"\napi = \"http://127.0.0.1:7780\"\ndata = \"d\"\n\n[[route]]\ngroup = \"3aff237f5705ab9ce4994b41e45d57b0a29049693fd3ce977cd4f5bbabaaabc5\"\nremote = [\"xmpp.shop:tea@muc.example.org\"]\n\n[xmpp.shop]\njid = \"bridge@example.org\"\npassword_file = \"xmpp.password\"\n"
	cfg, problems := ParseConfig([]byte(head+"nick = \"Qun bridge 茶\"\nca_file = \"ca.pem\"\n"), dir)
	if len(problems) > 0 {
		t.Fatalf("problems %v", problems)
	}
	if x := cfg.XMPP["shop"]; x.Nick != "Qun bridge 茶" || x.CAFile == "" {
		t.Fatalf("got %+v", x)
	}
	for _, tc := range []struct{ conf, want string }{
		{"nick = \" padded\"\n", "line 12: nick: \" padded\" is not a room nick"},
		{"nick = \"bell\\u0007\"\n", "line 12: nick: \"bell\\a\" is not a room nick"},
		{"nick = \"" + strings.Repeat("n", 65) + "\"\n", "line 12: nick: "},
		{"ca_file = \"missing.pem\"\n", "line 12: ca_file: missing.pem cannot be read"},
	} {
		cfg, problems := ParseConfig([]byte(head+tc.conf), dir)
		if cfg != nil || len(problems) != 1 || !strings.Contains(problems[0].String(), tc.want) {
			t.Errorf("%q: problems %v, want one with %q", tc.conf, problems, tc.want)
		}
	}
}
