package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
)

// The client commands of qun: thin wrappers around package client. Their
// output is documented in docs/API.md ("The qun command line") and is
// stable: scripts and end-to-end tests read it.

// defaultAPI is the node API the client commands talk to without --api or
// QUN_API.
const defaultAPI = "http://127.0.0.1:7780"

// defaultAdminKey is the admin key of a node started with its defaults in
// the current directory; the client commands use it when it exists.
const defaultAdminKey = "qun-data/admin.key"

// command is one client command.
type command struct {
	name    string // "send", or "group create" for a subcommand
	args    string // synopsis of arguments and command flags
	summary string
	run     func(x *cli, args []string) error
}

// synopsis is the usage line of the command, without "usage: ".
func (c *command) synopsis() string {
	flags := commonFlags
	if c.offline() {
		flags = keyFlags
	}
	return strings.Join(strings.Fields("qun "+c.name+" "+c.args+" "+flags), " ")
}

// offline reports whether the command works on files alone (the key file,
// a bridge's configuration), without a node: its help shows only --key
// and --json (it accepts the other common flags too, so that they may
// always come before the command).
func (c *command) offline() bool {
	return strings.HasPrefix(c.name, "key ") || c.name == "bridge" || strings.HasPrefix(c.name, "bridge ")
}

// commands lists the client commands in help order.
var commands = []*command{
	{"group create", "--name NAME [--description D] [--avatar URL] [--policy open|approval|invite] [--cap N] [--public] [--history all|join]", "create a group hosted by the node", runGroupCreate},
	{"group info", "GID", "show a group's settings, members, requests and invites", runGroupInfo},
	{"group update", "GID [--name N] [--description D] [--avatar URL] [--policy P] [--cap N] [--public=true|false] [--history all|join]", "change a group's settings", runGroupUpdate},
	{"groups", "", "list the groups the node knows", runGroups},
	{"invite create", "GID [--uses N] [--ttl DURATION] [--ref ORDER]", "make an invite link", runInviteCreate},
	{"invite revoke", "GID INVITE_ID", "revoke an invite", runInviteRevoke},
	{"join", "TOKEN|LINK [--request [--note TEXT]]", "join a group with an invite (or ask to join)", runJoin},
	{"send", "GID [TEXT...] [--file PATH]... [--reply SEQ] [--mention USERID]... [--all]", "post a message, with images and files", runSend},
	{"save", "GID SEQ [--dir DIR]", "save the images and files of a message", runSave},
	{"history", "GID [--from SEQ] [--limit N]", "print a group's events (default: the last 50)", runHistory},
	{"announce", "GID TEXT", "set the announcement (\"\" clears it)", runAnnounce},
	{"confirm", "GID", "confirm that you read the group's announcement", runConfirm},
	{"pin", "GID SEQ", "pin a message", runTarget(protocol.KindPin)},
	{"unpin", "GID SEQ", "unpin a message", runTarget(protocol.KindUnpin)},
	{"recall", "GID SEQ", "recall a message", runTarget(protocol.KindRecall)},
	{"react", "GID SEQ EMOJI [--remove]", "react to a message with an emoji (or take it back)", runReact},
	{"edit", "GID SEQ TEXT...", "change the text of your message (within 24 h)", runEdit},
	{"role", "GID USERID owner|admin|member|bridge", "give a member a role", runRole},
	{"mute", "GID [USERID] [--for DURATION] [--reason R]", "mute a member, or everyone below admin", runMute},
	{"unmute", "GID [USERID]", "lift a member's mute, or the mute of everyone", runUnmute},
	{"kick", "GID USERID [--reason R]", "remove a member", runMember(protocol.KindKick, true)},
	{"ban", "GID USERID [--reason R]", "remove a user and keep them out", runMember(protocol.KindBan, true)},
	{"unban", "GID USERID", "lift a ban", runMember(protocol.KindUnban, false)},
	{"approve", "GID USERID", "admit a user who asked to join", runMember(protocol.KindApprove, false)},
	{"reject", "GID USERID [--reason R]", "refuse a join request", runMember(protocol.KindReject, true)},
	{"leave", "GID", "leave a group", runLeave},
	{"rules", "GID [--welcome TEXT] [--reply KEYWORD:TEXT]... [--refuse-links] [--refuse-word WORD]... [--refuse-media] [--new-member-days N] [--strikes N --action warn|mute|kick [--mute-minutes N]] [--clear]", "set a group's automation rules: what the host refuses and what the service answers", runRules},
	{"profile show", "", "show the name and bio you keep on the node", runProfileShow},
	{"profile set", "[--name NAME] [--bio TEXT]", "set your name and bio and show them in all your groups", runProfileSet},
	{"nick", "GID NICK", "set your nickname in one group (\"\" clears it)", runNick},
	{"contact ask", "GID [USERID...] [--note TEXT]", "ask the group's owner and admins (or those named) for a private conversation", runContactAsk},
	{"contact offer", "GID USERID... [--name NAME] [--note TEXT]", "open a private conversation on the node and offer it to members of the group", runContactOffer},
	{"contacts", "", "list the requests and offers of private conversations for you", runContacts},
	{"contact accept", "ID [--name NAME]", "accept a request (offer a conversation) or an offer (join it)", runContactAccept},
	{"contact dismiss", "ID", "drop a request or an offer", runContactDismiss},
	{"bridge", "--config FILE [--debug]", "run a bridge gateway: relay between Qun groups and channels of other networks (docs/BRIDGE.md)", runBridge},
	{"bridge check", "--config FILE", "check a bridge's configuration file and say, line by line, what is wrong", runBridgeCheck},
	{"bridge status", "--config FILE", "print the running bridge's status, one line per route", runBridgeStatus},
	{"token create", "--name NAME --scopes groups,invites,webhooks", "make an API token for a merchant's own systems (node admins; shown once)", runTokenCreate},
	{"token list", "", "list the node's API tokens", runTokenList},
	{"token revoke", "TOKEN_ID", "revoke an API token at once", runTokenRevoke},
	{"service", "", "show the node's service key and its groups (with $QUN_TOKEN or an admin's key)", runService},
	{"order group", "--name NAME [--description D] [--policy open|approval|invite] [--cap N]", "create a group owned by the node's service key", runOrderGroup},
	{"order invite", "GID ORDER [--buyer REF] [--uses N] [--ttl DURATION] [--qr FILE]", "make the invite of an order: link, bare token, QR code", runOrderInvite},
	{"broadcast", "TEXT... (--group GID... | --tag TAG... | --all) [--announce] [--link URL] [--mention-all] [--in DURATION]", "send one message or announcement to many groups, exactly once each, now or later", runBroadcast},
	{"tag", "GID TAG...|-", "set the merchant's tags of a group (- clears them), for broadcasts with --tag", runTag},
	{"broadcast status", "ID", "show how far a broadcast got", runBroadcastStatus},
	{"stats", "GID|--live ID [--days N] [--csv]", "a group's (or a live code's) figures per day: members, joins by source, messages, active members", runStats},
	{"live create", "--name NAME [--cap N] [--qr FILE]", "make a live code (活码): one link that fills a family of groups one after another", runLiveCreate},
	{"live show", "ID", "show a live code, its groups and how full they are", runLiveShow},
	{"order open", "ORDER [--buyer REF] [--name NAME]", "open the group of an order: the buyer, the shop's staff, later the courier", runOrderOpen},
	{"order state", "ORDER accepted|dispatched|delivered|closed [--courier-grace DURATION] [--close-after DURATION]", "move an order's group on: a courier invite, the courier's removal, the close", runOrderState},
	{"order show", "ORDER", "show an order's group, its states and invites", runOrderShow},
	{"order list", "[--state STATE] [--after ORDER] [--limit N]", "list the order groups by order ID, a page at a time", runOrderList},
	{"shop show", "", "show the shop's public profile and the groups it lists, as anyone sees them", runShopShow},
	{"shop set", "--name NAME [--description TEXT] [--group GID]...", "set the shop's public profile and the groups fans may join or apply to from it", runShopSet},
	{"whoami", "", "print the user ID of the key", runKeyShow},
	{"key new", "", "make a new user key file (never replaces one) and print its user ID", runKeyNew},
	{"key show", "", "print the user ID of the key file", runKeyShow},
	{"chat", "GID", "chat in a group in the terminal: history, live messages, /help for moderation", runChat},
}

