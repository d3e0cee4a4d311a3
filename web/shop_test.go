package web_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestShop: the merchant's admin panel (#/shop, shop.js) on a phone, once
// in English and once in Chinese, against a real node. The node's admin
// (the browser holds the admin key) finds the panel on the groups screen
// and uses every section: an order refused with the node's reason, then
// opened in the panel, moved to dispatched, with the courier's invite and
// its QR code; the list of orders filtered and paged; the rules of a
// service group (links refused, a keyword reply and slow mode, saved in
// the panel, read back through the SDK; a bad keyword refused with the
// node's reason);
// a broadcast with no group refused, then an announcement sent and listed
// as sent; a live code made in the panel with its QR code; the analytics of
// a group drawn as SVG whose bars and points are the API's figures (7 and
// 30 days), with the table and the CSV; and the confirmations of the
// announcement: the member who confirmed through the SDK as confirmed, the
// other as pending.
func TestShop(t *testing.T) {
	chromiumPath(t)
	for _, tc := range []struct{ name, lang string }{{"en", "en-US"}, {"zh", "zh-CN"}} {
		t.Run(tc.name, func(t *testing.T) { testShop(t, tc.name, tc.lang) })
	}
}

// shopWords are the texts the test waits for, in the page's language.
type shopWords struct {
	accepted, dispatched, sent, saved string
}

