package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
	"github.com/qunchat/qun/internal/keyfile"
	"github.com/qunchat/qun/node/delivery"
	"github.com/qunchat/qun/node/light"
	"github.com/qunchat/qun/node/merchant"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/storage"
	"golang.org/x/sync/singleflight"
)

// Node is a running Qun node. Create it with New, then Start; Close stops it.
type Node struct {
	cfg         Config
	log         *slog.Logger
	key         *protocol.Key // the node's identity
	id          protocol.UserID
	admins      map[protocol.UserID]bool
	store       *storage.Store
	blobs       *blobStore         // images and files (blobs.go)
	quotaMu     sync.Mutex         // upload quota updates (blobapi.go)
	blobFetch   singleflight.Group // on-demand blob fetches, one per blob (blobs.go)
	blobChecked sync.Map           // hashes of blobs checked since start (blobapi.go)
	host        host.Host
	ps          *pubsub.PubSub

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	groups  map[protocol.GroupID]*group        // loaded groups (table.go)
	asleep  map[protocol.GroupID]*dormant      // hosted groups not loaded
	pending map[protocol.GroupID]chan struct{} // groups being woken or put to sleep

	topicsMu sync.Mutex
	topics   map[protocol.GroupID]*groupTopic // joined gossip topics (topics.go)
	waking   sync.Map                         // GroupID → struct{}: wakes under way (topics.go)
	started  bool
	closed   bool

	api   *http.Server
	apiLn net.Listener

	syncsServed atomic.Uint64 // sync requests answered (tests read it)

	redials redialGate // when dial backoffs were last cleared (streams.go)

	clock *hostClock    // stamps events (clock.go)
	light *light.Server // the light-client API (node/light; backend in light.go)

	service   *protocol.Key        // signs what the merchant API does (merchant.go)
	merchant  *merchant.Server     // the merchant API (node/merchant; backend in merchant.go)
	orders    orderLocks           // one order invite at a time per order (merchant.go)
	timers    timers               // when the merchant API's timed actions are due (orders.go)
	reactions chan reaction        // what the groups' rules react to (automation.go)
	hooks     *delivery.Dispatcher // webhooks out (merchanthooks.go)
	hookWake  chan struct{}        // a token when a hosted group committed

	// onReject, when set (by tests), is told about every invalid event.
	onReject func(protocol.GroupID, protocol.EventID, error)
	// beforeRelease, when set (by tests), runs after a hosted group's
	// events are stored and before anyone can see them; false plays a
	// crash at that point (the events stay stored, unreleased).
	beforeRelease atomic.Pointer[releaseHook]
}

// releaseHook is the test hook beforeRelease.
type releaseHook struct {
	fn func(ctx context.Context, g protocol.GroupID, seq uint64) bool
}