// commonFlags is the synopsis of the flags every client command takes.
const commonFlags = "[--api URL] [--key FILE] [--json] [--timeout DURATION]"

// keyFlags is the synopsis of the flags of the key commands.
const keyFlags = "[--key FILE] [--json]"

// runClientEnv runs the client command name with its arguments. It
// reports handled false, and does nothing, if name is not a client
// command; otherwise it returns the exit status: 0 done, 1 failed, 2 usage
// error.
func runClientEnv(ctx context.Context, name string, args []string, stdout, stderr io.Writer, getenv func(string) string) (bool, int) {
	return runClientWith(ctx, name, nil, args, stdout, stderr, getenv)
}

// runClientWith is runClientEnv with the common flags given before the
// command name (global, already checked by splitGlobal): they are parsed
// before the command's own arguments, so flags after the command win.
func runClientWith(ctx context.Context, name string, global, args []string, stdout, stderr io.Writer, getenv func(string) string) (bool, int) {
	cmd, rest, err := findCommand(name, args)
	if cmd == nil && err == nil {
		return false, 0
	}
	if err != nil {
		if errors.Is(err, errNoSubcommand) && hasHelpFlag(args) {
			printSubcommands(stdout, name)
			return true, 0
		}
		fmt.Fprintln(stderr, "qun "+name+": "+err.Error())
		for _, c := range commands {
			if strings.HasPrefix(c.name, name+" ") {
				fmt.Fprintf(stderr, "usage: %s\n", c.synopsis())
			}
		}
		return true, 2
	}
	rest = append(append([]string{}, global...), rest...)
	x := &cli{ctx: ctx, cmd: cmd, stdout: stdout, stderr: stderr, getenv: getenv}
	err = cmd.run(x, rest)
	var ue *usageError
	switch {
	case err == nil:
		return true, 0
	case errors.Is(err, errHelp):
		x.printHelp(stdout)
		return true, 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "qun %s: %s\n", cmd.name, ue.msg)
		fmt.Fprintf(stderr, "usage: %s\n", cmd.synopsis())
		return true, 2
	}
	fmt.Fprintln(stderr, "qun: "+errorSentence(err))
	return true, 1
}

