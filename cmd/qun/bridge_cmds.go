package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/qunchat/qun/bridge"
	"github.com/qunchat/qun/bridge/irc"
	"github.com/qunchat/qun/bridge/matrix"
	"github.com/qunchat/qun/bridge/webhook"
	"github.com/qunchat/qun/bridge/xmpp"
	"github.com/qunchat/qun/client"
)

// runBridgeCheck checks a bridge's configuration file and says, line by
// line, what is wrong with it.
func runBridgeCheck(x *cli, args []string) error {
	fs := x.flags()
	path := fs.String("config", "", "the bridge's configuration `FILE` (TOML; see bridge/bridge.sample.toml)")
	if _, err := x.parse(fs, args, 0, false); err != nil {
		return err
	}
	if *path == "" {
		return usagef("give the configuration with --config FILE")
	}
	cfg, err := bridge.LoadConfig(*path)
	if err != nil {
		return err
	}
	out := struct {
		Config     string   `json:"config"`
		Connectors []string `json:"connectors"`
		Routes     int      `json:"routes"`
	}{*path, cfg.ConnectorNames(), len(cfg.Routes)}
	return x.emit(out, fmt.Sprintf("%s is a valid bridge configuration: %d connectors (%s), %d routes",
		*path, len(out.Connectors), strings.Join(out.Connectors, ", "), out.Routes))
}

// runBridge runs the bridge gateway of a configuration until interrupted.
func runBridge(x *cli, args []string) error {
	fs := x.flags()
	path := fs.String("config", "", "the bridge's configuration `FILE` (TOML; see bridge/bridge.sample.toml)")
	debug := fs.Bool("debug", false, "log every line and event (for finding a problem)")
	if _, err := x.parse(fs, args, 0, false); err != nil {
		return err
	}
	if *path == "" {
		return usagef("give the configuration with --config FILE")
	}
	cfg, err := bridge.LoadConfig(*path)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	var h slog.Handler = slog.NewTextHandler(x.stderr, &slog.HandlerOptions{Level: level})
	if x.json {
		h = slog.NewJSONHandler(x.stderr, &slog.HandlerOptions{Level: level})
	}
	log := slog.New(h)
	key, err := client.LoadKey(cfg.Key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return fmt.Errorf("making the bridge's data folder: %w", err)
	}
	qc, err := client.New(cfg.API, key, client.WithTimeout(30*time.Second),
		client.WithKnownNodes(client.KnownNodesFile(filepath.Join(cfg.Data, "known-nodes.json"))))
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	conns, err := connectors(cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		for _, c := range conns {
			if cl, ok := c.(interface{ Close() error }); ok {
				_ = cl.Close()
			}
		}
	}()
	store, err := bridge.OpenStore(filepath.Join(cfg.Data, "store"), log)
	if err != nil {
		return err
	}
	defer store.Close()
	g, err := bridge.New(bridge.Options{Client: qc, Store: store, Connectors: conns, Routes: cfg.Routes, Web: cfg.Web, Logger: log})
	if err != nil {
		return err
	}
	log.Info("bridge: running", "user", key.ID().String(), "node", cfg.API, "connectors", strings.Join(cfg.ConnectorNames(), ","), "routes", len(cfg.Routes))
	ctx, stop := context.WithCancel(x.ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	tick := time.NewTicker(statusEvery)
	defer tick.Stop()
	for {
		if err := g.WriteStatus(cfg.Data); err != nil {
			log.Warn("bridge: cannot write the status file", "err", err)
		}
		select {
		case <-tick.C:
		case err := <-done:
			_ = g.WriteStatus(cfg.Data)
			log.Info("bridge: stopped")
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
	}
}

// statusEvery is how often a running bridge writes its status file.
const statusEvery = 2 * time.Second

// connectors makes the configured connectors.
func connectors(cfg *bridge.Config, log *slog.Logger) ([]bridge.Connector, error) {
	var out []bridge.Connector
	for _, name := range cfg.ConnectorNames() {
		kind, short, _ := strings.Cut(name, ".")
		channels := bridge.ChannelsOf(cfg.Routes, name)
		var c bridge.Connector
		var err error
		switch kind {
		case "irc":
			c, err = irc.NewConnector(name, cfg.IRC[short], channels, log.With("connector", name))
		case "xmpp":
			c, err = xmpp.New(name, cfg.XMPP[short], channels, log) // which names itself in its lines
		case "matrix":
			c, err = matrix.New(name, cfg.Matrix[short], channels, filepath.Join(cfg.Data, name), log) // which names itself
		case "webhook":
			c, err = webhook.New(name, cfg.Webhook[short], channels, filepath.Join(cfg.Data, name), log) // likewise
		default: // the configuration's checks know every kind
			err = fmt.Errorf("[%s]: this version of qun has no %s connector", name, kind)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// runBridgeStatus prints what a running bridge last wrote in its status
// file: one line per route.
func runBridgeStatus(x *cli, args []string) error {
	fs := x.flags()
	path := fs.String("config", "", "the bridge's configuration `FILE`")
	if _, err := x.parse(fs, args, 0, false); err != nil {
		return err
	}
	if *path == "" {
		return usagef("give the configuration with --config FILE")
	}
	cfg, err := bridge.LoadConfig(*path)
	if err != nil {
		return err
	}
	file := filepath.Join(cfg.Data, bridge.StatusFile)
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("the bridge of %s has not run yet (no %s)", *path, file)
	}
	if err != nil {
		return err
	}
	st, err := os.Stat(file)
	if err != nil {
		return err
	}
	age := time.Since(st.ModTime())
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	running := age < 5*statusEvery
	state := "running"
	if !running {
		state = fmt.Sprintf("not running (this is its status of %s ago)", age.Round(time.Second))
	}
	out := struct {
		Running bool     `json:"running"`
		Age     string   `json:"age"`
		Routes  []string `json:"routes"`
	}{running, age.Round(time.Second).String(), lines[1:]}
	return x.emit(out, "the bridge is "+state+"\n"+strings.Join(lines[1:], "\n"))
}
