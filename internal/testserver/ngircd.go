package testserver

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Tests against ngircd, a real IRC server from Debian (apt-get install
// ngircd). ngircd gets its listening socket from the test, by systemd's
// socket activation (LISTEN_FDS), so the port is bound once, on port 0,
// and never chosen first and bound later; a restart binds the same port
// again.

// Ngircd is an ngircd on 127.0.0.1 for one test.
type Ngircd struct {
	t    testing.TB
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

// StartNgircd starts a private ngircd for the test (skipped, or failed
// under QUN_CI=1, when ngircd is not installed); it is stopped when the
// test ends.
func StartNgircd(t testing.TB) *Ngircd {
	t.Helper()
	bin, err := exec.LookPath("ngircd")
	if err != nil {
		SkipOrFail(t, "ngircd is not installed (apt-get install ngircd)")
	}
	d := &Ngircd{t: t, bin: bin, dir: t.TempDir()}
	run := filepath.Join(d.dir, "run")
	if err := os.Mkdir(run, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(run, 0o777) // ngircd started as root runs as nobody
	d.Listen()
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
		d.Stop(syscall.SIGTERM)
		d.log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(d.log.Name())
			t.Logf("ngircd log:\n%s", b)
		}
	})
	d.Exec()
	d.WaitReady()
	return d
}

// Addr is the server's host:port.
func (d *Ngircd) Addr() string { return fmt.Sprintf("127.0.0.1:%d", d.port) }

// Listen binds the server's port (a free one the first time).
func (d *Ngircd) Listen() {
	d.t.Helper()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", d.port))
	if err != nil {
		d.t.Fatalf("binding the IRC port again: %v", err)
	}
	d.ln = ln.(*net.TCPListener)
	d.port = d.ln.Addr().(*net.TCPAddr).Port
}

// Exec starts ngircd on the bound socket.
func (d *Ngircd) Exec() {
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

// WaitReady waits until the server answers a client, with a deadline.
func (d *Ngircd) WaitReady() {
	d.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	conn, err := net.DialTimeout("tcp", d.Addr(), 5*time.Second)
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

// Stop ends ngircd with sig (SIGKILL at once, or after 5s), and closes
// the port: connections are refused until the next listen.
func (d *Ngircd) Stop(sig syscall.Signal) {
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

// Restart stops the server with SIGTERM and starts it again on the same
// port.
func (d *Ngircd) Restart() {
	d.t.Helper()
	d.Stop(syscall.SIGTERM)
	d.Listen()
	d.Exec()
	d.WaitReady()
}
