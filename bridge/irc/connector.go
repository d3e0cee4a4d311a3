package irc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/qunchat/qun/bridge"
)

// Connector is the gateway's IRC connector (bridge.Connector): a Client
// on one server in the routed channels.
//
// What people write in the channels comes in with their nick as their ID
// (IRC has no other) and their formatting codes removed; an action (/me)
// comes in as "/me …". What is relayed out goes as PRIVMSG lines, the
// author through the nick template with NoPing, so that relaying "alice"
// does not highlight the IRC user alice; announcements, pins, recalls and
// moderation go as NOTICE, and the gateway's private answers (!invite) as
// a NOTICE to the person. IRC has no message IDs, edits or deletions: an
// edit goes as a correction line, a recall as a notice. Kick and ban need
// the bridge's nick to be a channel operator.
type Connector struct {
	name     string
	cfg      Config
	template string

	mu     sync.Mutex
	client *Client
	ready  chan struct{} // closed when client is set
	since  time.Time
	conn   bool
	last   string
}

var _ bridge.Connector = (*Connector)(nil)

// DefaultNickTemplate is how a Qun member's name shows on IRC.
const DefaultNickTemplate = "<{name}>"

// NewConnector makes the connector name ("irc.libera") from its part of
// the bridge's configuration, for the routed channels.
func NewConnector(name string, c bridge.IRC, channels []string, logger *slog.Logger) (*Connector, error) {
	cfg := Config{Addr: c.Server, Nick: c.Nick, Channels: channels, Logger: logger,
		MessagesPerSecond: c.MessagesPerSecond, Burst: c.Burst}
	if c.PasswordFile != "" {
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("%s: reading the password: %w", name, err)
		}
		cfg.Password = strings.TrimRight(string(b), "\r\n")
	}
	if c.TLS {
		cfg.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tmpl := c.NickTemplate
	if tmpl == "" {
		tmpl = DefaultNickTemplate
	}
	if !strings.Contains(tmpl, "{name}") {
		return nil, fmt.Errorf("%s: nick_template %q has no {name}", name, tmpl)
	}
	if _, err := cfg.withDefaults(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &Connector{name: name, cfg: cfg, template: tmpl, ready: make(chan struct{})}, nil
}

// WithConfig changes the client's configuration before Run (flood
// control, backoff), for tests and tuning.
func (c *Connector) WithConfig(f func(*Config)) *Connector {
	f(&c.cfg)
	return c
}

// Name implements bridge.Connector.
func (c *Connector) Name() string { return c.name }

// Caps implements bridge.Connector: IRC has plain lines only, and private
// notices.
func (c *Connector) Caps() bridge.Caps { return bridge.Caps{Private: true} }

// Run implements bridge.Connector.
func (c *Connector) Run(ctx context.Context, in chan<- bridge.Inbound) error {
	cl := New(c.cfg)
	c.mu.Lock()
	c.client = cl
	select {
	case <-c.ready:
	default:
		close(c.ready)
	}
	c.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- cl.Run(ctx) }()
	msgs, events := cl.Messages(), cl.Events()
	for msgs != nil || events != nil {
		select {
		case m, ok := <-msgs:
			if !ok {
				msgs = nil
				continue
			}
			text := StripFormatting(m.Text)
			if m.Action {
				text = "/me " + text
			}
			ib := bridge.Inbound{Channel: c.channel(m.Channel), User: m.Nick, Name: m.Nick, Text: text}
			select {
			case in <- ib:
			case <-ctx.Done():
			}
		case e, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			c.mu.Lock()
			switch e.Kind {
			case EventConnected:
				c.conn, c.since, c.last = true, e.Time, ""
			case EventDisconnected:
				c.conn, c.since, c.last = false, e.Time, e.Text
			}
			c.mu.Unlock()
		}
	}
	err := <-done
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// channel is the configured spelling of a channel the server names (IRC
// channel names are case-insensitive).
func (c *Connector) channel(ch string) string {
	for _, want := range c.cfg.Channels {
		if strings.EqualFold(want, ch) {
			return want
		}
	}
	return ch
}

func (c *Connector) current(ctx context.Context) (*Client, error) {
	select {
	case <-c.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.client, nil
}

// nick renders an author through the template, without pinging anyone.
func (c *Connector) nick(author string) string {
	return strings.ReplaceAll(c.template, "{name}", NoPing(author))
}

// Send implements bridge.Connector: each line of m as a PRIVMSG (a NOTICE
// for notices and private answers). IRC has no message IDs.
func (c *Connector) Send(ctx context.Context, channel string, m bridge.Outbound) (string, error) {
	cl, err := c.current(ctx)
	if err != nil {
		return "", err
	}
	target, say := channel, cl.Say
	if m.Kind == bridge.OutNotice {
		say = cl.Notice
	}
	if m.To != "" {
		target, say = m.To, cl.Notice
	}
	for _, line := range m.Plain(c.nick) {
		if err := say(ctx, target, line); err != nil {
			if errors.Is(err, ErrEmptyText) || errors.Is(err, ErrInvalidName) {
				err = fmt.Errorf("%w: %w", bridge.ErrRefused, err)
			}
			return "", err
		}
	}
	return "", nil
}

// Edit implements bridge.Connector: IRC cannot edit.
func (c *Connector) Edit(context.Context, string, string, bridge.Outbound) error {
	return bridge.ErrUnsupported
}

// Delete implements bridge.Connector: IRC cannot delete.
func (c *Connector) Delete(context.Context, string, string) error { return bridge.ErrUnsupported }

// Kick implements bridge.Connector: a KICK, after a ban of nick!*@* for a
// ban; the bridge's nick must be a channel operator.
func (c *Connector) Kick(ctx context.Context, channel, user, reason string, ban bool) error {
	cl, err := c.current(ctx)
	if err != nil {
		return err
	}
	if ban {
		if err := cl.Ban(ctx, channel, user+"!*@*"); err != nil {
			return err
		}
	}
	return cl.Kick(ctx, channel, user, reason)
}

// Status implements bridge.Connector.
func (c *Connector) Status() bridge.Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bridge.Status{Connected: c.conn, Since: c.since, LastError: c.last}
}
