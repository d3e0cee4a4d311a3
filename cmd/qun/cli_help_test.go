package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
)

// These tests run the whole command line in process through run, with
// QUN_API and QUN_KEY set for the test.

// qunRun runs the command line args through run.
func qunRun(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return result{true, code, out.String(), errb.String()}
}

// setEnv makes e's environment the process environment, for run.
func (e *env) setEnv() {
	for k, v := range e.vars {
		e.t.Setenv(k, v)
	}
}

func TestCLIGlobalFlagPlacement(t *testing.T) {
	e := newEnv(t)
	gid := e.group()
	api := e.api.srv.URL
	other := filepath.Join(t.TempDir(), "other.key")
	otherID := saveNewKey(t, other).ID().String()
	e.vars["QUN_API"] = "http://127.0.0.1:1" // nothing listens: the flag must win
	e.setEnv()
	groupsLine := gid + ` "Tea": 1 members, head #1, hosted here` + "\n"

	for _, tc := range []struct {
		before, after []string // the same command line with the flags before and after the command
		want          string   // stdout, or a prefix of it ending in "…"
	}{
		{[]string{"--api", api, "groups"}, []string{"groups", "--api", api}, groupsLine},
		{[]string{"--api=" + api, "-json", "groups"}, []string{"groups", "-json", "--api=" + api}, `{"group":"` + gid + `"…`},
		{[]string{"-api", api, "--", "groups"}, []string{"groups", "-api", api}, groupsLine},
		{[]string{"--api", api, "--json", "group", "info", gid}, []string{"group", "info", gid, "--api", api, "--json"}, `{"group":"` + gid + `"…`},
		{[]string{"--key", other, "whoami"}, []string{"whoami", "--key", other}, otherID + "\n"},
		{[]string{"--key", other, "--json", "key", "show"}, []string{"key", "show", "--json", "--key", other}, `{"user":"` + otherID + `","key":"` + other + `"}` + "\n"},
		{[]string{"--api", api, "--timeout", "5s", "--json", "send", gid, "hi"}, []string{"send", gid, "hi", "--api", api, "--timeout", "5s", "--json"}, `{"group":"` + gid + `"…`},
		// The command's own flags come after the common ones and win.
		{[]string{"--key", other, "whoami", "--key", e.key}, []string{"whoami", "--key", e.key}, ""},
	} {
		rb, ra := qunRun(t, tc.before...), qunRun(t, tc.after...)
		if rb.code != 0 || ra.code != 0 {
			t.Errorf("qun %s: exit %d (%s); qun %s: exit %d (%s)", strings.Join(tc.before, " "), rb.code, rb.stderr, strings.Join(tc.after, " "), ra.code, ra.stderr)
			continue
		}
		if tc.before[len(tc.before)-1] == "hi" { // two sends: the same but for seq and ID
			continue
		}
		if rb.stdout != ra.stdout {
			t.Errorf("qun %s printed %q, qun %s printed %q", strings.Join(tc.before, " "), rb.stdout, strings.Join(tc.after, " "), ra.stdout)
		}
		if p, ok := strings.CutSuffix(tc.want, "…"); ok && !strings.HasPrefix(rb.stdout, p) || !ok && tc.want != "" && rb.stdout != tc.want {
			t.Errorf("qun %s printed %q, want %q", strings.Join(tc.before, " "), rb.stdout, tc.want)
		}
	}
	if b := e.api.last().DecodedBody().(*protocol.MessageBody); b.Text != "hi" {
		t.Errorf("sent %+v", b)
	}

	// Mistakes before the command: exit 2, one clear line, nothing run.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--frob", "groups"}, `qun: unknown flag --frob before the command (before the command go only --api URL, --key FILE, --json and --timeout DURATION`},
		{[]string{"--jsn", "groups"}, `qun: unknown flag --jsn before the command; did you mean --json?`},
		{[]string{"--reply", "2", "send", gid, "x"}, "qun: unknown flag --reply before the command ("},
		{[]string{"--api"}, "qun: flag --api needs a value"},
		{[]string{"--api", api}, "qun: missing command after --api"},
		{[]string{"--api", api, "node"}, `qun: --api before "node": the flags before a command`},
		{[]string{"--json", "version"}, `qun: --json before "version"`},
		{[]string{"--api", api, "grups"}, `qun: unknown command "grups"; did you mean "groups"?`},
		{[]string{"--timeout", "soon", "groups"}, `qun groups: invalid value "soon" for flag -timeout`},
	} {
		r := qunRun(t, tc.args...)
		if r.code != 2 || !strings.HasPrefix(r.stderr, tc.want) || r.stdout != "" {
			t.Errorf("qun %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", strings.Join(tc.args, " "), r.code, r.stdout, r.stderr, tc.want)
		}
	}
	if n := len(e.api.subs); n != 3 {
		t.Errorf("the fake node got %d submissions, want 3 (create and two sends)", n)
	}
}

