package node

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol/api"
)

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "qun test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestTLS: with certificate files the API is served over HTTPS only.
func TestTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	n := startNode(t, "", func(c *Config) { c.TLSCert, c.TLSKey = certFile, keyFile })
	if !strings.HasPrefix(n.APIURL(), "https://") {
		t.Fatalf("API URL %s is not https", n.APIURL())
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	resp, err := hc.Get(n.APIURL() + "/api/v1/node")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info api.NodeInfo
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil || info.PeerID != n.PeerID().String() {
		t.Fatalf("node info over TLS: %+v, %v", info, err)
	}
	// Plain HTTP on the TLS port gets no API answer.
	plain, err := http.Get(strings.Replace(n.APIURL(), "https", "http", 1) + "/api/v1/node")
	if err == nil {
		plain.Body.Close()
		if plain.StatusCode == http.StatusOK {
			t.Fatal("the API answered plain HTTP on its TLS port")
		}
	}
}

// TestConfigErrors: every bad setting is reported at once.
func TestConfigErrors(t *testing.T) {
	_, err := New(Config{
		DataDir: t.TempDir(), ListenAddrs: []string{"/ip4/nonsense"}, APIAddr: "no-port",
		Bootstrap: []string{"/ip4/127.0.0.1/tcp/1"}, TLSCert: "c.pem",
	})
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"listen address", "bootstrap address", "API address", "TLS needs both"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
