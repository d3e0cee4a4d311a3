package irc

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"
)

// Config is what a Client needs. Only Addr and Nick are required.
type Config struct {
	// Addr is the server's host:port, e.g. "irc.libera.chat:6697".
	Addr string
	// Nick is the nick to register. When the server says it is in use,
	// the client appends '_' and tries again.
	Nick string
	// User is the user name (ident) sent in USER; Nick if empty.
	User string
	// RealName is the "real name" (gecos) sent in USER; Nick if empty.
	RealName string
	// Password, if set, is sent with PASS before registering.
	Password string
	// Channels are joined after registration and rejoined after a kick
	// or a reconnection, e.g. "#shop".
	Channels []string
	// TLS, if set, wraps the connection in TLS with this configuration;
	// its ServerName defaults to Addr's host.
	TLS *tls.Config
	// Logger receives connection events at Info and Warn and each line
	// at Debug; nothing is logged if nil.
	Logger *slog.Logger
	// MessagesPerSecond and Burst set the token bucket every outgoing
	// message and moderation command goes through, so that the server
	// never disconnects the client for flooding: on average no more than
	// MessagesPerSecond lines, at most Burst at once. Defaults 2 and 5;
	// a negative MessagesPerSecond turns flood control off (tests only).
	MessagesPerSecond float64
	Burst             int
	// ReconnectMin and ReconnectMax bound the delay before a
	// reconnection: it starts at ReconnectMin, doubles after each failed
	// attempt up to ReconnectMax, and is reset by a successful
	// registration. A random jitter takes up to half of it off, so that
	// many bridges restarted together do not reconnect together.
	// Defaults 1s and 60s.
	ReconnectMin time.Duration
	ReconnectMax time.Duration
	// QueueLines bounds the lines waiting to be sent, while disconnected
	// or held back by flood control; Say refuses a text that does not fit
	// with ErrQueueFull. Default 256.
	QueueLines int
}

// ErrConfig is wrapped by the error Run returns for an unusable Config.
var ErrConfig = errors.New("irc: invalid config")

// withDefaults returns the config with its defaults applied and every
// problem found, joined.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...))
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("Addr %q is not host:port", c.Addr)
	}
	if !validNick(c.Nick) {
		bad("Nick %q is empty or has a character a nick cannot have", c.Nick)
	}
	if c.User == "" {
		c.User = c.Nick
	}
	if !validTarget(c.User) || strings.Contains(c.User, "@") {
		bad("User %q is empty or has a space, an @ or a control character", c.User)
	}
	if c.RealName == "" {
		c.RealName = c.Nick
	}
	if strings.ContainsAny(c.RealName, "\r\n\x00") || strings.ContainsAny(c.Password, "\r\n\x00 ") {
		bad("RealName or Password has a CR, LF or NUL (or the password a space)")
	}
	for _, ch := range c.Channels {
		if !validChannel(ch) {
			bad("channel %q is not a channel name (#name, no space, comma or control character)", ch)
		}
	}
	if c.MessagesPerSecond == 0 {
		c.MessagesPerSecond = 2
	}
	if c.Burst <= 0 {
		c.Burst = 5
	}
	if c.ReconnectMin <= 0 {
		c.ReconnectMin = time.Second
	}
	if c.ReconnectMax <= 0 {
		c.ReconnectMax = time.Minute
	}
	if c.ReconnectMax < c.ReconnectMin {
		bad("ReconnectMax %v is below ReconnectMin %v", c.ReconnectMax, c.ReconnectMin)
	}
	if c.QueueLines <= 0 {
		c.QueueLines = 256
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, errors.Join(errs...)
}

// validTarget says whether s can be the target of a PRIVMSG without
// changing the line: not empty, no space, comma, control character or
// leading ':'.
func validTarget(s string) bool {
	if s == "" || s[0] == ':' || len(s) > 200 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == ',' || c == 0x7f {
			return false
		}
	}
	return true
}

func validChannel(s string) bool {
	return validTarget(s) && strings.ContainsRune("#&+!", rune(s[0])) && !strings.Contains(s, "\x07")
}

func validNick(s string) bool {
	return validTarget(s) && !strings.ContainsAny(s[:1], "#&+!$0123456789-") && !strings.ContainsAny(s, "!@")
}