func TestCLIHelpPerCommand(t *testing.T) {
	newEnv(t).setEnv()
	flagRE := regexp.MustCompile(`--([a-z-]+)`)
	for _, c := range commands {
		words := strings.Fields(c.name)
		forms := [][]string{
			append([]string{"help"}, words...),
			append(append([]string{}, words...), "--help"),
			append(append([]string{}, words...), "-h"),
		}
		var first string
		for _, args := range forms {
			r := qunRun(t, args...)
			if r.code != 0 || r.stderr != "" {
				t.Errorf("qun %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
				continue
			}
			if first == "" {
				first = r.stdout
			} else if r.stdout != first {
				t.Errorf("qun %s printed another help than qun help %s", strings.Join(args, " "), c.name)
			}
		}
		if !strings.HasPrefix(first, "usage: "+c.synopsis()+"\n\n"+upperFirst(c.summary)+".\n") {
			t.Errorf("qun help %s does not start with its usage line and summary:\n%s", c.name, first)
		}
		// Every flag in the synopsis is described, with its argument.
		for _, m := range flagRE.FindAllStringSubmatch(c.synopsis(), -1) {
			if !regexp.MustCompile(`(?m)^  --` + m[1] + `( [A-Z:]+)?\n        \S`).MatchString(first) {
				t.Errorf("qun help %s does not describe --%s:\n%s", c.name, m[1], first)
			}
		}
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"help", "node"}, []string{"usage: qun node [FLAGS]\n", "  --data DIR\n", "(default qun-data)", "  --api HOST:PORT\n", "(default 127.0.0.1:7780)", "  --log-level LEVEL\n"}},
		{[]string{"node", "--help"}, []string{"usage: qun node [FLAGS]\n", "  --data DIR\n"}},
		{[]string{"help", "bench"}, []string{"usage: qun bench [FLAGS]\n", "  --only string\n"}},
		{[]string{"bench", "-h"}, []string{"usage: qun bench [FLAGS]\n"}},
		{[]string{"help", "version"}, []string{"usage: qun version\n"}},
		{[]string{"help", "help"}, []string{"usage: qun help [COMMAND [SUBCOMMAND]]\n"}},
		{[]string{"help", "group"}, []string{"usage: qun group create --name NAME", "usage: qun group info GID", "usage: qun group update GID", `"qun help group SUBCOMMAND"`}},
		{[]string{"key", "--help"}, []string{"usage: qun key new [--key FILE] [--json]\n", "usage: qun key show [--key FILE] [--json]\n"}},
		{[]string{"--help", "send"}, []string{"usage: qun send GID [TEXT...] [--file PATH]..."}},
		{[]string{"help", "key", "new"}, []string{"usage: qun key new [--key FILE] [--json]\n", "(never replaces one)"}},
	} {
		r := qunRun(t, tc.args...)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("qun %s: exit %d, stderr %q", strings.Join(tc.args, " "), r.code, r.stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("qun %s does not print %q:\n%s", strings.Join(tc.args, " "), w, r.stdout)
			}
		}
		if !strings.HasPrefix(r.stdout, "usage: ") {
			t.Errorf("qun %s does not start with a usage line:\n%s", strings.Join(tc.args, " "), r.stdout)
		}
	}
	// The key commands show only the flags they use.
	if r := qunRun(t, "help", "key", "show"); strings.Contains(r.stdout, "--api") || strings.Contains(r.stdout, "--timeout") {
		t.Errorf("qun help key show shows node flags:\n%s", r.stdout)
	}

	// qun help lists every command.
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		r := qunRun(t, args...)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("qun %s: exit %d, stderr %q", args[0], r.code, r.stderr)
		}
		for _, name := range append(commandNames(), "key new", "key show", "group create", "invite revoke") {
			if !regexp.MustCompile(`(?m)^  ` + name + `\b`).MatchString(r.stdout) {
				t.Errorf("qun %s does not list %s", args[0], name)
			}
		}
		if !strings.Contains(r.stdout, "qun --api URL groups = qun groups --api URL") {
			t.Errorf("qun %s does not say that the common flags may come first", args[0])
		}
	}
	if r := qunRun(t); r.code != 2 || !strings.HasPrefix(r.stderr, "Usage: qun") || r.stdout != "" {
		t.Errorf("qun without a command: %+v", r)
	}
}

