package xmpp

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Tests against prosody, a real XMPP server from Debian (apt-get install
// prosody), one per test, on 127.0.0.1 with its own configuration, data,
// certificate and accounts in the test's temporary folder.
//
// prosody cannot take a listening socket from its parent, so the test
// picks a free port and prosody binds it; when something else took it in
// between, prosody says so in its log (it does not exit), and the test
// starts it again on another port.

// skipOrFail skips the test with reason, or fails it when QUN_CI=1.
func skipOrFail(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("QUN_CI") == "1" {
		t.Fatalf("QUN_CI=1 but %s", reason)
	}
	t.Skip(reason + " (QUN_CI=1 makes this a failure)")
}

// testLogger discards, unless QUN_TEST_LOG is set.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("QUN_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}

const (
	testDomain = "qun.test"
	testMUC    = "muc.qun.test"
)

// prosody is a prosody server for one test.
type prosody struct {
	t      *testing.T
	bin    string
	ctl    string
	dir    string
	conf   string
	caFile string
	port   int

	cmd  *exec.Cmd
	exit chan struct{}
	log  *os.File
	logM sync.Mutex
}

const prosodyConf = `-- written by bridge/xmpp's tests
daemonize = false
run_as_root = %[1]t
pidfile = %[2]q
data_path = %[3]q
certificates = %[4]q
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { %[5]d }
c2s_direct_tls_ports = { }
legacy_ssl_ports = { }
s2s_ports = { }
component_ports = { }
http_ports = { }
https_ports = { }
plugin_paths = { }
modules_enabled = { "roster"; "saslauth"; "tls"; "disco"; "ping"; "posix" }
modules_disabled = { "s2s" }
authentication = "internal_hashed"
storage = "internal"
c2s_require_encryption = true
log = { { levels = { min = %[6]q }, to = "console" } }
ssl = { certificate = %[7]q; key = %[8]q }

VirtualHost "qun.test"

Component "muc.qun.test" "muc"
	modules_enabled = { "muc_mam" }
	muc_room_locking = false
	restrict_room_creation = false
`

func startProsody(t *testing.T) *prosody {
	t.Helper()
	bin, err := exec.LookPath("prosody")
	if err != nil {
		skipOrFail(t, "prosody is not installed (apt-get install prosody)")
	}
	ctl, err := exec.LookPath("prosodyctl")
	if err != nil {
		skipOrFail(t, "prosodyctl is not installed (apt-get install prosody)")
	}
	p := &prosody{t: t, bin: bin, ctl: ctl, dir: t.TempDir()}
	p.conf = filepath.Join(p.dir, "prosody.cfg.lua")
	for _, d := range []string{"data", "certs"} {
		if err := os.Mkdir(filepath.Join(p.dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	p.makeCerts()
	p.log, err = os.Create(filepath.Join(p.dir, "prosody.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.stop()
		p.logM.Lock()
		p.log.Close()
		p.logM.Unlock()
		if t.Failed() {
			b, _ := os.ReadFile(p.log.Name())
			t.Logf("prosody's log:\n%s", b)
		}
	})
	for attempt := 1; ; attempt++ {
		p.port = freePort(t)
		err := p.start()
		if err == nil {
			break
		}
		p.stop()
		if attempt == 10 {
			t.Fatalf("prosody did not start: %v", err)
		}
		t.Logf("prosody on port %d: %v; again on another", p.port, err)
	}
	return p
}

// freePort is a port that was free a moment ago.
func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (p *prosody) addr() string { return fmt.Sprintf("127.0.0.1:%d", p.port) }

// start writes the configuration for p.port and starts prosody, and
// waits until it listens there; an error if it could not bind the port.
func (p *prosody) start() error {
	level := "info"
	if os.Getenv("QUN_TEST_LOG") != "" {
		level = "debug"
	}
	conf := fmt.Sprintf(prosodyConf, os.Getuid() == 0, filepath.Join(p.dir, "prosody.pid"), filepath.Join(p.dir, "data"),
		filepath.Join(p.dir, "certs"), p.port, level, filepath.Join(p.dir, "certs", "cert.pem"), filepath.Join(p.dir, "certs", "key.pem"))
	if err := os.WriteFile(p.conf, []byte(conf), 0o600); err != nil {
		p.t.Fatal(err)
	}
	p.cmd = exec.Command(p.bin, "-F", "--config", p.conf)
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("starting prosody: %v", err)
	}
	ready := make(chan error, 1)
	exit := make(chan struct{})
	p.exit = exit
	listening := fmt.Sprintf("Activated service 'c2s' on [127.0.0.1]:%d", p.port)
	go func() {
		defer close(exit)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			p.logM.Lock()
			fmt.Fprintln(p.log, line)
			p.logM.Unlock()
			switch {
			case strings.Contains(line, listening):
				ready <- nil
			case strings.Contains(line, "Failed to open server port"), strings.Contains(line, "Activated service 'c2s' on no ports"):
				select {
				case ready <- fmt.Errorf("%s", line):
				default:
				}
			}
		}
		io.Copy(io.Discard, out)
		p.cmd.Wait()
		select {
		case ready <- fmt.Errorf("prosody exited: %v", p.cmd.ProcessState):
		default:
		}
	}()
	select {
	case err := <-ready:
		return err
	case <-time.After(20 * time.Second):
		return fmt.Errorf("prosody did not listen within 20s")
	}
}

// stop ends prosody (SIGTERM, SIGKILL after 10s) and waits for it.
func (p *prosody) stop() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exit:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.exit
	}
	p.cmd = nil
}

// startAgain starts prosody again, stopped, on the same port, trying
// again while the port is not free yet.
func (p *prosody) startAgain() {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := p.start()
		if err == nil {
			return
		}
		p.stop()
		if time.Now().After(deadline) {
			p.t.Fatalf("prosody did not start again on port %d: %v", p.port, err)
		}
		waitTick()
	}
}

// waitTick is the pause between two tries of something that is not
// ready yet.
func waitTick() { <-time.After(50 * time.Millisecond) }

// register makes the account user@qun.test.
func (p *prosody) register(user, password string) {
	p.t.Helper()
	out, err := exec.Command(p.ctl, "--config", p.conf, "register", user, testDomain, password).CombinedOutput()
	if err != nil {
		p.t.Fatalf("prosodyctl register %s: %v\n%s", user, err, out)
	}
}

// makeCerts makes prosody's certificate and the CA that signs it.
func (p *prosody) makeCerts() {
	p.caFile, _, _ = makeCerts(p.t, filepath.Join(p.dir, "certs"))
}

// makeCerts writes in dir a CA (ca.pem) and a certificate it signs for
// qun.test and muc.qun.test (cert.pem, key.pem), valid for a day.
func makeCerts(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Qun test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ = x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: testDomain},
		DNSNames:     []string{testDomain, testMUC},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", leafDER), write("key.pem", "PRIVATE KEY", keyDER)
}

// clientTLS trusts the test CA, for the tests' own clients.
func (p *prosody) clientTLS() *tls.Config {
	pem, err := os.ReadFile(p.caFile)
	if err != nil {
		p.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &tls.Config{ServerName: testDomain, RootCAs: pool, MinVersion: tls.VersionTLS12}
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
