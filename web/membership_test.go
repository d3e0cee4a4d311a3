package web_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/qunchat/qun/protocol"
)

// liveWithin is how soon what an admin did to a user shows on the user's
// page, without a reload.
const liveWithin = 2 * time.Second

// TestMembershipLive: the buyer's page reacts at once to what the node
// pushes about the buyer's membership ({"type": "membership"} on the
// WebSocket, subscribed to the group or not). The group needs approval:
// the buyer (node B, English) asks to join and waits on the request
// screen; the owner approves on its page (node A, Chinese), and the
// buyer's page opens the group within 2 s, and lists it. Then, through the
// Go SDK, a role (the admin's controls come and go), a mute (the muted
// state shows on the composer), an unmute (it goes) and a kick (one line
// says so, with the reason, the composer is disabled, the group leaves
// the list) each reach the buyer's page within 2 s.
func TestMembershipLive(t *testing.T) {
	sc := shopScene(t, "VIP 茶友会", withPolicy(protocol.PolicyApproval))
	shop, buyer, owner, gid, ctx := sc.shop, sc.buyer, sc.owner, sc.gid, sc.ctx
	const step = sceneStep
	sc.openShop()
	buyer.do("asking to join", step, append(sc.openInvite(),
		chromedp.WaitVisible(css("#btn-request")),
		chromedp.SendKeys(css("#join-note"), "order 7"),
		chromedp.Click(css("#btn-request")),
		waitText("#join-status.ok", "Request sent", step),
		chromedp.Evaluate[chromedp.Void](`window.__qunMark = "no reload"`),
	)...)
	bID := userID(buyer)
	buyer.screenshot("100-buyer-waiting")
	req := `#request-list li[data-user="` + bID + `"]`
	shop.do("seeing the request", step,
		chromedp.Click(css("#btn-manage")),
		chromedp.WaitVisible(css("#tab-requests")),
		chromedp.Click(css("#tab-requests")),
		chromedp.WaitVisible(css(req+" .act-approve")),
		waitText(req+" .note", "order 7", step),
	)

	// within runs steps on the buyer's page that must be done by
	// liveWithin after since, and logs how long it took.
	within := func(what string, since time.Time, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		left := liveWithin - time.Since(since)
		if left < 100*time.Millisecond {
			left = 100 * time.Millisecond
		}
		buyer.do(what, left, steps...)
		d := time.Since(since)
		if d > liveWithin {
			t.Errorf("%s took %s, want within %s", what, d.Round(time.Millisecond), liveWithin)
		}
		t.Logf("%s: %s", what, d.Round(time.Millisecond))
	}

	// Approved on the owner's page: the buyer's page opens the group.
	approved := time.Now()
	shop.do("approving", step, chromedp.Click(css(req+" .act-approve")))
	within("the approval opening the group", approved, append(sc.inGroup(), waitText("#messages", "let you in", liveWithin))...)
	if mark := eval[string](buyer, "reading the mark", `String(window.__qunMark)`); mark != "no reload" {
		t.Errorf("the buyer's page was reloaded (mark %q)", mark)
	}
	buyer.screenshot("101-buyer-approved")
	buyer.do("seeing the group in the list", step,
		chromedp.Click(css(".group-header .back")),
		chromedp.WaitVisible(css(`#groups li[data-group="`+gid.String()+`"] a[href]`)),
		chromedp.Click(css(`#groups li[data-group="`+gid.String()+`"] a`)),
	)
	buyer.do("back in the chat", step, sc.inGroup()...)

	// A role: the admin's controls come, and go.
	user := mustUser(t, bID)
	since := time.Now()
	if _, err := owner.SetRole(ctx, gid, user, protocol.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	within("the admin role", since, chromedp.WaitVisible(css("#btn-manage")), chromedp.WaitNotPresent(css("#btn-info")))
	since = time.Now()
	if _, err := owner.SetRole(ctx, gid, user, protocol.RoleMember); err != nil {
		t.Fatal(err)
	}
	within("the member role again", since, chromedp.WaitNotPresent(css("#btn-manage")), chromedp.WaitVisible(css("#btn-info")))

	// A mute: the composer shows it; an unmute clears it.
	since = time.Now()
	if _, err := owner.Mute(ctx, gid, user, 10*time.Minute, ""); err != nil {
		t.Fatal(err)
	}
	within("the mute", since,
		waitText("#muted-note", "You are muted in this group until", liveWithin),
		chromedp.WaitVisible(css("#muted-note")),
		waitJS(`document.querySelector(".composer").classList.contains("muted") && document.querySelector("#composer").placeholder === "You are muted"`, liveWithin),
	)
	buyer.screenshot("102-buyer-muted")
	since = time.Now()
	if _, err := owner.Unmute(ctx, gid, user); err != nil {
		t.Fatal(err)
	}
	within("the unmute", since,
		chromedp.WaitNotVisible(css("#muted-note")),
		waitJS(`!document.querySelector(".composer").classList.contains("muted") && document.querySelector("#composer").placeholder === "Message (@ to mention)" && !document.querySelector("#composer").matches(":disabled")`, liveWithin),
	)
	buyer.do("writing", step,
		chromedp.SendKeys(css("#composer"), "thanks!"),
		chromedp.Click(css("#btn-send")),
		waitText(".msg.mine .text", "thanks!", step),
	)

	// A kick: one line says so, the composer is disabled, nothing a
	// member could do is offered.
	since = time.Now()
	if _, err := owner.Kick(ctx, gid, user, "spam links"); err != nil {
		t.Fatal(err)
	}
	within("the kick", since,
		waitText("#muted-note", "You were removed from this group.", liveWithin),
		waitJS(`document.querySelector("#composer").matches(":disabled") && document.querySelector("#btn-send").matches(":disabled")`, liveWithin),
		chromedp.WaitNotPresent(css("#btn-info")),
		chromedp.WaitNotPresent(css(".msg.mine .act-reply")),
	)
	buyer.do("reading the reason", step, waitText("#muted-note", "You were removed from this group. Reason: spam links", step))
	note := get(buyer, "reading the line", chromedp.Text(css("#muted-note")))
	if strings.Contains(note, "\n") || len([]rune(note)) > 160 {
		t.Errorf("the removal is not one short line: %q", note)
	}
	if st := get(buyer, "reading the status line", chromedp.Text(css("#group-status"))); st != "" {
		t.Errorf("besides the removal line the chat says %q", st)
	}
	buyer.screenshot("103-buyer-kicked")
	holdsFor(t, 300*time.Millisecond, func() error {
		if !get(buyer, "looking at the composer", chromedp.Evaluate[bool](`document.querySelector("#composer").matches(":disabled")`)) {
			return fmt.Errorf("the composer came back after the kick")
		}
		return nil
	})
	buyer.do("seeing the group leave the list", step,
		chromedp.Click(css(".group-header .back")),
		chromedp.WaitVisible(css("#no-groups")),
		chromedp.WaitNotPresent(css(`#groups li[data-group="`+gid.String()+`"]`)),
	)
	buyer.screenshot("104-buyer-list-after-kick")
	if mark := eval[string](buyer, "reading the mark", `String(window.__qunMark)`); mark != "no reload" {
		t.Errorf("the buyer's page was reloaded (mark %q)", mark)
	}
}
