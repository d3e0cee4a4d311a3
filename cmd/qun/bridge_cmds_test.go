package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBridgeCheck: qun bridge check takes the sample configuration (with
// the files it names) and says line by line what is wrong with a broken
// one, with exit status 1; no node is needed.
func TestBridgeCheck(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	sample, err := os.ReadFile("../../bridge/bridge.sample.toml")
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "bridge.toml")
	if err := os.WriteFile(good, sample, 0o600); err != nil {
		t.Fatal(err)
	}
	saveNewKey(t, filepath.Join(dir, "bridge.key"))
	for _, f := range []string{"xmpp.password", "matrix.token", "webhook.secret"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("secret"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := e.ok("bridge", "check", "--config", good)
	if !strings.Contains(r.stdout, "is a valid bridge configuration: 4 connectors (irc.libera, matrix.hs, webhook.platform, xmpp.shop), 1 routes") {
		t.Fatalf("output %q", r.stdout)
	}
	if v := decodeLine(t, e.ok("bridge", "check", "--config", good, "--json").stdout); v["routes"] != float64(1) {
		t.Fatalf("JSON %v", v)
	}

	bad := filepath.Join(dir, "bad.toml")
	broken := strings.Replace(strings.Replace(string(sample), `nick          = "qunbridge"`, `nick          = "9lives"`, 1), `"irc.libera:#tea"`, `"irc.libera:tea"`, 1)
	if err := os.WriteFile(bad, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	lineOf := func(s string) int {
		for i, l := range strings.Split(string(sample), "\n") {
			if strings.Contains(l, s) {
				return i + 1
			}
		}
		t.Fatalf("the sample has no %q", s)
		return 0
	}
	nickLine, routeLine := lineOf(`nick          = "qunbridge"`), lineOf(`remote    = [`)
	r = e.run("bridge", "check", "--config", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "has 2 problems") || !strings.Contains(r.stderr, fmt.Sprintf("%s:%d: nick", bad, nickLine)) || !strings.Contains(r.stderr, fmt.Sprintf("%s:%d: route 1: remote \"irc.libera:tea\"", bad, routeLine)) {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if r := e.run("bridge", "check"); r.code != 2 || !strings.Contains(r.stderr, "--config FILE") {
		t.Fatalf("without --config: exit %d, %q", r.code, r.stderr)
	}
	if r := e.run("bridge", "check", "--config", filepath.Join(dir, "none.toml")); r.code != 1 || !strings.Contains(r.stderr, "no such file") {
		t.Fatalf("a missing file: exit %d, %q", r.code, r.stderr)
	}
}
