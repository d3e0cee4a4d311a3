package web_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// TestShownGroups: 展示我加入的群聊 across two nodes, at phone size. The shop's
// owner (node A, Go SDK) shows its approval group "VIP 茶友会" on its profile;
// the buyer (node B, English), in the shop's chat, taps the owner's name:
// the card lists the VIP group as its host describes it (B asks A), and
// the buyer applies from there with a note; approved, the group is in the
// buyer's list. The buyer then shows the VIP group on their own profile
// (the "me" screen), and the shop's page (Chinese) sees it on the buyer's
// card, where the owner is a member: "进入".
func TestShownGroups(t *testing.T) {
	sc := shopScene(t, "茶馆 · 买家群")
	ctx, owner := sc.ctx, sc.owner
	const step = sceneStep
	sc.join()
	bID := userID(sc.buyer)

	host, err := protocol.ParseUserID(sc.na.NodeInfo().PeerID)
	if err != nil {
		t.Fatal(err)
	}
	vipName, approval := "VIP 茶友会", protocol.PolicyApproval
	vip, _, err := owner.CreateGroup(ctx, host, protocol.Settings{Name: &vipName, Policy: &approval})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := owner.SetMyProfile(ctx, api.MyProfile{Name: "店长", Groups: []string{vip.String()}}); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.ShareProfile(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Send(ctx, sc.gid, protocol.MessageBody{Text: "欢迎光临"}); err != nil {
		t.Fatal(err)
	}
	oID := owner.Key().ID().String()
	item := `#person-groups li[data-group="` + vip.String() + `"]`
	sc.buyer.do("opening the owner's card", step,
		waitText("#messages", "欢迎光临", step),
		tap(`#messages .name.tap[data-name="`+oID+`"]`),
		waitText(item+" .shown-name", vipName, step),
		waitText(item+" .shown-meta", "1 / 500 members · an admin approves each request", step),
	)
	sc.buyer.screenshot("410-buyer-owner-card")
	checkTargets(t, sc.buyer, "a person's card with shown groups")
	sc.buyer.do("applying from the card", step,
		tap(item+" .shown-request"),
		chromedp.WaitVisible(css(item+" .shown-note")),
		fill(item+" .shown-note", "order 7"),
		tap(item+" .shown-send"),
		waitText(item+" .shown-status.ok", "Request sent", step),
		chromedp.WaitVisible(css(item+" .shown-pending")),
	)
	eventually(t, step, func() error {
		v, err := owner.Group(ctx, vip)
		if err != nil {
			return err
		}
		for _, r := range v.Requests {
			if r.User == bID && r.Note == "order 7" {
				return nil
			}
		}
		return fmt.Errorf("no request from the buyer with the note: %+v", v.Requests)
	})
	if _, err := owner.Approve(ctx, vip, mustUser(t, bID)); err != nil {
		t.Fatal(err)
	}
	sc.buyer.do("seeing the group in the list", step,
		tap("#btn-person-close"),
		chromedp.Navigate(sc.urlB+"/#/"),
		chromedp.WaitVisible(css(`#groups li[data-group="`+vip.String()+`"] a[href]`)),
	)

	// The buyer shows the VIP group on their profile.
	sc.buyer.do("choosing the groups to show", step,
		chromedp.Navigate(sc.urlB+"/#/me"),
		chromedp.WaitVisible(css(`#shown-choices label[data-group="`+vip.String()+`"] input`)),
		tap(`#shown-choices label[data-group="`+vip.String()+`"] input`),
		tap("#btn-save-profile"),
		chromedp.WaitVisible(css("#profile-status.ok")),
	)
	sc.buyer.screenshot("411-buyer-shows-groups")
	eventually(t, step, func() error {
		v, err := owner.Group(ctx, sc.gid)
		if err != nil {
			return err
		}
		for _, m := range v.MemberList {
			if m.User == bID {
				if len(m.Groups) == 1 && m.Groups[0].Group == vip.String() && len(m.Groups[0].HostAddrs) > 0 {
					return nil
				}
				return fmt.Errorf("the buyer shows %+v in the chat", m.Groups)
			}
		}
		return fmt.Errorf("the buyer is not in the chat")
	})
	sc.buyer.do("writing in the chat", step,
		chromedp.Navigate(sc.urlB+"/#/g/"+sc.gid.String()),
		chromedp.WaitVisible(css("#composer")),
		chromedp.SendKeys(css("#composer"), "thanks!"),
		tap("#btn-send"),
		waitText(".msg.mine .text", "thanks!", step),
	)
	sc.openShop()
	sc.shop.do("opening the buyer's card", step,
		waitText("#messages", "thanks!", step),
		tap(`#messages .name.tap[data-name="`+bID+`"]`),
		waitText("#person-groups h3", "TA 展示的群", step),
		waitText(item+" .shown-name", vipName, step),
		waitText(item+" .shown-meta", "2 / 500 人 · 需管理员审核", step),
		chromedp.WaitVisible(css(item+" .shown-open")),
	)
	sc.shop.screenshot("412-shop-buyer-card-zh")
	checkTargets(t, sc.shop, "a person's card with shown groups (zh)")
}
