package web_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func css(s string) chromedp.CSS { return chromedp.CSS(s) }

// TestE2E is the web client end to end: two in-process nodes on loopback
// and two headless browsers. The admin of node A (browser 1, desktop,
// English) imports A's admin key, creates a group and an invite link; a new
// user on node B (browser 2, phone-sized, Chinese) opens the link on B,
// makes a key, joins and writes; the admin sees it live, pins it, mentions
// the member and mutes them; the member sees the pin and the mention live,
// and their next message is refused on screen with the node's reason.
func TestE2E(t *testing.T) {
	chromiumPath(t)
	art := artifactsDir(t)
	start := time.Now()
	a, b := startNode(t), startNode(t)
	urlA, urlB := appURL(t, a), appURL(t, b)
	adminKey, err := os.ReadFile(filepath.Join(a.dir, "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	admin := newBrowser(t, "admin", 1100, 800, "en-US", art)
	member := newBrowser(t, "member", 360, 740, "zh-CN", art)
	defer admin.checkExceptions()
	defer member.checkExceptions()
	const step = 20 * time.Second

	// The admin imports the node's admin key and creates a group.
	admin.do("creating a group", step,
		chromedp.Navigate(urlA+"/"),
		chromedp.WaitVisible(css("#btn-import-key")),
		chromedp.SetValue(css("#key-import-text"), string(adminKey)),
		chromedp.Click(css("#btn-import-key")),
		chromedp.WaitVisible(css("#btn-new-group")),
		chromedp.Click(css("#btn-new-group")),
		chromedp.WaitVisible(css("#new-name")),
		waitText("#create-hint", "hosted by this node", step),
		chromedp.SendKeys(css("#new-name"), "Tea shop"),
		chromedp.SendKeys(css("#new-description"), "Orders and new teas"),
		chromedp.Click(css("#btn-create")),
		waitText("#group-name", "Tea shop", step),
		waitText("#messages", "created the group", step),
	)

	// An invite link with a QR code.
	admin.do("creating an invite", step,
		chromedp.Click(css("#btn-manage")),
		chromedp.WaitVisible(css("#tab-invites")),
		chromedp.Click(css("#tab-invites")),
		chromedp.WaitVisible(css("#btn-invite")),
		chromedp.SetValue(css("#inv-uses"), "5"),
		chromedp.SetValue(css("#inv-ref"), "ORDER-1001"),
		chromedp.Click(css("#btn-invite")),
		chromedp.WaitVisible(css("#invite-link")),
		chromedp.WaitVisible(css("#invite-qr")),
		waitText("#invite-list", "ORDER-1001", step),
	)
	short := get(admin, "reading the short link", chromedp.Value(css("#invite-link")))
	if !strings.HasPrefix(short, urlA+"/j/") {
		t.Fatalf("short invite link %q is not on %s", short, urlA)
	}
	// The member opens the full link on their own node (the token is all
	// that node needs).
	link := get(admin, "reading the full link", chromedp.Value(css("#invite-full-link")))
	if !strings.HasPrefix(link, urlA+"/join#") {
		t.Fatalf("invite link %q is not on %s", link, urlA)
	}
	admin.screenshot("01-admin-invite-link")
	token := link[strings.LastIndex(link, "#")+1:]
	admin.do("going back to the chat", step,
		chromedp.Click(css(".group-header .back")),
		chromedp.WaitVisible(css("#composer")),
		waitText("#messages", "created an invite link", step),
	)

	// The member opens the link on their own node B: key, preview, join.
	member.do("opening the invite", step,
		chromedp.Navigate(urlB+"/join#"+token),
		chromedp.WaitVisible(css("#btn-new-key")),
	)
	member.screenshot("02-member-key-setup")
	member.do("making a key", step,
		chromedp.Click(css("#btn-new-key")),
		waitText("#preview-name", "Tea shop", step),
		waitText("#preview-members", "1", step),
		waitText("#preview-description", "Orders and new teas", step),
		chromedp.WaitVisible(css("#btn-join")),
	)
	if lang := eval[string](member, "reading the language", `document.documentElement.lang`); lang != "zh-CN" {
		t.Errorf("the member's page is in %q, want zh-CN", lang)
	}
	member.screenshot("03-member-invite-preview")
	memberID := get(member, "reading the member's ID", chromedp.AttributeValue(css("#me"), "title")).Value
	if !strings.HasPrefix(memberID, "12D3KooW") {
		t.Fatalf("member ID %q", memberID)
	}
	member.do("joining and writing", step,
		chromedp.Click(css("#btn-join")),
		waitText("#group-name", "Tea shop", step),
		chromedp.WaitVisible(css("#composer")),
		waitText("#messages", "加入了群", step),
		chromedp.SendKeys(css("#composer"), "hello from B"),
		chromedp.Click(css("#btn-send")),
		waitText(".msg.mine .text", "hello from B", step),
	)

	// The admin sees it live and pins it.
	admin.do("seeing the message", step, waitText("#messages", "hello from B", step))
	seq := eval[string](admin, "finding the message", `[...document.querySelectorAll(".msg")].find((m) => m.textContent.includes("hello from B")).dataset.seq`)
	admin.do("pinning", step,
		chromedp.Click(css(`.msg[data-seq="`+seq+`"] .act-pin`)),
		waitText("#pins", "hello from B", step),
	)
	// … and mentions the member, picked from the @ list.
	admin.do("mentioning", step,
		chromedp.SendKeys(css("#composer"), "@"),
		chromedp.WaitVisible(css(`#mention-list [data-id="`+memberID+`"]`)),
		chromedp.Click(css(`#mention-list [data-id="`+memberID+`"]`)),
		chromedp.SendKeys(css("#composer"), "your order ships today"),
		chromedp.Click(css("#btn-send")),
		waitText(".msg.mine .text", "your order ships today", step),
	)
	member.do("seeing the pin and the mention", step,
		waitText("#pins", "hello from B", step),
		chromedp.WaitVisible(css(".msg.mentioned .mention.me")),
		waitText(".msg.mentioned", "your order ships today", step),
	)
	member.screenshot("04-member-pinned-and-mentioned")

	// The member replies to the mention, then recalls the reply: the recall
	// button carries the end of the 120 s window, and both sides see the
	// message recalled.
	member.do("replying", step,
		chromedp.Click(css(".msg.mentioned .act-reply")),
		chromedp.WaitVisible(css("#reply-bar")),
		chromedp.SendKeys(css("#composer"), "thanks!"),
		chromedp.Click(css("#btn-send")),
		waitText(".msg.mine:last-child .text", "thanks!", step),
		waitText(".msg.mine:last-child .quote", "your order ships today", step),
	)
	admin.do("seeing the reply", step, waitText("#messages", "thanks!", step))
	type recallInfo struct {
		Seq         string
		Until, Time float64
	}
	ri := eval[recallInfo](member, "reading the recall button", `(() => {
  const m = document.querySelector(".msg.mine:last-child");
  return { Seq: m.dataset.seq, Until: Number(m.querySelector(".act-recall").dataset.until), Time: Date.now() };
})()`)
	if d := ri.Until - ri.Time; d < 100e3 || d > 125e3 {
		t.Errorf("the recall button lasts %.0f ms more, want about 120 s", d)
	}
	recalled := `.msg[data-seq="` + ri.Seq + `"] .recalled`
	member.do("recalling", step,
		chromedp.Click(css(`.msg[data-seq="`+ri.Seq+`"] .act-recall`)),
		// The page asks once before recalling.
		chromedp.WaitVisible(css("#confirm-dialog #btn-confirm-ok")),
		chromedp.Click(css("#btn-confirm-ok")),
		chromedp.WaitNotPresent(css("#confirm-dialog")),
		chromedp.WaitVisible(css(recalled)),
	)
	admin.do("seeing the recall", step, chromedp.WaitVisible(css(recalled)))
	// Loaded again, the page gets the recalled message from the node as a
	// tombstone: its text is nowhere on the page.
	admin.do("reloading after the recall", step, chromedp.Reload(), chromedp.WaitVisible(css(recalled)))
	if txt := get(admin, "reading the chat", chromedp.Text(css("#messages"))); strings.Contains(txt, "thanks!") {
		t.Errorf("after a reload the recalled text is on the page: %q", txt)
	}

	// The admin mutes the member for 10 minutes.
	sel := `#member-list li[data-user="` + memberID + `"]`
	admin.do("muting", step,
		chromedp.Click(css("#btn-manage")),
		chromedp.WaitVisible(css(sel+" .act-mute")),
		chromedp.Click(css(sel+" .act-mute")),
		chromedp.WaitVisible(css(sel+" .muted-badge")),
	)
	admin.screenshot("05-admin-muted-member")

	// The member's next message is refused with the node's reason.
	member.do("being refused", step,
		chromedp.WaitVisible(css("#muted-note")),
		chromedp.SendKeys(css("#composer"), "am I muted?"),
		chromedp.Click(css("#btn-send")),
		chromedp.WaitVisible(css("#group-status.error")),
		waitText("#group-status", "muted", step),
	)
	refusal := get(member, "reading the refusal", chromedp.Text(css("#group-status")))
	t.Logf("the member sees: %s", refusal)
	if strings.Contains(get(member, "reading the chat", chromedp.Text(css("#messages"))), "am I muted?") {
		t.Error("the refused message appears in the chat")
	}
	admin.do("back to the chat", step,
		chromedp.Click(css(".group-header .back")),
		waitText("#messages", "muted", step),
	)
	admin.screenshot("06-admin-final")
	member.screenshot("07-member-final")
	t.Logf("scenario took %s", time.Since(start).Round(time.Millisecond))
}
