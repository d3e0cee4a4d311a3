package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/qunchat/qun/bridge"
)

// Limits and timings. The tests shorten some of them through the
// Connector's unexported fields (maxPending, minBackoff, …) before Run.
const (
	// MinSecretBytes is the shortest secret accepted.
	MinSecretBytes = 32
	// MaxBodyBytes bounds the body of a request to the endpoint.
	MaxBodyBytes = 64 << 10
	// TimestampWindow is how far a request's Qun-Timestamp may be from the
	// connector's clock, either way.
	TimestampWindow = 5 * time.Minute
	// MaxPending bounds the deliveries waiting in the outbox.
	MaxPending = 100_000
	// MaxPendingBytes bounds the bodies waiting in the outbox.
	MaxPendingBytes = 256 << 20
	// MaxDeliveryBytes bounds one webhook's body (an image included).
	MaxDeliveryBytes = 1 << 20

	defaultMinBackoff    = time.Second
	defaultMaxBackoff    = time.Minute
	defaultAnswerTimeout = 30 * time.Second
	defaultMaxReplay     = 100_000
	deliveryTimeout      = 30 * time.Second // one POST to the platform
	parallelDeliveries   = 8                // POSTs in flight at once, over all channels
	markerTTL            = 7 * 24 * time.Hour
	shutdownGrace        = 5 * time.Second
)

var (
	// ErrUnknownChannel is returned by Send, Edit, Delete and Kick for a
	// channel the connector does not route.
	ErrUnknownChannel = errors.New("webhook: the channel is not one of the connector's")
	// ErrOutboxFull is returned by Send, Edit, Delete and Kick when the
	// outbox holds MaxPending deliveries (or MaxPendingBytes): the platform
	// has not taken them for a long time.
	ErrOutboxFull = errors.New("webhook: the outbox is full: the platform has not accepted deliveries for a long time")
	// ErrTooLarge is returned for a delivery whose body would exceed
	// MaxDeliveryBytes.
	ErrTooLarge = errors.New("webhook: the delivery is larger than 1 MiB")
	// ErrClosed is returned once the connector is closed (Run returned or
	// Close was called).
	ErrClosed = errors.New("webhook: the connector is closed")
)

// Connector is the platform webhook connector. New makes one; Run serves
// the endpoint and delivers the outbox until its context ends.
type Connector struct {
	name     string
	url      string
	urlHost  string // for errors: the URL may carry a token in its query
	listen   string
	secret   []byte
	channels map[string]bool
	logger   *slog.Logger
	client   *http.Client
	sem      chan struct{} // parallelDeliveries

	// Tunables, set by New; tests shorten them before Run.
	minBackoff, maxBackoff time.Duration
	answerTimeout          time.Duration
	maxPending             int
	maxPendingBytes        int64
	maxReplay              int

	dbMu sync.RWMutex
	db   *badger.DB // nil once closed

	enqMu   sync.Mutex // one enqueue at a time: the dedupe check, the seq, the bounds
	nextSeq uint64

	replayMu sync.Mutex
	replay   expiries // of the signatures remembered

	mu           sync.Mutex // guards what follows
	queues       map[string]*queue
	pending      int
	pendingBytes int64
	started      bool
	closed       bool
	workCtx      context.Context // set while Run delivers; workers start under it
	stop         context.CancelFunc
	runDone      chan struct{}
	workers      sync.WaitGroup
	addr         net.Addr
	serving      bool
	failing      map[string]string // channel → its last delivery error
	lastErr      string
	connected    bool
	since        time.Time
}

var _ bridge.Connector = (*Connector)(nil)

