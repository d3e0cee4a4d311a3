package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Help, suggestions for mistyped commands and flags, and the common flags
// that may come before the command name.

// globalFlags are the common flags of the client commands, which may also
// come before the command name (`qun --api URL groups`); true if the flag
// takes a value.
var globalFlags = map[string]bool{"api": true, "key": true, "json": false, "timeout": true}

// globalSynopsis names the flags that may come before a command.
const globalSynopsis = "--api URL, --key FILE, --json and --timeout DURATION"

// splitGlobal splits the common flags before the command name from the
// rest of the command line, which starts with the command name (or is
// empty). "--" ends the flags; -h, --help and --version are left as the
// command name. Any other flag is an error.
func splitGlobal(args []string) (global, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return global, args[i+1:], nil
		}
		if len(a) < 2 || a[0] != '-' || isHelpFlag(a) || a == "--version" {
			return global, args[i:], nil
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		takesValue, ok := globalFlags[name]
		if !ok {
			msg := fmt.Sprintf("unknown flag %s before the command", a)
			if s := suggest(name, []string{"api", "key", "json", "timeout"}); s != "" {
				msg += fmt.Sprintf("; did you mean --%s?", s)
			}
			return nil, nil, fmt.Errorf("%s (before the command go only %s; a command's own flags go after its name)", msg, globalSynopsis)
		}
		global = append(global, a)
		if takesValue && !hasValue {
			if i+1 == len(args) {
				return nil, nil, fmt.Errorf("flag %s needs a value", a)
			}
			i++
			global = append(global, args[i])
		}
	}
	return global, nil, nil
}

func isHelpFlag(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

// hasHelpFlag reports whether args ask for help before any "--".
func hasHelpFlag(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if isHelpFlag(a) {
			return true
		}
	}
	return false
}

// usage prints `qun help`: every command.
func usage(w io.Writer) {
	fmt.Fprintln(w, `Usage: qun [FLAGS] COMMAND [ARGS] [FLAGS]

Run a node:
  node [--data DIR] [--listen MULTIADDR]... [--api HOST:PORT] [--bootstrap MULTIADDR]...
       [--admin USERID]... [--relay-service] [--rate N] [--burst N] [--log-level LEVEL]
       run a node until interrupted; it prints its addresses and the next step

Talk to a node as a user:`)
	printClientUsage(w)
	fmt.Fprintln(w, `
Other:
  bench [--only W1,W2] [--json] [--quick]
       run the standard workloads on real nodes (see BENCHMARKS.md)
  version
       print the version
  help [COMMAND]
       this text, or a command's usage, what it does and its flags
       (also: qun COMMAND --help)`)
}

// printClientUsage lists the client commands, for `qun help`.
func printClientUsage(w io.Writer) {
	for _, c := range commands {
		fmt.Fprintf(w, "  %s\n", strings.TrimSpace(c.name+" "+c.args))
		fmt.Fprintf(w, "       %s\n", c.summary)
	}
	fmt.Fprintf(w, `
  Every client command also takes %s,
  before the command or after its arguments: qun --api URL groups = qun groups --api URL.
  --api defaults to $QUN_API or %s; --key to $QUN_KEY, else ./%s
  if it exists, else ~/.config/qun/user.key. No command but "qun key new" makes a key.
`, commonFlags, defaultAPI, defaultAdminKey)
}

// commandDetails says more than the summary in a command's help.
var commandDetails = map[string]string{
	"key new": `The key is an ed25519 key, written with mode 0600; its user ID is printed
on stdout (with --json: {"user", "key"}). An existing file is never
replaced. Keep the file private and back it up: whoever holds it is you.`,
	"key show": `Prints only the user ID (with --json: {"user", "key"}), so that scripts can
use $(qun key show --key FILE). Same as whoami.`,
	"whoami": `Prints only the user ID of the key file (with --json: {"user", "key"}).
Same as qun key show.`,
	"join": `TOKEN is the invite token, or the whole link (http…/join#TOKEN). Make a key
first with "qun key new --key FILE": joining needs one.`,
	"chat": `Keys: Enter sends, PgUp/PgDn scroll, Ctrl-C quits. Type /help in the chat
for the moderation commands.`,
	"bridge": `Runs until interrupted (Ctrl-C, SIGTERM), logging to stderr (--json: as JSON
lines); it writes one status line per route to DATA/status.txt every 2 s, which
"qun bridge status --config FILE" prints. The group's owner gives the bridge's
user the role bridge: qun role GID BRIDGE_USERID bridge. docs/BRIDGE.md has it all.`,
	"history": `With --from SEQ prints up to --limit events from SEQ on (--limit 0: all of
them); otherwise the last --limit events.`,
}

// printHelp prints the command's help: usage line, what it does, its flags.
func (x *cli) printHelp(w io.Writer) {
	fmt.Fprintf(w, "usage: %s\n\n%s.\n", x.cmd.synopsis(), upperFirst(x.cmd.summary))
	if d := commandDetails[x.cmd.name]; d != "" {
		fmt.Fprintf(w, "\n%s\n", d)
	}
	if x.fs != nil {
		fmt.Fprintln(w, "\nflags:")
		printFlags(w, x.fs, x.hiddenFlags())
	}
	fmt.Fprintln(w, "\nFlags may come before the command, among its arguments or after them; \"--\" ends them.")
}