func TestCLISuggest(t *testing.T) {
	e := newEnv(t)
	gid := e.group()
	e.setEnv()
	for _, tc := range []struct {
		args []string
		want string // the first line of stderr
	}{
		{[]string{"grups"}, `qun: unknown command "grups"; did you mean "groups"?`},
		{[]string{"gorup", "create"}, `qun: unknown command "gorup"; did you mean "group"?`},
		{[]string{"hisotry", gid}, `qun: unknown command "hisotry"; did you mean "history"?`},
		{[]string{"snd", gid, "hi"}, `qun: unknown command "snd"; did you mean "send"?`},
		{[]string{"invte"}, `qun: unknown command "invte"; did you mean "invite"?`},
		{[]string{"wohami"}, `qun: unknown command "wohami"; did you mean "whoami"?`},
		{[]string{"nod"}, `qun: unknown command "nod"; did you mean "node"?`},
		{[]string{"kye", "new"}, `qun: unknown command "kye"; did you mean "key"?`},
		{[]string{"Groups"}, `qun: unknown command "Groups"; did you mean "groups"?`},
		{[]string{"annou"}, `qun: unknown command "annou"; did you mean "announce"?`},
		{[]string{"xyzzy"}, `qun: unknown command "xyzzy"`},
		{[]string{"help", "grups"}, `qun: unknown command "grups"; did you mean "groups"?`},
		{[]string{"group", "craete", "--name", "x"}, `qun group: unknown subcommand "craete"; did you mean "create"?`},
		{[]string{"key", "nwe"}, `qun key: unknown subcommand "nwe"; did you mean "new"?`},
		{[]string{"help", "invite", "revok"}, `qun invite: unknown subcommand "revok"; did you mean "revoke"?`},
		{[]string{"send", gid, "hi", "--replay", "1"}, `qun send: flag provided but not defined: -replay; did you mean --reply?`},
		{[]string{"node", "--dta", "x"}, `qun node: flag provided but not defined: -dta; did you mean --data?`},
	} {
		r := qunRun(t, tc.args...)
		first, _, _ := strings.Cut(r.stderr, "\n")
		if r.code != 2 || first != tc.want || r.stdout != "" {
			t.Errorf("qun %s: exit %d, stdout %q, stderr %q; want exit 2 and first line %q", strings.Join(tc.args, " "), r.code, r.stdout, r.stderr, tc.want)
		}
	}
	if n := len(e.api.subs); n != 1 {
		t.Errorf("a mistyped command submitted: %d submissions", n)
	}
}