// New opens the data directory (creating the node key and the first admin
// key on first start), the store and the libp2p host. It starts nothing
// that talks to the network: call Start.
func New(cfg Config) (*Node, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	key, _, err := keyfile.LoadOrCreate(filepath.Join(cfg.DataDir, "node.key"))
	if err != nil {
		return nil, err
	}
	admin, _, err := keyfile.LoadOrCreate(filepath.Join(cfg.DataDir, "admin.key"))
	if err != nil {
		return nil, err
	}
	service, _, err := keyfile.LoadOrCreate(filepath.Join(cfg.DataDir, "service.key"))
	if err != nil {
		return nil, err
	}
	n := &Node{
		cfg: cfg, log: cfg.Logger, key: key, id: key.ID(),
		admins:  map[protocol.UserID]bool{admin.ID(): true, service.ID(): true},
		service: service, timers: timers{wake: make(chan struct{}, 1)},
		reactions: make(chan reaction, automationQueue), hookWake: make(chan struct{}, 1),
		groups: map[protocol.GroupID]*group{},
		asleep: map[protocol.GroupID]*dormant{}, pending: map[protocol.GroupID]chan struct{}{},
		topics: map[protocol.GroupID]*groupTopic{},
		blobs:  &blobStore{dir: filepath.Join(cfg.DataDir, "blobs")},
	}
	n.clock = newHostClock()
	n.light = light.New(lightBackend{n}, light.Config{
		Node: n.id, RatePerSecond: cfg.APIRatePerSecond, Burst: cfg.APIBurst,
		WriteTimeout: cfg.WSWriteTimeout, OnDrop: cfg.OnWSDrop, Log: cfg.Logger.With("sub", "api"),
	})
	for _, a := range cfg.Admins {
		n.admins[a] = true
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	opts := []storage.Option{storage.WithLogger(cfg.Logger.With("sub", "storage"))}
	if cfg.DiskMinFree != 0 || cfg.DiskBallast != 0 {
		minFree, ballast := cfg.DiskMinFree, cfg.DiskBallast
		if minFree == 0 {
			minFree = storage.DefaultMinFree
		}
		if ballast == 0 {
			ballast = storage.DefaultBallast
		}
		opts = append(opts, storage.WithSpaceReserve(minFree, max(ballast, 0)))
	}
	n.store, err = storage.Open(filepath.Join(cfg.DataDir, "store"), opts...)
	if err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	if err := n.newMerchant(); err != nil {
		n.store.Close()
		return nil, err
	}
	if err := n.newHost(); err != nil {
		n.store.Close()
		return nil, err
	}
	return n, nil
}

// ID returns the node's identity (its peer ID as a UserID).
func (n *Node) ID() protocol.UserID { return n.id }

// PeerID returns the node's libp2p peer ID.
func (n *Node) PeerID() peer.ID { return n.host.ID() }

// Host returns the libp2p host (for tests and tools).
func (n *Node) Host() host.Host { return n.host }

// Admins returns the users that may create groups hosted here.
func (n *Node) Admins() []protocol.UserID {
	out := make([]protocol.UserID, 0, len(n.admins))
	for a := range n.admins {
		out = append(out, a)
	}
	return out
}

// Addrs returns the node's listen addresses with /p2p/ appended.
func (n *Node) Addrs() []multiaddr.Multiaddr {
	p2p, _ := multiaddr.NewComponent("p2p", n.host.ID().String())
	var out []multiaddr.Multiaddr
	for _, a := range n.host.Addrs() {
		out = append(out, a.Encapsulate(p2p.Multiaddr()))
	}
	return out
}

// APIURL returns the base URL of the HTTP API, or "" when it is disabled.
func (n *Node) APIURL() string {
	if n.apiLn == nil {
		return ""
	}
	if n.cfg.TLSCert != "" || len(n.cfg.ACMEDomains) > 0 {
		return "https://" + n.apiLn.Addr().String()
	}
	return "http://" + n.apiLn.Addr().String()
}

// Start loads the stored groups, starts their replication and the HTTP API,
// and connects to the bootstrap peers.
func (n *Node) Start(ctx context.Context) error {
	n.mu.Lock()
	if n.started || n.closed {
		n.mu.Unlock()
		return errors.New("node already started or closed")
	}
	n.started = true
	n.mu.Unlock()
	if err := n.startPubSub(); err != nil {
		return err
	}
	n.host.SetStreamHandler(protocol.SubmitProtocol, n.handleSubmit)
	n.host.SetStreamHandler(protocol.SyncProtocol, n.handleSync)
	n.host.SetStreamHandler(protocolID(InfoProtocol), n.handleInfo)
	n.host.SetStreamHandler(protocolID(AboutProtocol), n.handleAbout)
	n.host.SetStreamHandler(protocolID(BlobProtocol), n.handleBlob)
	n.host.SetStreamHandler(protocolID(CheckpointProtocol), n.handleCheckpoint)
	n.host.SetStreamHandler(protocolID(ContactProtocol), n.handleContact)
	if err := n.loadGroups(); err != nil {
		return err
	}
	if n.cfg.APIAddr != "-" {
		if err := n.startAPI(); err != nil {
			return err
		}
	}
	n.wg.Add(5)
	go n.watchClock()
	go n.sleepLoop()
	go n.runTimers()
	go n.runAutomation()
	go n.runHooks()
	for _, a := range n.cfg.Bootstrap {
		info, _ := parseP2PAddr(a)
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			cctx, cancel := context.WithTimeout(n.ctx, 20*time.Second)
			defer cancel()
			if err := n.host.Connect(cctx, *info); err != nil {
				n.log.Warn("bootstrap peer unreachable", "peer", info.ID, "err", err)
			}
		}()
	}
	return nil
}

// Close stops the node and waits for every goroutine it started. It is
// safe to call more than once.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	groups := make([]*group, 0, len(n.groups))
	for _, g := range n.groups {
		groups = append(groups, g)
	}
	n.mu.Unlock()

	var errs []error
	if n.api != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, n.api.Shutdown(sctx))
		cancel()
	}
	n.light.Close()
	n.cancel()
	for _, g := range groups {
		g.close()
	}
	n.wg.Wait()
	n.hooks.Wait()
	errs = append(errs, n.host.Close(), n.store.Close())
	return errors.Join(errs...)
}

// loadGroups starts every replicated group found in the store and
// records the hosted ones as asleep (table.go).
func (n *Node) loadGroups() error {
	// Every group the node holds has its host in its meta (addGroup writes
	// it first): one pass over the meta keys lists them.
	stored, err := n.store.ScanMeta(metaHost, metaIndexed)
	if err != nil {
		return fmt.Errorf("listing stored groups: %w", err)
	}
	for _, m := range stored {
		gid := protocol.GroupID(m.Group)
		if len(m.Vals[0]) != 32 {
			n.log.Warn("stored group without a host; skipping", "group", gid)
			continue
		}
		hostKey := protocol.UserID(m.Vals[0])
		if n.startsAsleep(gid, hostKey, m.Vals[1] != nil) {
			n.mu.Lock()
			n.asleep[gid] = &dormant{host: hostKey}
			n.mu.Unlock()
			continue
		}
		if _, err := n.addGroup(protocol.GroupID(gid), hostKey, nil); err != nil {
			return err
		}
	}
	return nil
}

