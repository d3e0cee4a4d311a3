package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/qunchat/qun/protocol"
)

// TestHistoryFromJoin: the shop (zh-CN) switches its group to "new members
// see messages from their join on" in the settings panel; the buyer, who
// joins afterwards on another node, sees the line saying earlier messages
// are hidden, none of them, and the messages after her join.
func TestHistoryFromJoin(t *testing.T) {
	sc := shopScene(t, "会员群")
	sc.openShop()
	secret := "会员价 88 元（入群前）"
	if _, err := sc.owner.Send(sc.ctx, sc.gid, protocol.MessageBody{Text: secret}); err != nil {
		t.Fatal(err)
	}
	sc.shop.do("choosing history from join", sceneStep,
		waitText("#messages", secret, sceneStep),
		chromedp.Click(css("#btn-manage")),
		chromedp.Click(css("#tab-settings")),
		chromedp.WaitVisible(css("#set-history")),
		chromedp.SetValue(css("#set-history"), "join"),
		chromedp.Click(css("#btn-save-settings")),
		waitText("#manage-status", "设置已保存", sceneStep),
	)
	sc.shop.screenshot("history-setting")
	eventually(t, sceneStep, func() error {
		v, err := sc.owner.Group(sc.ctx, sc.gid)
		if err != nil {
			return err
		}
		if v.History != "join" {
			return fmt.Errorf("the group's history is %q", v.History)
		}
		return nil
	})

	sc.join()
	welcome := "欢迎新朋友"
	if _, err := sc.owner.Send(sc.ctx, sc.gid, protocol.MessageBody{Text: welcome}); err != nil {
		t.Fatal(err)
	}
	sc.buyer.do("reading the chat", sceneStep,
		waitText("#messages", welcome, sceneStep),
		chromedp.WaitVisible(css("#history-hidden")),
		waitText("#history-hidden", "Messages before you joined are hidden", sceneStep),
	)
	sc.buyer.screenshot("history-hidden")
	text := get(sc.buyer, "reading the messages", chromedp.Text(css("#messages")))
	if strings.Contains(text, secret) {
		t.Fatalf("the buyer's page shows a message from before her join:\n%s", text)
	}
	if older := get(sc.buyer, "looking for older pages", chromedp.Evaluate[bool](`!document.querySelector("#btn-older").hidden`)); older {
		t.Fatal("the buyer's page offers older pages the node will not give")
	}
}