func testShop(t *testing.T, name, lang string) {
	art := artifactsDir(t)
	n := startNode(t)
	url := appURL(t, n)
	const step = sceneStep
	ctx, cancel := context.WithTimeout(context.Background(), sceneTimeout)
	defer cancel()
	words := shopWords{"Accepted", "Dispatched", "Sent", "The rules are saved."}
	if name == "zh" {
		words = shopWords{"已接单", "已发货", "已发送", "规则已保存。"}
	}
	shot := func(b *browser, what string) { b.screenshot("5" + what + "-shop-" + name) }

	// The shop's systems (the Go SDK with an API token): a group of the
	// service, orders, members who join it and write.
	admin, _ := nodeAdmin(t, n, url, 10*time.Second)
	tok, err := admin.CreateToken(ctx, "panel-test", []string{"groups", "invites", "orders"})
	if err != nil {
		t.Fatal(err)
	}
	adminKey, err := client.LoadKey(filepath.Join(n.dir, "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	erp, err := client.New(url, adminKey, client.WithAPIToken(tok.Token), client.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	fansName := map[string]string{"en": "Tea fans", "zh": "茶友群"}[name]
	fans, err := erp.CreateMerchantGroup(ctx, api.MerchantGroupRequest{Name: fansName, Policy: "open"})
	if err != nil {
		t.Fatal(err)
	}
	gid, err := protocol.ParseGroupID(fans.Group)
	if err != nil {
		t.Fatal(err)
	}
	// Alice joins with an order's invite, Bob from the shop's profile: two
	// sources of joins on one day.
	member := func(who string) *client.Client {
		key, err := protocol.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(url, key, client.WithTimeout(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	alice, bob := member("alice"), member("bob")
	inv, err := erp.OrderInvite(ctx, gid, api.OrderInviteRequest{Order: "M-1", Buyer: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Join(ctx, inv.Token); err != nil {
		t.Fatalf("alice joins: %v", err)
	}
	if _, err := erp.SetShopProfile(ctx, api.ShopProfileSettings{Name: "Tea", Groups: []string{fans.Group}}); err != nil {
		t.Fatal(err)
	}
	prof, err := erp.ShopProfile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(prof.Groups) != 1 || prof.Groups[0].Token == "" {
		t.Fatalf("the shop's profile lists %+v", prof.Groups)
	}
	if _, err := bob.Join(ctx, prof.Groups[0].Token); err != nil {
		t.Fatalf("bob joins: %v", err)
	}
	for c, nm := range map[*client.Client]string{alice: "Alice", bob: "Bob"} {
		if _, err := c.SetProfile(ctx, gid, protocol.Profile{Name: nm}); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range []*client.Client{alice, alice, alice, bob, bob} {
		if _, err := c.Send(ctx, gid, protocol.MessageBody{Text: fmt.Sprintf("message %d", i+1)}); err != nil {
			t.Fatal(err)
		}
	}
	// Orders of the shop's systems: one delivered, twenty accepted (the
	// list shows 20 at a time).
	if _, err := erp.OpenOrder(ctx, api.OrderGroupRequest{Order: "B2002", Buyer: "u-9"}); err != nil {
		t.Fatal(err)
	}
	if _, err := erp.SetOrderState(ctx, "B2002", api.OrderStateRequest{State: "delivered"}); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := erp.OpenOrder(ctx, api.OrderGroupRequest{Order: fmt.Sprintf("C%03d", i+1)}); err != nil {
			t.Fatal(err)
		}
	}

	// The merchant's phone, signed in with the node's admin key.
	b := newBrowser(t, "merchant-"+name, 390, 844, lang, art)
	defer b.checkExceptions()
	keyText, err := os.ReadFile(filepath.Join(n.dir, "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	b.do("signing in and opening the panel", step,
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(css("#btn-import-key")),
		chromedp.SetValue(css("#key-import-text"), string(keyText)),
		chromedp.Click(css("#btn-import-key")),
		chromedp.WaitVisible(css("#btn-shop")),
		tap("#btn-shop"),
		chromedp.WaitVisible(css("#shop-tab-orders[aria-selected=true]")),
		chromedp.WaitVisible(css("#shop-order-id")),
		waitJS(`document.querySelectorAll("#shop-orders li.shop-order").length === 20`, step),
	)

	// ---- orders
	b.do("an order ID with a space", step,
		chromedp.SetValue(css("#shop-order-id"), " A1001"),
		tap("#shop-order-submit"),
		waitText("#shop-orders-status.error", "starts or ends with white space", step),
	)
	shot(b, "00-orders-refused")
	b.do("paging and filtering the orders", step,
		tap("#shop-orders-more"),
		waitJS(`document.querySelectorAll("#shop-orders li.shop-order").length === 21`, step),
		chromedp.WaitNotVisible(css("#shop-orders-more")),
	)
	choose(b, "#shop-order-filter", "delivered")
	b.do("the delivered orders", step,
		waitJS(`document.querySelectorAll("#shop-orders li.shop-order").length === 1 && !!document.querySelector('#shop-orders li[data-order="B2002"] .shop-state[data-state=delivered]')`, step),
	)
	choose(b, "#shop-order-filter", "")
	b.do("opening an order in the panel", step,
		waitJS(`document.querySelectorAll("#shop-orders li.shop-order").length === 20`, step),
		chromedp.SetValue(css("#shop-order-id"), "A1001"),
		chromedp.SetValue(css("#shop-order-buyer"), "u-77"),
		tap("#shop-order-submit"),
		waitText("#shop-order-title", "A1001", step),
		waitText("#shop-order-status.ok", "A1001", step),
		waitText(`#shop-order-states li.current[data-state=accepted]`, words.accepted, step),
		chromedp.WaitVisible(css("#shop-invite-buyer img.shop-qr")),
		chromedp.WaitVisible(css("#shop-invite-staff img.shop-qr")),
		chromedp.WaitNotPresent(css("#shop-invite-courier")),
		waitJS(`document.querySelector("#shop-invite-buyer img.shop-qr").naturalWidth >= 100`, step),
	)
	opened, err := erp.Order(ctx, "A1001")
	if err != nil {
		t.Fatalf("the order opened in the panel: %v", err)
	}
	if opened.Buyer != "u-77" || opened.State != "accepted" || opened.BuyerInvite == nil {
		t.Fatalf("the order opened in the panel is %+v", opened)
	}
	if got := get(b, "reading the buyer's link", chromedp.Value(css("#shop-invite-buyer-link"))); got != opened.BuyerInvite.Link {
		t.Errorf("the panel shows the buyer's link %q, the API %q", got, opened.BuyerInvite.Link)
	}
	shot(b, "01-order-accepted")
	checkTargets(t, b, "the shop's order ("+name+")")
	b.do("dispatching the order", step,
		tap("#shop-next-dispatched"),
		waitText(`#shop-order-states li.current[data-state=dispatched]`, words.dispatched, step),
		waitText("#shop-order-status.ok", words.dispatched, step),
		chromedp.WaitVisible(css("#shop-invite-courier img.shop-qr")),
		waitJS(`document.querySelector("#shop-invite-courier img.shop-qr").naturalWidth >= 100`, step),
		chromedp.WaitNotPresent(css("#shop-next-dispatched")),
		chromedp.WaitVisible(css("#shop-next-delivered")),
	)
	dispatched, err := erp.Order(ctx, "A1001")
	if err != nil {
		t.Fatal(err)
	}
	if dispatched.State != "dispatched" || dispatched.CourierInvite == nil {
		t.Fatalf("after the panel's dispatch the order is %+v", dispatched)
	}
	if got := get(b, "reading the courier's link", chromedp.Value(css("#shop-invite-courier-link"))); got != dispatched.CourierInvite.Link {
		t.Errorf("the panel shows the courier's link %q, the API %q", got, dispatched.CourierInvite.Link)
	}
	b.do("scrolling to the courier", step, chromedp.ScrollIntoView(css("#shop-invite-courier")))
	shot(b, "02-order-dispatched")
	checkTargets(t, b, "the dispatched order ("+name+")")
	b.do("back to the orders", step,
		tap("#shop-order-back"),
		waitText(`#shop-orders li[data-order="A1001"] .shop-state`, words.dispatched, step),
	)
	shot(b, "03-orders")
	checkTargets(t, b, "the shop's orders ("+name+")")

	// ---- rules
	b.do("opening the rules", step,
		tap("#shop-tab-rules"),
		chromedp.WaitVisible(css("#rules-save")),
	)
	choose(b, "#shop-rules-group", fans.Group)
	long := strings.Repeat("k", 40)
	b.do("a keyword too long", step,
		chromedp.WaitVisible(css(`#rules-form[data-group="`+fans.Group+`"]`)),
		waitJS(`!document.querySelector("#rules-refuse-links").checked`, step),
		tap("#rules-add-reply"),
		chromedp.SetValue(css("#rules-replies li:last-child .rules-keyword"), long),
		chromedp.SetValue(css("#rules-replies li:last-child .rules-reply"), "The price list is pinned."),
		tap("#rules-save"),
		waitText("#shop-rules-status.error", "32", step),
	)
	shot(b, "10-rules-refused")
	if v, err := alice.Group(ctx, gid); err != nil || v.Rules != nil {
		t.Fatalf("after a refused save the group's rules are %+v (%v)", v.Rules, err)
	}
	b.do("saving the rules", step,
		chromedp.SetValue(css("#rules-replies li:last-child .rules-keyword"), "price"),
		chromedp.Click(css("#rules-refuse-links")),
		chromedp.SetValue(css("#rules-welcome"), "Welcome!"),
		chromedp.SetValue(css("#rules-slow-seconds"), "30"),
		tap("#rules-save"),
		waitText("#shop-rules-status.ok", words.saved, step),
	)
	v, err := alice.Group(ctx, gid)
	if err != nil {
		t.Fatal(err)
	}
	if v.Rules == nil || !v.Rules.RefuseLinks || v.Rules.Welcome != "Welcome!" || len(v.Rules.Replies) != 1 ||
		v.Rules.Replies[0] != (api.AutoReplyView{Keyword: "price", Text: "The price list is pinned."}) || v.Rules.RefuseMedia ||
		v.Rules.SlowSeconds != 30 {
		t.Fatalf("the rules saved in the panel are %+v", v.Rules)
	}
	// The rules hold: a link from Alice is refused by the host.
	if _, err := alice.Send(ctx, gid, protocol.MessageBody{Text: "see https://spam.example"}); err == nil {
		t.Fatal("a link was taken after the panel refused links")
	}
	// The panel reads the rules back from the group.
	b.do("reading the rules back", step,
		chromedp.Navigate(url+"/#/shop/orders"),
		chromedp.WaitVisible(css("#shop-order-id")),
		tap("#shop-tab-rules"),
		chromedp.WaitVisible(css("#rules-save")),
	)
	choose(b, "#shop-rules-group", fans.Group)
	b.do("the saved rules", step,
		chromedp.WaitVisible(css(`#rules-form[data-group="`+fans.Group+`"]`)),
		waitJS(`document.querySelector("#rules-refuse-links").checked && document.querySelector("#rules-replies .rules-keyword").value === "price" && document.querySelector("#rules-welcome").value === "Welcome!" && document.querySelector("#rules-slow-seconds").value === "30"`, step),
	)
	shot(b, "11-rules")
	checkTargets(t, b, "the shop's rules ("+name+")")

	// ---- broadcasts
	announcement := map[string]string{"en": "Closed on Monday", "zh": "周一店休"}[name]
	b.do("a broadcast to no group", step,
		tap("#shop-tab-broadcasts"),
		chromedp.WaitVisible(css("#bc-send")),
		waitText("#bc-list", map[string]string{"en": "No broadcasts yet.", "zh": "还没有群发。"}[name], step),
		chromedp.SetValue(css("#bc-text"), announcement),
	)
	choose(b, "#bc-to", "groups")
	b.do("sending it", step,
		chromedp.WaitVisible(css("#bc-groups")),
		tap("#bc-send"),
		waitText("#shop-bc-status.error", "the groups, a live code's family", step),
	)
	shot(b, "20-broadcast-refused")
	choose(b, "#bc-kind", "announce")
	b.do("sending an announcement", step,
		chromedp.Click(css(`#bc-groups label[data-group="`+fans.Group+`"] input`)),
		tap("#bc-send"),
		waitText("#shop-bc-status.ok", map[string]string{"en": "on its way", "zh": "群发已开始"}[name], step),
		waitText(`#bc-list li.shop-bc[data-state=sent] .bc-state`, words.sent, step),
		waitText(`#bc-list li.shop-bc .bc-text`, announcement, step),
		waitText(`#bc-list li.shop-bc .bc-progress`, map[string]string{"en": "1 of 1 groups", "zh": "已发 1 / 1 个群"}[name], step),
	)
	bcs, err := erp.Broadcasts(ctx)
	if err != nil || len(bcs) != 1 || bcs[0].State != "sent" || !bcs[0].Announce || bcs[0].Text != announcement {
		t.Fatalf("the broadcasts are %+v (%v)", bcs, err)
	}
	shot(b, "21-broadcasts")
	checkTargets(t, b, "the shop's broadcasts ("+name+")")

	// A message to the groups tagged vip (the fans' group, tagged through
	// the SDK), from the panel.
	if _, err := erp.SetTags(ctx, gid, []string{"VIP"}); err != nil {
		t.Fatal(err)
	}
	tagged := map[string]string{"en": "VIP night on Friday", "zh": "周五 VIP 之夜"}[name]
	b.do("the broadcasts again", step,
		tap("#shop-tab-orders"),
		tap("#shop-tab-broadcasts"),
		chromedp.WaitVisible(css("#bc-send")),
		chromedp.SetValue(css("#bc-text"), tagged),
	)
	choose(b, "#bc-to", "tags")
	b.do("sending to a tag", step,
		waitText("#bc-tags-in-use", "vip", step),
		chromedp.SetValue(css("#bc-tags"), "vip"),
		tap("#bc-send"),
		waitText(`#bc-list li.shop-bc:first-child .bc-text`, tagged, step),
		waitText(`#bc-list li.shop-bc:first-child .bc-progress`, map[string]string{"en": "1 of 1 groups", "zh": "已发 1 / 1 个群"}[name], step),
	)
	if bcs, err := erp.Broadcasts(ctx); err != nil || len(bcs) != 2 || bcs[0].Text != tagged || bcs[0].Groups != 1 {
		t.Fatalf("the broadcasts after the tagged one: %+v (%v)", bcs, err)
	}

	// Alice confirms the announcement; Bob does not.
	eventually(t, step, func() error {
		v, err := alice.Group(ctx, gid)
		if err != nil {
			return err
		}
		if v.Announcement != announcement || v.AnnouncedAt == 0 {
			return fmt.Errorf("the announcement is %q at %d", v.Announcement, v.AnnouncedAt)
		}
		_, err = alice.Confirm(ctx, gid, v.AnnouncedAt)
		return err
	})

	// ---- live codes
	liveName := map[string]string{"en": "Fans", "zh": "粉丝群"}[name]
	b.do("making a live code", step,
		tap("#shop-tab-live"),
		chromedp.WaitVisible(css("#live-submit")),
		waitText("#live-list", map[string]string{"en": "No live codes yet.", "zh": "还没有活码。"}[name], step),
		chromedp.SetValue(css("#live-name"), liveName),
		chromedp.SetValue(css("#live-cap"), "300"),
		tap("#live-submit"),
		waitText("#shop-live-status.ok", liveName, step),
		chromedp.WaitVisible(css("#live-list li.shop-live img.live-qr")),
		waitJS(`document.querySelector("#live-list li.shop-live img.live-qr").naturalWidth >= 100`, step),
		waitText("#live-list li.shop-live .shard-members", "0 / 300", step),
	)
	fams, err := erp.Families(ctx)
	if err != nil || len(fams) != 1 || fams[0].Name != liveName || fams[0].Cap != 300 {
		t.Fatalf("the live codes are %+v (%v)", fams, err)
	}
	if got := get(b, "reading the live code's link", chromedp.Value(css("#live-list li.shop-live input.live-link"))); got != fams[0].Link || !strings.Contains(got, "/l/") {
		t.Errorf("the panel shows the live code's link %q, the API %q", got, fams[0].Link)
	}
	// Someone joins by the code: the panel counts them.
	carol := member("carol")
	lj, err := carol.LiveJoin(ctx, fams[0].Code)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := carol.Join(ctx, lj.Token); err != nil {
		t.Fatalf("carol joins by the live code: %v", err)
	}
	shard, err := protocol.ParseGroupID(lj.Group)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"hello", "hi all"} {
		if _, err := carol.Send(ctx, shard, protocol.MessageBody{Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	b.do("the live code's members", step,
		tap("#shop-tab-orders"),
		chromedp.WaitVisible(css("#shop-order-id")),
		tap("#shop-tab-live"),
		waitText("#live-list li.shop-live .shard-members", "1 / 300", step),
	)
	shot(b, "30-live-codes")
	checkTargets(t, b, "the shop's live codes ("+name+")")

	// ---- analytics and confirmations
	b.do("opening the analytics", step,
		tap("#shop-tab-stats"),
		chromedp.WaitVisible(css("#stats-subject")),
	)
	choose(b, "#stats-subject", "g:"+fans.Group)
	for _, days := range []int{7, 30} {
		b.do(fmt.Sprintf("the figures of %d days", days), step,
			tap(fmt.Sprintf("#stats-days-%d", days)),
			waitJS(fmt.Sprintf(`document.querySelector("#stats-days-%d").getAttribute("aria-pressed") === "true" && document.querySelectorAll("#chart-messages rect.chart-bar").length === %d`, days, days), step),
			waitJS(`document.querySelector("#stats-csv").href.startsWith("blob:")`, step),
		)
		a, err := erp.Analytics(ctx, gid, days)
		if err != nil {
			t.Fatal(err)
		}
		checkCharts(t, b, *a, fmt.Sprintf("%s, %d days", name, days))
		if days == 7 {
			shot(b, "40-analytics")
			b.do("scrolling to the table", step, chromedp.ScrollIntoView(css("#stats-table")))
			shot(b, "41-analytics-table")
			checkTargets(t, b, "the shop's analytics ("+name+")")
		}
	}
	// The CSV link downloads the figures of the days shown.
	downloads := t.TempDir()
	csvName := get(b, "reading the CSV's name", chromedp.AttributeValue(css("#stats-csv"), "download")).Value
	b.do("downloading the CSV", step,
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
				Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads,
			})
			return err
		}),
		tap("#stats-csv"),
	)
	wantCSV := merchantGET(t, url+"/api/v1/merchant/groups/"+fans.Group+"/analytics?days=30&format=csv", tok.Token)
	if csv := string(waitFile(t, downloads, csvName, step)); !strings.HasPrefix(csv, "date,members,joins_order,") || csv != wantCSV {
		t.Errorf("the CSV link gives %q, the API %q", csv, wantCSV)
	}
	aliceID, bobID := alice.Key().ID().String(), bob.Key().ID().String()
	b.do("the confirmations", step,
		chromedp.ScrollIntoView(css("#stats-confirm")),
		waitText("#confirm-announcement", announcement, step),
		waitText("#confirm-summary", map[string]string{"en": "1 of 2 members confirmed", "zh": "2 位成员中已有 1 位确认"}[name], step),
		waitText(`#confirm-yes li[data-user="`+aliceID+`"]`, "Alice", step),
		waitText(`#confirm-no li[data-user="`+bobID+`"]`, "Bob", step),
		chromedp.WaitNotPresent(css(`#confirm-no li[data-user="`+aliceID+`"]`)),
		chromedp.WaitNotPresent(css(`#confirm-yes li[data-user="`+bobID+`"]`)),
	)
	shot(b, "42-confirmations")
	checkTargets(t, b, "the confirmations ("+name+")")

	// The live code's figures add up its groups.
	choose(b, "#stats-subject", "f:"+fams[0].ID)
	b.do("the live code's figures", step,
		waitJS(`document.querySelectorAll("#chart-messages rect.chart-bar").length === 30 && !document.querySelector("#confirm-yes")`, step),
	)
	fa, err := erp.FamilyAnalytics(ctx, fams[0].ID, 30)
	if err != nil {
		t.Fatal(err)
	}
	checkCharts(t, b, *fa, name+", the live code")
	shot(b, "43-analytics-live-code")

	// Someone who is no admin of the node finds no panel.
	if name == "en" {
		guest := newBrowser(t, "guest", 390, 844, lang, art)
		defer guest.checkExceptions()
		guest.do("a user who is no admin", step,
			chromedp.Navigate(url+"/"),
			chromedp.WaitVisible(css("#btn-new-key")),
			chromedp.Click(css("#btn-new-key")),
			chromedp.WaitVisible(css("#btn-new-group")),
			chromedp.WaitNotPresent(css("#btn-shop")),
			chromedp.Navigate(url+"/#/shop"),
			waitText("#shop-not-admin", "Only this node's admins", step),
			chromedp.WaitNotPresent(css("#shop-tab-orders")),
		)
	}
}

// choose picks value in the select of sel as a person does (a change event).
func choose(b *browser, sel, value string) {
	b.t.Helper()
	b.do("choosing "+value+" in "+sel, sceneStep, waitJS(`(() => {
  const s = document.querySelector(`+jsString(sel)+`);
  if (!s || ![...s.options].some((o) => o.value === `+jsString(value)+`)) return false;
  s.value = `+jsString(value)+`;
  s.dispatchEvent(new Event("change"));
  return true;
})()`, sceneStep))
}

// drawn is what the charts and the table of the analytics show: the
// marks with their figures and their geometry (SVG user units), and each
// chart's grid lines with the values they stand for.
type drawn struct {
	Bars []struct {
		Date           string
		Value, Y, H, X float64
	}
	Points []struct {
		Date     string
		Value, Y float64
	}
	Joins []struct {
		Date, Source string
		Value, Y, H  float64
	}
	Legend []string
	Grids  [][]struct{ Value, Y float64 } // of the members, joins and messages charts
	Ticks  [][]float64                    // the value axis' labels of the three charts
	Titles []string                       // the axis titles of the messages chart
	Rows   []struct {
		Date              string
		Members, Messages float64
	}
}

const drawnJS = `(() => {
  const num = (el, a) => Number(el.getAttribute(a));
  const grid = (c) => [...document.querySelectorAll(c + " line.chart-grid")].map((l) => ({ Value: Number(l.dataset.value), Y: num(l, "y1") }));
  return {
    Bars: [...document.querySelectorAll("#chart-messages rect.chart-bar")].map((r) => ({ Date: r.dataset.date, Value: Number(r.dataset.value), Y: num(r, "y"), H: num(r, "height"), X: num(r, "x") })),
    Points: [...document.querySelectorAll("#chart-members circle.chart-point")].map((c) => ({ Date: c.dataset.date, Value: Number(c.dataset.value), Y: num(c, "cy") })),
    Joins: [...document.querySelectorAll("#chart-joins rect.chart-bar")].map((r) => ({ Date: r.dataset.date, Source: r.dataset.source, Value: Number(r.dataset.value), Y: num(r, "y"), H: num(r, "height") })),
    Legend: [...document.querySelectorAll("#chart-joins-legend li")].map((l) => l.dataset.source),
    Grids: ["#chart-members", "#chart-joins", "#chart-messages"].map(grid),
    Ticks: ["#chart-members", "#chart-joins", "#chart-messages"].map((c) => [...document.querySelectorAll(c + " .chart-label")].map((l) => l.textContent).filter((x) => /^[0-9.]+$/.test(x)).map(Number)),
    Titles: [...document.querySelectorAll("#chart-messages .chart-title")].map((l) => l.textContent),
    Rows: [...document.querySelectorAll("#stats-table tbody tr")].map((tr) => ({ Date: tr.dataset.date, Members: Number(tr.querySelector(".col-members").textContent), Messages: Number(tr.querySelector(".col-messages").textContent) })),
  };
})()`

// scale is a chart's value axis, from its grid lines: where a value is.
type scale struct{ y0, top, max float64 }

func (s scale) y(v float64) float64 { return s.y0 - v/s.max*(s.y0-s.top) }

// checkCharts checks that the charts draw the figures of a on their axes:
// one bar per day whose top is at its messages on the value axis and whose
// foot is at 0, the tallest on the day of the most; a point per day at its
// members; each day's joins stacked by source, each segment as high as its
// joins; the axes labelled from 0 to at least the largest figure; the
// table's rows the days.
func checkCharts(t *testing.T, b *browser, a api.Analytics, where string) {
	t.Helper()
	d := eval[drawn](b, "reading the charts", drawnJS)
	if len(d.Bars) != len(a.Days) || len(d.Points) != len(a.Days) || len(d.Rows) != len(a.Days) {
		t.Fatalf("%s: %d bars, %d points, %d rows for %d days", where, len(d.Bars), len(d.Points), len(d.Rows), len(a.Days))
	}
	// The largest figures of the three charts.
	var top [3]float64
	most := 0
	for i, day := range a.Days {
		top[0] = max(top[0], float64(day.Members))
		k := 0
		for _, v := range day.Joins {
			k += v
		}
		top[1] = max(top[1], float64(k))
		if day.Messages > a.Days[most].Messages {
			most = i
		}
	}
	top[2] = float64(a.Days[most].Messages)
	if top[2] == 0 || top[1] == 0 || top[0] == 0 {
		t.Fatalf("%s: the figures have no members, joins or messages: %+v", where, a.Days)
	}
	var scales [3]scale
	if len(d.Grids) != 3 || len(d.Ticks) != 3 || len(d.Titles) != 2 {
		t.Fatalf("%s: grids %v, axis labels %v, titles %q", where, d.Grids, d.Ticks, d.Titles)
	}
	for c, g := range d.Grids {
		if len(g) < 2 || g[0].Value != 0 || g[len(g)-1].Value < top[c] || g[len(g)-1].Y >= g[0].Y {
			t.Fatalf("%s: chart %d's grid %v for figures up to %v", where, c, g, top[c])
		}
		scales[c] = scale{y0: g[0].Y, top: g[len(g)-1].Y, max: g[len(g)-1].Value}
		for _, l := range g {
			if math.Abs(l.Y-scales[c].y(l.Value)) > 0.01 {
				t.Errorf("%s: chart %d's grid line of %v is at %.1f, off the axis", where, c, l.Value, l.Y)
			}
		}
		if ticks := d.Ticks[c]; len(ticks) != len(g) || ticks[0] != 0 || ticks[len(ticks)-1] != scales[c].max {
			t.Errorf("%s: chart %d's value axis is labelled %v, its grid %v", where, c, ticks, g)
		}
	}
	near := func(got, want float64) bool { return math.Abs(got-want) <= 0.05 }
	tallest := 0
	for i, day := range a.Days {
		bar, pt, row := d.Bars[i], d.Points[i], d.Rows[i]
		if bar.Date != day.Date || pt.Date != day.Date || row.Date != day.Date {
			t.Errorf("%s: day %d is %s, the chart's bar %s, point %s, row %s", where, i, day.Date, bar.Date, pt.Date, row.Date)
		}
		if bar.Value != float64(day.Messages) || row.Messages != float64(day.Messages) {
			t.Errorf("%s: %s has %d messages, the bar says %v, the table %v", where, day.Date, day.Messages, bar.Value, row.Messages)
		}
		if !near(bar.Y, scales[2].y(float64(day.Messages))) || !near(bar.Y+bar.H, scales[2].y0) {
			t.Errorf("%s: the bar of %s (%d messages) goes from %.1f to %.1f, the axis puts it from %.1f to %.1f",
				where, day.Date, day.Messages, bar.Y+bar.H, bar.Y, scales[2].y0, scales[2].y(float64(day.Messages)))
		}
		if pt.Value != float64(day.Members) || row.Members != float64(day.Members) {
			t.Errorf("%s: %s has %d members, the point says %v, the table %v", where, day.Date, day.Members, pt.Value, row.Members)
		}
		if !near(pt.Y, scales[0].y(float64(day.Members))) {
			t.Errorf("%s: the point of %s (%d members) is at %.1f, the axis puts it at %.1f", where, day.Date, day.Members, pt.Y, scales[0].y(float64(day.Members)))
		}
		if i > 0 && bar.X <= d.Bars[i-1].X {
			t.Errorf("%s: the bar of %s is not right of the one before", where, day.Date)
		}
		if bar.H > d.Bars[tallest].H {
			tallest = i
		}
	}
	if tallest != most {
		t.Errorf("%s: the tallest bar is on %s, the most messages on %s", where, d.Bars[tallest].Date, a.Days[most].Date)
	}
	// The joins: each day's segments are its joins by source, stacked from
	// the axis' 0 up without gaps.
	got := map[string]int{}
	foot := map[string]float64{}
	for _, j := range d.Joins {
		got[j.Date+"/"+j.Source] += int(j.Value)
		f, ok := foot[j.Date]
		if !ok {
			f = scales[1].y0
		}
		if !near(j.Y+j.H, f) || !near(j.H, scales[1].y0-scales[1].y(j.Value)) {
			t.Errorf("%s: the joins of %s by %s (%v) go from %.1f to %.1f, stacked on %.1f", where, j.Date, j.Source, j.Value, j.Y+j.H, j.Y, f)
		}
		foot[j.Date] = j.Y
	}
	want := map[string]int{}
	for _, day := range a.Days {
		for src, k := range day.Joins {
			if k > 0 {
				want[day.Date+"/"+src] = k
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: the joins chart draws %v, the figures are %v", where, got, want)
	}
	for key := range want {
		src := key[strings.Index(key, "/")+1:]
		if !strings.Contains(" "+strings.Join(d.Legend, " ")+" ", " "+src+" ") {
			t.Errorf("%s: the legend %v lacks %s", where, d.Legend, src)
		}
	}
}

// merchantGET reads url of the merchant API with the API token.
func merchantGET(t *testing.T, url, token string) string {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s (%v)", url, resp.StatusCode, body, err)
	}
	return string(body)
}