// New makes the connector name ("webhook.platform") of cfg for the
// platform's channels, with its outbox in dataDir (a folder of its own,
// made if missing). The secret is read from cfg.SecretFile, without its
// trailing newline, and must have at least MinSecretBytes bytes. The
// outbox is opened at once, so that Send works before Run; Run closes it
// when it returns, and Close does for a connector that never ran.
func New(name string, cfg bridge.Webhook, channels []string, dataDir string, logger *slog.Logger) (*Connector, error) {
	if name == "" {
		return nil, errors.New("webhook: the connector needs a name (webhook.NAME)")
	}
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%s: "+format, append([]any{name}, a...)...)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("connector", name)
	if _, port, err := net.SplitHostPort(cfg.Listen); err != nil || port == "" {
		return nil, fail("listen: %q is not host:port", cfg.Listen)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fail("url: %q is not an http:// or https:// URL", cfg.URL)
	}
	if u.Scheme == "http" {
		logger.Warn("webhooks go out over plain http: use https unless the platform is on a private network", "host", u.Host)
	}
	secret, err := readSecret(cfg.SecretFile)
	if err != nil {
		return nil, fail("%w", err)
	}
	if fi, err := os.Stat(cfg.SecretFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
		logger.Warn("the webhook secret file can be read by others than its owner: chmod 600 it", "file", cfg.SecretFile)
	}
	if dataDir == "" {
		return nil, fail("the connector needs a data folder for its outbox")
	}
	set := make(map[string]bool, len(channels))
	for _, ch := range channels {
		if ch == "" {
			return nil, fail("a channel is empty")
		}
		set[ch] = true
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = parallelDeliveries
	c := &Connector{
		name:     name,
		url:      cfg.URL,
		urlHost:  u.Scheme + "://" + u.Host,
		listen:   cfg.Listen,
		secret:   secret,
		channels: set,
		logger:   logger,
		client: &http.Client{
			Transport: transport,
			Timeout:   deliveryTimeout,
			// A redirect is not followed: it is an answer other than
			// 2xx, retried, and logged so that the URL is fixed.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		sem:             make(chan struct{}, parallelDeliveries),
		minBackoff:      defaultMinBackoff,
		maxBackoff:      defaultMaxBackoff,
		answerTimeout:   defaultAnswerTimeout,
		maxPending:      MaxPending,
		maxPendingBytes: MaxPendingBytes,
		maxReplay:       defaultMaxReplay,
		queues:          make(map[string]*queue),
		failing:         make(map[string]string),
		since:           time.Now(),
	}
	if err := c.open(dataDir); err != nil {
		return nil, fail("%w", err)
	}
	return c, nil
}

func readSecret(path string) ([]byte, error) {
	if path == "" {
		return nil, errors.New("secret_file: the connector needs a secret file")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the secret: %w", err)
	}
	b = []byte(strings.TrimRight(string(b), "\r\n"))
	if len(b) < MinSecretBytes {
		return nil, fmt.Errorf("the secret in %s has %d bytes; it needs at least %d (make one with: openssl rand -hex 32 > %s)", path, len(b), MinSecretBytes, path)
	}
	return b, nil
}

// Name is the connector's KIND.NAME.
func (c *Connector) Name() string { return c.name }

// Caps: the platform edits, deletes, shows replies and images, and gets
// private messages (the webhook's "to").
func (c *Connector) Caps() bridge.Caps {
	return bridge.Caps{Edit: true, Delete: true, Replies: true, Images: true, Private: true}
}

// Status is connected while Run serves the endpoint and no channel's
// delivery is failing; while one is, LastError is the last failure.
func (c *Connector) Status() bridge.Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	last := ""
	if !c.connected {
		last = c.lastErr
	}
	return bridge.Status{Connected: c.connected, Since: c.since, LastError: last}
}

// Pending is the number of deliveries waiting in the outbox.
func (c *Connector) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pending
}

// Addr is the endpoint's address once Run listens (nil before and after):
// the port chosen when Listen's port is 0.
func (c *Connector) Addr() net.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addr
}

// setStatusLocked recomputes Connected; c.mu is held.
func (c *Connector) setStatusLocked() {
	conn := c.serving && len(c.failing) == 0
	if conn != c.connected {
		c.connected, c.since = conn, time.Now()
	}
}

func (c *Connector) deliveryFailed(channel string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failing[channel] = err.Error()
	c.lastErr = channel + ": " + err.Error()
	c.setStatusLocked()
}

func (c *Connector) deliveryOK(channel string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.failing, channel)
	c.setStatusLocked()
}

// Run serves the endpoint on the configured address, putting on in what
// the platform posts, and delivers the outbox, until ctx ends (it returns
// ctx.Err()) or Close is called (nil). It returns another error when it
// cannot listen. The outbox is closed when it returns; a Connector runs
// once.
func (c *Connector) Run(ctx context.Context, in chan<- bridge.Inbound) error {
	c.mu.Lock()
	if c.started || c.closed {
		c.mu.Unlock()
		return fmt.Errorf("%s: %w (a connector runs once)", c.name, ErrClosed)
	}
	c.started = true
	parent := ctx
	ctx, stop := context.WithCancel(parent)
	c.stop, c.runDone = stop, make(chan struct{})
	c.mu.Unlock()
	defer close(c.runDone)
	defer c.closeDB()
	defer stop()

	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("%s: listening on %s: %w", c.name, c.listen, err)
	}
	srv := &http.Server{
		Handler:           c.handler(in),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      defaultAnswerTimeout + 15*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(c.logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	c.mu.Lock()
	c.addr, c.serving = ln.Addr(), true
	c.setStatusLocked()
	c.workCtx = ctx
	for _, q := range c.queues {
		c.startWorkerLocked(q)
	}
	c.mu.Unlock()
	c.logger.Info("webhook endpoint listening", "addr", ln.Addr().String(), "url", c.urlHost)

	var result error
	select {
	case <-ctx.Done():
	case err := <-served:
		result = fmt.Errorf("%s: serving on %s: %w", c.name, c.listen, err)
		stop()
	}

	c.mu.Lock()
	c.workCtx = nil // no worker starts from here on
	c.serving, c.addr = false, nil
	c.setStatusLocked()
	c.mu.Unlock()

	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	c.workers.Wait()
	c.client.CloseIdleConnections()
	if result != nil {
		return result
	}
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed && parent.Err() == nil {
		return nil
	}
	return parent.Err()
}

// Close stops Run, if it runs, and waits for it; it closes the outbox.
// It is safe to call more than once.
func (c *Connector) Close() error {
	c.mu.Lock()
	c.closed = true
	stop, done := c.stop, c.runDone
	c.mu.Unlock()
	if stop != nil {
		stop()
		<-done
		return nil
	}
	return c.closeDB()
}