func TestEditDistanceAndSuggest(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{
		{"", "", 0}, {"", "abc", 3}, {"groups", "groups", 0}, {"grups", "groups", 1},
		{"hisotry", "history", 1}, {"ab", "ba", 1}, {"kitten", "sitting", 3}, {"群组", "群", 1},
	} {
		if d := editDistance(tc.a, tc.b); d != tc.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, d, tc.d)
		}
		if d := editDistance(tc.b, tc.a); d != tc.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.b, tc.a, d, tc.d)
		}
	}
	names := commandNames()
	for in, want := range map[string]string{"grup": "group", "ban": "ban", "x": "", "mutee": "mute", "unmte": "unmute", "re": "", "rol": "role", "hist": "history", "": ""} {
		if got := suggest(in, names); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKeyMissingRefused(t *testing.T) {
	e := newEnv(t)
	gid := e.group()
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		path string // in a directory that does not exist, but for env
		env  bool   // give the path in $QUN_KEY instead of --key
	}{
		{"flag", filepath.Join(dir, "typo", "bob.kye"), false},
		{"env", filepath.Join(dir, "carol.key"), true},
		{"space", filepath.Join(dir, "my keys", "dave.key"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.vars["QUN_KEY"] = e.key
			var keyArgs []string
			from, suggestion := "(from --key)", `"qun key new --key `+tc.path+`"`
			if tc.env {
				e.vars["QUN_KEY"] = tc.path
				from = "(from $QUN_KEY)"
			} else {
				keyArgs = []string{"--key", tc.path}
			}
			if strings.Contains(tc.path, " ") {
				suggestion = `"qun key new --key '` + tc.path + `'"`
			}
			e.setEnv()
			for _, args := range [][]string{
				{"send", gid, "hi"}, {"join", "TOKEN"}, {"group", "create", "--name", "x"}, {"groups"},
				{"history", gid}, {"whoami"}, {"key", "show"}, {"chat", gid}, {"mute", gid},
			} {
				r := qunRun(t, append(append([]string{}, keyArgs...), args...)...)
				want := "qun: no key file at " + tc.path + " " + from + "; nothing was created: check the path, or make a new key there with " + suggestion + "\n"
				if r.code != 1 || r.stderr != want || r.stdout != "" {
					t.Errorf("qun %s: exit %d, stdout %q, stderr %q; want exit 1 and %q", strings.Join(args, " "), r.code, r.stdout, r.stderr, want)
				}
				if _, err := os.Stat(tc.path); !os.IsNotExist(err) {
					t.Fatalf("qun %s: %s exists (%v)", strings.Join(args, " "), tc.path, err)
				}
			}
		})
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
		t.Errorf("the commands left files in %s: %v %v", dir, ents, err)
	}
	if n := len(e.api.subs); n != 1 {
		t.Errorf("the fake node got %d submissions, want 1 (the create)", n)
	}
}

