package web_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/qunchat/qun/bridge"
	"github.com/qunchat/qun/bridge/irc"
	"github.com/qunchat/qun/internal/testserver"
)

// TestBridgeInviteFromIRC: a person on IRC writes !invite in a channel
// bridged to a group; the bridge answers them privately with a link; they
// open it in the web client, make a key, join, and what they write there
// reaches the IRC channel through the bridge.
func TestBridgeInviteFromIRC(t *testing.T) {
	chromiumPath(t)
	art := artifactsDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ircd := testserver.StartNgircd(t)
	w := testserver.NewWorld(t, ctx)
	conn, err := irc.NewConnector("irc.test", bridge.IRC{Server: ircd.Addr(), Nick: "qunbridge"}, []string{"#tea"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.WithConfig(func(c *irc.Config) { c.MessagesPerSecond = -1 })
	store, err := bridge.OpenStore(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	g, err := bridge.New(bridge.Options{
		Client: w.BridgeUser, Store: store, Connectors: []bridge.Connector{conn},
		Routes: []bridge.Route{{Group: w.GID.String(), Remote: []string{"irc.test:#tea"}}},
		Web:    w.Platform.APIURL(), StatusEvery: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	gctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = g.Run(gctx) }()
	defer func() { stop(); <-done }()
	testserver.WaitUntil(t, 20*time.Second, "the bridge on IRC", func() bool { return conn.Status().Connected })

	// Dana on IRC, by hand.
	nc, err := net.DialTimeout("tcp", ircd.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	lines := make(chan string, 256)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(nc)
		for sc.Scan() {
			l := sc.Text()
			if strings.HasPrefix(l, "PING ") {
				fmt.Fprintf(nc, "PONG %s\r\n", strings.TrimPrefix(l, "PING "))
			}
			lines <- l
		}
	}()
	wait := func(what string, match func(string) bool) string {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("IRC closed the connection waiting for %s", what)
				}
				if match(l) {
					return l
				}
			case <-deadline:
				t.Fatalf("IRC: no %s within 20s", what)
			}
		}
	}
	fmt.Fprintf(nc, "NICK dana\r\nUSER dana 0 * :Dana\r\nJOIN #tea\r\n")
	wait("join", func(l string) bool { return strings.Contains(l, " JOIN ") && strings.HasPrefix(l, ":dana!") })
	fmt.Fprintf(nc, "PRIVMSG #tea :!invite\r\n")
	notice := wait("the invite", func(l string) bool { return strings.Contains(l, "NOTICE dana :") && strings.Contains(l, "/join#") })
	link := strings.Fields(notice[strings.Index(notice, "http"):])[0]
	if !strings.HasPrefix(link, w.Platform.APIURL()+"/join#") {
		t.Fatalf("the invite link %q is not the platform node's web client", link)
	}

	// Dana opens it in the web client and joins with a key of her own.
	const step = 20 * time.Second
	b := newBrowser(t, "dana", 1000, 800, "en-US", art)
	defer b.checkExceptions()
	b.do("opening the invite from IRC", step,
		chromedp.Navigate(link),
		chromedp.WaitVisible(css("#btn-new-key")),
		chromedp.Click(css("#btn-new-key")),
		waitText("#preview-name", "茶馆", step),
		chromedp.WaitVisible(css("#btn-join")),
	)
	b.screenshot("bridge-invite-preview")
	b.do("joining and writing", step,
		chromedp.Click(css("#btn-join")),
		waitText("#group-name", "茶馆", step),
		chromedp.WaitVisible(css("#composer")),
		chromedp.SendKeys(css("#composer"), "hello IRC, I came from your channel"),
		chromedp.Click(css("#btn-send")),
		waitText(".msg.mine .text", "hello IRC, I came from your channel", step),
	)
	l := wait("her message relayed back to IRC", func(l string) bool {
		return strings.Contains(l, "PRIVMSG #tea :") && strings.Contains(l, "hello IRC, I came from your channel")
	})
	if !strings.HasPrefix(l, ":qunbridge!") {
		t.Fatalf("relayed by %q", l)
	}
}
