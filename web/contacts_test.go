package web_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// contactLive bounds how soon a request or an offer shows on the page of
// the person it is for, without a reload (a push of their home node).
const contactLive = 5 * time.Second

// TestPrivateConversation: a buyer and a shop talk privately (私聊), two
// phone browsers on two nodes. Node A hosts the shop's group; the shop's
// page (Chinese) is signed in with node A's admin key, the owner. The
// buyer (node B, English) names itself Mei, joins, and finds "Message
// privately" on the owner and on an admin (Go SDK, node A) in the member
// list (not on itself); it taps "Message the shop" with a note and is told
// in one line that it was sent. The request goes to both; it shows on the
// shop's open chat live, with Mei's name, the group and the note, and the
// title counts it; the list of groups has it too, and there the shop opens
// the conversation ("Mei · 茶馆"): its chat opens, the request is gone,
// and the admin's copy of it is answered by an offer into the same
// conversation. The offer shows on the buyer's open chat live; the buyer
// joins and the conversation's chat opens. Each writes, each reads the
// other, and so does the admin once it joins; nothing of it is in the
// shop's group; no request or offer is left. A third member of the shop's
// group (Go SDK) on either node may not read the conversation (403
// private).
func TestPrivateConversation(t *testing.T) {
	sc := shopScene(t, "茶馆")
	shop, buyer, owner, gid, ctx := sc.shop, sc.buyer, sc.owner, sc.gid, sc.ctx
	const step = sceneStep
	ownerID := owner.Key().ID().String()
	sc.openShop()
	shop.do("marking the page", step, chromedp.Evaluate[chromedp.Void](`window.__qunMark = "no reload"`))

	// The buyer makes a key on node B and names itself, then joins.
	buyer.do("setting a name", step,
		chromedp.Navigate(sc.urlB+"/"),
		chromedp.WaitVisible(css("#btn-new-key")),
		chromedp.Click(css("#btn-new-key")),
		chromedp.WaitVisible(css("#me")),
		chromedp.Click(css("#me")),
		chromedp.WaitVisible(css("#profile-name")),
		chromedp.SetValue(css("#profile-name"), "Mei"),
		chromedp.Click(css("#btn-save-profile")),
		waitText("#profile-status.ok", "Profile saved", step),
	)
	sc.join()
	bID := userID(buyer)
	shop.do("seeing the buyer's name", step, waitText("#messages", "Mei 加入了群聊", step))
	if get(shop, "looking for the shop's entry", chromedp.Evaluate[bool](`!!document.querySelector("#btn-contact-shop")`)) {
		t.Error(`the owner's chat offers "Message the shop"`)
	}

	// An admin of the shop (Go SDK, node A).
	adminKey, err := protocol.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	admin, err := client.New(sc.urlA, adminKey, client.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	adminID := adminKey.ID().String()
	if _, err := admin.Join(ctx, sc.token); err != nil {
		t.Fatalf("the admin joining: %v", err)
	}
	if _, err := owner.SetRole(ctx, gid, adminKey.ID(), protocol.RoleAdmin); err != nil {
		t.Fatal(err)
	}

	// The member list: "Message privately" on the owner and the admin,
	// not on oneself.
	row := func(id string) string { return `#member-list li[data-user="` + id + `"]` }
	buyer.do("looking at the members", step,
		chromedp.Click(css("#btn-info")),
		chromedp.WaitVisible(css(row(ownerID)+" .act-private")),
		waitText(row(ownerID)+" .act-private", "Message privately", step),
		chromedp.WaitVisible(css(row(adminID)+" .badge.role-admin")),
		chromedp.WaitVisible(css(row(adminID)+" .act-private")),
	)
	if get(buyer, "looking at the buyer's own row", chromedp.Evaluate[bool](`!!document.querySelector(`+jsString(row(bID)+" .act-private")+`)`)) {
		t.Error(`the buyer's own row offers "Message privately"`)
	}
	checkTargets(t, buyer, "the buyer's member list")
	buyer.do("back to the chat", step,
		chromedp.Click(css(".group-header .back")),
		chromedp.WaitVisible(css("#composer")),
		chromedp.Evaluate[chromedp.Void](`window.__qunMark = "no reload"`),
	)

	// The buyer asks the shop, with a note.
	buyer.do("asking the shop", step,
		chromedp.WaitVisible(css("#btn-contact-shop")),
		waitText("#btn-contact-shop", "Message the shop", step),
		chromedp.Click(css("#btn-contact-shop")),
		chromedp.WaitVisible(css("#contact-note")),
		waitText("#contact-sheet-title", "Message the shop", step),
		chromedp.SendKeys(css("#contact-note"), "about order 1024"),
	)
	// The page behind the sheet takes no taps: the sheet's own controls
	// are measured.
	for _, sel := range []string{"#contact-sheet button", "#contact-sheet input"} {
		if !eval[bool](buyer, "measuring "+sel, `[...document.querySelectorAll(`+jsString(sel)+`)].every((e) => { const r = e.getBoundingClientRect(); return r.width >= 44 && r.height >= 44; })`) {
			t.Errorf("%s is smaller than 44×44 px", sel)
		}
	}
	buyer.screenshot("110-buyer-asks-the-shop")
	buyer.do("sending the request", step,
		chromedp.Click(css("#btn-contact-send")),
		chromedp.WaitNotPresent(css("#contact-sheet")),
		waitText("#group-status.ok", "Sent: the shop's reply will appear in your chats.", step),
	)
	sent := time.Now()
	if line := get(buyer, "reading the line", chromedp.Text(css("#group-status"))); strings.Contains(line, "\n") || len([]rune(line)) > 80 {
		t.Errorf("the buyer is told %q: want one short line", line)
	}
	buyer.screenshot("111-buyer-request-sent")

	// The shop's open chat shows it live: Mei, the group, the note.
	req := `#contact-strip li.contact[data-kind="request"][data-from="` + bID + `"]`
	shop.do("seeing the request live", contactLive,
		waitText(req+" .contact-title", "Mei 请求私聊", contactLive),
		waitText(req+" .contact-meta", "茶馆", contactLive),
		waitText(req+" .contact-note", "about order 1024", contactLive),
	)
	t.Logf("the request reached the shop's page in %s", time.Since(sent).Round(time.Millisecond))
	// The admin has it too.
	eventually(t, step, func() error {
		list, err := admin.Contacts(ctx)
		if err != nil {
			return err
		}
		if len(list) != 1 || list[0].Kind != "request" || list[0].From != bID || list[0].Note != "about order 1024" || len(list[0].To) != 2 {
			return fmt.Errorf("the admin has %+v, want the buyer's request to the owner and the admin", list)
		}
		return nil
	})
	shop.do("seeing the count in the title", step, waitJS(`document.title.startsWith("(1) ")`, step))
	if mark := eval[string](shop, "reading the mark", `String(window.__qunMark)`); mark != "no reload" {
		t.Errorf("the shop's page was reloaded (mark %q)", mark)
	}
	checkTargets(t, shop, "the shop's chat with a request")
	shop.screenshot("112-shop-request-live")

	// In the list of groups too; the shop opens the conversation there.
	item := `#contacts li.contact[data-kind="request"][data-from="` + bID + `"]`
	shop.do("seeing the request in the list", step,
		chromedp.Click(css(".group-header .back")),
		chromedp.WaitVisible(css(item+" .act-open")),
		waitText(item+" .contact-title", "Mei 请求私聊", step),
		waitText(item+" .contact-note", "about order 1024", step),
		waitText(item+" .act-open", "开始私聊", step),
		waitText(item+" .act-dismiss", "忽略", step),
	)
	checkTargets(t, shop, "the shop's list with a request")
	shop.screenshot("113-shop-list-request")
	shop.do("opening the conversation", 30*time.Second,
		chromedp.Click(css(item+" .act-open")),
		waitText("#group-name", "Mei · 茶馆", 30*time.Second),
		chromedp.WaitVisible(css("#composer")),
		waitText("#group-status.ok", "私聊已创建，已邀请 Mei。", step),
		waitText("#group-private", "私聊 · 茶馆", step),
		waitJS(`!document.title.startsWith("(")`, step),
	)
	offered := time.Now()
	pid := eval[string](shop, "reading the conversation's ID", `location.hash.split("/")[2] || ""`)
	conv, err := protocol.ParseGroupID(pid)
	if err != nil {
		t.Fatalf("the shop's page shows %q: %v", pid, err)
	}
	if conv == gid {
		t.Fatal("the conversation is the shop's group")
	}
	shop.screenshot("114-shop-conversation")

	// The buyer's open chat shows the offer live; the buyer joins.
	offer := `#contact-strip li.contact[data-kind="offer"][data-from="` + ownerID + `"]`
	buyer.do("seeing the offer live", contactLive,
		waitText(offer+" .contact-title", "The shop invites you to a private chat", contactLive),
		waitText(offer+" .contact-meta", "茶馆", contactLive),
		waitText(offer+" .contact-note", "re: about order 1024", contactLive),
		waitText(offer+" .act-join", "Join", contactLive),
	)
	t.Logf("the offer reached the buyer's page in %s", time.Since(offered).Round(time.Millisecond))
	if mark := eval[string](buyer, "reading the mark", `String(window.__qunMark)`); mark != "no reload" {
		t.Errorf("the buyer's page was reloaded (mark %q)", mark)
	}
	checkTargets(t, buyer, "the buyer's chat with an offer")
	buyer.screenshot("115-buyer-offer-live")
	buyer.do("joining the conversation", 30*time.Second,
		chromedp.Click(css(offer+" .act-join")),
		waitText("#group-name", "Mei · 茶馆", 30*time.Second),
		chromedp.WaitVisible(css("#composer")),
		chromedp.WaitVisible(css("#conn.live")),
		waitText("#messages", "You joined", step),
		waitText("#group-private", "Private · 茶馆", step),
		chromedp.WaitNotPresent(css("#contact-strip:not([hidden])")),
	)
	if got := eval[string](buyer, "reading the location", `location.hash`); got != "#/g/"+pid {
		t.Errorf("the buyer's page shows %q, want the conversation %s", got, pid)
	}
	if get(buyer, "looking for the shop's entry", chromedp.Evaluate[bool](`!!document.querySelector("#btn-contact-shop")`)) {
		t.Error(`the conversation offers "Message the shop"`)
	}
	buyer.screenshot("116-buyer-in-conversation")

	// Each writes; each reads the other.
	const address, answer = "My address: 1 Tea Street, Hangzhou", "收到，今天发货"
	buyer.do("writing", step,
		chromedp.SendKeys(css("#composer"), address),
		chromedp.Click(css("#btn-send")),
		waitText(".msg.mine .text", address, step),
	)
	shop.do("reading the buyer", step,
		waitText(`.msg[data-author="`+bID+`"] .text`, address, step),
		chromedp.SendKeys(css("#composer"), answer),
		chromedp.Click(css("#btn-send")),
		waitText(".msg.mine .text", answer, step),
	)
	buyer.do("reading the shop", step, waitText(`.msg[data-author="`+ownerID+`"] .text`, answer, step))

	// The admin's request was answered: it has an offer into the same
	// conversation instead, joins with it and reads both.
	var adminOffer api.ContactView
	eventually(t, step, func() error {
		list, err := admin.Contacts(ctx)
		if err != nil {
			return err
		}
		if len(list) != 1 || list[0].Kind != "offer" || list[0].From != ownerID || list[0].Conversation != pid {
			return fmt.Errorf("the admin has %+v, want only the owner's offer into %s", list, pid)
		}
		adminOffer = list[0]
		return nil
	})
	if _, err := admin.Join(ctx, adminOffer.Token); err != nil {
		t.Fatalf("the admin joining the conversation: %v", err)
	}
	if err := admin.DismissContact(ctx, adminOffer.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, step, func() error {
		page, err := admin.Events(ctx, conv, 1, 50)
		if err != nil {
			return err
		}
		var saw []string
		for _, ev := range page.Events {
			saw = append(saw, ev.Text)
		}
		if all := strings.Join(saw, "|"); !strings.Contains(all, address) || !strings.Contains(all, answer) {
			return fmt.Errorf("the admin reads %q in the conversation", all)
		}
		return nil
	})
	shop.screenshot("117-shop-conversation-messages")
	buyer.screenshot("118-buyer-conversation-messages")

	// Nothing of it is in the shop's group.
	last, err := owner.Last(ctx, gid, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range last {
		if strings.Contains(ev.Text, "Tea Street") || strings.Contains(ev.Text, answer) {
			t.Errorf("the shop's group holds the private message %q (seq %d)", ev.Text, ev.Seq)
		}
	}

	// No request or offer is left on either node.
	openContacts := `(async () => {
  const s = JSON.parse(sessionStorage.getItem("qun.session." + document.querySelector("#me").title));
  const r = await fetch("/api/v1/me/contacts", { headers: { Authorization: "Bearer " + s.token } });
  return (await r.json()).contacts.length;
})()`
	for _, b := range []*browser{shop, buyer} {
		if n := eval[int](b, "reading the open contacts", openContacts); n != 0 {
			t.Errorf("%s: %d requests or offers are left after the conversation opened", b.name, n)
		}
	}

	// A third member of the shop's group may not read the conversation,
	// on its host (node A) or on the buyer's node (B).
	for _, url := range []string{sc.urlA, sc.urlB} {
		k, err := protocol.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(url, k, client.WithTimeout(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Join(ctx, sc.token); err != nil {
			t.Fatalf("a third member joining on %s: %v", url, err)
		}
		eventually(t, step, func() error {
			if _, err := c.Group(ctx, gid); err != nil {
				return fmt.Errorf("the third member on %s reading the shop's group: %w", url, err)
			}
			return nil
		})
		for what, read := range map[string]func() error{
			"the conversation's events": func() error { _, err := c.Events(ctx, conv, 1, 50); return err },
			"the conversation":          func() error { _, err := c.Group(ctx, conv); return err },
		} {
			err := read()
			var pe *protocol.Error
			if !errors.As(err, &pe) || pe.Code != protocol.CodePrivate {
				t.Errorf("a third member on %s reading %s: %v, want 403 private", url, what, err)
			}
		}
	}
}

// TestPrivateConversationOffers: the other ways in and out of a private
// conversation. The buyer (node B, English) asks the owner alone, from
// "Message privately" on the owner in the member list, and is told so on
// the panel's line; the shop (node A, Chinese) dismisses the request from
// its open chat. Then the shop offers a conversation from "私聊" on the
// buyer in its member list, with a note: its chat opens. The offer shows
// live in the buyer's list of groups, which declines it. The shop offers
// once more, from the buyer's card in the chat; the buyer joins from the
// list. Nothing dismissed or declined is left on either node.
func TestPrivateConversationOffers(t *testing.T) {
	sc := shopScene(t, "龙井小铺")
	shop, buyer, owner := sc.shop, sc.buyer, sc.owner
	const step = sceneStep
	ownerID := owner.Key().ID().String()
	sc.openShop()
	sc.join()
	bID := userID(buyer)
	bShort := "…" + bID[len(bID)-6:]
	row := func(id string) string { return `#member-list li[data-user="` + id + `"]` }
	openContacts := func(b *browser) int {
		b.t.Helper()
		return eval[int](b, "reading the open contacts", `(async () => {
  const s = JSON.parse(sessionStorage.getItem("qun.session." + document.querySelector("#me").title));
  const r = await fetch("/api/v1/me/contacts", { headers: { Authorization: "Bearer " + s.token } });
  return (await r.json()).contacts.length;
})()`)
	}

	// The buyer asks the owner alone, from the member list.
	buyer.do("asking the owner", step,
		chromedp.Click(css("#btn-info")),
		chromedp.WaitVisible(css(row(ownerID)+" .act-private")),
		chromedp.Click(css(row(ownerID)+" .act-private")),
		chromedp.WaitVisible(css("#contact-note")),
		waitText("#contact-sheet-title", "Private chat with …"+ownerID[len(ownerID)-6:], step),
		chromedp.SendKeys(css("#contact-note"), "is the 2024 harvest in?"),
		chromedp.Click(css("#btn-contact-send")),
		chromedp.WaitNotPresent(css("#contact-sheet")),
		waitText("#manage-status.ok", "Sent: …"+ownerID[len(ownerID)-6:]+"'s reply will appear in your chats.", step),
	)
	buyer.screenshot("120-buyer-asked-the-owner")

	// The shop dismisses it from its chat.
	req := `#contact-strip li.contact[data-kind="request"][data-from="` + bID + `"]`
	shop.do("seeing the request", contactLive,
		waitText(req+" .contact-title", bShort+" 请求私聊", contactLive),
		waitText(req+" .contact-note", "is the 2024 harvest in?", contactLive),
	)
	shop.do("dismissing it", step,
		chromedp.Click(css(req+" .act-dismiss")),
		chromedp.WaitNotPresent(css(req)),
		chromedp.WaitReady(css("#contact-strip[hidden]")),
	)
	eventually(t, step, func() error {
		if n := openContacts(shop); n != 0 {
			return fmt.Errorf("the shop's node keeps %d requests after the dismissal", n)
		}
		return nil
	})

	// The shop offers one from the buyer's row in its member list.
	buyer.do("going to the list", step,
		chromedp.Click(css(".group-header .back")),
		chromedp.WaitVisible(css("#composer")),
		chromedp.Click(css(".group-header .back")),
		chromedp.WaitVisible(css("#groups")),
		chromedp.Evaluate[chromedp.Void](`window.__qunMark = "no reload"`),
	)
	shop.do("offering from the member list", 30*time.Second,
		chromedp.Click(css("#btn-manage")),
		chromedp.WaitVisible(css(row(bID)+" .act-private")),
		waitText(row(bID)+" .act-private", "私聊", step),
		chromedp.Click(css(row(bID)+" .act-private")),
		chromedp.WaitVisible(css("#contact-note")),
		waitText("#contact-sheet-title", "与 "+bShort+" 私聊", step),
		waitText("#btn-contact-send", "开始私聊", step),
		chromedp.SendKeys(css("#contact-note"), "您的快递单号"),
	)
	shop.screenshot("121-shop-offers-from-the-members")
	shop.do("opening the conversation", 30*time.Second,
		chromedp.Click(css("#btn-contact-send")),
		waitText("#group-name", bShort+" · 龙井小铺", 30*time.Second),
		chromedp.WaitVisible(css("#composer")),
		waitText("#group-status.ok", "私聊已创建，已邀请 "+bShort+"。", step),
	)
	first := eval[string](shop, "reading the conversation's ID", `location.hash.split("/")[2] || ""`)

	// The buyer's list shows it live; the buyer declines.
	offer := `#contacts li.contact[data-kind="offer"][data-from="` + ownerID + `"]`
	buyer.do("seeing the offer in the list", contactLive,
		waitText(offer+" .contact-title", "The shop invites you to a private chat", contactLive),
		waitText(offer+" .contact-meta", "龙井小铺", contactLive),
		waitText(offer+" .contact-note", "您的快递单号", contactLive),
	)
	checkTargets(t, buyer, "the buyer's list with an offer")
	buyer.screenshot("122-buyer-offer-in-the-list")
	buyer.do("declining", step,
		chromedp.Click(css(offer+" .act-decline")),
		chromedp.WaitNotPresent(css(offer)),
		chromedp.WaitReady(css("#contacts-card[hidden]")),
	)
	eventually(t, step, func() error {
		if n := openContacts(buyer); n != 0 {
			return fmt.Errorf("the buyer's node keeps %d offers after the decline", n)
		}
		return nil
	})

	// Once more, from the buyer's card in the shop's chat; the buyer joins.
	shop.do("offering from the buyer's card", 30*time.Second,
		chromedp.Evaluate[chromedp.Void](`location.hash = "#/g/`+sc.gid.String()+`"`),
		waitText("#group-name", sc.name, step),
		chromedp.WaitVisible(css(`#messages .name.tap[data-name="`+bID+`"]`)),
		chromedp.Click(css(`#messages .name.tap[data-name="`+bID+`"]`)),
		chromedp.WaitVisible(css("#btn-person-private")),
		tap("#btn-person-private"),
		chromedp.WaitNotPresent(css("#person-card")),
		chromedp.WaitVisible(css("#btn-contact-send")),
		chromedp.Click(css("#btn-contact-send")),
		waitText("#group-name", bShort+" · 龙井小铺", 30*time.Second),
		waitText("#group-status.ok", "私聊已创建", step),
	)
	second := eval[string](shop, "reading the conversation's ID", `location.hash.split("/")[2] || ""`)
	if second == first {
		t.Errorf("the second offer is into the declined conversation %s", first)
	}
	buyer.do("joining from the list", 30*time.Second,
		chromedp.WaitVisible(css(offer+" .act-join")),
		chromedp.Click(css(offer+" .act-join")),
		waitText("#group-name", bShort+" · 龙井小铺", 30*time.Second),
		waitText("#messages", "You joined", step),
	)
	if got := eval[string](buyer, "reading the location", `location.hash`); got != "#/g/"+second {
		t.Errorf("the buyer's page shows %q, want the conversation %s", got, second)
	}
	if mark := eval[string](buyer, "reading the mark", `String(window.__qunMark)`); mark != "no reload" {
		t.Errorf("the buyer's page was reloaded (mark %q)", mark)
	}
	buyer.screenshot("123-buyer-joined-from-the-list")
	if n := openContacts(buyer); n != 0 {
		t.Errorf("the buyer's node keeps %d offers after the join", n)
	}
}
