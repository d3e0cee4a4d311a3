package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// adminOpensGroup imports the node's admin key in b and creates a group
// with the create form; it returns the group ID.
func adminOpensGroup(t *testing.T, b *browser, url string, n testNode, name, policy string) string {
	t.Helper()
	key, err := os.ReadFile(filepath.Join(n.dir, "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	b.do("creating a group", 20*time.Second,
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(css("#btn-import-key")),
		chromedp.SetValue(css("#key-import-text"), string(key)),
		chromedp.Click(css("#btn-import-key")),
		chromedp.WaitVisible(css("#btn-new-group")),
		chromedp.Click(css("#btn-new-group")),
		chromedp.WaitVisible(css("#new-name")),
		chromedp.SendKeys(css("#new-name"), name),
		chromedp.SetValue(css("#new-policy"), policy),
		chromedp.Click(css("#btn-create")),
		waitText("#group-name", name, 20*time.Second),
		chromedp.WaitVisible(css("#composer")),
	)
	gid := eval[string](b, "reading the group ID", `location.hash.split("/")[2]`)
	if len(gid) != 64 {
		t.Fatalf("group ID %q in the URL", gid)
	}
	return gid
}

// TestManagement walks the owner's panel on one node: settings and the
// announcement, a join request approved, roles, a ban that the member's
// page shows at once (its composer disabled), the lifted ban, an invite
// revoked; and a user who is not the node's admin is refused when
// creating a group.
func TestManagement(t *testing.T) {
	chromiumPath(t)
	art := artifactsDir(t)
	a := startNode(t)
	url := appURL(t, a)
	owner := newBrowser(t, "owner", 360, 740, "en-US", art) // the panel on a phone
	user := newBrowser(t, "user", 390, 800, "en-US", art)
	defer owner.checkExceptions()
	defer user.checkExceptions()
	const step = 20 * time.Second
	gid := adminOpensGroup(t, owner, url, a, "Tea shop", "approval")

	// The key screen exports the key in the format of key files.
	key, err := os.ReadFile(filepath.Join(a.dir, "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	owner.do("exporting the key", step,
		chromedp.Click(css("#me")),
		chromedp.WaitVisible(css("#btn-show-key")),
		chromedp.Click(css("#btn-show-key")),
		chromedp.WaitVisible(css("#key-export-text")),
		waitText("#my-id", "12D3KooW", step),
	)
	if got := get(owner, "reading the key", chromedp.Value(css("#key-export-text"))); got != strings.TrimSpace(string(key)) {
		t.Errorf("the exported key %q is not the key file %q", got, key)
	}
	owner.do("reopening the group", step,
		chromedp.Navigate(url+"/#/g/"+gid),
		chromedp.WaitVisible(css("#btn-manage")),
	)

	owner.do("changing the settings and the announcement", step,
		chromedp.Click(css("#btn-manage")),
		chromedp.Click(css("#tab-settings")),
		chromedp.WaitVisible(css("#set-name")),
		chromedp.SetValue(css("#set-name"), "Tea club"),
		chromedp.SetValue(css("#set-description"), "Members get 10% off"),
		chromedp.Click(css("#btn-save-settings")),
		waitText("#manage-status", "Settings saved", step),
		waitText("#group-name", "Tea club", step),
		chromedp.WaitVisible(css("#set-announcement")),
		chromedp.SetValue(css("#set-announcement"), "Sale today"),
		chromedp.Click(css("#btn-announce")),
		waitText("#manage-status", "Announcement published", step),
		chromedp.Click(css("#tab-invites")),
		chromedp.WaitVisible(css("#btn-invite")),
		chromedp.Click(css("#btn-invite")),
		chromedp.WaitVisible(css("#invite-link")),
	)
	link := get(owner, "reading the link", chromedp.Value(css("#invite-link")))
	// On the host the panel shows the short link; its QR code is small
	// enough to print on a receipt: version 3 (29×29 modules) at most, so a
	// 30 mm code has modules of 1 mm.
	if !regexp.MustCompile(`/j/[1-9A-HJ-NP-Za-km-z]{8}$`).MatchString(link) {
		t.Fatalf("the invite link %q is not a short link", link)
	}
	qrVersion := eval[float64](owner, "measuring the QR code", `(async () => {
  const Q = await import("/js/qr.js");
  return Q.drawQR(document.createElement("canvas"), document.querySelector("#invite-link").value, 3).version;
})()`)
	if qrVersion > 3 {
		t.Errorf("the short link's QR code is version %v, want at most 3", qrVersion)
	}
	owner.screenshot("09b-owner-short-invite")

	// A user of the same node who is not its admin cannot create a group.
	user.do("being refused a group", step,
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(css("#btn-new-key")),
		chromedp.Click(css("#btn-new-key")),
		chromedp.WaitVisible(css("#btn-new-group")),
		chromedp.Click(css("#btn-new-group")),
		waitText("#create-hint", "Only this node's admins", step),
		chromedp.SendKeys(css("#new-name"), "My own group"),
		chromedp.Click(css("#btn-create")),
		waitText("#create-status.error", "this node's admins can create groups", step),
	)
	user.screenshot("10-user-create-refused")
	userID := get(user, "reading the user's ID", chromedp.AttributeValue(css("#me"), "title")).Value

	// The user asks to join; the owner approves in the panel, live.
	user.do("asking to join", step,
		chromedp.Navigate(link),
		waitText("#preview-name", "Tea club", step),
		chromedp.WaitVisible(css("#btn-request")),
		chromedp.SendKeys(css("#join-note"), "order 7"),
		chromedp.Click(css("#btn-request")),
		waitText("#join-status", "Request sent", step),
	)
	row := func(list string) string { return list + ` li[data-user="` + userID + `"]` }
	owner.do("approving", step,
		chromedp.Click(css("#tab-requests")),
		waitText(row("#request-list"), "order 7", step),
		chromedp.Click(css(row("#request-list")+" .act-approve")),
		waitText("#manage-status", "is in", step),
		chromedp.Click(css("#tab-members")),
		chromedp.WaitVisible(css(row("#member-list"))),
	)
	user.do("opening the group", step,
		chromedp.Navigate(url+"/#/"),
		chromedp.WaitVisible(css(`#groups a[data-group]`)),
		chromedp.Click(css(`#groups a[data-group]`)),
		waitText("#announcement", "Sale today", step),
		chromedp.WaitVisible(css("#composer")),
	)

	// Roles: admin and back; then a ban refuses the user's messages.
	owner.do("making the user an admin", step,
		chromedp.SetValue(css(row("#member-list")+" .role-select"), "admin"),
		chromedp.Click(css(row("#member-list")+" .act-role")),
		chromedp.WaitVisible(css(row("#member-list")+" .badge.role-admin")),
	)
	owner.screenshot("11-owner-members-on-a-phone")
	user.do("seeing the manage button", step, chromedp.WaitVisible(css("#btn-manage")))
	owner.do("making the user a member again, and banning", step,
		chromedp.SetValue(css(row("#member-list")+" .role-select"), "member"),
		chromedp.Click(css(row("#member-list")+" .act-role")),
		chromedp.WaitVisible(css(row("#member-list")+" .badge.role-member")),
		chromedp.Click(css(row("#member-list")+" .act-ban")),
		waitText(row("#member-list")+" .act-ban", "?", step),
		chromedp.Click(css(row("#member-list")+" .act-ban")),
		chromedp.WaitVisible(css(row("#banned-list"))),
	)
	// The page learns of the ban at once: one line says so, and the
	// composer is disabled (nothing is left to refuse).
	user.do("being told of the ban", step,
		chromedp.WaitNotPresent(css("#btn-manage")),
		waitText("#muted-note", "banned", step),
		waitJS(`document.querySelector("#composer").matches(":disabled") && document.querySelector("#btn-send").matches(":disabled")`, step),
	)
	user.screenshot("12-user-banned")
	owner.do("lifting the ban and revoking the invite", step,
		chromedp.Click(css(row("#banned-list")+" .act-unban")),
		chromedp.WaitNotPresent(css("#banned-list")),
		chromedp.Click(css("#tab-invites")),
		chromedp.WaitVisible(css("#invite-list .act-revoke")),
		chromedp.Click(css("#invite-list .act-revoke")),
		chromedp.Click(css("#invite-list .act-revoke")),
		// A revoked invite leaves the group state (docs/PROTOCOL.md,
		// Invites in the state): it is confirmed and gone from the list.
		waitText("#manage-status", "revoked", step),
		chromedp.WaitNotPresent(css("#invite-list .act-revoke")),
	)
	owner.screenshot("13-owner-invites")
	user.do("seeing the revoked invite", step,
		chromedp.Navigate(link),
		waitText("#preview-reason", "revoked", step),
	)
	user.screenshot("14-user-revoked-invite")
}

// TestHistoryAndReconnect fills a group with 130 messages, then checks the
// backward pages (button and scrolling to the top), and that after the
// WebSocket drops, the messages sent meanwhile appear once each, in order.
func TestHistoryAndReconnect(t *testing.T) {
	chromiumPath(t)
	art := artifactsDir(t)
	a := startNode(t)
	url := appURL(t, a)
	b := newBrowser(t, "reader", 800, 700, "en-US", art)
	defer b.checkExceptions()
	const step = 20 * time.Second
	gid := adminOpensGroup(t, b, url, a, "Busy group", "invite")

	// 130 messages, signed by the page's own modules.
	send := func(from, to int, prefix string) {
		t.Helper()
		n := eval[int](b, "sending messages", fmt.Sprintf(`(async () => {
  const K = await import("/js/keys.js");
  const A = await import("/js/api.js");
  const P = await import("/js/proto.js");
  const C = await import("/js/codec.js");
  const api = new A.Api(await K.load());
  let n = 0;
  for (let i = %d; i <= %d; i++) {
    await api.submit(P.KIND.message, C.fromHex(%q), P.body.message({ text: %q + i }));
    n++;
  }
  return n;
})()`, from, to, gid, prefix))
		if n != to-from+1 {
			t.Fatalf("sent %d messages", n)
		}
	}
	send(1, 130, "message ")
	b.do("reloading", step,
		chromedp.Reload(),
		waitText("#messages", "message 130", step),
		chromedp.WaitVisible(css("#btn-older")),
	)
	count := func() int {
		return eval[int](b, "counting", `document.querySelectorAll("#messages .msg, #messages .sys").length`)
	}
	if n := count(); n != 50 {
		t.Errorf("the first page shows %d events, want 50", n)
	}
	b.do("loading older with the button", step, chromedp.Click(css("#btn-older")), waitText("#messages", "message 31", step))
	if n := count(); n != 100 {
		t.Errorf("after one older page: %d events, want 100", n)
	}
	// Scrolling to the top loads the rest (events 1 to 31).
	b.do("scrolling back", step,
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#messages").scrollTop = 0`),
		waitText("#messages", "created the group", step),
		chromedp.WaitNotVisible(css("#btn-older")),
	)
	checkSeqs := func(want int) {
		t.Helper()
		seqs := eval[[]int](b, "reading the seqs", `[...document.querySelectorAll("#messages [data-seq]")].map((e) => Number(e.dataset.seq))`)
		if len(seqs) != want {
			t.Fatalf("%d events shown, want %d", len(seqs), want)
		}
		for i, s := range seqs {
			if s != i+1 {
				t.Fatalf("event %d shown at position %d: %v", s, i+1, seqs)
			}
		}
	}
	checkSeqs(131)
	b.screenshot("20-history-scrolled-back")

	// Drop the WebSocket and keep it from reconnecting; send three
	// messages meanwhile; let it reconnect.
	block := func(on bool) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
				return err
			}
			var p network.SetBlockedURLsParams
			if on {
				p.URLPatterns = []*network.BlockPattern{{URLPattern: "*://*:*/api/v1/ws*", Block: true}}
			}
			_, err := cdp.Call(ctx, tg, network.SetBlockedURLs, p)
			return err
		})
	}
	closeSockets := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		proto, err := chromedp.Evaluate[*runtime.RemoteObject]("WebSocket.prototype")(ctx, tg)
		if err != nil {
			return err
		}
		objs, err := cdp.Call(ctx, tg, runtime.QueryObjects, runtime.QueryObjectsParams{PrototypeObjectID: proto.ObjectID})
		if err != nil {
			return err
		}
		_, err = cdp.Call(ctx, tg, runtime.CallFunctionOn, runtime.CallFunctionOnParams{
			FunctionDeclaration: "function () { for (const ws of this) ws.close(); }", ObjectID: objs.Objects.ObjectID,
		})
		return err
	})
	b.do("dropping the WebSocket", step,
		chromedp.WaitVisible(css("#conn.live")),
		block(true),
		closeSockets,
		chromedp.WaitVisible(css("#conn.reconnecting")),
	)
	send(1, 3, "while away ")
	if state := get(b, "reading the connection", chromedp.AttributeValue(css("#conn"), "class")).Value; !strings.Contains(state, "reconnecting") {
		t.Fatalf("the page reconnected while its WebSocket was blocked (%q): the test proves nothing", state)
	}
	b.do("reconnecting", step,
		block(false),
		chromedp.WaitVisible(css("#conn.live")),
		waitText("#messages", "while away 3", step),
	)
	checkSeqs(134)
	b.screenshot("21-history-after-reconnect")
}
