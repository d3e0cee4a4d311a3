package web_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
)

// smallTargetsJS lists what a person taps on the page (buttons, link
// buttons, the back arrow, the topbar's links, the rows of the lists) that
// is shown and smaller than 44×44 CSS px, as "what W×H" lines. A name in
// a line of text (.name.tap) keeps its size in the line: what counts for
// it is the box that takes its taps (its ::after), which must take the
// taps 21 px left and right of its middle. (Above and below, the names of
// two system lines one under the other share their boxes' edges: the
// lines are 24 px apart.) While a card is open (a .backdrop), only what is
// on the card counts: the page under it takes no taps.
const smallTargetsJS = `(() => {
  const sel = "button, a.button, [role=button], [role=tab], a.back, .topbar a, .group-link, .list > li, .mention-option, .pin-text";
  const out = [];
  const takes = (el, x, y) => { const at = document.elementFromPoint(x, y); return !!at && (at === el || el.contains(at)); };
  const modal = document.querySelector(".backdrop"); // an open card: only its content can be tapped
  for (const el of document.querySelectorAll(sel)) {
    if (!el.checkVisibility({ visibilityProperty: true, opacityProperty: true })) continue;
    if (modal && !modal.contains(el)) continue;
    let r = el.getBoundingClientRect();
    if (!r.width || !r.height || (r.width >= 44 && r.height >= 44)) continue;
    let w = r.width, h = r.height;
    if (el.matches(".name.tap")) {
      el.scrollIntoView({ block: "center", inline: "center" });
      r = el.getBoundingClientRect();
      const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
      const area = getComputedStyle(el, "::after");
      w = Math.max(r.width, parseFloat(area.width) || 0);
      h = Math.max(r.height, parseFloat(area.height) || 0);
      if (w >= 44 && h >= 44 && [-21, 0, 21].every((dx) => takes(el, cx + dx, cy))) continue;
    }
    const what = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (typeof el.className === "string" && el.className.trim() ? "." + el.className.trim().split(/\s+/).join(".") : "");
    out.push(what + " “" + el.textContent.trim().slice(0, 24) + "” " + Math.round(w) + "×" + Math.round(h));
  }
  scrollTo(0, 0);
  return out;
})()`

// box is an element's bounding box in CSS px; Shown says it is rendered
// and inside the viewport.
type box struct {
	X, Y, W, H float64
	Shown      bool
}

func (a box) overlaps(b box) bool {
	return a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H
}

// boxOf reads the box of the element of sel (zero when there is none).
func boxOf(b *browser, sel string) box {
	b.t.Helper()
	return eval[box](b, "measuring "+sel, `(() => {
  const e = document.querySelector(`+jsString(sel)+`);
  if (!e) return { X: 0, Y: 0, W: 0, H: 0, Shown: false };
  const r = e.getBoundingClientRect();
  const shown = e.checkVisibility() && r.width > 0 && r.height > 0 && r.left < innerWidth && r.top < innerHeight && r.right > 0 && r.bottom > 0;
  return { X: r.left, Y: r.top, W: r.width, H: r.height, Shown: shown };
})()`)
}

// checkTargets fails the test for every tap target of the page that is
// smaller than 44×44 px; where names the screen.
func checkTargets(t *testing.T, b *browser, where string) {
	t.Helper()
	for _, s := range eval[[]string](b, "measuring the tap targets", smallTargetsJS) {
		t.Errorf("%s: a tap target under 44×44 px: %s", where, s)
	}
}

