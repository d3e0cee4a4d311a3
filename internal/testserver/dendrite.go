package testserver

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Tests against Dendrite, a Matrix homeserver written in Go, built once
// with
//
//	go install github.com/matrix-org/dendrite/cmd/dendrite@v0.13.8
//
// outside the qun module (it has its own go.mod and is no dependency of
// qun). Each Dendrite is private to its test: its configuration, signing
// key, SQLite databases, JetStream (on disk, so that a restart keeps what
// the components had not yet passed on) and media are in the test's
// temporary folder; federation is off; accounts are made with the
// registration shared secret (open registration stays off).
//
// Dendrite binds its HTTP port itself (it takes no socket from its
// parent), so the port is picked free first and Dendrite started on it,
// again on another port when the bind fails; every instance puts a secret
// of its own in its /.well-known/matrix/client, which tells it apart from
// a foreign server that took the port in between.

// DendriteVersion is the Dendrite the tests are written for.
const DendriteVersion = "v0.13.8"

// Dendrite is a Matrix homeserver on 127.0.0.1 for one test, with the
// server name "localhost" (users are @name:localhost).
type Dendrite struct {
	t        testing.TB
	bin      string
	dir      string
	conf     string
	secret   string // the registration shared secret
	instance string // in .well-known, to know our own server
	port     int
	cmd      *exec.Cmd
	exit     chan struct{}
	log      *os.File
}

// DendriteServerName is the server name of every test Dendrite.
const DendriteServerName = "localhost"

const dendriteConf = `version: 2
global:
  server_name: localhost
  private_key: {{dir}}/matrix_key.pem
  key_validity_period: 168h0m0s
  well_known_client_name: "{{url}}"
  well_known_sliding_sync_proxy: "http://instance.invalid/{{instance}}"
  disable_federation: true
  presence:
    enable_inbound: false
    enable_outbound: false
  trusted_third_party_id_servers: []
  jetstream:
    storage_path: {{dir}}/jetstream
    in_memory: false
    topic_prefix: Dendrite
  metrics:
    enabled: false
  sentry:
    enabled: false
  dns_cache:
    enabled: false
  server_notices:
    enabled: false
    local_part: _server
    display_name: Server Alert
    room_name: Server Alert
  report_stats:
    enabled: false
  cache:
    max_size_estimated: 64mb
    max_age: 1h
app_service_api:
  config_files: []
client_api:
  registration_disabled: true
  registration_requires_token: false
  registration_shared_secret: "{{secret}}"
  guests_disabled: true
  enable_registration_captcha: false
  rate_limiting:
    enabled: false
    threshold: 5
    cooloff_ms: 500
federation_api:
  database:
    connection_string: file:{{dir}}/federationapi.db
  send_max_retries: 1
  key_perspectives: []
key_server:
  database:
    connection_string: file:{{dir}}/keyserver.db
media_api:
  database:
    connection_string: file:{{dir}}/mediaapi.db
  base_path: {{dir}}/media
  max_file_size_bytes: 10485760
  dynamic_thumbnails: false
  max_thumbnail_generators: 2
  thumbnail_sizes:
  - width: 32
    height: 32
    method: crop
room_server:
  default_room_version: "10"
  database:
    connection_string: file:{{dir}}/roomserver.db
sync_api:
  database:
    connection_string: file:{{dir}}/syncapi.db
  search:
    enabled: false
    index_path: {{dir}}/searchindex
    in_memory: true
    language: en
user_api:
  bcrypt_cost: 4
  account_database:
    connection_string: file:{{dir}}/userapi.db
relay_api:
  database:
    connection_string: file:{{dir}}/relayapi.db
mscs:
  mscs: []
  database:
    connection_string: file:{{dir}}/mscs.db
tracing:
  enabled: false
logging:
- type: std
  level: {{level}}
`