// printSubcommands prints the help of group, invite or key.
func printSubcommands(w io.Writer, name string) {
	for _, c := range commands {
		if strings.HasPrefix(c.name, name+" ") {
			fmt.Fprintf(w, "usage: %s\n       %s\n", c.synopsis(), c.summary)
		}
	}
	fmt.Fprintf(w, "\nRun \"qun help %s SUBCOMMAND\" for a subcommand's flags.\n", name)
}

// hiddenFlags are the flags the command accepts but does not show.
func (x *cli) hiddenFlags() map[string]bool {
	if x.cmd != nil && x.cmd.offline() {
		return map[string]bool{"api": true, "timeout": true}
	}
	return nil
}

// printFlags prints the flags of fs with their defaults, as --name.
func printFlags(w io.Writer, fs *flag.FlagSet, hidden map[string]bool) {
	fs.VisitAll(func(f *flag.Flag) {
		if hidden[f.Name] {
			return
		}
		arg, text := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if arg != "" {
			line += " " + arg
		}
		if !strings.Contains(text, "default") {
			switch f.DefValue {
			case "", "0", "false", "0s":
			default:
				text += " (default " + f.DefValue + ")"
			}
		}
		fmt.Fprintf(w, "%s\n        %s\n", line, text)
	})
}

// flagError renders an error of fs.Parse, with a suggestion for an
// unknown flag.
func flagError(err error, fs *flag.FlagSet, hidden map[string]bool) string {
	msg := err.Error()
	name, ok := strings.CutPrefix(msg, "flag provided but not defined: ")
	if !ok {
		return msg
	}
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		if !hidden[f.Name] {
			names = append(names, f.Name)
		}
	})
	if s := suggest(strings.TrimLeft(name, "-"), names); s != "" {
		msg += fmt.Sprintf("; did you mean --%s?", s)
	}
	return msg
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// commandNames are the names of the commands, for suggestions.
func commandNames() []string {
	names := []string{"node"}
	seen := map[string]bool{"node": true}
	for _, c := range commands {
		first, _, _ := strings.Cut(c.name, " ")
		if !seen[first] {
			seen[first] = true
			names = append(names, first)
		}
	}
	return append(names, "bench", "version", "help")
}

// unknownCommand reports a command qun does not have, with the nearest one.
func unknownCommand(w io.Writer, name string) {
	msg := fmt.Sprintf("qun: unknown command %q", name)
	if s := suggest(name, commandNames()); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	fmt.Fprintln(w, msg)
	fmt.Fprintln(w, `Run "qun help" for the list of commands.`)
}

// suggest returns the candidate nearest to s: the first of those at the
// smallest edit distance, if it is small for the length of s (1 up to
// four letters, else 2), else the only candidate s is a prefix of; or "".
func suggest(s string, candidates []string) string {
	s = strings.ToLower(s)
	if s == "" {
		return ""
	}
	limit := 1
	if len([]rune(s)) > 4 {
		limit = 2
	}
	best, bestD := "", limit+1
	for _, c := range candidates {
		if d := editDistance(s, strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	if best != "" {
		return best
	}
	prefixed := ""
	for _, c := range candidates {
		if strings.HasPrefix(strings.ToLower(c), s) {
			if prefixed != "" {
				return ""
			}
			prefixed = c
		}
	}
	if len(s) < 2 {
		return ""
	}
	return prefixed
}

// editDistance is the optimal string alignment distance of a and b: the
// fewest insertions, deletions, substitutions and swaps of two adjacent
// letters that turn a into b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// d[i][j] is the distance of ra[:i] and rb[:j].
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// runHelp runs `qun help [COMMAND [SUBCOMMAND]]`.
func runHelp(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		usage(stdout)
		return 0
	}
	switch args[0] {
	case "node":
		return runNode(ctx, []string{"--help"}, stdout, stderr)
	case "bench":
		return runBench(ctx, []string{"--help"}, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "usage: qun version\n\nPrints the version of qun (also: qun --version).")
		return 0
	case "help":
		fmt.Fprintln(stdout, "usage: qun help [COMMAND [SUBCOMMAND]]\n\nLists the commands, or prints a command's usage, what it does and its flags\n(also: qun COMMAND --help).")
		return 0
	}
	if handled, code := runClientWith(ctx, args[0], nil, append(append([]string{}, args[1:]...), "--help"), stdout, stderr, getenv); handled {
		return code
	}
	unknownCommand(stderr, args[0])
	return 2
}

// errGlobalFlags is the error of common flags before a command that is not
// a client command.
func errGlobalFlags(global []string, name string) error {
	return fmt.Errorf("%s before %q: the flags before a command (%s) are for the client commands; see \"qun help %s\" for %s's own",
		global[0], name, globalSynopsis, name, name)
}
