package web_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestShopDirectory: the shop's profile page at phone size. The merchant
// (Chinese) lists an approval group of its own and an open group of the
// service on the profile, in the page; a buyer (English) opens the profile
// without a key, sees both groups with their members and policies, makes a
// key from there, applies to the approval group with a note, and the
// merchant approves it in the manage panel: the buyer's profile page turns
// the request into "Open" by itself. The buyer then joins the open group
// from the profile with its directory invite, and the shop's analytics
// count that join as coming from the directory.
func TestShopDirectory(t *testing.T) {
	chromiumPath(t)
	n := startNode(t)
	url := appURL(t, n)
	art := artifactsDir(t)
	const step = sceneStep
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	shop := newBrowser(t, "shop", 390, 844, "zh-CN", art)
	defer shop.checkExceptions()
	vip := adminOpensGroup(t, shop, url, n, "VIP 茶友会", "approval")

	_, erp := merchantSDK(t, ctx, n, url, "groups")
	fans, err := erp.CreateMerchantGroup(ctx, api.MerchantGroupRequest{Name: "茶友群", Policy: "open"})
	if err != nil {
		t.Fatal(err)
	}
	staff, err := erp.CreateMerchantGroup(ctx, api.MerchantGroupRequest{Name: "店员群", Policy: "invite"})
	if err != nil {
		t.Fatal(err)
	}

	// The merchant edits the profile in the page.
	shop.do("editing the profile", step,
		chromedp.Navigate(url+"/#/p"),
		chromedp.WaitVisible(css("#dir-edit-save")),
		chromedp.WaitVisible(css(`.dir-candidate[data-group="`+vip+`"]`)),
		chromedp.WaitVisible(css(`.dir-candidate[data-group="`+fans.Group+`"]`)),
		chromedp.WaitNotPresent(css(`.dir-candidate[data-group="`+staff.Group+`"]`)),
		chromedp.SetValue(css("#dir-edit-name"), "小茶馆"),
		chromedp.SetValue(css("#dir-edit-description"), "龙井、碧螺春，每周上新"),
		tap(`.dir-candidate[data-group="`+vip+`"] input`),
		tap(`.dir-candidate[data-group="`+fans.Group+`"] input`),
		tap("#dir-edit-save"),
		waitText("#dir-name", "小茶馆", step),
		chromedp.WaitVisible(css(`#dir-groups li[data-group="`+vip+`"]`)),
		chromedp.WaitVisible(css(`#dir-groups li[data-group="`+fans.Group+`"]`)),
		waitText(`#dir-groups li[data-group="`+fans.Group+`"] .meta`, "任何人都可以加入", step),
		waitText(`#dir-groups li[data-group="`+vip+`"] .meta`, "需管理员审核", step),
	)
	shop.screenshot("400-shop-profile-zh")
	checkTargets(t, shop, "the shop's profile (merchant)")

	// A buyer opens the profile without a key.
	buyer := newBrowser(t, "buyer", 390, 844, "en", art)
	defer buyer.checkExceptions()
	vipItem := `#dir-groups li[data-group="` + vip + `"]`
	fansItem := `#dir-groups li[data-group="` + fans.Group + `"]`
	buyer.do("reading the profile", step,
		chromedp.Navigate(url+"/#/p"),
		waitText("#dir-name", "小茶馆", step),
		waitText("#dir-description", "龙井、碧螺春，每周上新", step),
		chromedp.WaitVisible(css("#dir-need-key")),
		waitText(vipItem+" .meta", "1 / 500 members · An admin approves each request", step),
		waitText(fansItem+" .meta", "1 / 500 members · Anyone may join", step),
		chromedp.WaitNotPresent(css("#dir-edit")),
	)
	if got := eval[int](buyer, "counting the groups", `document.querySelectorAll("#dir-groups li.dir-group").length`); got != 2 {
		t.Errorf("the profile shows %d groups, want 2", got)
	}
	buyer.screenshot("401-buyer-profile-no-key")
	checkTargets(t, buyer, "the shop's profile (no key)")

	// Applying asks for a key first, then comes back to the profile.
	buyer.do("making a key from the profile", step,
		tap(vipItem+" .dir-key"),
		chromedp.WaitVisible(css("#btn-new-key")),
		tap("#btn-new-key"),
		chromedp.WaitVisible(css(vipItem+" .dir-request")),
		chromedp.WaitNotPresent(css("#dir-need-key")),
	)
	buyer.do("applying", step,
		tap(vipItem+" .dir-request"),
		chromedp.WaitVisible(css(vipItem+" .dir-note")),
		fill(vipItem+" .dir-note", "order 7"),
		tap(vipItem+" .dir-send"),
		waitText("#dir-status.ok", "Your request was sent", step),
		chromedp.WaitVisible(css(vipItem+" .dir-pending")),
	)
	buyer.screenshot("402-buyer-applied")
	bID := userID(buyer)

	// The merchant approves in the manage panel; the buyer's page follows.
	req := `#request-list li[data-user="` + bID + `"]`
	shop.do("approving", step,
		chromedp.Navigate(url+"/#/g/"+vip+"/manage"),
		chromedp.WaitVisible(css("#tab-requests")),
		tap("#tab-requests"),
		waitText(req+" .note", "order 7", step),
		tap(req+" .act-approve"),
	)
	buyer.do("seeing the approval", step, chromedp.WaitVisible(css(vipItem+" .dir-open")))
	buyer.screenshot("403-buyer-approved")

	// The open group: joined from the profile with its directory invite.
	buyer.do("joining the open group", step,
		tap(fansItem+" .dir-join"),
		chromedp.WaitVisible(css("#btn-join")),
		tap("#btn-join"),
		waitText("#group-name", "茶友群", step),
		chromedp.WaitVisible(css("#composer")),
	)
	gid, err := protocol.ParseGroupID(fans.Group)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, step, func() error {
		a, err := erp.Analytics(ctx, gid, 1)
		if err != nil {
			return err
		}
		if got := a.Days[len(a.Days)-1].Joins["directory"]; got != 1 {
			return fmt.Errorf("joins from the directory: %d, want 1", got)
		}
		return nil
	})
	buyer.do("the profile after both joins", step,
		chromedp.Navigate(url+"/#/p"),
		chromedp.WaitVisible(css(vipItem+" .dir-open")),
		chromedp.WaitVisible(css(fansItem+" .dir-open")),
		waitText(vipItem+" .meta", "2 / 500 members", step),
	)
	buyer.screenshot("404-buyer-profile-member")

	// The groups screen leads to the profile.
	buyer.do("finding the shop's groups", step,
		chromedp.Navigate(url+"/#/"),
		chromedp.WaitVisible(css("#btn-dir-find")),
		tap("#btn-dir-find"),
		waitText("#dir-name", "小茶馆", step),
	)
}
