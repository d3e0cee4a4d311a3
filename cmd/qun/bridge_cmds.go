package main

import (
	"fmt"
	"strings"

	"github.com/qunchat/qun/bridge"
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
