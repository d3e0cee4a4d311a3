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

// run runs the command line args and returns the exit status: 0 done,
// 1 failed, 2 usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runEnv(ctx, args, stdout, stderr, os.Getenv)
}

// runEnv is run with the environment read through getenv.
func runEnv(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	global, args, err := splitGlobal(args)
	if err != nil {
		fmt.Fprintf(stderr, "qun: %v\n", err)
		return 2
	}
	if len(args) == 0 {
		if len(global) > 0 {
			fmt.Fprintf(stderr, "qun: missing command after %s\n", global[0])
			fmt.Fprintln(stderr, `Run "qun help" for the list of commands.`)
			return 2
		}
		usage(stderr)
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		return runHelp(ctx, rest, stdout, stderr, getenv)
	case "node", "bench", "version", "--version":
		if len(global) > 0 {
			fmt.Fprintf(stderr, "qun: %v\n", errGlobalFlags(global, name))
			return 2
		}
	}
	switch name {
	case "node":
		return runNode(ctx, rest, stdout, stderr)
	case "bench":
		return runBench(ctx, rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "qun", node.Version)
		return 0
	}
	if handled, code := runClientWith(ctx, name, global, rest, stdout, stderr, getenv); handled {
		return code
	}
	unknownCommand(stderr, name)
	return 2
}
