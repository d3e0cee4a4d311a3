package web_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/node"
	"github.com/qunchat/qun/protocol"
)

// restartableNode is an in-process node that the test can stop and start
// again on the same data directory and the same API address, as a node
// restarted by its operator: its sessions (kept in memory) are gone.
type restartableNode struct {
	t      *testing.T
	dir    string
	addr   string // the API's HOST:PORT, fixed at the first start
	n      *node.Node
	cancel context.CancelFunc
}

func startRestartable(t *testing.T) *restartableNode {
	t.Helper()
	r := &restartableNode{t: t, dir: t.TempDir(), addr: "127.0.0.1:0"}
	r.start()
	r.addr = strings.TrimPrefix(r.n.APIURL(), "http://")
	t.Cleanup(r.stop)
	return r
}

func (r *restartableNode) start() {
	r.t.Helper()
	// The port was just released: the listen may need a moment, so it is
	// retried every 100 ms for up to 10 s.
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := r.try()
		if err == nil {
			return
		}
		select {
		case <-deadline.C:
			r.t.Fatalf("starting the node on %s: %v", r.addr, err)
		case <-tick.C:
		}
	}
}

// try starts the node once.
func (r *restartableNode) try() error {
	n, err := node.New(node.Config{
		DataDir: r.dir, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, APIAddr: r.addr,
		RatePerSecond: -1, SyncInterval: 200 * time.Millisecond,
	})
	if err != nil {
		r.t.Fatalf("node.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := n.Start(ctx); err != nil {
		cancel()
		n.Close()
		return err
	}
	r.n, r.cancel = n, cancel
	return nil
}

func (r *restartableNode) stop() {
	if r.n == nil {
		return
	}
	r.cancel()
	if err := r.n.Close(); err != nil {
		r.t.Logf("closing the node: %v", err)
	}
	r.n = nil
}

// waitJS waits until the JavaScript expression js is true.
func waitJS(js string, timeout time.Duration) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.PollFunction[bool]("() => { try { return !!("+js+"); } catch { return false; } }",
			chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(50*time.Millisecond))(ctx, t)
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", js, err)
		}
		return nil
	})
}

// shownMessage is a message as the chat shows it.
type shownMessage struct {
	Seq  int
	Text string
}

const readMessages = `[...document.querySelectorAll("#messages .msg")].map((m) => ({ Seq: Number(m.dataset.seq), Text: m.querySelector(".text").textContent }))`