func TestKeyNew(t *testing.T) {
	e := newEnv(t)
	e.setEnv()
	path := filepath.Join(t.TempDir(), "new", "bob.key")
	r := qunRun(t, "key", "new", "--key", path)
	if r.code != 0 || !strings.Contains(r.stderr, "made a new key in "+path) {
		t.Fatalf("key new: %+v", r)
	}
	k, err := client.LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.stdout != k.ID().String()+"\n" {
		t.Errorf("key new printed %q, want the user ID %s", r.stdout, k.ID())
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v (%v), want 0600", fi.Mode(), err)
	}
	before, _ := os.ReadFile(path)

	// It never replaces a file, whichever way the path is given.
	e.vars["QUN_KEY"] = path
	e.setEnv()
	for _, args := range [][]string{{"key", "new", "--key", path}, {"--key", path, "key", "new"}, {"key", "new"}, {"key", "new", "--json"}} {
		r := qunRun(t, args...)
		want := "qun: there is already a key file at " + path + " (user " + k.ID().String() + "); qun key new never replaces one: pass --key NEWFILE to make another\n"
		if r.code != 1 || r.stderr != want || r.stdout != "" {
			t.Errorf("qun %s: exit %d, stdout %q, stderr %q; want exit 1 and %q", strings.Join(args, " "), r.code, r.stdout, r.stderr, want)
		}
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("key new changed an existing key file")
	}
	// A file that is not a key is not replaced either.
	junk := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(junk, []byte("my notes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := qunRun(t, "key", "new", "--key", junk); r.code != 1 || !strings.Contains(r.stderr, "already a key file at "+junk+";") {
		t.Errorf("key new over a non-key file: %+v", r)
	}
	if b, _ := os.ReadFile(junk); string(b) != "my notes\n" {
		t.Error("key new replaced a file")
	}

	// The key works: show, whoami and signing in to the node.
	for _, args := range [][]string{{"key", "show"}, {"whoami", "--key", path}, {"--key", path, "key", "show"}} {
		if r := qunRun(t, args...); r.code != 0 || r.stdout != k.ID().String()+"\n" || r.stderr != "" {
			t.Errorf("qun %s: %+v", strings.Join(args, " "), r)
		}
	}
	if r := qunRun(t, "groups"); r.code != 0 {
		t.Errorf("groups with the new key: %+v", r)
	}

	// --json, $QUN_KEY, usage errors.
	other := filepath.Join(t.TempDir(), "carol.key")
	e.vars["QUN_KEY"] = other
	e.setEnv()
	r = qunRun(t, "key", "new", "--json")
	m := decodeLine(t, r.stdout)
	if c, err := client.LoadKey(other); r.code != 0 || err != nil || m["user"] != c.ID().String() || m["key"] != other {
		t.Errorf("key new --json with $QUN_KEY: %v, %+v (%v)", m, r, err)
	}
	for _, args := range [][]string{{"key", "new", "extra"}, {"key", "show", "extra"}, {"key", "new", "--bogus"}} {
		if r := qunRun(t, args...); r.code != 2 || !strings.Contains(r.stderr, "usage: qun key") {
			t.Errorf("qun %s: %+v", strings.Join(args, " "), r)
		}
	}
}

// lockedBuffer is a bytes.Buffer that goroutines may write concurrently.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestNodeNextStep(t *testing.T) {
	t.Setenv("QUN_API", "")
	t.Setenv("QUN_KEY", "")
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		code := run(ctx, []string{"node", "--data", dir, "--api", "127.0.0.1:0", "--listen", "/ip4/127.0.0.1/tcp/0", "--disk-ballast", "-1", "--log-level", "warn"}, pw, &stderr)
		pw.Close()
		done <- code
	}()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var got []string
	deadline := time.After(90 * time.Second)
	for len(got) == 0 || !strings.HasPrefix(got[len(got)-1], "next:") {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("qun node stopped after %q; stderr:\n%s", got, stderr.String())
			}
			got = append(got, l)
		case <-deadline:
			t.Fatalf("no next step after 90 s: %q; stderr:\n%s", got, stderr.String())
		}
	}

	// The machine-readable lines come first, in their order, then "ready",
	// then the web client and the next step.
	var api string
	order := ""
	for _, l := range got {
		switch {
		case strings.HasPrefix(l, "qun node "):
			order += "v"
		case strings.HasPrefix(l, "peer id: 12D3KooW"):
			order += "p"
		case strings.HasPrefix(l, "listen:  /ip4/127.0.0.1/tcp/"):
			order += "l"
		case strings.HasPrefix(l, "api:     http://127.0.0.1:"):
			order += "a"
			api = strings.TrimSpace(strings.TrimPrefix(l, "api:"))
		case strings.HasPrefix(l, "admin:   12D3KooW"), strings.HasPrefix(l, "admin key: "), strings.HasPrefix(l, "service: 12D3KooW"):
			order += "k"
		case l == "ready":
			order += "r"
		case strings.HasPrefix(l, "web client: "):
			order += "w"
		case strings.HasPrefix(l, "next: "):
			order += "n"
		default:
			order += "?"
		}
	}
	if !regexp.MustCompile(`^vpl+ak+rwn$`).MatchString(order) {
		t.Fatalf("start-up output in the wrong order (%s):\n%s", order, strings.Join(got, "\n"))
	}
	key := filepath.Join(dir, "admin.key")
	if w := got[len(got)-2]; w != "web client: "+api+"/" {
		t.Errorf("got %q, want %q", w, "web client: "+api+"/")
	}
	want := "next: open " + api + "/ in a browser and import " + key + " (or: qun --api " + api + " --key " + key + " groups)"
	if got[len(got)-1] != want {
		t.Errorf("next step:\n got %s\nwant %s", got[len(got)-1], want)
	}

	// The command of the next step works as printed.
	_, cmdline, _ := strings.Cut(got[len(got)-1], "(or: qun ")
	r := qunRun(t, strings.Fields(strings.TrimSuffix(cmdline, ")"))...)
	if r.code != 0 || r.stdout != "no groups yet\n" {
		t.Errorf("qun %s: %+v", cmdline, r)
	}

	cancel()
	for range lines { // "stopping"
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("qun node exit %d; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("qun node did not stop")
	}
}

func TestWebURL(t *testing.T) {
	for _, tc := range []struct {
		api  string
		acme []string
		want string
	}{
		{"http://127.0.0.1:7780", nil, "http://127.0.0.1:7780/"},
		{"http://0.0.0.0:7780", nil, "http://127.0.0.1:7780/"},
		{"http://[::]:7780", nil, "http://[::1]:7780/"},
		{"https://[::1]:8443", nil, "https://[::1]:8443/"},
		{"https://0.0.0.0:443", []string{"chat.shop.example", "www.shop.example"}, "https://chat.shop.example/"},
		{"https://0.0.0.0:8443", []string{"chat.shop.example"}, "https://chat.shop.example:8443/"},
	} {
		if got := webURL(tc.api, tc.acme); got != tc.want {
			t.Errorf("webURL(%q, %q) = %q, want %q", tc.api, tc.acme, got, tc.want)
		}
	}
	var b bytes.Buffer
	printNextStep(&b, "", "d", nil)
	if !strings.HasPrefix(b.String(), "next: the API is off") {
		t.Errorf("next step without an API: %q", b.String())
	}
}

