package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
)

// Options configure a Gateway.
type Options struct {
	// Client is the bridge's user on its home node (client.New with the
	// bridge's key).
	Client *client.Client
	// Store is the bridge's own store (OpenStore on its data folder).
	Store *Store
	// Connectors are the configured connectors, by their Name.
	Connectors []Connector
	// Routes are the configuration's routes (LoadConfig checked them).
	Routes []Route
	// Web is where invite links point (Config.Web).
	Web string
	// Logger gets progress and errors, with the route and the connector.
	Logger *slog.Logger
	// StatusEvery is how often the status lines are logged (a minute by
	// default; negative: never).
	StatusEvery time.Duration
}

// Gateway relays between the routes' Qun groups and their remote
// channels: what anyone writes on one side appears on every other, once,
// in the group's order, with who wrote it.
//
// Remote → Qun: each connector's messages are relayed one after another,
// as messages the bridge signs with the sender's attribution
// (protocol.Bridged); each submission is kept in the store before it is
// posted and settled into the mapping after, so that a crash neither
// loses nor doubles one. Qun → remote: each remote channel has its own
// sender, which reads the group from its own cursor (from the events the
// WebSocket brought, or pages of history when behind), so that a channel
// whose server is down holds up nobody else and catches up when it
// returns.
type Gateway struct {
	opts  Options
	qc    *client.Client
	store *Store
	me    protocol.UserID
	log   *slog.Logger
	conns map[string]Connector

	routes    []*route
	byChannel map[chanKey]*route

	mu       sync.Mutex
	connErrs map[string]string // connector → why it stopped, while it is down
}

// chanKey names a remote channel: the connector and the channel.
type chanKey struct{ conn, channel string }

func (k chanKey) String() string { return k.conn + ":" + k.channel }

// New checks the options and makes a Gateway; Run runs it.
func New(o Options) (*Gateway, error) {
	if o.Client == nil || o.Client.Key() == nil {
		return nil, errors.New("bridge: the gateway needs a client with the bridge's key")
	}
	if o.Store == nil {
		return nil, errors.New("bridge: the gateway needs its store")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.StatusEvery == 0 {
		o.StatusEvery = time.Minute
	}
	g := &Gateway{
		opts: o, qc: o.Client, store: o.Store, me: o.Client.Key().ID(), log: o.Logger,
		conns: map[string]Connector{}, byChannel: map[chanKey]*route{}, connErrs: map[string]string{},
	}
	for _, c := range o.Connectors {
		if _, dup := g.conns[c.Name()]; dup {
			return nil, fmt.Errorf("bridge: two connectors are named %s", c.Name())
		}
		g.conns[c.Name()] = c
	}
	for i, rc := range o.Routes {
		gid, err := protocol.ParseGroupID(rc.Group)
		if err != nil {
			return nil, fmt.Errorf("bridge: route %d: %w", i+1, err)
		}
		dir := rc.Direction
		if dir == "" {
			dir = "both"
		}
		r := newRoute(g, gid, dir)
		for _, rem := range rc.Remote {
			name, channel, ok := cutRemote(rem)
			conn := g.conns[name]
			if !ok || conn == nil {
				return nil, fmt.Errorf("bridge: route %d: remote %q names no configured connector", i+1, rem)
			}
			k := chanKey{name, channel}
			if _, dup := g.byChannel[k]; dup {
				return nil, fmt.Errorf("bridge: %s is in two routes", k)
			}
			g.byChannel[k] = r
			r.remotes = append(r.remotes, &sender{r: r, conn: conn, key: k, log: r.log.With("connector", name, "channel", channel)})
		}
		g.routes = append(g.routes, r)
	}
	return g, nil
}

// cutRemote splits "KIND.NAME:CHANNEL".
func cutRemote(s string) (conn, channel string, ok bool) {
	conn, channel, ok = strings.Cut(s, ":")
	return conn, channel, ok && conn != "" && channel != ""
}

// ChannelsOf returns the channels routed through connector name, for
// making it.
func ChannelsOf(routes []Route, name string) []string {
	var out []string
	for _, r := range routes {
		for _, rem := range r.Remote {
			if conn, ch, ok := cutRemote(rem); ok && conn == name {
				out = append(out, ch)
			}
		}
	}
	return out
}

// Run relays until ctx ends. Every connector, route and sender runs in
// its own goroutine, each reconnecting by itself. Submissions a crash left
// pending are posted again before any new remote message is relayed (so
// that a channel keeps its order), while the connectors connect and the
// way out runs: a node that is down at start holds up only the way in.
// It returns when all have stopped.
func (g *Gateway) Run(ctx context.Context) error {
	pending, err := g.store.Pendings()
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	resumed := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(resumed)
		g.resume(ctx, pending)
	}()
	for _, c := range g.conns {
		in := make(chan Inbound, 256)
		wg.Add(2)
		go func() { defer wg.Done(); g.runConnector(ctx, c, in) }()
		go func() {
			defer wg.Done()
			select {
			case <-resumed:
				g.inbound(ctx, c, in)
			case <-ctx.Done():
			}
		}()
	}
	for _, r := range g.routes {
		wg.Add(1)
		go func() { defer wg.Done(); r.run(ctx) }()
	}
	if g.opts.StatusEvery > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(g.opts.StatusEvery)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					for _, l := range g.Status() {
						g.log.Info("status " + l)
					}
				}
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// runConnector runs c until ctx ends, starting it again after an error
// with backoff and jitter: a failing connector stops nothing else.
func (g *Gateway) runConnector(ctx context.Context, c Connector, in chan<- Inbound) {
	log := g.log.With("connector", c.Name())
	wait := time.Second
	for {
		start := time.Now()
		err := c.Run(ctx, in)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("it stopped without an error")
		}
		g.mu.Lock()
		g.connErrs[c.Name()] = err.Error()
		g.mu.Unlock()
		if time.Since(start) > 5*time.Minute {
			wait = time.Second
		}
		log.Error("bridge: a connector stopped; starting it again", "err", err, "in", wait)
		if !sleep(ctx, jitter(wait)) {
			return
		}
		g.mu.Lock()
		delete(g.connErrs, c.Name())
		g.mu.Unlock()
		wait = min(2*wait, 5*time.Minute)
	}
}

// jitter spreads d over [d/2, d).
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
