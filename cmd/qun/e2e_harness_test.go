package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// The end-to-end tests run the real qun binary as separate processes on
// loopback. The binary is built once, without the race detector, so the
// nodes run at their real speed while the test itself runs under -race.

var (
	buildOnce sync.Once
	qunBin    string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if qunBin != "" {
		os.RemoveAll(filepath.Dir(qunBin))
	}
	os.Exit(code)
}

// binary returns the path of a freshly built qun binary.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "qun-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		qunBin = filepath.Join(dir, "qun")
		out, err := exec.Command("go", "build", "-o", qunBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building qun: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return qunBin
}

// proc is a `qun node` process.
type proc struct {
	t       testing.TB
	dir     string
	args    []string
	wrap    []string // a command the node runs under (e.g. ip netns exec NS)
	cmd     *exec.Cmd
	api     string
	peerID  string
	listen  []string
	logPath string
	exited  chan struct{}
}

// startProc runs `qun node` with its data in dir and waits until it is ready.
func startProc(t testing.TB, dir string, extra ...string) *proc {
	t.Helper()
	p := &proc{t: t, dir: dir, logPath: filepath.Join(dir, "node.log")}
	p.args = append([]string{"node", "--data", dir, "--api", "127.0.0.1:0", "--rate", "0", "--api-rate", "0", "--sync-interval", "300ms", "--disk-ballast", "-1"}, extra...)
	if !hasFlag(extra, "--listen") {
		p.args = append(p.args, "--listen", "/ip4/127.0.0.1/tcp/0")
	}
	p.start()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("log of the node in %s (last 8,000 bytes):\n%s", dir, p.log())
		}
	})
	return p
}

func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

func (p *proc) start() {
	t := p.t
	t.Helper()
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	argv := append(append(append([]string(nil), p.wrap...), binary(t)), p.args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.cmd, p.exited = cmd, make(chan struct{})
	go func() {
		cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		p.listen = nil
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "api:"):
				p.api = strings.TrimSpace(strings.TrimPrefix(line, "api:"))
			case strings.HasPrefix(line, "peer id:"):
				p.peerID = strings.TrimSpace(strings.TrimPrefix(line, "peer id:"))
			case strings.HasPrefix(line, "listen:"):
				p.listen = append(p.listen, strings.TrimSpace(strings.TrimPrefix(line, "listen:")))
			case line == "ready":
				ready <- nil
				io.Copy(io.Discard, stdout)
				return
			}
		}
		ready <- fmt.Errorf("qun node exited before it was ready")
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("%v; log:\n%s", err, p.log())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("qun node not ready after 60 s; log:\n%s", p.log())
	}
}

func (p *proc) log() string {
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	return string(b)
}

// kill sends SIGKILL and waits for the process to die.
func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// stop ends the process gracefully (SIGTERM), killing it after 20 s.
func (p *proc) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		p.kill()
	}
}

// restart starts the process again with the same data and the same
// listen address (so that other nodes find it where they knew it).
func (p *proc) restart() {
	p.t.Helper()
	var args []string
	for i := 0; i < len(p.args); i++ {
		if p.args[i] == "--listen" {
			i++
			continue
		}
		args = append(args, p.args[i])
	}
	addr := p.listen[0]
	addr = addr[:strings.Index(addr, "/p2p/")]
	p.args = append(args, "--listen", addr)
	p.start()
}

// client returns an SDK client for the node with key k.
func (p *proc) client(t testing.TB, k *protocol.Key) *client.Client {
	t.Helper()
	c, err := client.New(p.api, k, client.WithTimeout(60*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// adminKey returns the admin user key the node created.
func (p *proc) adminKey(t testing.TB) *protocol.Key {
	t.Helper()
	k, err := client.LoadKey(filepath.Join(p.dir, "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newKey(t testing.TB) *protocol.Key {
	k, err := protocol.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// waitHeads waits until every node's API reports the group's head at seq.
func waitHeads(t testing.TB, timeout time.Duration, gid protocol.GroupID, seq uint64, procs ...*proc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for i, p := range procs {
		c := p.client(t, p.adminKey(t)) // a node admin may read every group the node holds
		var head uint64
		for head < seq {
			g, err := c.Group(ctx, gid)
			if err == nil {
				head = g.Head
			}
			if head >= seq {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("node %d: head %d, want %d (err %v); log:\n%s", i, head, seq, err, p.log())
			case <-time.After(50 * time.Millisecond): // poll interval of a bounded wait
			}
		}
	}
}

// logIDs reads a group's whole log through a node's API.
func logIDs(t testing.TB, p *proc, gid protocol.GroupID) []api.EventView {
	t.Helper()
	c := p.client(t, p.adminKey(t))
	var out []api.EventView
	for ev, err := range c.History(context.Background(), gid, 1, 0) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	for i, ev := range out {
		if ev.Seq != uint64(i+1) {
			t.Fatalf("log has seq %d at position %d", ev.Seq, i+1)
		}
	}
	return out
}

func sameLogs(t testing.TB, gid protocol.GroupID, want uint64, procs ...*proc) []api.EventView {
	t.Helper()
	ref := logIDs(t, procs[0], gid)
	if uint64(len(ref)) != want {
		t.Fatalf("node 0 holds %d events, want %d", len(ref), want)
	}
	for i, p := range procs[1:] {
		got := logIDs(t, p, gid)
		if len(got) != len(ref) {
			t.Fatalf("node %d holds %d events, node 0 holds %d", i+1, len(got), len(ref))
		}
		for j := range ref {
			if got[j].ID != ref[j].ID {
				t.Fatalf("node %d differs from node 0 at seq %d", i+1, j+1)
			}
		}
	}
	return ref
}