// TestREADMEWalkThrough checks every qun command line in README.md's
// shell blocks as written: each is a command qun has, with flags it takes
// (run with --help appended, which parses every flag before it), and every
// user key a command uses is a node's admin key or was made earlier with
// qun key new (no command makes a key by itself). TestE2ECLI runs the same
// story on real nodes.
func TestREADMEWalkThrough(t *testing.T) {
	t.Setenv("QUN_API", "")
	t.Setenv("QUN_KEY", "")
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	vars := map[string]string{}
	made := map[string]bool{}
	checked := 0
	for _, blk := range blocks {
		for _, line := range strings.Split(blk[1], "\n") {
			if m := regexp.MustCompile(`^([A-Z_]+)=(.*)$`).FindStringSubmatch(line); m != nil {
				if strings.HasPrefix(m[2], "$(") { // command output: a placeholder
					vars[m[1]] = "/" + strings.ToLower(m[1])
				} else {
					vars[m[1]] = strings.Join(shellWords(m[2], vars), " ")
				}
			}
			for _, loc := range regexp.MustCompile(`(^|[ (])\./qun `).FindAllStringIndex(line, -1) {
				words := shellWords(line[loc[1]:], vars)
				if len(words) == 0 {
					t.Errorf("README: empty qun command in %q", line)
					continue
				}
				checked++
				r := qunRun(t, append(append([]string{}, words...), "--help")...)
				if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: qun ") {
					t.Errorf("README: qun %s: exit %d, stderr %q", strings.Join(words, " "), r.code, r.stderr)
				}
				key, keyNew := "", false
				for i, w := range words {
					if w == "--key" && i+1 < len(words) {
						key = words[i+1]
					}
					if i+1 < len(words) && w == "key" && words[i+1] == "new" {
						keyNew = true
					}
				}
				switch {
				case keyNew:
					if made[key] {
						t.Errorf("README: qun %s makes %s a second time", strings.Join(words, " "), key)
					}
					made[key] = true
				case key != "" && !strings.HasSuffix(key, "/admin.key") && !made[key]:
					t.Errorf("README: qun %s uses %s before a qun key new --key %s", strings.Join(words, " "), key, key)
				}
			}
		}
	}
	if checked < 20 || len(made) < 2 {
		t.Errorf("README: checked %d qun commands and %d qun key new; the walk-through moved?", checked, len(made))
	}
}

// shellWords splits the start of a shell command line into words, as sh
// would: quotes, $VAR and ${VAR} expansion (split into words outside
// double quotes); it stops at an unquoted #, |, ), ;, &, > or <.
func shellWords(s string, vars map[string]string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, cur.String())
		}
		cur.Reset()
		inWord = false
	}
	expand := func(i int) (string, int) { // s[i] == '$'
		j := i + 1
		brace := j < len(s) && s[j] == '{'
		if brace {
			j++
		}
		k := j
		for k < len(s) && (s[k] == '_' || s[k] >= 'A' && s[k] <= 'Z' || s[k] >= 'a' && s[k] <= 'z' || s[k] >= '0' && s[k] <= '9') {
			k++
		}
		name := s[j:k]
		if brace && k < len(s) && s[k] == '}' {
			k++
		}
		return vars[name], k
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			flush()
			i++
		case strings.IndexByte("#|);&><", c) >= 0 && !inWord || strings.IndexByte("|);&><", c) >= 0:
			flush()
			return words
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				j = len(s) - i - 1
			}
			cur.WriteString(s[i+1 : i+1+j])
			inWord = true
			i += j + 2
		case c == '"':
			inWord = true
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '$' {
					v, k := expand(i)
					cur.WriteString(v)
					i = k
					continue
				}
				cur.WriteByte(s[i])
				i++
			}
			i++
		case c == '$':
			v, k := expand(i)
			for n, w := range strings.Fields(v) {
				if n > 0 {
					flush()
				}
				cur.WriteString(w)
				inWord = true
			}
			i = k
		default:
			cur.WriteByte(c)
			inWord = true
			i++
		}
	}
	flush()
	return words
}
