package node

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/multiformats/go-multiaddr"
	"github.com/qunchat/qun/node/light"
	"github.com/qunchat/qun/protocol"
)

// Config configures a node. The zero value plus a DataDir is a working node;
// Defaults fills in the rest.
type Config struct {
	// DataDir holds the Badger store, node.key (the node's libp2p identity)
	// and admin.key (the first admin user). Default ./qun-data.
	DataDir string
	// ListenAddrs are libp2p multiaddrs to listen on. Default: TCP and QUIC
	// on port 7781 of every IPv4 and IPv6 interface.
	ListenAddrs []string
	// APIAddr is the HOST:PORT of the HTTP API; "-" disables it.
	// Default 127.0.0.1:7780.
	APIAddr string
	// TLSCert and TLSKey are PEM files of a certificate and its key: the API
	// (and the web client) is then served over HTTPS.
	TLSCert, TLSKey string
	// ACMEDomains, when set, make the node obtain and renew certificates for
	// these names automatically (ACME TLS-ALPN-01: the API must be reachable
	// on port 443 under those names). ACMEEmail is the optional contact.
	// Certificates are cached in DataDir/acme.
	ACMEDomains []string
	ACMEEmail   string
	// Bootstrap peers (multiaddrs with /p2p/) to connect to at start; they
	// also serve as static relays when this node is behind a NAT.
	Bootstrap []string
	// RelayService makes the node offer circuit relay v2 to other nodes.
	RelayService bool
	// Admins are users, besides the one in DataDir/admin.key, that may
	// create groups hosted here.
	Admins []protocol.UserID
	// ServiceName is the display name of the node's service key
	// (DataDir/service.key), the admin member that signs what the merchant
	// API does in groups (docs/MERCHANT.md). Default "Shop assistant".
	ServiceName string
	// WebhookBackoff is the first wait before a failed webhook delivery
	// is tried again; it doubles up to 10 minutes. Default 1 s.
	WebhookBackoff time.Duration
	// PublicURL is the address people reach the node's web client at
	// (https://shop.example): the start of the links the merchant API
	// hands out. Default: the address each API request was sent to.
	PublicURL string
	// RatePerSecond and RateBurst limit each member's submissions per group
	// at the host. Zero means the protocol defaults; a negative rate turns
	// the limit off (benchmarks and tests).
	RatePerSecond float64
	RateBurst     int
	// APIRatePerSecond and APIBurst limit HTTP API requests per client
	// address and per session. Zero means 20/s with a burst of 100; a
	// negative rate turns the limit off (benchmarks and tests).
	APIRatePerSecond float64
	APIBurst         int
	// WSWriteTimeout is how long a WebSocket client may take no write
	// before it is dropped. Default 10 s.
	WSWriteTimeout time.Duration
	// OnWSDrop, when set, is told why the node closed a light client's
	// WebSocket (monitoring and tests).
	OnWSDrop func(reason string)
	// SyncInterval is how often a replica compares its head with the host's.
	// Default 10 s.
	SyncInterval time.Duration
	// IdleAfter is how long a hosted group may go unused before the node
	// puts it to sleep: its goroutines stop, its topic is left and only a
	// few hundred bytes of it stay in memory until the next request wakes
	// it (table.go). Default 5 minutes; at least 1 s.
	IdleAfter time.Duration
	// SnapshotEvery is the number of events between state snapshots. Default 1000.
	SnapshotEvery int
	// DiskMinFree is the free space (bytes) below which the node refuses
	// new events with storage_full rather than fill its disk; DiskBallast is
	// the size of the pre-allocated file it releases when the disk runs full
	// so the store can finish its writes. Zero means the store's defaults
	// (storage.DefaultMinFree, storage.DefaultBallast); a negative ballast
	// means none.
	DiskMinFree int64
	DiskBallast int64
	// Logger receives the node's logs. Default: discard.
	Logger *slog.Logger

	// maxSnapshot, when set, replaces the largest state snapshot the node
	// stores (tests: a small one makes a state "too large" cheaply).
	maxSnapshot int
}

// DefaultIdleAfter is how long a hosted group stays loaded unused.
const DefaultIdleAfter = 5 * time.Minute

// DefaultServiceName is Config.ServiceName's default.
const DefaultServiceName = "Shop assistant"

// DefaultAPIAddr is where the HTTP API listens by default.
const DefaultAPIAddr = "127.0.0.1:7780"

// DefaultListenAddrs are the libp2p listen addresses by default.
var DefaultListenAddrs = []string{
	"/ip4/0.0.0.0/tcp/7781", "/ip4/0.0.0.0/udp/7781/quic-v1",
	"/ip6/::/tcp/7781", "/ip6/::/udp/7781/quic-v1",
}

// withDefaults returns a copy of c with defaults applied, or every problem
// found at once.
func (c Config) withDefaults() (Config, error) {
	if c.DataDir == "" {
		c.DataDir = "qun-data"
	}
	if len(c.ListenAddrs) == 0 {
		c.ListenAddrs = append([]string(nil), DefaultListenAddrs...)
	}
	if c.APIAddr == "" {
		c.APIAddr = DefaultAPIAddr
	}
	if c.RatePerSecond == 0 {
		c.RatePerSecond = protocol.DefaultRatePerSecond
	}
	if c.RateBurst == 0 {
		c.RateBurst = protocol.DefaultRateBurst
	}
	if c.APIRatePerSecond == 0 {
		c.APIRatePerSecond = light.DefaultRequestRate
	}
	if c.APIBurst == 0 {
		c.APIBurst = light.DefaultRequestBurst
	}
	if c.SyncInterval == 0 {
		c.SyncInterval = 10 * time.Second
	}
	if c.IdleAfter == 0 {
		c.IdleAfter = DefaultIdleAfter
	}
	if c.SnapshotEvery == 0 {
		c.SnapshotEvery = 1000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ServiceName == "" {
		c.ServiceName = DefaultServiceName
	}
	var errs []error
	for _, a := range c.ListenAddrs {
		if _, err := multiaddr.NewMultiaddr(a); err != nil {
			errs = append(errs, fmt.Errorf("listen address %q: %w", a, err))
		}
	}
	for _, a := range c.Bootstrap {
		if _, err := parseP2PAddr(a); err != nil {
			errs = append(errs, fmt.Errorf("bootstrap address %q: %w", a, err))
		}
	}
	if c.APIAddr != "-" {
		if _, _, err := net.SplitHostPort(c.APIAddr); err != nil {
			errs = append(errs, fmt.Errorf("API address %q: want HOST:PORT", c.APIAddr))
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, fmt.Errorf("TLS needs both a certificate file and a key file"))
	}
	if c.TLSCert != "" && len(c.ACMEDomains) > 0 {
		errs = append(errs, fmt.Errorf("use either certificate files or ACME, not both"))
	}
	if c.SyncInterval < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("sync interval %s is too short", c.SyncInterval))
	}
	if c.IdleAfter < time.Second {
		errs = append(errs, fmt.Errorf("idle time %s is too short (at least 1s)", c.IdleAfter))
	}
	if c.RateBurst < 0 {
		errs = append(errs, fmt.Errorf("rate burst %d is negative", c.RateBurst))
	}
	if err := protocol.NewProfileBody(protocol.Profile{Name: c.ServiceName}).Check(); err != nil {
		errs = append(errs, fmt.Errorf("service name %q: %w", c.ServiceName, err))
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			errs = append(errs, fmt.Errorf("public URL %q: want http(s)://HOST[:PORT][/PATH], the address people open the web client at", c.PublicURL))
		}
	}
	return c, errors.Join(errs...)
}
