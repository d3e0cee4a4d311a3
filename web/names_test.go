package web_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
)

// TestNames: names and avatars (kind profile) between two nodes and two
// phone browsers. The owner's page (node A, Chinese) has the group open;
// user B (node B, English) sets the name 王小明 on the "me" screen (after a
// refused try with a control character), joins, and writes. The owner sees
// the name in B's join line (carried by the profile event B's page signs
// after the join, shown live), in the chat line, in the member list and on
// B's card with the full ID. A third member (Go SDK) also named 王小明
// makes both show with the end of their IDs; B sets a nickname in the
// group, which reaches the owner's page live (no reload) and ends the
// clash. "You"/"你" stand for the user in both languages.
func TestNames(t *testing.T) {
	// The node's admin (Go SDK) makes the group and an invite.
	sc := shopScene(t, "茶馆", withBrowsers("owner-zh", "b-en"))
	a, b, owner, gid, ctx, token := sc.shop, sc.buyer, sc.owner, sc.gid, sc.ctx, sc.token
	urlA, urlB := sc.urlA, sc.urlB
	const step = sceneStep
	sc.openShop()
	a.do("reading the group's first line", step,
		// The owner's own line says "you" (你), not "me".
		waitText("#messages", "你 创建了群", step),
		chromedp.Evaluate[chromedp.Void](`window.__qunMark = "no reload"`),
	)

	// B makes a key on node B and sets a name: first with a control
	// character (refused on the page, before anything is signed), then
	// with spaces around it (trimmed).
	b.do("setting a name", step,
		chromedp.Navigate(urlB+"/"),
		chromedp.WaitVisible(css("#btn-new-key")),
		chromedp.Click(css("#btn-new-key")),
		chromedp.WaitVisible(css("#me")),
		chromedp.Click(css("#me")),
		chromedp.WaitVisible(css("#profile-name")),
		chromedp.SetValue(css("#profile-name"), "王小明\u0007"),
		chromedp.Click(css("#btn-save-profile")),
		waitText("#profile-status.error", "control character U+0007", step),
		chromedp.SetValue(css("#profile-name"), "  王小明 "),
		chromedp.SetValue(css("#profile-bio"), "喜欢喝茶"),
		chromedp.Click(css("#btn-save-profile")),
		waitText("#profile-status.ok", "Profile saved", step),
		waitText("#me", "王小明", step),
	)
	if v := get(b, "reading the name", chromedp.Value(css("#profile-name"))); v != "王小明" {
		t.Errorf("the name field shows %q after saving, want it trimmed", v)
	}
	b.screenshot("40-b-profile")
	bID := get(b, "reading B's ID", chromedp.AttributeValue(css("#me"), "title")).Value
	bSel := `.msg[data-author="` + bID + `"] .author`

	// B joins on node B: its page carries the profile to the group.
	sc.join()
	b.do("writing", step,
		chromedp.SendKeys(css("#composer"), "大家好"),
		chromedp.Click(css("#btn-send")),
		waitText(".msg.mine .text", "大家好", step),
	)
	a.do("seeing B's name", step,
		waitText("#messages", "王小明 加入了群聊", step),
		waitText(bSel, "王小明", step),
	)
	a.screenshot("41-owner-sees-name")

	// A third member, also named 王小明 (Go SDK, node A).
	cKey, err := protocol.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	cID := cKey.ID().String()
	c, err := client.New(urlA, cKey, client.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Join(ctx, token); err != nil {
		t.Fatalf("the third member joining: %v", err)
	}
	if _, err := c.SetProfile(ctx, gid, protocol.Profile{Name: "王小明"}); err != nil {
		t.Fatalf("the third member's profile: %v", err)
	}
	if _, err := c.Send(ctx, gid, protocol.MessageBody{Text: "我也叫王小明"}); err != nil {
		t.Fatal(err)
	}
	cSel := `.msg[data-author="` + cID + `"] .author`
	a.do("seeing two 王小明", step,
		waitText("#messages", "我也叫王小明", step),
		waitText(cSel, "王小明 · ", step),
		waitText(bSel, "王小明 · ", step),
	)
	labelOf := func(sel string) string { return get(a, "reading a name", chromedp.Text(css(sel))) }
	bLabel, cLabel := labelOf(bSel), labelOf(cSel)
	if bLabel == cLabel || !strings.HasSuffix(bID, strings.TrimPrefix(bLabel, "王小明 · ")) || !strings.HasSuffix(cID, strings.TrimPrefix(cLabel, "王小明 · ")) {
		t.Errorf("two members named 王小明 show as %q and %q: want each with the end of its own ID", bLabel, cLabel)
	}
	// Every name of B follows, the join line too.
	if txt := get(a, "reading the chat", chromedp.Text(css("#messages"))); !strings.Contains(txt, bLabel+" 加入了群聊") {
		t.Errorf("B's join line does not show %q: %q", bLabel, txt)
	}

	// Tapping a name shows the full ID and the role.
	a.do("opening C's card", step,
		chromedp.Click(css(cSel)),
		chromedp.WaitVisible(css("#person-card")),
		waitText("#person-id", cID, step),
		waitText("#person-role", "成员", step),
	)
	a.screenshot("42-owner-person-card")
	a.do("closing the card", step, tap("#btn-person-close"), chromedp.WaitNotPresent(css("#person-card")))

	// The member list: names, the owner's badge, and the search box.
	row := func(id string) string { return `#member-list li[data-user="` + id + `"]` }
	search := func(q string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](`(() => { const e = document.querySelector("#member-search"); e.focus(); e.value = ` + jsString(q) + `; e.dispatchEvent(new Event("input")); })()`)
	}
	a.do("searching the members", step,
		chromedp.Click(css("#btn-manage")),
		chromedp.WaitVisible(css(row(bID))),
		waitText(row(bID)+" .who", "王小明 · ", step),
		chromedp.WaitVisible(css(row(owner.Key().ID().String())+" .badge.role-owner")),
		search(cID[len(cID)-5:]),
		chromedp.WaitVisible(css(row(cID))),
		chromedp.WaitNotVisible(css(row(bID))),
		search("王小"),
		chromedp.WaitVisible(css(row(bID))),
		chromedp.WaitVisible(css(row(cID))),
		chromedp.WaitNotVisible(css(row(owner.Key().ID().String()))),
	)
	a.screenshot("43-owner-member-search")
	a.do("back to the chat", step,
		chromedp.Click(css(".group-header .back")),
		chromedp.WaitVisible(css("#composer")),
		waitText(bSel, "王小明 · ", step),
	)

	// B sets a nickname in the group (群昵称): the owner's page shows it
	// at once, everywhere, and the other 王小明 no longer needs a suffix.
	const nick = "小明 (VIP)"
	b.do("setting a nickname", step,
		chromedp.Click(css("#btn-info")),
		chromedp.WaitVisible(css("#tab-settings")),
		chromedp.Click(css("#tab-settings")),
		chromedp.WaitVisible(css("#set-nick")),
		chromedp.SendKeys(css("#set-nick"), nick),
		chromedp.Click(css("#btn-save-nick")),
		waitText("#manage-status", nick, step),
	)
	b.screenshot("44-b-nickname")
	a.do("seeing the nickname live", step,
		waitJS(`document.querySelector(`+jsString(bSel)+`).textContent === `+jsString(nick), step),
		waitJS(`document.querySelector(`+jsString(cSel)+`).textContent === "王小明"`, step),
		waitText("#messages", nick+" 加入了群聊", step),
	)
	if mark := eval[string](a, "reading the mark", `String(window.__qunMark)`); mark != "no reload" {
		t.Errorf("the owner's page was reloaded (mark %q)", mark)
	}
	a.do("opening B's card", step,
		chromedp.Click(css(bSel)),
		waitText("#person-nick", nick, step),
		waitText("#person-name", "王小明", step),
		waitText("#person-bio", "喜欢喝茶", step),
		waitText("#person-id", bID, step),
	)
	a.screenshot("45-owner-after-nickname")

	// B renames itself on the "me" screen: the page pushes it to its group
	// (keeping the nick there), and the card open on the owner's page
	// follows live.
	b.do("renaming", step,
		chromedp.Click(css("#me")),
		chromedp.WaitVisible(css("#profile-name")),
		waitJS(`document.querySelector("#profile-name").value === "王小明"`, step),
		chromedp.SetValue(css("#profile-name"), "王晓明"),
		chromedp.Click(css("#btn-save-profile")),
		waitText("#profile-status.ok", "1 of your groups", step),
	)
	a.do("seeing the rename live", step,
		waitText("#person-name", "王晓明", step),
		waitText("#person-nick", nick, step),
		tap("#btn-person-close"),
		chromedp.WaitNotPresent(css("#person-card")),
	)

	// The owner mutes B: "你 禁言了 小明 (VIP)" for the owner, "… muted you" for B.
	if _, err := owner.Mute(ctx, gid, mustUser(t, bID), 10*time.Minute, ""); err != nil {
		t.Fatal(err)
	}
	a.do("seeing the mute line", step, waitText("#messages", "你 禁言了 "+nick, step))
	b.do("seeing the mute line", step,
		chromedp.Evaluate[chromedp.Void](`location.hash = "#/g/`+gid.String()+`"`),
		waitText("#messages", "muted you until", step),
		waitText(".msg.mine .author", "me", step),
	)
	b.screenshot("46-b-chat")
	a.screenshot("47-owner-chat")
}

func mustUser(t *testing.T, s string) protocol.UserID {
	t.Helper()
	u, err := protocol.ParseUserID(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
