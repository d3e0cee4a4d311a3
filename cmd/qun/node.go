package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/qunchat/qun/node"
	"github.com/qunchat/qun/protocol"
)

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// runNode runs `qun node` until ctx is cancelled (SIGINT or SIGTERM).
func runNode(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("qun node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var listen, bootstrap, admins, acmeDomains listFlag
	data := fs.String("data", "qun-data", "data directory (store, node key, admin key)")
	fs.Var(&listen, "listen", "libp2p listen multiaddr (repeatable; default TCP and QUIC on port 7781)")
	api := fs.String("api", node.DefaultAPIAddr, `HTTP API address HOST:PORT, or "-" to disable`)
	fs.Var(&bootstrap, "bootstrap", "peer to connect to at start, a multiaddr with /p2p/ (repeatable)")
	fs.Var(&admins, "admin", "user ID that may create groups hosted here, besides DIR/admin.key (repeatable)")
	tlsCert := fs.String("tls-cert", "", "PEM certificate file: serve the API and web client over HTTPS")
	tlsKey := fs.String("tls-key", "", "PEM key file of --tls-cert")
	fs.Var(&acmeDomains, "acme-domain", "obtain a certificate automatically (ACME) for this public name (repeatable; the API must listen on :443)")
	acmeEmail := fs.String("acme-email", "", "contact address for the ACME account")
	relay := fs.Bool("relay-service", false, "offer circuit relay v2 to other nodes")
	rate := fs.Float64("rate", protocol.DefaultRatePerSecond, "submissions per second per member at the host; 0 or less turns the limit off")
	burst := fs.Int("burst", protocol.DefaultRateBurst, "burst of the per-member rate limit")
	apiRate := fs.Float64("api-rate", 20, "HTTP API requests per second per client address and per session; 0 or less turns the limit off")
	apiBurst := fs.Int("api-burst", 100, "burst of the API request limit")
	syncEvery := fs.Duration("sync-interval", 10*time.Second, "how often replicas compare their head with the host's")
	minFree := fs.Int64("disk-min-free", 0, "refuse new events (storage_full) when less than this many bytes are free on the data disk (0: 64 MiB; at least 36 MiB)")
	ballast := fs.Int64("disk-ballast", 0, "size of the reserve file released when the disk runs full (0: 64 MiB; -1: none)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "qun node: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "qun node: --log-level %q: want debug, info, warn or error\n", *logLevel)
		return 2
	}
	cfg := node.Config{
		DataDir: *data, ListenAddrs: listen, APIAddr: *api, Bootstrap: bootstrap,
		TLSCert: *tlsCert, TLSKey: *tlsKey, ACMEDomains: acmeDomains, ACMEEmail: *acmeEmail,
		RelayService: *relay, RatePerSecond: *rate, RateBurst: *burst, SyncInterval: *syncEvery,
		DiskMinFree: *minFree, DiskBallast: *ballast,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
	}
	if *rate <= 0 {
		cfg.RatePerSecond = -1
	}
	cfg.APIRatePerSecond, cfg.APIBurst = *apiRate, *apiBurst
	if *apiRate <= 0 {
		cfg.APIRatePerSecond = -1
	}
	var errs []error
	for _, a := range admins {
		u, err := protocol.ParseUserID(a)
		if err != nil {
			errs = append(errs, fmt.Errorf("--admin: %w", err))
		}
		cfg.Admins = append(cfg.Admins, u)
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(stderr, "qun node: %v\n", err)
		return 2
	}
	n, err := node.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "qun node: %v\n", err)
		return 1
	}
	if err := n.Start(ctx); err != nil {
		n.Close()
		fmt.Fprintf(stderr, "qun node: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "qun node %s\n", node.Version)
	fmt.Fprintf(stdout, "peer id: %s\n", n.PeerID())
	for _, a := range n.Addrs() {
		fmt.Fprintf(stdout, "listen:  %s\n", a)
	}
	if u := n.APIURL(); u != "" {
		fmt.Fprintf(stdout, "api:     %s\n", u)
	}
	info := n.NodeInfo()
	for _, a := range info.Admins {
		fmt.Fprintf(stdout, "admin:   %s\n", a)
	}
	fmt.Fprintf(stdout, "admin key: %s/admin.key\n", *data)
	fmt.Fprintln(stdout, "ready")
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping")
	if err := n.Close(); err != nil {
		fmt.Fprintf(stderr, "qun node: closing: %v\n", err)
		return 1
	}
	return 0
}