// errNoSubcommand is the error of findCommand for group, invite or key
// without a subcommand.
var errNoSubcommand = errors.New("missing subcommand")

// findCommand finds the command of name and, for group and invite, of the
// subcommand among args (normally args[0]; it may follow flags).
func findCommand(name string, args []string) (*command, []string, error) {
	var exact *command
	hasSubs := false
	for _, c := range commands {
		if c.name == name {
			exact = c
		}
		if strings.HasPrefix(c.name, name+" ") {
			hasSubs = true
		}
	}
	if !hasSubs {
		return exact, args, nil
	}
	// The subcommand is normally args[0]; flags (and their values) may
	// come before it. A name that is a command of its own too (qun bridge)
	// is that command when no subcommand follows.
	unknown := ""
	var subs []string
	for _, c := range commands {
		if sub, ok := strings.CutPrefix(c.name, name+" "); ok {
			subs = append(subs, sub)
		}
	}
	for i, a := range args {
		for _, c := range commands {
			if c.name == name+" "+a {
				rest := append(append([]string{}, args[:i]...), args[i+1:]...)
				return c, rest, nil
			}
		}
		if unknown == "" && !strings.HasPrefix(a, "-") {
			unknown = a
		}
	}
	if exact != nil {
		return exact, args, nil
	}
	if unknown != "" {
		if s := suggest(unknown, subs); s != "" {
			return nil, nil, fmt.Errorf("unknown subcommand %q; did you mean %q?", unknown, s)
		}
		return nil, nil, fmt.Errorf("unknown subcommand %q", unknown)
	}
	return nil, nil, errNoSubcommand
}

// errorSentence renders an error for people: context errors get words.
func errorSentence(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "in time"):
		return "the node did not answer in time (" + err.Error() + ")"
	}
	return err.Error()
}

// usageError is a mistake in the command line: exit status 2 with a usage line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errHelp asks for the command's help (exit status 0).
var errHelp = errors.New("help requested")

// cli is the state of one client command run.
type cli struct {
	ctx            context.Context
	cmd            *command
	stdout, stderr io.Writer
	getenv         func(string) string
	fs             *flag.FlagSet

	api     string
	keyPath string
	json    bool
	timeout time.Duration
}

// flags returns the command's flag set with the common flags defined.
func (x *cli) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("qun "+x.cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	api := x.getenv("QUN_API")
	if api == "" {
		api = defaultAPI
	}
	fs.StringVar(&x.api, "api", api, "the node's API `URL` ($QUN_API)")
	keyUsage := "the user key `FILE` ($QUN_KEY; default ./" + defaultAdminKey + " if it exists, else ~/.config/qun/user.key; qun key new makes one)"
	if x.cmd.name == "key new" {
		keyUsage = "where to write the new key, a `FILE` that does not exist yet ($QUN_KEY; default ~/.config/qun/user.key)"
	}
	fs.StringVar(&x.keyPath, "key", "", keyUsage)
	fs.BoolVar(&x.json, "json", false, "print JSON, one object per line")
	fs.DurationVar(&x.timeout, "timeout", client.DefaultTimeout, "give up on the node after `DURATION`")
	x.fs = fs
	return fs
}

// parse parses args, letting flags and positional arguments mix; after
// "--" everything is positional. names are the positional arguments'
// names, the first required of them needed; more than len(names) are allowed
// only if variadic.
func (x *cli) parse(fs *flag.FlagSet, args []string, required int, variadic bool, names ...string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, usagef("%s", flagError(err, fs, x.hiddenFlags()))
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if x.timeout < 0 {
		return nil, usagef("--timeout must not be negative")
	}
	if len(pos) < required {
		return nil, usagef("missing %s", names[len(pos)])
	}
	if len(pos) > len(names) && !variadic {
		return nil, usagef("unexpected argument %q", pos[len(names)])
	}
	return pos, nil
}

