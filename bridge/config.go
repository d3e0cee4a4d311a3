package bridge

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
)

// Config is a bridge's configuration file (TOML; bridge/bridge.sample.toml
// has every key, with comments). Paths are relative to the file's folder.
type Config struct {
	// Key is the bridge's user key file (qun key new makes one); the
	// group's owner gives that user the role bridge.
	Key string `toml:"key"`
	// API is the light-client API of the bridge's home node.
	API string `toml:"api"`
	// Data is the bridge's own folder: its Badger store of the mapping
	// between remote messages and Qun events, and its cursors.
	Data string `toml:"data"`
	// Web is where invite links point: the web client people of other
	// networks open to join with their own key (the API's URL when empty;
	// a node serves its web client there).
	Web string `toml:"web"`

	// Connectors by kind and name: [irc.NAME], [xmpp.NAME], [matrix.NAME],
	// [webhook.NAME].
	IRC     map[string]IRC     `toml:"irc"`
	XMPP    map[string]XMPP    `toml:"xmpp"`
	Matrix  map[string]Matrix  `toml:"matrix"`
	Webhook map[string]Webhook `toml:"webhook"`

	// Routes join a Qun group with remote channels: [[route]].
	Routes []Route `toml:"route"`
}

// IRC is an IRC server account.
type IRC struct {
	Server       string `toml:"server"` // host:port
	TLS          bool   `toml:"tls"`
	Nick         string `toml:"nick"`
	PasswordFile string `toml:"password_file"` // optional: the server password, in a file
	// NickTemplate renders the author of a relayed message on IRC: {name}
	// is replaced by their name, with a zero-width space in it so that it
	// highlights nobody ("<{name}>" by default).
	NickTemplate string `toml:"nick_template"`
	// MessagesPerSecond and Burst are the flood control of the lines sent
	// (2 a second, bursts of 5, by default: what servers allow a client);
	// raise them only for a server that allows the bridge more.
	MessagesPerSecond float64 `toml:"messages_per_second"`
	Burst             int     `toml:"burst"`
}

// XMPP is an XMPP account that joins multi-user chats.
type XMPP struct {
	JID          string `toml:"jid"`
	PasswordFile string `toml:"password_file"`
	Server       string `toml:"server"` // optional host:port; default from the JID's domain
	// Nick is the account's nick in the rooms; the JID's local part by
	// default.
	Nick string `toml:"nick"`
	// CAFile, optional, is a PEM file of the certificate authorities to
	// trust for the server's certificate instead of the system's.
	CAFile string `toml:"ca_file"`
}

// Matrix is a Matrix bot account.
type Matrix struct {
	Homeserver string `toml:"homeserver"` // https://…
	User       string `toml:"user"`       // @bot:server
	TokenFile  string `toml:"token_file"`
}

// Webhook is a platform's HTTP integration: signed webhooks out to URL, an
// authenticated endpoint in on Listen.
type Webhook struct {
	Listen     string `toml:"listen"` // host:port
	URL        string `toml:"url"`
	SecretFile string `toml:"secret_file"`
}

// Route joins one Qun group with remote channels.
type Route struct {
	Group string `toml:"group"`
	// Direction is both (the default), in (remote → Qun only) or out
	// (Qun → remote only).
	Direction string `toml:"direction"`
	// Remote lists "KIND.NAME:CHANNEL": irc.libera:#tea,
	// xmpp.shop:tea@muc.example.org, matrix.hs:!room:example.org,
	// webhook.platform:shop-42.
	Remote []string `toml:"remote"`
}

// Problem is one thing wrong with a configuration file, at a line of it
// (0 when it concerns the whole file).
type Problem struct {
	Line int
	Msg  string
}

func (p Problem) String() string {
	if p.Line == 0 {
		return p.Msg
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
}

// Problems is every problem of a configuration file, in line order.
type Problems struct {
	File string
	List []Problem
}

func (ps *Problems) Error() string {
	var b strings.Builder
	if n := len(ps.List); n == 1 {
		b.WriteString("the bridge's configuration has a problem:\n")
	} else {
		fmt.Fprintf(&b, "the bridge's configuration has %d problems:\n", n)
	}
	for i, p := range ps.List {
		if i > 0 {
			b.WriteByte('\n')
		}
		if p.Line > 0 {
			fmt.Fprintf(&b, "%s:%d: %s", ps.File, p.Line, p.Msg)
		} else {
			fmt.Fprintf(&b, "%s: %s", ps.File, p.Msg)
		}
	}
	return b.String()
}

// maxConfigBytes bounds a configuration file.
const maxConfigBytes = 1 << 20

// LoadConfig reads and checks a configuration file. Every problem found is
// in the *Problems it returns, with its line; nothing is started.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the bridge's configuration: %w", err)
	}
	if len(data) > maxConfigBytes {
		return nil, &Problems{File: path, List: []Problem{{Msg: fmt.Sprintf("the file has %d bytes; a configuration has at most %d", len(data), maxConfigBytes)}}}
	}
	cfg, problems := ParseConfig(data, filepath.Dir(path))
	if len(problems) > 0 {
		return nil, &Problems{File: path, List: problems}
	}
	return cfg, nil
}

