package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/qunchat/qun/internal/bench"
)

// runBench runs `qun bench`: the standard workloads on real nodes (see
// internal/bench and BENCHMARKS.md). Results go to stdout as a table, or
// with --json as one JSON object per workload; progress goes to stderr.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("qun bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	only := fs.String("only", "", "comma-separated workloads to run, e.g. W1,W2 (default: all of "+strings.Join(bench.Workloads, ",")+")")
	asJSON := fs.Bool("json", false, "print one JSON object per workload instead of a table")
	quick := fs.Bool("quick", false, "tiny workloads: a smoke test of a few seconds")
	dir := fs.String("dir", "", "an empty scratch directory for the nodes' data (default: a temporary directory, removed afterwards)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to `FILE` (W2's per-node CPU figures are then left out)")
	memProfile := fs.String("memprofile", "", "write a heap profile at the end to `FILE`")
	childProfiles := fs.String("child-cpuprofile", "", "write a CPU profile of each child process (W4's node, W5's nodes) into `DIR`")
	logLevel := fs.String("log-level", "", "show the nodes' logs on stderr at this level (debug, info, warn, error)")
	messages := fs.Int("messages", 0, "W1: submissions in the burst (default 20000)")
	senders := fs.Int("senders", 0, "W1: concurrent senders (default 16)")
	rate := fs.Int("rate", 0, "W2: submissions per second (default 1000)")
	paced := fs.Duration("paced-for", 0, "W2: how long to send (default 20s)")
	catchUp := fs.Int("catch-up", 0, "W3: events of the group a fresh node catches up with (default 100000)")
	clients := fs.String("clients", "", "W4: comma-separated numbers of WebSocket clients, one run each (default 2000,5000)")
	groups := fs.Int("groups", 0, "W5: hosted groups (default 100000)")
	stored := fs.Int("stored", 0, "W5: stored events for the start-up time (default 1000000)")
	bridged := fs.Int("bridge-messages", 0, "W6: messages each way through the bridge (default 2000)")
	child := fs.String("child", "", "internal: run one child process of W4 or W5")
	n := fs.Int("n", 0, "internal: the size of a --child measurement")
	fs.Usage = func() {} // help goes to stdout, below
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, `usage: qun bench [FLAGS]

Runs the standard workloads on real nodes on this machine and prints a table
(see BENCHMARKS.md); progress goes to stderr.

flags:`)
			printFlags(stdout, fs, map[string]bool{"child": true, "n": true})
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "qun bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg := bench.Config{
		Dir: *dir, Quick: *quick, Progress: stderr,
		BurstMessages: *messages, BurstSenders: *senders, PacedRate: *rate, PacedFor: *paced,
		CatchUpEvents: *catchUp, Groups: *groups, StoredEvents: *stored, BridgeMessages: *bridged, ChildProfiles: *childProfiles,
	}
	if *only != "" {
		cfg.Only = strings.Split(*only, ",")
	}
	for _, c := range strings.FieldsFunc(*clients, func(r rune) bool { return r == ',' }) {
		k, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil {
			fmt.Fprintf(stderr, "qun bench: --clients %q: want numbers separated by commas\n", *clients)
			return 2
		}
		cfg.FanoutClients = append(cfg.FanoutClients, k)
	}
	if *logLevel != "" {
		var level slog.Level
		if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
			fmt.Fprintf(stderr, "qun bench: --log-level %q: want debug, info, warn or error\n", *logLevel)
			return 2
		}
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "qun bench: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "qun bench: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if *child != "" {
		if err := bench.RunChild(ctx, *child, *dir, *n, stdout, stderr); err != nil {
			fmt.Fprintf(stderr, "qun bench --child %s: %v\n", *child, err)
			return 1
		}
		return 0
	}
	results, err := bench.Run(ctx, cfg)
	if err != nil && len(results) == 0 {
		fmt.Fprintf(stderr, "qun bench: %v\n", err)
		if ctx.Err() == nil {
			return 2 // a bad flag value
		}
		return 1
	}
	if *memProfile != "" {
		if werr := writeHeapProfile(*memProfile); werr != nil {
			fmt.Fprintf(stderr, "qun bench: %v\n", werr)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, r := range results {
			if err := enc.Encode(r); err != nil {
				fmt.Fprintf(stderr, "qun bench: %v\n", err)
				return 1
			}
		}
	} else {
		bench.WriteTable(stdout, results)
	}
	for _, r := range results {
		if r.Err != nil {
			return 1 // a workload could not finish; a missed target is not an error
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "qun bench: %v\n", err)
		return 1
	}
	return 0
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
