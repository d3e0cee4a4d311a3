package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// qunCLI runs the qun binary with args and returns stdout, stderr and the
// exit status.
func qunCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return qunEnv(t, nil, args...)
}

// qunEnv is qunCLI with more environment variables.
func qunEnv(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// qunJSON runs a command with --json that must succeed and decodes its
// first output line.
func qunJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	out, errs, code := qunCLI(t, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("qun %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	var v map[string]any
	line, _, _ := strings.Cut(out, "\n")
	if err := json.Unmarshal([]byte(line), &v); err != nil {
		t.Fatalf("qun %s: output %q is not JSON: %v", strings.Join(args, " "), out, err)
	}
	return v
}

// TestE2ECLI walks the README's three-node story with the real binary:
// create, invite, join from two other nodes, send, history, moderation and
// a readable refusal.
func TestE2ECLI(t *testing.T) {
	a, b, c := startProc(t, t.TempDir()), startProc(t, t.TempDir()), startProc(t, t.TempDir())
	admin := []string{"--api", a.api, "--key", filepath.Join(a.dir, "admin.key")}
	bobKey, carolKey := filepath.Join(t.TempDir(), "bob.key"), filepath.Join(t.TempDir(), "carol.key")
	bob := []string{"--api", b.api, "--key", bobKey}
	carol := []string{"--api", c.api, "--key", carolKey}
	daveKey := filepath.Join(t.TempDir(), "dave.key")
	for _, k := range []string{bobKey, carolKey, daveKey} { // no command but key new makes a key
		must(t, qunCLI, "key", "new", "--key", k)
	}

	gid := qunJSON(t, append([]string{"group", "create", "--name", "Tea shop", "--policy", "invite"}, admin...)...)["group"].(string)
	inv := qunJSON(t, append([]string{"invite", "create", gid, "--uses", "2", "--ttl", "1h"}, admin...)...)
	link := inv["link"].(string)
	if !strings.Contains(link, "/join#") || inv["token"] == "" {
		t.Fatalf("invite output %v", inv)
	}
	if g := qunJSON(t, append([]string{"join", link}, bob...)...)["group"]; g != gid {
		t.Fatalf("join answered group %v, want %s", g, gid)
	}
	qunJSON(t, append([]string{"join", inv["token"].(string)}, carol...)...)

	// A third use of a two-use invite is refused with a readable reason.
	_, errs, code := qunCLI(t, append([]string{"join", link}, "--api", b.api, "--key", daveKey)...)
	if code != 1 || !strings.Contains(errs, "used up") {
		t.Fatalf("third join: exit %d, stderr %q; want exit 1 and 'used up'", code, errs)
	}

	qunJSON(t, append([]string{"send", gid, "welcome", "to", "the", "shop"}, admin...)...)
	sent := qunJSON(t, append([]string{"send", gid, "hello from bob"}, bob...)...)
	if sent["seq"] == nil || sent["id"] == "" {
		t.Fatalf("send output %v", sent)
	}
	// Flags after positionals.
	qunJSON(t, append([]string{"send", gid, "hi bob", "--reply", jsonNum(sent["seq"])}, carol...)...)

	bobID := strings.TrimSpace(must(t, qunCLI, append([]string{"whoami"}, bob...)...))
	qunJSON(t, append([]string{"pin", gid, jsonNum(sent["seq"])}, admin...)...)
	qunJSON(t, append([]string{"announce", gid, "new tea arrived"}, admin...)...)
	qunJSON(t, append([]string{"mute", gid, bobID, "--for", "1h", "--reason", "spam"}, admin...)...)

	_, errs, code = qunCLI(t, append([]string{"send", gid, "am I muted?"}, bob...)...)
	if code != 1 || !strings.HasPrefix(errs, "qun: you are muted in this group until ") || strings.Count(errs, "\n") != 1 {
		t.Fatalf("muted send: exit %d, stderr %q; want one line 'qun: you are muted…'", code, errs)
	}
	// Carol, not an admin, cannot kick.
	_, errs, code = qunCLI(t, append([]string{"kick", gid, bobID}, carol...)...)
	if code != 1 || !strings.Contains(errs, "only the owner and admins") {
		t.Fatalf("kick by a member: exit %d, stderr %q", code, errs)
	}

	// History on C shows every kind with seq, id, author, kind and text.
	out, errs, code := qunCLI(t, "history", gid, "--from", "1", "--json", "--api", c.api, "--key", carolKey)
	if code != 0 {
		t.Fatalf("history: exit %d: %s", code, errs)
	}
	var kinds []string
	texts := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("history line %q: %v", line, err)
		}
		for _, k := range []string{"seq", "id", "author", "kind"} {
			if ev[k] == nil {
				t.Fatalf("history line %q lacks %s", line, k)
			}
		}
		kinds = append(kinds, ev["kind"].(string))
		if s, ok := ev["text"].(string); ok {
			texts[s] = true
		}
	}
	want := "create invite_create join join message message message pin announce mute"
	if got := strings.Join(kinds, " "); got != want {
		t.Fatalf("history kinds:\n got %s\nwant %s", got, want)
	}
	for _, s := range []string{"welcome to the shop", "hello from bob", "hi bob", "new tea arrived"} {
		if !texts[s] {
			t.Fatalf("history lacks %q", s)
		}
	}

	// Usage errors exit 2 and say what is expected.
	_, errs, code = qunCLI(t, "send", "--api", a.api)
	if code != 2 || !strings.Contains(errs, "usage: qun send") {
		t.Fatalf("bad usage: exit %d, stderr %q", code, errs)
	}
}

func jsonNum(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func must(t *testing.T, run func(*testing.T, ...string) (string, string, int), args ...string) string {
	t.Helper()
	out, errs, code := run(t, args...)
	if code != 0 {
		t.Fatalf("qun %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	return out
}
