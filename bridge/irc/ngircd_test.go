package irc

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qunchat/qun/internal/testserver"
)

// Tests against ngircd, a real IRC server from Debian, started by
// internal/testserver.

// ircd is a real ngircd on loopback (internal/testserver).
type ircd = testserver.Ngircd

func startIRCd(t *testing.T) *ircd { return testserver.StartNgircd(t) }

func testLogger(t testing.TB) *slog.Logger { return testserver.Logger(t) }

// raw is a hand-driven IRC connection that watches what the server
// relays, with the time each line arrived.
type raw struct {
	t     *testing.T
	conn  net.Conn
	nick  string
	lines chan rawLine
}

type rawLine struct {
	Line
	at time.Time
}

// dialRaw registers nick and joins channels, and waits for the joins.
func dialRaw(t *testing.T, addr, nick string, channels ...string) *raw {
	t.Helper()
	r := dialRawAsync(t, addr, nick, channels...)
	for _, ch := range channels {
		r.waitJoined(ch)
	}
	return r
}

func (r *raw) waitJoined(ch string) {
	r.t.Helper()
	r.wait(func(l Line) bool { return l.Command == "JOIN" && l.Nick() == r.nick && l.Param(0) == ch })
}

// dialRawAsync registers nick and joins channels in one write, before
// reading anything: the server handles all of it in order.
func dialRawAsync(t *testing.T, addr, nick string, channels ...string) *raw {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r := &raw{t: t, conn: conn, nick: nick, lines: make(chan rawLine, 4096)}
	var b strings.Builder
	fmt.Fprintf(&b, "NICK %s\r\nUSER %s 0 * :raw\r\n", nick, nick)
	for _, ch := range channels {
		fmt.Fprintf(&b, "JOIN %s\r\n", ch)
	}
	if _, err := conn.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(r.lines)
		tr := textproto.NewReader(bufio.NewReader(conn))
		for {
			s, err := tr.ReadLine()
			if err != nil {
				return
			}
			l, err := ParseLine(s)
			if err != nil {
				continue
			}
			if l.Command == "PING" {
				conn.Write([]byte(Line{Command: "PONG", Params: l.Params}.String() + "\r\n"))
			}
			select {
			case r.lines <- rawLine{l, time.Now()}:
			default:
			}
		}
	})
	t.Cleanup(func() { conn.Close(); wg.Wait() })
	return r
}

func (r *raw) send(line string) {
	r.t.Helper()
	if _, err := r.conn.Write([]byte(line + "\r\n")); err != nil {
		r.t.Fatal(err)
	}
}

// wait returns the first line that matches, within 15s.
func (r *raw) wait(match func(Line) bool) rawLine {
	r.t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case l, ok := <-r.lines:
			if !ok {
				r.t.Fatalf("%s: connection closed", r.nick)
			}
			if match(l.Line) {
				return l
			}
		case <-timeout:
			r.t.Fatalf("%s: no matching line within 15s", r.nick)
		}
	}
}

func (r *raw) privmsg() rawLine {
	r.t.Helper()
	return r.wait(func(l Line) bool { return l.Command == "PRIVMSG" })
}

// testClient is a Client run by a test, with its events recorded.
type testClient struct {
	*Client
	t      *testing.T
	mu     sync.Mutex
	events []Event
}

func startClient(t *testing.T, cfg Config) *testClient {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t).With("client", cfg.Nick)
	}
	if cfg.MessagesPerSecond == 0 {
		cfg.MessagesPerSecond = -1
	}
	if cfg.ReconnectMin == 0 {
		cfg.ReconnectMin, cfg.ReconnectMax = 50*time.Millisecond, 400*time.Millisecond
	}
	tc := &testClient{Client: New(cfg), t: t}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := tc.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	wg.Go(func() {
		for e := range tc.Events() {
			tc.mu.Lock()
			tc.events = append(tc.events, e)
			tc.mu.Unlock()
		}
	})
	t.Cleanup(func() { cancel(); tc.Close(); wg.Wait() })
	return tc
}

// waitEvents waits until n events of kind have come, within 15s.
func (tc *testClient) waitEvents(kind EventKind, n int) {
	tc.t.Helper()
	waitFor(tc.t, 15*time.Second, fmt.Sprintf("%d %v events", n, kind), func() bool {
		tc.mu.Lock()
		defer tc.mu.Unlock()
		k := 0
		for _, e := range tc.events {
			if e.Kind == kind {
				k++
			}
		}
		return k >= n
	})
}

func (tc *testClient) recv() Message {
	tc.t.Helper()
	select {
	case m := <-tc.Messages():
		return m
	case <-time.After(15 * time.Second):
		tc.t.Fatalf("%s: no message within 15s", tc.Nick())
	}
	return Message{}
}

// waitFor checks cond every 10ms until it holds, failing the test once
// timeout has passed.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testserver.WaitUntil(t, timeout, what, cond)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