// ParseConfig decodes and checks a configuration; dir is the folder that
// relative paths are in. It returns every problem, in line order.
func ParseConfig(data []byte, dir string) (*Config, []Problem) {
	var cfg Config
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		var strict *toml.StrictMissingError
		var de *toml.DecodeError
		switch {
		case errors.As(err, &strict):
			var out []Problem
			for i := range strict.Errors {
				line, _ := strict.Errors[i].Position()
				out = append(out, Problem{Line: line, Msg: fmt.Sprintf("unknown key %q", strings.Join(strict.Errors[i].Key(), "."))})
			}
			return nil, out
		case errors.As(err, &de):
			line, _ := de.Position()
			return nil, []Problem{{Line: line, Msg: strings.TrimPrefix(de.Error(), "toml: ")}}
		}
		return nil, []Problem{{Msg: err.Error()}}
	}
	c := checker{lines: strings.Split(string(data), "\n"), dir: dir}
	c.check(&cfg)
	sort.SliceStable(c.out, func(i, j int) bool { return c.out[i].Line < c.out[j].Line })
	if len(c.out) > 0 {
		return nil, c.out
	}
	cfg.resolve(c.path)
	return &cfg, nil
}

// resolve makes the configuration's relative paths relative to its file's
// folder, and fills the defaults.
func (cfg *Config) resolve(path func(string) string) {
	cfg.Key, cfg.Data = path(cfg.Key), path(cfg.Data)
	if cfg.Web == "" {
		cfg.Web = cfg.API
	}
	cfg.Web = strings.TrimRight(cfg.Web, "/")
	for k, x := range cfg.IRC {
		x.PasswordFile = path(x.PasswordFile)
		cfg.IRC[k] = x
	}
	for k, x := range cfg.XMPP {
		x.PasswordFile, x.CAFile = path(x.PasswordFile), path(x.CAFile)
		cfg.XMPP[k] = x
	}
	for k, x := range cfg.Matrix {
		x.TokenFile = path(x.TokenFile)
		cfg.Matrix[k] = x
	}
	for k, x := range cfg.Webhook {
		x.SecretFile = path(x.SecretFile)
		cfg.Webhook[k] = x
	}
}

// checker checks a decoded configuration and finds the lines of what is
// wrong in the file's text.
type checker struct {
	lines []string
	dir   string
	out   []Problem
}

func (c *checker) add(line int, format string, args ...any) {
	c.out = append(c.out, Problem{Line: line, Msg: fmt.Sprintf(format, args...)})
}

var (
	headerRE = regexp.MustCompile(`^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$`)
	keyRE    = regexp.MustCompile(`^\s*"?([A-Za-z0-9_-]+)"?\s*=`)
)

// lineOf returns the line (1-based) of key in the table header (as
// written: "irc.libera", or "route" for the n-th [[route]], n from 0); the
// header's line when the key is not there; 0 when neither is found. An
// empty table is the top level.
func (c *checker) lineOf(table string, n int, key string) int {
	in := table == "" // the top level: up to the first header
	header, seen := 0, -1
	for i, l := range c.lines {
		if m := headerRE.FindStringSubmatch(l); m != nil {
			if in {
				break // the table ends where the next one starts
			}
			if strings.ReplaceAll(m[1], `"`, "") == table {
				if seen++; seen == n {
					in, header = true, i+1
				}
			}
			continue
		}
		if in && key != "" {
			if m := keyRE.FindStringSubmatch(l); m != nil && m[1] == key {
				return i + 1
			}
		}
	}
	return header
}

func (c *checker) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.dir, p)
}

// readable checks that a file named by key of table exists and can be read.
func (c *checker) readable(table, key, p string) {
	if p == "" {
		return
	}
	f, err := os.Open(c.path(p))
	if err != nil {
		c.add(c.lineOf(table, 0, key), "%s: %s cannot be read: %v", key, p, errors.Unwrap(err))
		return
	}
	f.Close()
}

func (c *checker) required(table, key, v string) bool {
	if strings.TrimSpace(v) == "" {
		l := c.lineOf(table, 0, "")
		where := "the file"
		if table != "" {
			where = "[" + table + "]"
		}
		c.add(l, "%s needs %s", where, key)
		return false
	}
	return true
}

