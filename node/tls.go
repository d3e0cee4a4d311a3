package node

import (
	"crypto/tls"
	"fmt"
	"path/filepath"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// tlsConfig returns the API's TLS configuration: certificate files, a
// certificate managed by ACME, or nil for plain HTTP. Browsers expose
// WebCrypto only on https:// (or localhost), so a node reached by customers'
// phones needs one of the two.
func (n *Node) tlsConfig() (*tls.Config, error) {
	switch {
	case n.cfg.TLSCert != "":
		cert, err := tls.LoadX509KeyPair(n.cfg.TLSCert, n.cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("loading TLS certificate: %w", err)
		}
		return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
	case len(n.cfg.ACMEDomains) > 0:
		m := &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			Cache:      autocert.DirCache(filepath.Join(n.cfg.DataDir, "acme")),
			HostPolicy: autocert.HostWhitelist(n.cfg.ACMEDomains...),
			Email:      n.cfg.ACMEEmail,
		}
		c := m.TLSConfig() // serves the TLS-ALPN-01 challenge on the same listener
		c.NextProtos = append([]string{"h2", "http/1.1"}, acme.ALPNProto)
		c.MinVersion = tls.VersionTLS12
		return c, nil
	}
	return nil, nil
}