// client returns a client of the node signed in with the user key. The
// key file must exist (see key): no command makes a key but `qun key new`.
func (x *cli) client() (*client.Client, error) {
	key, path, err := x.key()
	if err != nil {
		return nil, err
	}
	opts := []client.Option{
		client.WithTimeout(x.timeout),
		client.WithKnownNodes(client.KnownNodesFile(client.KnownNodesPath(path))), // pin the node next to the key (docs/API.md)
	}
	c, err := client.New(x.api, key, opts...)
	if err != nil {
		return nil, usagef("--api: %s", strings.TrimPrefix(err.Error(), "client: "))
	}
	return c, nil
}

// Where the path of the key file comes from (keyFile).
const (
	keyFromFlag    = "--key"
	keyFromEnv     = "$QUN_KEY"
	keyFromAdmin   = "./" + defaultAdminKey
	keyFromDefault = "default"
)

// keyFile returns the path of the user key file and where it comes from:
// --key, else $QUN_KEY, else ./qun-data/admin.key if it exists, else the
// user key in the user's configuration directory.
func (x *cli) keyFile() (path, from string, err error) {
	if x.keyPath != "" {
		return x.keyPath, keyFromFlag, nil
	}
	if p := x.getenv("QUN_KEY"); p != "" {
		return p, keyFromEnv, nil
	}
	if _, err := os.Stat(defaultAdminKey); err == nil {
		return defaultAdminKey, keyFromAdmin, nil
	}
	p, err := defaultUserKey()
	return p, keyFromDefault, err
}

// defaultUserKey is the path of the user key without --key and $QUN_KEY.
func defaultUserKey() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no place for the user key (%v); pass --key FILE", err)
	}
	return filepath.Join(dir, "qun", "user.key"), nil
}

// key loads the user key and returns it with its path. It never makes one:
// a missing file is an error that names the path and says how to make a
// key, so a mistyped --key cannot quietly become a new identity.
func (x *cli) key() (*protocol.Key, string, error) {
	path, from, err := x.keyFile()
	if err != nil {
		return nil, "", err
	}
	k, err := client.LoadKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, path, missingKeyError(path, from)
	}
	if err != nil {
		return nil, path, err
	}
	return k, path, nil
}

// missingKeyError is the one-line error of a key file that does not exist.
func missingKeyError(path, from string) error {
	if from == keyFromDefault {
		return fmt.Errorf("no key file at %s (the default user key; there is no ./%s here either): make one with \"qun key new\", or pass --key FILE", path, defaultAdminKey)
	}
	return fmt.Errorf("no key file at %s (from %s); nothing was created: check the path, or make a new key there with \"qun key new --key %s\"", path, from, shellQuote(path))
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@%+=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Parsers of positional arguments and flag values.

func parseGID(s string) (protocol.GroupID, error) {
	g, err := protocol.ParseGroupID(strings.TrimSpace(s))
	if err != nil {
		return g, usagef("GID %q is not a group ID (64 hex digits)", s)
	}
	return g, nil
}

func parseUser(s string) (protocol.UserID, error) {
	u, err := protocol.ParseUserID(strings.TrimSpace(s))
	if err != nil {
		return u, usagef("USERID %q is not a user ID (a peer ID such as 12D3KooW…)", s)
	}
	return u, nil
}

func parseSeq(s string) (uint64, error) {
	n, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(s), "#"), 10, 64)
	if err != nil || n == 0 {
		return 0, usagef("SEQ %q is not an event number (1, 2, 3…)", s)
	}
	return n, nil
}

// durationValue is a flag.Value for a duration that also accepts whole
// days ("7d").
type durationValue struct{ d *time.Duration }

func (v durationValue) String() string {
	if v.d == nil {
		return ""
	}
	return v.d.String()
}

func (v durationValue) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 16)
		if err != nil {
			return 0, errors.New("want a duration such as 30m, 12h or 7d")
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, errors.New("want a duration such as 30m, 12h or 7d")
		}
	}
	if d < 0 {
		return 0, errors.New("a duration must not be negative")
	}
	return d, nil
}

// usersValue is a repeatable flag.Value of user IDs.
type usersValue struct{ users *[]protocol.UserID }

func (v usersValue) String() string { return "" }

func (v usersValue) Set(s string) error {
	u, err := protocol.ParseUserID(strings.TrimSpace(s))
	if err != nil {
		return errors.New("not a user ID (a peer ID such as 12D3KooW…)")
	}
	*v.users = append(*v.users, u)
	return nil
}
