package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestReactionsEdits: reactions (kind reaction) and edits (kind edit)
// between two nodes and two phone browsers. The owner (node A, Chinese)
// replies to the buyer's message and pins it, then reacts 👍 to it from
// the long-press menu: the buyer (node B, English) sees the chip with 1
// live; the buyer adds its 👍 (2), the owner takes its own back (1); an
// emoji typed in "more" is checked first. After a reload the owner's page
// counts 1 with the right highlight. The buyer edits its message in the
// composer (Esc cancels a first try): the owner sees the new text and
// "已编辑" live, in the bubble, the quote and the pin, and after a
// reload. The owner has no Edit on the buyer's message; the buyer's Edit
// goes once the 24 hours have passed. Neither kind gets a chat line.
func TestReactionsEdits(t *testing.T) {
	sc := shopScene(t, "茶友群", withBrowsers("owner-zh", "buyer-en"))
	a, b := sc.shop, sc.buyer
	const step = sceneStep
	openA := sc.inGroup()
	sc.openShop()
	sc.join()
	b.do("writing", step,
		chromedp.SendKeys(css("#composer"), "龙井 39 元一两"),
		chromedp.Click(css("#btn-send")),
		waitText(".msg.mine .text", "龙井 39 元一两", step),
	)
	bID := get(b, "reading B's ID", chromedp.AttributeValue(css("#me"), "title")).Value
	bMsg := `.msg[data-author="` + bID + `"]`
	a.do("seeing B's message", step, waitText(bMsg+" .text", "龙井 39 元一两", step))
	seq := get(a, "reading the message's seq", chromedp.AttributeValue(css(bMsg), "data-seq")).Value

	// The owner replies to it and pins it: both show its text.
	a.do("replying and pinning", step,
		chromedp.Click(css(bMsg+" .act-reply")),
		chromedp.SendKeys(css("#composer"), "还有货吗？"),
		chromedp.Click(css("#btn-send")),
		waitText(".msg.mine .text", "还有货吗？", step),
		waitText(`.msg.mine .quote[data-quote="`+seq+`"]`, "龙井 39 元一两", step),
		chromedp.Click(css(bMsg+" .act-pin")),
		waitText("#pins .pin-text", "龙井 39 元一两", step),
	)

	// A long press on the buyer's message opens the reactions; 👍.
	chip := func(sel, emoji string) string { return sel + ` .chip[data-emoji="` + emoji + `"]` }
	a.do("opening the reactions", step,
		chromedp.Evaluate[chromedp.Void](`document.querySelector(`+jsString(bMsg+" .text")+`).dispatchEvent(new MouseEvent("contextmenu", { bubbles: true, cancelable: true }))`),
		chromedp.WaitVisible(css(`#react-picker .react-choice[data-emoji="🙏"]`)),
		waitText("#react-title", "用表情回应", step),
	)
	for _, sel := range []string{"#react-picker .react-choice", "#react-picker #btn-react-more", "#react-picker #btn-react-close", bMsg + " .act-react"} {
		if !eval[bool](a, "measuring "+sel, `[...document.querySelectorAll(`+jsString(sel)+`)].every((e) => { const r = e.getBoundingClientRect(); return r.width >= 44 && r.height >= 44; })`) {
			t.Errorf("%s is smaller than 44×44 px", sel)
		}
	}
	a.screenshot("80-owner-reaction-picker")
	a.do("reacting 👍", step,
		chromedp.Click(css(`#react-picker .react-choice[data-emoji="👍"]`)),
		chromedp.WaitNotPresent(css("#react-picker")),
		chromedp.WaitVisible(css(chip(bMsg, "👍")+`.mine[data-count="1"]`)),
	)
	b.do("seeing the 👍 live", 10*time.Second,
		chromedp.WaitVisible(css(chip(".msg.mine", "👍")+`:not(.mine)[data-count="1"]`)),
		waitText(chip(".msg.mine", "👍")+" .chip-count", "1", step),
	)
	if !eval[bool](b, "measuring a chip", `(() => { const r = document.querySelector(".chip").getBoundingClientRect(); return r.width >= 44 && r.height >= 44; })()`) {
		t.Error("a reaction chip is smaller than 44×44 px")
	}
	b.screenshot("81-buyer-sees-reaction")

	// The buyer taps the chip: its 👍 too, 2.
	b.do("adding a 👍", step,
		chromedp.Click(css(chip(".msg.mine", "👍"))),
		chromedp.WaitVisible(css(chip(".msg.mine", "👍")+`.mine[data-count="2"]`)),
	)
	a.do("seeing 2", step, chromedp.WaitVisible(css(chip(bMsg, "👍")+`.mine[data-count="2"]`)))
	a.screenshot("82-owner-two-reactions")

	// The owner taps its own chip: taken back, 1.
	a.do("taking the 👍 back", step,
		chromedp.Click(css(chip(bMsg, "👍"))),
		chromedp.WaitVisible(css(chip(bMsg, "👍")+`:not(.mine)[data-count="1"]`)),
	)
	b.do("seeing 1", step, chromedp.WaitVisible(css(chip(".msg.mine", "👍")+`.mine[data-count="1"]`)))
	if title := get(b, "reading the chip's title", chromedp.AttributeValue(css(chip(".msg.mine", "👍")), "title")).Value; title != "you reacted with 👍" {
		t.Errorf("the buyer's chip says %q", title)
	}
	if title := get(a, "reading the chip's title", chromedp.AttributeValue(css(chip(bMsg, "👍")), "title")).Value; title != "…"+bID[len(bID)-6:]+" 回应了 👍" {
		t.Errorf("the owner's chip says %q, want the buyer's name", title)
	}

	// Any other emoji, from "more": checked first.
	a.do("reacting with another emoji", step,
		chromedp.Click(css(bMsg+" .act-react")),
		chromedp.WaitVisible(css("#react-more")),
		chromedp.SendKeys(css("#react-more"), "茶 叶"),
		chromedp.Click(css("#btn-react-more")),
		waitText("#react-status.error", "回应不能包含空格", step),
	)
	a.screenshot("83-owner-bad-emoji")
	a.do("reacting 🍵", step,
		chromedp.SetValue(css("#react-more"), "🍵"),
		chromedp.Click(css("#btn-react-more")),
		chromedp.WaitNotPresent(css("#react-picker")),
		chromedp.WaitVisible(css(chip(bMsg, "🍵")+`.mine[data-count="1"]`)),
	)
	b.do("seeing 🍵", step, chromedp.WaitVisible(css(chip(".msg.mine", "🍵")+`:not(.mine)[data-count="1"]`)))

	// After a reload: still 1 👍 (not the owner's) and the owner's 🍵.
	a.do("reloading", step, append([]chromedp.Action[chromedp.Void]{chromedp.Reload()}, openA...)...)
	a.do("counting after the reload", step,
		chromedp.WaitVisible(css(chip(bMsg, "👍")+`:not(.mine)[data-count="1"]`)),
		chromedp.WaitVisible(css(chip(bMsg, "🍵")+`.mine[data-count="1"]`)),
	)
	if n := eval[int](a, "counting chips", `document.querySelectorAll(`+jsString(bMsg+" .chip")+`).length`); n != 2 {
		t.Errorf("the owner sees %d chips after the reload, want 2", n)
	}
	// A long press on a chip says who reacted, by name.
	a.do("asking who reacted", step,
		chromedp.Evaluate[chromedp.Void](`document.querySelector(`+jsString(chip(bMsg, "👍"))+`).dispatchEvent(new MouseEvent("contextmenu", { bubbles: true, cancelable: true }))`),
		chromedp.WaitVisible(css(`#reacted-by li[data-user="`+bID+`"]`)),
		waitText("#reacted-by", "…"+bID[len(bID)-6:], step),
		waitText("#reacted-title", "👍 · 1 人", step),
	)
	a.screenshot("84-owner-who-reacted")
	a.do("closing", step, chromedp.Click(css("#btn-reacted-close")), chromedp.WaitNotPresent(css("#reacted-by")))

	// The owner may not edit the buyer's message, only its own.
	a.do("looking for Edit", step, chromedp.WaitVisible(css(".msg.mine .act-edit")))
	if n := eval[int](a, "counting Edit", `document.querySelectorAll(`+jsString(bMsg+" .act-edit")+`).length`); n != 0 {
		t.Errorf("the owner has Edit on the buyer's message")
	}

	// The buyer edits: Esc first gives back what was typed.
	const newText = "龙井 35 元一两（特价）"
	b.do("starting an edit", step,
		chromedp.SendKeys(css("#composer"), "draft"),
		chromedp.Click(css(".msg.mine .act-edit")),
		waitJS(`document.querySelector("#composer").value === "龙井 39 元一两"`, step),
		waitText("#btn-send", "Save", step),
		waitText("#editing-note", "Editing your message", step),
	)
	b.screenshot("85-buyer-editing")
	b.do("canceling with Esc", step,
		chromedp.KeyEvent("\x1b"),
		waitJS(`document.querySelector("#composer").value === "draft"`, step),
		waitJS(`document.querySelector("#reply-bar").hidden`, step),
		waitText("#btn-send", "Send", step),
		setComposer(""),
		chromedp.Click(css(".msg.mine .act-edit")),
		waitJS(`document.querySelector("#composer").value === "龙井 39 元一两"`, step),
		setComposer(newText),
		chromedp.Click(css("#btn-send")),
		waitText(".msg.mine .text", newText, step),
		waitText(".msg.mine .edited", "edited", step),
		waitJS(`document.querySelector("#composer").value === "" && document.querySelector("#reply-bar").hidden`, step),
	)
	b.screenshot("86-buyer-edited")
	edited := []chromedp.Action[chromedp.Void]{
		waitText(bMsg+" .text", newText, step),
		waitText(bMsg+" .edited", "已编辑", step),
		waitText(`.msg.mine .quote[data-quote="`+seq+`"]`, newText, step),
		waitText("#pins .pin-text", newText, step),
		chromedp.WaitVisible(css(chip(bMsg, "👍") + `:not(.mine)[data-count="1"]`)),
	}
	a.do("seeing the edit live", 10*time.Second, edited...)
	a.screenshot("87-owner-sees-edit")
	a.do("reloading", step, append(append([]chromedp.Action[chromedp.Void]{chromedp.Reload()}, openA...), edited...)...)
	a.screenshot("88-owner-edit-after-reload")

	// Neither reactions nor edits have a line of their own.
	txt := get(a, "reading the chat", chromedp.Text(css("#messages")))
	for _, w := range []string{"reaction", "edit", "39 元"} {
		if strings.Contains(txt, w) {
			t.Errorf("the owner's chat shows %q: %q", w, txt)
		}
	}
	if n := eval[int](a, "counting lines", `document.querySelectorAll("#messages .msg").length`); n != 2 {
		t.Errorf("the owner's chat has %d messages, want 2", n)
	}

	// The owner, an admin, reads the earlier version; the buyer's own
	// "edited" label offers nothing (the node gives earlier versions to
	// admins only).
	a.do("reading the earlier versions", step,
		chromedp.Click(css(bMsg+" button.edited")),
		waitText("#versions-sheet", "龙井 39 元一两", step),
		waitText("#versions-sheet", newText, step),
		waitText("#versions-title", "编辑记录", step),
	)
	a.screenshot("89-owner-earlier-versions")
	a.do("closing the versions", step, chromedp.Click(css("#btn-versions-close")), chromedp.WaitNotPresent(css("#versions-sheet")))
	if n := eval[int](b, "looking for a versions button", `document.querySelectorAll(".msg button.edited").length`); n != 0 {
		t.Errorf("the buyer, not an admin, is offered earlier versions (%d buttons)", n)
	}

	// A refusal for a window that passed (the node's answer, stood in for
	// here: the real one needs a day) shows as one translated line, and
	// the composer stays in the edit.
	a.do("being refused", step,
		chromedp.Evaluate[chromedp.Void](`window.__realFetch = window.fetch; window.fetch = (url, opts) => String(url).endsWith("/api/v1/submit") ?
  Promise.resolve(new Response(JSON.stringify({ error: { code: "recall_window", message: "a message can be edited only within 24h0m0s of sending; message 5 was sent at 2024-05-01 10:00:00 UTC" } }),
    { status: 403, headers: { "Content-Type": "application/json" } })) : window.__realFetch(url, opts)`),
		chromedp.Click(css(".msg.mine .act-edit")),
		setComposer("还有货吗？要两斤"),
		chromedp.Click(css("#btn-send")),
		waitText("#group-status.error", "已超过编辑时限", step),
		chromedp.Evaluate[chromedp.Void](`window.fetch = window.__realFetch`),
	)
	if line := get(a, "reading the refusal", chromedp.Text(css("#group-status"))); line != "已超过编辑时限：消息发出后 24 小时内才能编辑。" {
		t.Errorf("the refusal reads %q", line)
	}
	a.screenshot("89-owner-edit-refused")
	a.do("giving up the edit", step,
		waitText("#btn-send", "保存", step),
		chromedp.Click(css("#btn-cancel-edit")),
		waitText("#btn-send", "发送", step),
		waitText(".msg.mine .text", "还有货吗？", step),
	)

	// 24 hours later the buyer's page offers no Edit (the clock moved on).
	b.do("waiting a day", step,
		chromedp.Evaluate[chromedp.Void](`window.__realNow = Date.now; Date.now = () => window.__realNow() + 25 * 3600e3`),
		chromedp.WaitNotPresent(css(".msg.mine .act-edit")),
		chromedp.Evaluate[chromedp.Void](`Date.now = window.__realNow`),
	)
}

// setComposer puts text in the composer, as typed.
func setComposer(text string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`(() => { const e = document.querySelector("#composer"); e.value = ` + jsString(text) + `; e.dispatchEvent(new Event("input")); })()`)
}
