package testserver

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
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

// The test server's domain and its multi-user chat service.
const (
	ProsodyDomain = "qun.test"
	ProsodyMUC    = "muc.qun.test"
)

// Prosody is a prosody server for one test.
type Prosody struct {
	t      testing.TB
	bin    string
	ctl    string
	Dir    string // its folder: configuration, data, certificates, log
	Conf   string // its configuration file
	CAFile string // the CA that signed its certificate (PEM)
	Port   int    // its client port on 127.0.0.1

	cmd  *exec.Cmd
	exit chan struct{}
	log  *os.File
	logM sync.Mutex
}

const prosodyConf = `-- written by internal/testserver
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

// StartProsody starts a private prosody for the test (skipped, or failed
// under QUN_CI=1, when it is not installed), with its own CA (CAFile) and
// a multi-user chat service with archives (ProsodyMUC); stopped when the
// test ends.
func StartProsody(t testing.TB) *Prosody {
	t.Helper()
	bin, err := exec.LookPath("prosody")
	if err != nil {
		SkipOrFail(t, "prosody is not installed (apt-get install prosody)")
	}
	ctl, err := exec.LookPath("prosodyctl")
	if err != nil {
		SkipOrFail(t, "prosodyctl is not installed (apt-get install prosody)")
	}
	p := &Prosody{t: t, bin: bin, ctl: ctl, Dir: t.TempDir()}
	p.Conf = filepath.Join(p.Dir, "prosody.cfg.lua")
	for _, d := range []string{"data", "certs"} {
		if err := os.Mkdir(filepath.Join(p.Dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	p.makeCerts()
	p.log, err = os.Create(filepath.Join(p.Dir, "prosody.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		p.logM.Lock()
		p.log.Close()
		p.logM.Unlock()
		if t.Failed() {
			b, _ := os.ReadFile(p.log.Name())
			t.Logf("prosody's log:\n%s", b)
		}
	})
	for attempt := 1; ; attempt++ {
		p.Port = FreePort(t)
		err := p.start()
		if err == nil {
			break
		}
		p.Stop()
		if attempt == 10 {
			t.Fatalf("prosody did not start: %v", err)
		}
		t.Logf("prosody on port %d: %v; again on another", p.Port, err)
	}
	return p
}

// FreePort is a port that was free a moment ago.
func FreePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Addr is the client port, host:port.
func (p *Prosody) Addr() string { return fmt.Sprintf("127.0.0.1:%d", p.Port) }

// start writes the configuration for p.Port and starts prosody, and
// waits until it listens there; an error if it could not bind the port.
func (p *Prosody) start() error {
	level := "info"
	if os.Getenv("QUN_TEST_LOG") != "" {
		level = "debug"
	}
	conf := fmt.Sprintf(prosodyConf, os.Getuid() == 0, filepath.Join(p.Dir, "prosody.pid"), filepath.Join(p.Dir, "data"),
		filepath.Join(p.Dir, "certs"), p.Port, level, filepath.Join(p.Dir, "certs", "cert.pem"), filepath.Join(p.Dir, "certs", "key.pem"))
	if err := os.WriteFile(p.Conf, []byte(conf), 0o600); err != nil {
		p.t.Fatal(err)
	}
	p.cmd = exec.Command(p.bin, "-F", "--config", p.Conf)
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
	listening := fmt.Sprintf("Activated service 'c2s' on [127.0.0.1]:%d", p.Port)
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

// Stop ends prosody (SIGTERM, SIGKILL after 10s) and waits for it.
func (p *Prosody) Stop() {
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

// StartAgain starts prosody again, stopped, on the same port, trying
// again while the port is not free yet.
func (p *Prosody) StartAgain() {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := p.start()
		if err == nil {
			return
		}
		p.Stop()
		if time.Now().After(deadline) {
			p.t.Fatalf("prosody did not start again on port %d: %v", p.Port, err)
		}
		waitTick()
	}
}

// waitTick is the pause between two tries of something that is not
// ready yet.
func waitTick() { <-time.After(50 * time.Millisecond) }

// Register makes the account user@qun.test.
func (p *Prosody) Register(user, password string) {
	p.t.Helper()
	out, err := exec.Command(p.ctl, "--config", p.Conf, "register", user, ProsodyDomain, password).CombinedOutput()
	if err != nil {
		p.t.Fatalf("prosodyctl register %s: %v\n%s", user, err, out)
	}
}

// makeCerts makes prosody's certificate and the CA that signs it.
func (p *Prosody) makeCerts() {
	p.CAFile, _, _ = MakeCerts(p.t, filepath.Join(p.Dir, "certs"))
}

// MakeCerts writes in dir a CA (ca.pem) and a certificate it signs for
// qun.test and muc.qun.test (cert.pem, key.pem), valid for a day.
func MakeCerts(t testing.TB, dir string) (caFile, certFile, keyFile string) {
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
		Subject:      pkix.Name{CommonName: ProsodyDomain},
		DNSNames:     []string{ProsodyDomain, ProsodyMUC},
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

// ClientTLS trusts the test CA, for the tests' own clients.
func (p *Prosody) ClientTLS() *tls.Config {
	pem, err := os.ReadFile(p.CAFile)
	if err != nil {
		p.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &tls.Config{ServerName: ProsodyDomain, RootCAs: pool, MinVersion: tls.VersionTLS12}
}