func (c *checker) hostPort(table, key, v string) {
	if v == "" {
		return
	}
	if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
		c.add(c.lineOf(table, 0, key), "%s: %q is not host:port", key, v)
	}
}

func (c *checker) httpURL(table, key, v string) {
	if v == "" {
		return
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.add(c.lineOf(table, 0, key), "%s: %q is not an http:// or https:// URL", key, v)
	}
}

var connectorNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

func (c *checker) check(cfg *Config) {
	if c.required("", "key (the bridge's user key file)", cfg.Key) {
		if _, err := os.Stat(c.path(cfg.Key)); errors.Is(err, os.ErrNotExist) {
			c.add(c.lineOf("", 0, "key"), "key: %s does not exist: make it with qun key new --key %s", cfg.Key, c.path(cfg.Key))
		} else if _, err := client.LoadKey(c.path(cfg.Key)); err != nil {
			c.add(c.lineOf("", 0, "key"), "key: %v", err)
		}
	}
	if c.required("", "api (its home node's API URL)", cfg.API) {
		c.httpURL("", "api", cfg.API)
	}
	c.required("", "data (the bridge's own folder)", cfg.Data)
	c.httpURL("", "web", cfg.Web)

	connectors := map[string]bool{}
	names := func(kind string, m map[string]bool) {
		for name := range m {
			table := kind + "." + name
			if !connectorNameRE.MatchString(name) {
				c.add(c.lineOf(table, 0, ""), "[%s]: a connector's name is 1 to 32 of a-z, 0-9, '-' and '_'", table)
			}
			connectors[table] = true
		}
	}
	names("irc", keys(cfg.IRC))
	names("xmpp", keys(cfg.XMPP))
	names("matrix", keys(cfg.Matrix))
	names("webhook", keys(cfg.Webhook))
	if len(connectors) == 0 {
		c.add(0, "no connector: add an [irc.NAME], [xmpp.NAME], [matrix.NAME] or [webhook.NAME] table")
	}
	for name, x := range cfg.IRC {
		t := "irc." + name
		if c.required(t, "server", x.Server) {
			c.hostPort(t, "server", x.Server)
		}
		if c.required(t, "nick", x.Nick) && !ircNickRE.MatchString(x.Nick) {
			c.add(c.lineOf(t, 0, "nick"), "nick: %q is not an IRC nick (a letter or []\\`_^{|}, then letters, digits and those, at most 30)", x.Nick)
		}
		c.readable(t, "password_file", x.PasswordFile)
		if x.NickTemplate != "" && !strings.Contains(x.NickTemplate, "{name}") {
			c.add(c.lineOf(t, 0, "nick_template"), "nick_template: %q has no {name}", x.NickTemplate)
		}
		if x.MessagesPerSecond < 0 || x.MessagesPerSecond > 1000 {
			c.add(c.lineOf(t, 0, "messages_per_second"), "messages_per_second: %v is not between 0 (the default, 2) and 1000", x.MessagesPerSecond)
		}
		if x.Burst < 0 || x.Burst > 1000 {
			c.add(c.lineOf(t, 0, "burst"), "burst: %d is not between 0 (the default, 5) and 1000", x.Burst)
		}
	}
	for name, x := range cfg.XMPP {
		t := "xmpp." + name
		if c.required(t, "jid", x.JID) && !bareJIDRE.MatchString(x.JID) {
			c.add(c.lineOf(t, 0, "jid"), "jid: %q is not a bare JID (user@domain)", x.JID)
		}
		if c.required(t, "password_file", x.PasswordFile) {
			c.readable(t, "password_file", x.PasswordFile)
		}
		c.hostPort(t, "server", x.Server)
		if x.Nick != "" && !xmppNickRE.MatchString(x.Nick) {
			c.add(c.lineOf(t, 0, "nick"), "nick: %q is not a room nick (1 to 64 characters, no control characters, no leading or trailing space)", x.Nick)
		}
		c.readable(t, "ca_file", x.CAFile)
	}
	for name, x := range cfg.Matrix {
		t := "matrix." + name
		if c.required(t, "homeserver", x.Homeserver) {
			c.httpURL(t, "homeserver", x.Homeserver)
		}
		if c.required(t, "user", x.User) && !matrixUserRE.MatchString(x.User) {
			c.add(c.lineOf(t, 0, "user"), "user: %q is not a Matrix user ID (@name:server)", x.User)
		}
		if c.required(t, "token_file", x.TokenFile) {
			c.readable(t, "token_file", x.TokenFile)
		}
	}
	for name, x := range cfg.Webhook {
		t := "webhook." + name
		if c.required(t, "listen", x.Listen) {
			c.hostPort(t, "listen", x.Listen)
		}
		if c.required(t, "url", x.URL) {
			c.httpURL(t, "url", x.URL)
		}
		if c.required(t, "secret_file", x.SecretFile) {
			c.readable(t, "secret_file", x.SecretFile)
		}
	}

	if len(cfg.Routes) == 0 {
		c.add(0, "no route: add a [[route]] with a group and its remote channels")
	}
	used := map[string]int{} // remote channel → its route's line
	for i := range cfg.Routes {
		r := &cfg.Routes[i]
		at := func(key string) int { return c.lineOf("route", i, key) }
		if r.Group == "" {
			c.add(at(""), "route %d needs group (the Qun group's ID)", i+1)
		} else if _, err := protocol.ParseGroupID(r.Group); err != nil {
			c.add(at("group"), "route %d: group %q is not a group ID (64 lower-case hex digits)", i+1, r.Group)
		}
		switch r.Direction {
		case "":
			r.Direction = "both"
		case "both", "in", "out":
		default:
			c.add(at("direction"), "route %d: direction %q is not both, in or out", i+1, r.Direction)
		}
		if len(r.Remote) == 0 {
			c.add(at(""), "route %d needs remote (one or more KIND.NAME:CHANNEL)", i+1)
		}
		for _, rem := range r.Remote {
			conn, channel, ok := strings.Cut(rem, ":")
			kind, _, _ := strings.Cut(conn, ".")
			switch {
			case !ok || channel == "":
				c.add(at("remote"), "route %d: remote %q is not KIND.NAME:CHANNEL", i+1, rem)
				continue
			case !connectors[conn]:
				c.add(at("remote"), "route %d: remote %q names the connector %s, which is not configured", i+1, rem, conn)
				continue
			}
			if msg := checkChannel(kind, channel); msg != "" {
				c.add(at("remote"), "route %d: remote %q: %s", i+1, rem, msg)
				continue
			}
			if prev, dup := used[rem]; dup {
				c.add(at("remote"), "route %d: remote %q is already in the route at line %d (a channel is routed to one group)", i+1, rem, prev)
				continue
			}
			used[rem] = at("remote")
		}
	}
}

