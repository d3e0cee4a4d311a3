package irc

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Tests against ngircd, a real IRC server from Debian (apt-get install
// ngircd). ngircd gets its listening socket from the test, by systemd's
// socket activation (LISTEN_FDS), so the port is bound once, on port 0,
// and never chosen first and bound later; a restart binds the same port
// again.

// skipOrFail skips the test with reason, or fails it when QUN_CI=1.
func skipOrFail(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("QUN_CI") == "1" {
		t.Fatalf("QUN_CI=1 but %s", reason)
	}
	t.Skip(reason + " (QUN_CI=1 makes this a failure)")
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("QUN_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}

// ircd is an ngircd on 127.0.0.1 for one test.
type ircd struct {
	t    *testing.T
	bin  string
	dir  string
	conf string
	port int
	ln   *net.TCPListener
	cmd  *exec.Cmd
	exit chan struct{}
	log  *os.File
}

const ngircdConf = `[Global]
Name = irc.qun.test
Info = Qun test server
AdminInfo1 = Qun tests
AdminInfo2 = loopback
AdminEMail = tests@qun.invalid
; the socket comes from the test (LISTEN_FDS); Listen and Ports say the same
Listen = 127.0.0.1
Ports = %d
MotdPhrase = Qun test server
PidFile = %s
%s
[Limits]
; any number of connections from 127.0.0.1
MaxConnectionsIP = 0
MaxNickLength = 30
; no penalty time per command: the tests send fast
MaxPenaltyTime = 0
PingTimeout = 120
[Options]
PAM = no
DNS = no
Ident = no
`

func startIRCd(t *testing.T) *ircd {
	t.Helper()
	bin, err := exec.LookPath("ngircd")
	if err != nil {
		skipOrFail(t, "ngircd is not installed (apt-get install ngircd)")
	}
	d := &ircd{t: t, bin: bin, dir: t.TempDir()}
	run := filepath.Join(d.dir, "run")
	if err := os.Mkdir(run, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(run, 0o777) // ngircd started as root runs as nobody
	d.listen()
	user := ""
	if os.Getuid() == 0 {
		user = "ServerUID = nobody"
	}
	d.conf = filepath.Join(d.dir, "ngircd.conf")
	conf := fmt.Sprintf(ngircdConf, d.port, filepath.Join(run, "ngircd.pid"), user)
	if err := os.WriteFile(d.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	d.log, err = os.Create(filepath.Join(d.dir, "ngircd.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.stop(syscall.SIGTERM)
		d.log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(d.log.Name())
			t.Logf("ngircd log:\n%s", b)
		}
	})
	d.exec()
	d.waitReady()
	return d
}

func (d *ircd) addr() string { return fmt.Sprintf("127.0.0.1:%d", d.port) }

// listen binds the server's port (a free one the first time).
func (d *ircd) listen() {
	d.t.Helper()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", d.port))
	if err != nil {
		d.t.Fatalf("binding the IRC port again: %v", err)
	}
	d.ln = ln.(*net.TCPListener)
	d.port = d.ln.Addr().(*net.TCPAddr).Port
}

// exec starts ngircd on the bound socket.
func (d *ircd) exec() {
	d.t.Helper()
	f, err := d.ln.File()
	if err != nil {
		d.t.Fatal(err)
	}
	defer f.Close()
	// LISTEN_PID must be ngircd's pid: the shell's, which exec keeps.
	d.cmd = exec.Command("sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" -n -f "$1"`, d.bin, d.conf)
	d.cmd.ExtraFiles = []*os.File{f} // fd 3
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		d.t.Fatalf("starting ngircd: %v", err)
	}
	exit := make(chan struct{})
	d.exit = exit
	go func() { d.cmd.Wait(); close(exit) }()
}

// waitReady waits until the server answers a client, with a deadline.
func (d *ircd) waitReady() {
	d.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	conn, err := net.DialTimeout("tcp", d.addr(), 5*time.Second)
	if err != nil {
		d.t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(deadline)
	fmt.Fprintf(conn, "PING :ready\r\n")
	if _, err := bufio.NewReader(conn).ReadString('\n'); err != nil {
		d.t.Fatalf("ngircd does not answer: %v", err)
	}
}

// stop ends ngircd with sig (SIGKILL at once, or after 5s), and closes
// the port: connections are refused until the next listen.
func (d *ircd) stop(sig syscall.Signal) {
	if d.cmd != nil {
		d.cmd.Process.Signal(sig)
		select {
		case <-d.exit:
		case <-time.After(5 * time.Second):
			d.cmd.Process.Kill()
			<-d.exit
		}
		d.cmd = nil
	}
	if d.ln != nil {
		d.ln.Close()
		d.ln = nil
	}
}

// raw is a hand-driven IRC connection that watches what the server
// relays, with the time each line arrived.
type raw struct {
	t     *testing.T
	conn  net.Conn
	nick  string
	lines chan rawLine
}

type rawLine struct {
	Line
	at time.Time
}

// dialRaw registers nick and joins channels, and waits for the joins.
func dialRaw(t *testing.T, addr, nick string, channels ...string) *raw {
	t.Helper()
	r := dialRawAsync(t, addr, nick, channels...)
	for _, ch := range channels {
		r.waitJoined(ch)
	}
	return r
}

func (r *raw) waitJoined(ch string) {
	r.t.Helper()
	r.wait(func(l Line) bool { return l.Command == "JOIN" && l.Nick() == r.nick && l.Param(0) == ch })
}

// dialRawAsync registers nick and joins channels in one write, before
// reading anything: the server handles all of it in order.
func dialRawAsync(t *testing.T, addr, nick string, channels ...string) *raw {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r := &raw{t: t, conn: conn, nick: nick, lines: make(chan rawLine, 4096)}
	var b strings.Builder
	fmt.Fprintf(&b, "NICK %s\r\nUSER %s 0 * :raw\r\n", nick, nick)
	for _, ch := range channels {
		fmt.Fprintf(&b, "JOIN %s\r\n", ch)
	}
	if _, err := conn.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(r.lines)
		tr := textproto.NewReader(bufio.NewReader(conn))
		for {
			s, err := tr.ReadLine()
			if err != nil {
				return
			}
			l, err := ParseLine(s)
			if err != nil {
				continue
			}
			if l.Command == "PING" {
				conn.Write([]byte(Line{Command: "PONG", Params: l.Params}.String() + "\r\n"))
			}
			select {
			case r.lines <- rawLine{l, time.Now()}:
			default:
			}
		}
	})
	t.Cleanup(func() { conn.Close(); wg.Wait() })
	return r
}

func (r *raw) send(line string) {
	r.t.Helper()
	if _, err := r.conn.Write([]byte(line + "\r\n")); err != nil {
		r.t.Fatal(err)
	}
}

// wait returns the first line that matches, within 15s.
func (r *raw) wait(match func(Line) bool) rawLine {
	r.t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case l, ok := <-r.lines:
			if !ok {
				r.t.Fatalf("%s: connection closed", r.nick)
			}
			if match(l.Line) {
				return l
			}
		case <-timeout:
			r.t.Fatalf("%s: no matching line within 15s", r.nick)
		}
	}
}

func (r *raw) privmsg() rawLine {
	r.t.Helper()
	return r.wait(func(l Line) bool { return l.Command == "PRIVMSG" })
}

// testClient is a Client run by a test, with its events recorded.
type testClient struct {
	*Client
	t      *testing.T
	mu     sync.Mutex
	events []Event
}

func startClient(t *testing.T, cfg Config) *testClient {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t).With("client", cfg.Nick)
	}
	if cfg.MessagesPerSecond == 0 {
		cfg.MessagesPerSecond = -1
	}
	if cfg.ReconnectMin == 0 {
		cfg.ReconnectMin, cfg.ReconnectMax = 50*time.Millisecond, 400*time.Millisecond
	}
	tc := &testClient{Client: New(cfg), t: t}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := tc.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	wg.Go(func() {
		for e := range tc.Events() {
			tc.mu.Lock()
			tc.events = append(tc.events, e)
			tc.mu.Unlock()
		}
	})
	t.Cleanup(func() { cancel(); tc.Close(); wg.Wait() })
	return tc
}

// waitEvents waits until n events of kind have come, within 15s.
func (tc *testClient) waitEvents(kind EventKind, n int) {
	tc.t.Helper()
	waitFor(tc.t, 15*time.Second, fmt.Sprintf("%d %v events", n, kind), func() bool {
		tc.mu.Lock()
		defer tc.mu.Unlock()
		k := 0
		for _, e := range tc.events {
			if e.Kind == kind {
				k++
			}
		}
		return k >= n
	})
}

func (tc *testClient) recv() Message {
	tc.t.Helper()
	select {
	case m := <-tc.Messages():
		return m
	case <-time.After(15 * time.Second):
		tc.t.Fatalf("%s: no message within 15s", tc.Nick())
	}
	return Message{}
}

// waitFor checks cond every 10ms until it holds, failing the test once
// timeout has passed.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