const (
	metaHost  = "host"  // 32-byte host key
	metaAddrs = "addrs" // the host's multiaddrs, framed
)

func (n *Node) storedHost(gid protocol.GroupID) (protocol.UserID, bool, error) {
	b, ok, err := n.store.Meta(gid, metaHost)
	if err != nil || !ok || len(b) != 32 {
		return protocol.UserID{}, false, err
	}
	var u protocol.UserID
	copy(u[:], b)
	return u, true, nil
}

// addGroup registers a group with the node and starts it. addrs are the
// host's addresses when known (stored for later starts).
func (n *Node) addGroup(gid protocol.GroupID, hostKey protocol.UserID, addrs []multiaddr.Multiaddr) (*group, error) {
	if g := n.group(gid); g != nil {
		return g, nil
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, protocol.Errorf(protocol.CodeUnavailable, "the node is shutting down")
	}
	n.mu.Unlock()

	if err := n.store.SetMeta(gid, metaHost, hostKey[:]); err != nil {
		return nil, fmt.Errorf("saving group host: %w", err)
	}
	if len(addrs) > 0 {
		if err := n.store.SetMeta(gid, metaAddrs, encodeAddrs(addrs)); err != nil {
			return nil, fmt.Errorf("saving host addresses: %w", err)
		}
	}
	if hostKey != n.id {
		if stored, ok, _ := n.store.Meta(gid, metaAddrs); ok {
			n.host.Peerstore().AddAddrs(hostKey.PeerID(), decodeAddrs(stored), 365*24*time.Hour)
		}
	}
	g, err := newGroup(n, gid, hostKey)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	if existing := n.groups[gid]; existing != nil || n.closed {
		n.mu.Unlock()
		g.close()
		if existing == nil {
			return nil, protocol.Errorf(protocol.CodeUnavailable, "the node is shutting down")
		}
		return existing, nil
	}
	n.groups[gid] = g
	g.touch()
	n.mu.Unlock()
	g.start()
	return g, nil
}

// ensureHostAddrs makes sure the peerstore knows where a group's host is:
// libp2p forgets a peer's addresses some time after it disconnects, and
// the addresses stored with the group bring them back.
func (n *Node) ensureHostAddrs(gid protocol.GroupID, hostKey protocol.UserID) {
	pid := hostKey.PeerID()
	if pid == n.host.ID() || len(n.host.Peerstore().Addrs(pid)) > 0 {
		return
	}
	if stored, ok, err := n.store.Meta(gid, metaAddrs); err == nil && ok {
		n.host.Peerstore().AddAddrs(pid, decodeAddrs(stored), time.Hour)
	}
}

func encodeAddrs(addrs []multiaddr.Multiaddr) []byte {
	var b []byte
	for _, a := range addrs {
		raw := a.Bytes()
		b = append(b, byte(len(raw)>>8), byte(len(raw)))
		b = append(b, raw...)
	}
	return b
}

func decodeAddrs(b []byte) []multiaddr.Multiaddr {
	var out []multiaddr.Multiaddr
	for len(b) >= 2 {
		l := int(b[0])<<8 | int(b[1])
		if len(b) < 2+l {
			break
		}
		if a, err := multiaddr.NewMultiaddrBytes(b[2 : 2+l]); err == nil {
			out = append(out, a)
		}
		b = b[2+l:]
	}
	return out
}

// parseP2PAddr parses a multiaddr that ends in /p2p/PEER.
func parseP2PAddr(s string) (*peer.AddrInfo, error) {
	a, err := multiaddr.NewMultiaddr(s)
	if err != nil {
		return nil, err
	}
	info, err := peer.AddrInfoFromP2pAddr(a)
	if err != nil {
		return nil, fmt.Errorf("want a multiaddr ending in /p2p/PEER_ID: %w", err)
	}
	return info, nil
}

func nowMS() uint64 { return uint64(time.Now().UnixMilli()) }

// watchClock logs when the system clock is set away from the host clock.
func (n *Node) watchClock() {
	defer n.wg.Done()
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
			if d, warn := n.clock.checkSkew(); warn {
				n.log.Warn("the system clock was set while the node ran; event times keep following the node's own clock (restart the node to adopt the system clock)", "skew", d.Round(time.Millisecond))
			}
		}
	}
}

// snapshotLimit is the largest state snapshot the node stores in one
// commit; a larger state is rebuilt from the log (or, for a replica
// started from a checkpoint, from the checkpoint) when loaded.
func (n *Node) snapshotLimit() int {
	if n.cfg.maxSnapshot > 0 {
		return n.cfg.maxSnapshot
	}
	return storage.MaxCommitBytes / 2
}