var (
	ircNickRE    = regexp.MustCompile(`^[A-Za-z\[\]\\` + "`" + `_^{|}][A-Za-z0-9\[\]\\` + "`" + `_^{|}-]{0,29}$`)
	ircChannelRE = regexp.MustCompile(`^[#&][^\x00\x07\r\n ,:]{1,49}$`)
	bareJIDRE    = regexp.MustCompile(`^[^@/\s]+@[^@/\s]+$`)
	xmppNickRE   = regexp.MustCompile(`^[^\pC\s](?:[^\pC]{0,62}[^\pC\s])?$`)
	matrixUserRE = regexp.MustCompile(`^@[a-z0-9._=/+-]+:[A-Za-z0-9.-]+(:[0-9]+)?$`)
	matrixRoomRE = regexp.MustCompile(`^[!#][^:\s]+:[A-Za-z0-9.-]+(:[0-9]+)?$`)
	webhookIDRE  = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
)

// checkChannel checks a remote channel's name for its connector's kind
// and says what is wrong ("" when nothing).
func checkChannel(kind, ch string) string {
	switch kind {
	case "irc":
		if !ircChannelRE.MatchString(ch) {
			return "an IRC channel starts with # or & and has no space, comma or colon (at most 50 characters)"
		}
	case "xmpp":
		if !bareJIDRE.MatchString(ch) {
			return "an XMPP multi-user chat is a bare JID (room@service)"
		}
	case "matrix":
		if !matrixRoomRE.MatchString(ch) {
			return "a Matrix room is a room ID (!id:server) or an alias (#name:server)"
		}
	case "webhook":
		if !webhookIDRE.MatchString(ch) {
			return "a platform channel is 1 to 128 of A-Z, a-z, 0-9, '.', '_', ':' and '-'"
		}
	}
	return ""
}

func keys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// ConnectorNames lists the configured connectors, KIND.NAME, sorted.
func (cfg *Config) ConnectorNames() []string {
	var out []string
	for k := range keys(cfg.IRC) {
		out = append(out, "irc."+k)
	}
	for k := range keys(cfg.XMPP) {
		out = append(out, "xmpp."+k)
	}
	for k := range keys(cfg.Matrix) {
		out = append(out, "matrix."+k)
	}
	for k := range keys(cfg.Webhook) {
		out = append(out, "webhook."+k)
	}
	slices.Sort(out)
	return out
}