// dendriteBinary finds the dendrite command: on PATH, or where go install
// puts it ($GOBIN, $GOPATH/bin, ~/go/bin).
func dendriteBinary() (string, bool) {
	if p, err := exec.LookPath("dendrite"); err == nil {
		return p, true
	}
	var dirs []string
	if d := os.Getenv("GOBIN"); d != "" {
		dirs = append(dirs, d)
	}
	for _, d := range filepath.SplitList(os.Getenv("GOPATH")) {
		dirs = append(dirs, filepath.Join(d, "bin"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, d := range filepath.SplitList(strings.TrimSpace(string(out))) {
			dirs = append(dirs, filepath.Join(d, "bin"))
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, "dendrite")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

// waitDendriteBuild waits for a dendrite build that .ci/run started in
// the background, so that it overlaps the tests before it: the file
// $QUN_DENDRITE_BUILD appears when the build ended and holds its exit
// status; its log is that path with ".log".
func waitDendriteBuild(t testing.TB) {
	done := os.Getenv("QUN_DENDRITE_BUILD")
	if done == "" {
		return
	}
	deadline := time.After(20 * time.Minute)
	tick := time.NewTicker(time.Second) // poll interval of a bounded wait
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(done); err == nil {
			if strings.TrimSpace(string(b)) != "0" {
				logTail, _ := os.ReadFile(done + ".log")
				t.Fatalf("building dendrite failed (exit %s):\n%s", strings.TrimSpace(string(b)), logTail)
			}
			return
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("dendrite's build did not end within 20 minutes")
		}
	}
}

// StartDendrite starts a private Dendrite for the test (skipped, or
// failed under QUN_CI=1, when dendrite is not installed); it is stopped
// when the test ends, and its log is shown when the test failed.
// QUN_DENDRITE_LOG=debug (or info) makes it log more than warnings.
func StartDendrite(t testing.TB) *Dendrite {
	t.Helper()
	bin, ok := dendriteBinary()
	if !ok {
		waitDendriteBuild(t)
		bin, ok = dendriteBinary()
	}
	if !ok {
		SkipOrFail(t, "dendrite is not installed (go install github.com/matrix-org/dendrite/cmd/dendrite@"+DendriteVersion+")")
	}
	d := &Dendrite{t: t, bin: bin, dir: t.TempDir(), secret: randomHex(16), instance: randomHex(16)}
	if err := writeMatrixKey(filepath.Join(d.dir, "matrix_key.pem")); err != nil {
		t.Fatal(err)
	}
	var err error
	d.log, err = os.Create(filepath.Join(d.dir, "dendrite.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Stop()
		d.log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(d.log.Name())
			if len(b) > 64<<10 {
				b = append([]byte("…\n"), b[len(b)-64<<10:]...)
			}
			t.Logf("dendrite log:\n%s", b)
		}
	})
	var last error
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		if last = d.start(port); last == nil {
			return d
		}
		t.Logf("dendrite on port %d: %v; another port", port, last)
	}
	t.Fatalf("starting dendrite: %v", last)
	return nil
}

// URL is the homeserver's client API, http://127.0.0.1:PORT.
func (d *Dendrite) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", d.port) }

// Dir is the server's folder (its configuration, databases and log).
func (d *Dendrite) Dir() string { return d.dir }

// start writes the configuration for port and starts Dendrite on it,
// waiting until it answers as this instance.
func (d *Dendrite) start(port int) error {
	d.port = port
	level := os.Getenv("QUN_DENDRITE_LOG")
	if level == "" {
		level = "warn"
	}
	conf := strings.NewReplacer("{{dir}}", d.dir, "{{url}}", d.URL(), "{{instance}}", d.instance,
		"{{secret}}", d.secret, "{{level}}", level).Replace(dendriteConf)
	d.conf = filepath.Join(d.dir, "dendrite.yaml")
	if err := os.WriteFile(d.conf, []byte(conf), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(d.log, "=== starting dendrite on %s\n", d.URL())
	cmd := exec.Command(d.bin, "-config", d.conf, "-http-bind-address", fmt.Sprintf("127.0.0.1:%d", port))
	cmd.Dir = d.dir
	cmd.Stdout, cmd.Stderr = d.log, d.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting dendrite: %w", err)
	}
	exit := make(chan struct{})
	go func() { cmd.Wait(); close(exit) }()
	d.cmd, d.exit = cmd, exit
	if err := d.waitReady(60 * time.Second); err != nil {
		d.Stop()
		return err
	}
	return nil
}

// waitReady waits until this instance answers on its port, or exits.
func (d *Dendrite) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	hc := &http.Client{Timeout: 2 * time.Second}
	wait := 20 * time.Millisecond
	for {
		select {
		case <-d.exit:
			return errors.New("dendrite exited while starting (the port taken?)")
		default:
		}
		if d.answers(hc) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dendrite does not answer on %s after %v", d.URL(), timeout)
		}
		select {
		case <-d.exit:
		case <-time.After(wait):
		}
		wait = min(2*wait, 250*time.Millisecond)
	}
}