// TestDesktopLayout: the web client on a wide screen (issue 8). On one
// node the admin (Go SDK) has two groups, Tea and Coffee, among ten
// others, and a member (Go SDK) who writes in both. A 1280×800 browser
// signed in with the admin's key shows the list of groups and a hint side
// by side; a click on Tea opens its chat on the right with the list still
// there (their boxes do not overlap), and a click on Coffee switches the
// chat while the list stays the same element at the same scroll position.
// A message of the member shows in the open chat and in the list's
// preview; one in the other group updates that group's preview and unread
// count and leaves the chat alone. Narrowed below 900 px the open chat
// stays and the list goes; widened, the list is back. The manage panel
// opens on the right too; with no group open the right side has a hint in
// the user's language. At 390×844 only one screen shows at a time, and every button, link
// button and row on the list, chat and manage screens is at least 44×44 px.
func TestDesktopLayout(t *testing.T) {
	chromiumPath(t)
	art := artifactsDir(t)
	n := startNode(t)
	url := appURL(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), sceneTimeout)
	defer cancel()
	const step = sceneStep

	owner, host := nodeAdmin(t, n, url, 10*time.Second)
	group := func(name string) protocol.GroupID {
		gid, _, err := owner.CreateGroup(ctx, host, protocol.Settings{Name: &name})
		if err != nil {
			t.Fatalf("creating %s: %v", name, err)
		}
		return gid
	}
	// Ten groups without messages make the list longer than the window.
	for i := range 10 {
		group(fmt.Sprintf("Filler %02d", i+1))
	}
	tea, coffee := group("Tea"), group("Coffee")
	memberKey, err := protocol.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	member, err := client.New(url, memberKey, client.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	send := func(gid protocol.GroupID, text string) {
		t.Helper()
		if _, err := member.Send(ctx, gid, protocol.MessageBody{Text: text}); err != nil {
			t.Fatalf("sending %q: %v", text, err)
		}
	}
	for _, gid := range []protocol.GroupID{coffee, tea} {
		inv, _, err := owner.CreateInvite(ctx, gid, 0, time.Hour, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := member.Join(ctx, inv.Token()); err != nil {
			t.Fatalf("the member joining: %v", err)
		}
	}
	// Coffee's message first: Tea is the first group of the list, Coffee
	// the second.
	send(coffee, "a flat white, please")
	send(tea, "is the longjing in?")
	yes, err := owner.Send(ctx, tea, protocol.MessageBody{Text: "yes, since Monday"})
	if err != nil {
		t.Fatal(err)
	}
	// A pin: its line and its unpin button are tap targets too.
	if _, err := owner.Pin(ctx, tea, yes.Seq); err != nil {
		t.Fatal(err)
	}

	row := func(gid protocol.GroupID) string { return `#groups li[data-group="` + gid.String() + `"]` }
	link := func(gid protocol.GroupID) string { return row(gid) + " a.group-link" }

	// The wide window: the list and a hint side by side.
	d := newBrowser(t, "desktop-en", 1280, 800, "en-US", art)
	defer d.checkExceptions()
	d.do("signing in", step,
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(css("#btn-import-key")),
		chromedp.SetValue(css("#key-import-text"), strings.TrimSpace(readFile(t, filepath.Join(n.dir, "admin.key")))),
		chromedp.Click(css("#btn-import-key")),
		waitText(row(tea)+" .preview", "yes, since Monday", step),
		waitText(row(coffee)+" .preview", "a flat white, please", step),
		waitText("#pane-hint", "Choose a group on the left", step),
		chromedp.WaitVisible(css("#conn.live")),
	)
	if order := eval[[]string](d, "reading the list", `[...document.querySelectorAll("#groups li .name")].slice(0, 2).map((e) => e.textContent)`); strings.Join(order, ",") != "Tea,Coffee" {
		t.Fatalf("the list starts with %q, want Tea, Coffee", order)
	}
	side, hint := boxOf(d, "#side"), boxOf(d, "#pane-hint")
	if !side.Shown || !hint.Shown || side.overlaps(hint) || side.X >= hint.X {
		t.Errorf("the list %+v and the hint %+v are not side by side", side, hint)
	}
	if side.W < 280 || side.W > 360 {
		t.Errorf("the list is %.0f px wide, want about 320", side.W)
	}
	d.screenshot("70-desktop-no-group")

	// Tea opens on the right; the list stays.
	d.do("opening Tea", step,
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#side").dataset.mark = "kept"`),
		chromedp.Click(css(link(tea))),
		waitText("#group-name", "Tea", step),
		waitText("#messages", "yes, since Monday", step),
		chromedp.WaitVisible(css("#composer")),
	)
	sideBox, chat := boxOf(d, "#side"), boxOf(d, "#group")
	if !sideBox.Shown || !chat.Shown || sideBox.overlaps(chat) || sideBox.X >= chat.X {
		t.Errorf("the list %+v and the chat %+v are not side by side", sideBox, chat)
	}
	if list := boxOf(d, "#groups"); !list.Shown {
		t.Error("the list of groups is not shown beside the chat")
	}
	if vw := eval[float64](d, "reading the window's width", `innerWidth`); chat.X+chat.W > vw || chat.X+chat.W < vw-40 || chat.W < 700 {
		t.Errorf("the chat %+v does not fill the right side of a window %.0f px wide", chat, vw)
	}
	if c := boxOf(d, "#composer"); !c.Shown {
		t.Errorf("the composer %+v is not in the window", c)
	}
	if boxOf(d, ".group-header .back").Shown {
		t.Error("the back arrow to the list shows beside the list")
	}
	if cur := eval[string](d, "reading the open group", `document.querySelector("#groups a[aria-current]")?.closest("li").dataset.group || ""`); cur != tea.String() {
		t.Errorf("the list marks %q as open, want Tea", cur)
	}

	// Scrolled down a little, a click on Coffee switches the chat; the list
	// is the same element at the same scroll position.
	scroll := eval[float64](d, "scrolling the list", `(() => {
  const s = document.querySelector("#side");
  if (s.scrollHeight <= s.clientHeight + 60) return -1;
  s.scrollTop = 60;
  return s.scrollTop;
})()`)
	if scroll != 60 {
		t.Fatalf("the list does not scroll on its own (scrollTop %v)", scroll)
	}
	d.do("switching to Coffee", step,
		chromedp.Click(css(link(coffee))),
		waitText("#group-name", "Coffee", step),
		waitText("#messages", "a flat white, please", step),
		chromedp.WaitVisible(css("#composer")),
	)
	type sideState struct {
		Mark   string
		Scroll float64
		Open   string
	}
	st := eval[sideState](d, "reading the list", `(() => {
  const s = document.querySelector("#side");
  return { Mark: s.dataset.mark || "", Scroll: s.scrollTop, Open: s.querySelector("a[aria-current]")?.closest("li").dataset.group || "" };
})()`)
	if st.Mark != "kept" || st.Scroll != 60 || st.Open != coffee.String() {
		t.Errorf("after the switch the list is %+v, want the same element (kept) at scrollTop 60 with Coffee open", st)
	}
	if s := boxOf(d, "#side"); s != sideBox {
		t.Errorf("the list moved from %+v to %+v", sideBox, s)
	}
	d.screenshot("71-desktop-coffee")

	// A message in the open group: in the chat and in its preview. One in
	// the other group: its preview and unread count; the chat stays.
	send(coffee, "and a croissant")
	d.do("seeing the message in the chat and the list", step,
		waitText("#messages", "and a croissant", step),
		waitText(row(coffee)+" .preview", "and a croissant", step),
	)
	send(tea, "I will take 100 g")
	d.do("seeing the other group's message in the list", step,
		waitText(row(tea)+" .preview", "I will take 100 g", step),
		waitText(row(tea)+" .unread", "1", step),
	)
	if name := get(d, "reading the chat's name", chromedp.Text(css("#group-name"))); name != "Coffee" {
		t.Errorf("the chat shows %q after a message elsewhere, want Coffee", name)
	}
	if txt := get(d, "reading the chat", chromedp.Text(css("#messages"))); strings.Contains(txt, "100 g") {
		t.Error("Tea's message shows in Coffee's chat")
	}
	if u := eval[bool](d, "reading Coffee's unread", `!document.querySelector(`+jsString(row(coffee)+" .unread")+`).hidden`); u {
		t.Error("the open group counts its message as unread")
	}
	d.screenshot("72-desktop-live")

	// Narrowed below 900 px, the open chat stays as it is (not opened
	// again) and the list goes; wide again, the list is back beside it.
	d.do("narrowing the window", step,
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#group").dataset.mark = "same"`),
		chromedp.EmulateViewport(800, 650),
		chromedp.WaitNotPresent(css("#side")),
		chromedp.WaitVisible(css("#composer")),
	)
	if mark := eval[string](d, "reading the chat", `document.querySelector("#group").dataset.mark || ""`); mark != "same" {
		t.Error("the chat was opened again when the window narrowed")
	}
	if !boxOf(d, ".group-header .back").Shown {
		t.Error("the narrow window's chat has no back arrow")
	}
	d.screenshot("72b-narrowed")
	d.do("widening the window", step,
		chromedp.EmulateViewport(1280, 700),
		chromedp.WaitVisible(css("#side")),
		waitText(row(coffee)+" .preview", "and a croissant", step),
		chromedp.WaitVisible(css("#composer")),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#side").dataset.mark = "kept"`),
	)
	if mark := eval[string](d, "reading the chat", `document.querySelector("#group").dataset.mark || ""`); mark != "same" {
		t.Error("the chat was opened again when the window widened")
	}
	if cur := eval[string](d, "reading the open group", `document.querySelector("#groups a[aria-current]")?.closest("li").dataset.group || ""`); cur != coffee.String() {
		t.Errorf("widened, the list marks %q as open, want Coffee", cur)
	}

	// The manage panel opens on the right; its back arrow goes to the chat.
	d.do("opening the manage panel", step,
		chromedp.Click(css("#btn-manage")),
		chromedp.WaitVisible(css("#member-list")),
	)
	if m, s := boxOf(d, "#manage"), boxOf(d, "#side"); !m.Shown || !s.Shown || m.overlaps(s) {
		t.Errorf("the list %+v and the manage panel %+v are not side by side", s, m)
	}
	if !boxOf(d, ".group-header .back").Shown {
		t.Error("the manage panel has no back arrow to its chat")
	}
	d.screenshot("73-desktop-manage")
	d.do("going back to the chat", step,
		chromedp.Click(css(".group-header .back")),
		waitText("#messages", "and a croissant", step),
	)
	// Back to "/#/": the hint again, the list still the same.
	d.do("closing the group", step,
		chromedp.Evaluate[chromedp.Void](`location.hash = "#/"`),
		chromedp.WaitVisible(css("#pane-hint")),
		chromedp.WaitNotPresent(css("#group")),
	)
	if mark := eval[string](d, "reading the list", `document.querySelector("#side").dataset.mark || ""`); mark != "kept" {
		t.Error("the list was built again when the group closed")
	}
	// The hint is in the user's language.
	d.do("switching to Chinese", step,
		chromedp.Click(css(".topbar .lang")),
		waitText("#pane-hint", "在左侧选择一个群", step),
		waitText("#side h1", "我的群", step),
	)

	// A phone: one screen at a time, and tap targets of at least 44 px.
	p := newBrowser(t, "phone-en", 390, 844, "en-US", art)
	defer p.checkExceptions()
	p.do("signing in on a phone", step,
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(css("#btn-import-key")),
		chromedp.SetValue(css("#key-import-text"), strings.TrimSpace(readFile(t, filepath.Join(n.dir, "admin.key")))),
		chromedp.Click(css("#btn-import-key")),
		waitText(row(tea)+" .preview", "I will take 100 g", step),
		chromedp.WaitVisible(css("#conn.live")),
	)
	if n := eval[int](p, "counting the screens", `document.querySelectorAll("#side, #pane, #pane-hint, #group").length`); n != 0 {
		t.Errorf("the phone's list of groups shows %d parts of the desktop layout", n)
	}
	checkTargets(t, p, "the list of groups")
	p.screenshot("74-phone-list")
	p.do("opening Tea on a phone", step,
		chromedp.Click(css(link(tea))),
		waitText("#messages", "I will take 100 g", step),
		chromedp.WaitVisible(css("#composer")),
	)
	if n := eval[int](p, "looking for the list", `document.querySelectorAll("#groups, #side").length`); n != 0 {
		t.Error("the phone shows the list of groups beside the chat")
	}
	if b := boxOf(p, "#group"); !b.Shown || b.X > 20 || b.W < 350 {
		t.Errorf("the phone's chat %+v does not fill the screen", b)
	}
	if !boxOf(p, ".group-header .back").Shown {
		t.Error("the phone's chat has no back arrow")
	}
	p.do("seeing the pin", step, waitText("#pins", "yes, since Monday", step))
	if over := eval[float64](p, "measuring the page", `document.scrollingElement.scrollHeight - innerHeight`); over > 1 {
		t.Errorf("the phone's chat is %.0f px higher than the screen", over)
	}
	checkTargets(t, p, "the chat")
	p.screenshot("75-phone-chat")
	for _, tab := range []string{"members", "requests", "invites", "settings"} {
		if tab == "members" {
			p.do("opening the manage panel on a phone", step, chromedp.Click(css("#btn-manage")), chromedp.WaitVisible(css("#member-list")))
		} else {
			p.do("opening the tab "+tab, step, chromedp.Click(css("#tab-"+tab)), chromedp.WaitVisible(css("#panel-"+tab)))
		}
		checkTargets(t, p, "the manage panel's "+tab)
		p.screenshot("76-phone-manage-" + tab)
	}
	p.do("going back to the list", step,
		chromedp.Click(css(".group-header .back")),
		chromedp.WaitVisible(css("#composer")),
		chromedp.Click(css(".group-header .back")),
		chromedp.WaitVisible(css("#groups")),
	)
}