// TestRestartReconnect: two phone browsers (one Chinese, one English) have
// a group open on one node when the node restarts (same data directory,
// same API address; its sessions are lost). Each page shows one line
// "reconnecting" while the node is away, signs in again by itself,
// resubscribes from the last seq it shows, and shows every message sent
// after the restart exactly once, without a reload. The title carries the
// unread count of the other group, the list of groups shows its last
// message and unread count live, and a notification is raised for it.
func TestRestartReconnect(t *testing.T) {
	chromiumPath(t)
	art := artifactsDir(t)
	r := startRestartable(t)
	url := r.n.APIURL()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const step = 20 * time.Second

	// The node's admin (Go SDK) makes two groups and their invites; a
	// third user, the sender, joins both with the SDK.
	adminKey, err := client.LoadKey(filepath.Join(r.dir, "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	owner, err := client.New(url, adminKey, client.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	host, err := protocol.ParseUserID(r.n.NodeInfo().PeerID)
	if err != nil {
		t.Fatal(err)
	}
	mkGroup := func(name string) (protocol.GroupID, string) {
		t.Helper()
		gid, _, err := owner.CreateGroup(ctx, host, protocol.Settings{Name: &name})
		if err != nil {
			t.Fatalf("creating %q: %v", name, err)
		}
		inv, _, err := owner.CreateInvite(ctx, gid, 0, time.Hour, "")
		if err != nil {
			t.Fatalf("inviting to %q: %v", name, err)
		}
		return gid, inv.Token()
	}
	const tea, other = "茶馆 Tea house", "Second group"
	g1, tok1 := mkGroup(tea)
	g2, tok2 := mkGroup(other)

	en := newBrowser(t, "en", 390, 844, "en-US", art)
	zh := newBrowser(t, "zh", 390, 844, "zh-CN", art)
	defer en.checkExceptions()
	defer zh.checkExceptions()
	for _, b := range []*browser{en, zh} {
		b.do("making a key and joining both groups", step,
			chromedp.Navigate(url+"/join#"+tok1),
			chromedp.WaitVisible(css("#btn-new-key")),
			chromedp.Click(css("#btn-new-key")),
			chromedp.WaitVisible(css("#btn-join")),
			chromedp.Click(css("#btn-join")),
			waitText("#group-name", tea, step),
			chromedp.WaitVisible(css("#composer")),
			chromedp.Navigate(url+"/join#"+tok2),
			chromedp.WaitVisible(css("#btn-join")),
			chromedp.Click(css("#btn-join")),
			waitText("#group-name", other, step),
			chromedp.WaitVisible(css("#composer")),
		)
	}
	senderKey, err := protocol.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	sender, err := client.New(url, senderKey, client.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{tok1, tok2} {
		if _, err := sender.Join(ctx, tok); err != nil {
			t.Fatalf("the sender joining: %v", err)
		}
	}
	senderShort := "…" + senderKey.ID().String()[len(senderKey.ID().String())-6:]
	say := func(gid protocol.GroupID, texts ...string) {
		t.Helper()
		for _, text := range texts {
			if _, err := sender.Send(ctx, gid, protocol.MessageBody{Text: text}); err != nil {
				t.Fatalf("sending %q: %v", text, err)
			}
		}
	}

	// The English user turns notifications on in the key screen (the
	// browser grants them), so that the page may raise them; the
	// notifications it raises are recorded.
	en.do("turning notifications on", step,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
				Permission: &cdpbrowser.PermissionDescriptor{Name: "notifications"}, Setting: cdpbrowser.PermissionSettingGranted, Origin: url,
			})
			return err
		}),
		chromedp.Evaluate[chromedp.Void](`location.hash = "#/key"`),
		chromedp.WaitVisible(css("#btn-notify-on")),
		chromedp.Click(css("#btn-notify-on")),
		chromedp.WaitVisible(css("#btn-notify-off")),
		waitText("#notify-state", "Notifications are on", step),
	)
	en.screenshot("30-en-notifications-on")

	// Both open the first group. A mark set now proves later that the
	// page was never reloaded.
	for _, b := range []*browser{en, zh} {
		b.do("opening the group", step,
			chromedp.Evaluate[chromedp.Void](`location.hash = "#/g/`+g1.String()+`"`),
			waitText("#group-name", tea, step),
			chromedp.WaitVisible(css("#composer")),
			chromedp.WaitVisible(css("#conn.live")),
			chromedp.Evaluate[chromedp.Void](`window.__qunMark = "no reload"; window.__notes = [];
window.Notification = new Proxy(window.Notification, { construct(N, args) {
  window.__notes.push(args[0] + "|" + (args[1] && args[1].body));
  return { close() {} };
} });`),
		)
	}
	say(g1, "before restart")
	for _, b := range []*browser{en, zh} {
		b.do("seeing the message before the restart", step, waitText("#messages", "before restart", step))
	}

	// The node stops: both pages say they are reconnecting, in their language.
	const sessionToken = `(() => { const k = Object.keys(sessionStorage).find((k) => k.startsWith("qun.session.")); return k ? JSON.parse(sessionStorage.getItem(k)).token : ""; })()`
	tokens := map[*browser]string{}
	for _, b := range []*browser{en, zh} {
		tokens[b] = eval[string](b, "reading the session", sessionToken)
	}
	r.stop()
	en.do("seeing the reconnecting line", step, chromedp.WaitVisible(css("#conn-line")), waitText("#conn-line", "Reconnecting…", step))
	zh.do("seeing the reconnecting line", step, chromedp.WaitVisible(css("#conn-line")), waitText("#conn-line", "重新连接中…", step))
	en.screenshot("31-en-reconnecting")
	zh.screenshot("32-zh-reconnecting")

	// The node starts again on the same directory and address. Messages
	// sent at once (a page still away catches up when it is back), then
	// more once the pages are back (they come live).
	r.start()
	if got := r.n.APIURL(); got != url {
		t.Fatalf("the node came back at %s, not %s", got, url)
	}
	restarted := time.Now()
	var want []string
	for i := 1; i <= 3; i++ {
		want = append(want, fmt.Sprintf("after restart %d", i))
	}
	say(g1, want...)
	say(g2, "other 1", "other 2", "other 3")
	// Both pages show them within 10 s of the restart.
	waitAll := func(b *browser, texts []string, deadline time.Time) {
		t.Helper()
		js := `(() => { const got = [...document.querySelectorAll("#messages .msg .text")].map((e) => e.textContent);
  return ` + jsStrings(texts) + `.every((t) => got.includes(t)); })()`
		b.do("seeing every message sent after the restart", time.Until(deadline), waitJS(js, time.Until(deadline)))
	}
	deadline := restarted.Add(10 * time.Second)
	for _, b := range []*browser{en, zh} {
		waitAll(b, want, deadline)
		b.do("being back", time.Until(deadline), chromedp.WaitVisible(css("#conn.live")), chromedp.WaitNotVisible(css("#conn-line")))
	}
	t.Logf("both pages showed the messages sent after the restart %s after it", time.Since(restarted).Round(time.Millisecond))
	for i := 4; i <= 5; i++ {
		want = append(want, fmt.Sprintf("after restart %d", i))
	}
	deadline = time.Now().Add(10 * time.Second)
	say(g1, want[3:]...)
	for _, b := range []*browser{en, zh} {
		waitAll(b, want, deadline)
	}

	// Each message once, in seq order; the page was never reloaded.
	checkOnce := func(b *browser) {
		t.Helper()
		shown := eval[[]shownMessage](b, "reading the messages", readMessages)
		count := map[string]int{}
		for i, m := range shown {
			count[m.Text]++
			if i > 0 && m.Seq <= shown[i-1].Seq {
				t.Errorf("%s: message #%d shown after #%d: %v", b.name, m.Seq, shown[i-1].Seq, shown)
			}
		}
		for _, w := range append([]string{"before restart"}, want...) {
			if count[w] != 1 {
				t.Errorf("%s: %q shown %d times, want once", b.name, w, count[w])
			}
		}
		seqs := eval[[]int](b, "reading the seqs", `[...document.querySelectorAll("#messages [data-seq]")].map((e) => Number(e.dataset.seq))`)
		seen := map[int]bool{}
		for _, s := range seqs {
			if seen[s] {
				t.Errorf("%s: event #%d shown twice", b.name, s)
			}
			seen[s] = true
		}
		if mark := eval[string](b, "reading the mark", `String(window.__qunMark)`); mark != "no reload" {
			t.Errorf("%s: the page was reloaded (mark %q)", b.name, mark)
		}
		// The restarted node forgot the session: the page signed in again.
		if tok := eval[string](b, "reading the session", sessionToken); tok == "" || tok == tokens[b] {
			t.Errorf("%s: the session token after the restart is %q, before %q: want a new session", b.name, tok, tokens[b])
		}
	}
	checkOnce(en)
	checkOnce(zh)
	en.screenshot("33-en-after-restart")
	zh.screenshot("34-zh-after-restart")

	// The other group's three messages: the unread count in the title, and
	// a notification each for the English user (none for the open group).
	for _, b := range []*browser{en, zh} {
		b.do("seeing the unread count in the title", step, waitJS(`document.title === "(3) `+tea+` · Qun"`, step))
	}
	en.do("seeing the notifications", step, waitJS(`window.__notes.length >= 3`, step))
	notes := eval[[]string](en, "reading the notifications", `window.__notes`)
	wantNotes := []string{other + "|" + senderShort + ": other 1", other + "|" + senderShort + ": other 2", other + "|" + senderShort + ": other 3"}
	if strings.Join(notes, "\n") != strings.Join(wantNotes, "\n") {
		t.Errorf("notifications %q, want %q", notes, wantNotes)
	}
	if n := eval[int](zh, "counting the notifications", `window.__notes.length`); n != 0 {
		t.Errorf("the Chinese user, who did not turn notifications on, got %d", n)
	}

	// The list of groups: the other group first, with its last message and
	// 3 unread; the open group read. A new message updates it live.
	item := func(gid protocol.GroupID) string { return `#groups li[data-group="` + gid.String() + `"]` }
	en.do("opening the list of groups", step,
		chromedp.Click(css(".group-header .back")),
		waitText(item(g2)+" .unread", "3", step),
		waitText(item(g2)+" .preview", senderShort+": other 3", step),
		waitText(item(g1)+" .preview", senderShort+": after restart 5", step),
		chromedp.WaitNotVisible(css(item(g1)+" .unread")),
		waitJS(`document.title === "(3) Qun"`, step),
	)
	zh.do("opening the list of groups", step,
		chromedp.Click(css(".group-header .back")),
		waitText(item(g2)+" .unread", "3", step),
		waitText(item(g2)+" .preview", "other 3", step),
	)
	first := func(gid protocol.GroupID) chromedp.Action[chromedp.Void] {
		return waitJS(`document.querySelector("#groups li").dataset.group === "`+gid.String()+`"`, step)
	}
	en.do("seeing the list in order", step, first(g1)) // "after restart 5" is the latest message
	say(g2, "other 4")
	en.do("seeing the list update live", step,
		waitText(item(g2)+" .unread", "4", step),
		waitText(item(g2)+" .preview", senderShort+": other 4", step),
		first(g2),
	)
	say(g1, "tea news")
	en.do("seeing the list update live", step,
		waitText(item(g1)+" .unread", "1", step),
		waitText(item(g1)+" .preview", "tea news", step),
		waitJS(`document.title === "(5) Qun"`, step),
		first(g1),
	)
	en.screenshot("35-en-groups-unread")
	zh.do("seeing the list update live", step,
		waitText(item(g2)+" .unread", "4", step),
		waitJS(`document.title === "(5) Qun"`, step),
	)
	zh.screenshot("36-zh-groups-unread")

	// Opening the group reads it: its count goes, from the list and the title.
	en.do("reading the other group", step,
		chromedp.Click(css(item(g2)+" a")),
		waitText("#messages", "other 4", step),
		waitJS(`document.title === "(1) `+other+` · Qun"`, step),
		chromedp.Click(css(".group-header .back")),
		waitText(item(g1)+" .unread", "1", step),
		chromedp.WaitNotVisible(css(item(g2)+" .unread")),
		waitJS(`document.title === "(1) Qun"`, step),
	)
	if mark := eval[string](en, "reading the mark", `String(window.__qunMark)`); mark != "no reload" {
		t.Errorf("the page was reloaded (mark %q)", mark)
	}
}

// jsStrings is a JavaScript array literal of strings.
func jsStrings(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = jsString(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
