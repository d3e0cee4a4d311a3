// Command qun is the Qun binary: it runs a node (`qun node`) and talks to a
// node's API as a user (group, invite, join, send, history and the
// moderation commands). Run `qun help` for the list.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/qunchat/qun/node"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "node":
		return runNode(ctx, rest, stdout, stderr)
	case "bench":
		return runBench(ctx, rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "qun", node.Version)
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	}
	if handled, code := runClient(ctx, name, rest, stdout, stderr); handled {
		return code
	}
	fmt.Fprintf(stderr, "qun: unknown command %q\n", name)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, `Usage: qun COMMAND [ARGS] [FLAGS]

Run a node:
  node [--data DIR] [--listen MULTIADDR]... [--api HOST:PORT] [--bootstrap MULTIADDR]...
       [--admin USERID]... [--relay-service] [--rate N] [--burst N] [--log-level LEVEL]

Talk to a node as a user (see docs and README for every flag):`)
	printClientUsage(w)
	fmt.Fprintln(w, `
Other:
  bench [--only W1,W2] [--json] [--quick]
                 run the standard workloads on real nodes (see BENCHMARKS.md)
  version        print the version
  help           this text`)
}
