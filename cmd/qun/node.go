package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
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
	fs.SetOutput(io.Discard)
	var listen, bootstrap, admins, acmeDomains listFlag
	data := fs.String("data", "qun-data", "data directory `DIR` (store, node key, admin key)")
	fs.Var(&listen, "listen", "libp2p listen address, a `MULTIADDR` (repeatable; default TCP and QUIC on port 7781)")
	api := fs.String("api", node.DefaultAPIAddr, "HTTP API and web client address `HOST:PORT`, or \"-\" to disable")
	fs.Var(&bootstrap, "bootstrap", "peer to connect to at start, a `MULTIADDR` with /p2p/ (repeatable)")
	fs.Var(&admins, "admin", "`USERID` that may create groups hosted here, besides DIR/admin.key (repeatable)")
	tlsCert := fs.String("tls-cert", "", "PEM certificate `FILE`: serve the API and web client over HTTPS")
	tlsKey := fs.String("tls-key", "", "PEM key `FILE` of --tls-cert")
	fs.Var(&acmeDomains, "acme-domain", "obtain a certificate automatically (ACME) for this public `NAME` (repeatable; the API must listen on :443)")
	acmeEmail := fs.String("acme-email", "", "contact e-mail `ADDRESS` for the ACME account")
	relay := fs.Bool("relay-service", false, "offer circuit relay v2 to other nodes")
	rate := fs.Float64("rate", protocol.DefaultRatePerSecond, "submissions per second per member at the host, `N`; 0 or less turns the limit off")
	burst := fs.Int("burst", protocol.DefaultRateBurst, "burst `N` of the per-member rate limit")
	apiRate := fs.Float64("api-rate", 20, "HTTP API requests per second per client address and per session, `N`; 0 or less turns the limit off")
	apiBurst := fs.Int("api-burst", 100, "burst `N` of the API request limit")
	syncEvery := fs.Duration("sync-interval", 10*time.Second, "how often replicas compare their head with the host's, a `DURATION`")
	idleAfter := fs.Duration("idle-after", node.DefaultIdleAfter, "a hosted group unused this long, a `DURATION`, sleeps until its next request (frees its memory; at least 1s)")
	minFree := fs.Int64("disk-min-free", 0, "refuse new events (storage_full) when fewer than `BYTES` are free on the data disk (0: 64 MiB; at least 36 MiB)")
	ballast := fs.Int64("disk-ballast", 0, "size in `BYTES` of the reserve file released when the disk runs full (0: 64 MiB; -1: none)")
	serviceName := fs.String("service-name", node.DefaultServiceName, "display `NAME` of the node's service key, the admin member that signs what the merchant API does (docs/MERCHANT.md)")
	publicURL := fs.String("public-url", "", "the `URL` people open this node's web client at (https://shop.example): the start of the links the merchant API hands out (default: the address each request came to)")
	logLevel := fs.String("log-level", "info", "log `LEVEL`: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printNodeHelp(stdout, fs)
			return 0
		}
		fmt.Fprintf(stderr, "qun node: %s\n%s", flagError(err, fs, nil), nodeUsage)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "qun node: unexpected argument %q\n%s", fs.Arg(0), nodeUsage)
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
		IdleAfter: *idleAfter, DiskMinFree: *minFree, DiskBallast: *ballast,
		ServiceName: *serviceName, PublicURL: *publicURL,
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
	fmt.Fprintf(stdout, "service: %s (%s; %s/service.key)\n", n.ServiceID(), cfg.ServiceName, *data)
	fmt.Fprintln(stdout, "ready")
	printNextStep(stdout, n.APIURL(), *data, acmeDomains)
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping")
	if err := n.Close(); err != nil {
		fmt.Fprintf(stderr, "qun node: closing: %v\n", err)
		return 1
	}
	return 0
}

// nodeUsage ends the error of a bad `qun node` command line.
const nodeUsage = "usage: qun node [FLAGS]; \"qun help node\" lists the flags\n"

func printNodeHelp(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, `usage: qun node [FLAGS]

Runs a node until interrupted (Ctrl-C or SIGTERM): it hosts the groups its
admins create, keeps replicas of the groups of its users, and serves the
HTTP API and the web client. On first start it makes DIR/node.key (its
identity) and DIR/admin.key (a user key that may create groups here). It
prints its peer ID, listen addresses and API URL, then "ready" and the
next step.

flags:`)
	printFlags(w, fs, nil)
}

// printNextStep tells the person who started the node what to do next,
// after the machine-readable start-up lines.
func printNextStep(w io.Writer, apiURL, dataDir string, acmeDomains []string) {
	if apiURL == "" {
		fmt.Fprintln(w, "next: the API is off (--api -); other nodes reach this one at its listen addresses")
		return
	}
	web := webURL(apiURL, acmeDomains)
	key := filepath.Join(dataDir, "admin.key")
	if abs, err := filepath.Abs(key); err == nil {
		key = abs
	}
	api := strings.TrimSuffix(web, "/")
	fmt.Fprintf(w, "web client: %s\n", web)
	fmt.Fprintf(w, "next: open %s in a browser and import %s (or: qun --api %s --key %s groups)\n", web, key, api, shellQuote(key))
}

// webURL is the address of the web client for a browser: the ACME name if
// there is one, and a loopback address instead of an unspecified one
// (0.0.0.0, ::).
func webURL(apiURL string, acmeDomains []string) string {
	u, err := url.Parse(apiURL)
	if err != nil {
		return apiURL + "/"
	}
	host, port := u.Hostname(), u.Port()
	switch {
	case len(acmeDomains) > 0:
		host = acmeDomains[0]
		if port == "443" {
			port = ""
		}
	case host == "" || net.ParseIP(host).IsUnspecified():
		if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
			host = "::1"
		} else {
			host = "127.0.0.1"
		}
	}
	if port != "" {
		u.Host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		u.Host = "[" + host + "]"
	} else {
		u.Host = host
	}
	u.Path = "/"
	return u.String()
}