// answers says whether the server on the port is this instance.
func (d *Dendrite) answers(hc *http.Client) bool {
	resp, err := hc.Get(d.URL() + "/.well-known/matrix/client")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(d.instance)) {
		return false
	}
	resp2, err := hc.Get(d.URL() + "/_matrix/client/versions")
	if err != nil {
		return false
	}
	resp2.Body.Close()
	return resp2.StatusCode == http.StatusOK
}

// Stop ends Dendrite (SIGTERM, SIGKILL after 10 s); connections are
// refused until Restart.
func (d *Dendrite) Stop() {
	if d.cmd == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exit:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-d.exit
	}
	d.cmd = nil
}

// Kill ends Dendrite at once (SIGKILL).
func (d *Dendrite) Kill() {
	if d.cmd == nil {
		return
	}
	d.cmd.Process.Kill()
	<-d.exit
	d.cmd = nil
}

// Restart stops the server and starts it again on the same port, with
// the same databases.
func (d *Dendrite) Restart() {
	d.t.Helper()
	d.Stop()
	d.Start()
}

// Start starts a stopped server again on its port.
func (d *Dendrite) Start() {
	d.t.Helper()
	var err error
	for range 5 {
		if err = d.start(d.port); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond) // the port held a moment longer
	}
	d.t.Fatalf("starting dendrite again on port %d: %v", d.port, err)
}

// Register makes the account user (the local part) with password through
// the registration shared secret, and returns its user ID and an access
// token.
func (d *Dendrite) Register(t testing.TB, user, password string) (mxid, token string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hc := &http.Client{}
	u := d.URL() + "/_synapse/admin/v1/register"
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("registering %s: %v", user, err)
	}
	var n struct {
		Nonce string `json:"nonce"`
	}
	err = json.NewDecoder(resp.Body).Decode(&n)
	resp.Body.Close()
	if err != nil || n.Nonce == "" {
		t.Fatalf("registering %s: no nonce (%v)", user, err)
	}
	mac := hmac.New(sha1.New, []byte(d.secret))
	mac.Write([]byte(n.Nonce + "\x00" + user + "\x00" + password + "\x00notadmin"))
	body, _ := json.Marshal(map[string]any{"nonce": n.Nonce, "username": user, "password": password,
		"admin": false, "mac": hex.EncodeToString(mac.Sum(nil))})
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatalf("registering %s: %v", user, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var r struct {
		UserID      string `json:"user_id"`
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &r) != nil || r.AccessToken == "" {
		t.Fatalf("registering %s: %s: %s", user, resp.Status, b)
	}
	return r.UserID, r.AccessToken
}

// writeMatrixKey writes a new signing key in Dendrite's PEM form (what
// generate-keys --private-key makes).
func writeMatrixKey(path string) error {
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	b := pem.EncodeToMemory(&pem.Block{Type: "MATRIX PRIVATE KEY",
		Headers: map[string]string{"Key-ID": "ed25519:qun" + randomHex(3)}, Bytes: seed})
	return os.WriteFile(path, b, 0o600)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
