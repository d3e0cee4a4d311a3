package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
)

// TestBridgedPeople: people of other networks that a bridge relays for
// (protocol 1.3). A bridge (Go SDK, a new key on node B, given the role
// bridge by the owner) relays a message for Alice of IRC: the shop's page
// (node A, Chinese, the owner) and the buyer's (node B, English) show it
// as "Alice (irc)", never as the bridge's, with the network in a badge of
// its own and initials; her card names the bridge, the network and her ID
// there. The shop mutes her in the members' "other networks" section: the
// host refuses the bridge's next relay for her (muted), and the page
// shows her muted, the chat "你 禁言了 Alice (irc)". Unmuted, removed (the
// relay is refused, not_member) and let back, she writes again, live on
// the buyer's page.
func TestBridgedPeople(t *testing.T) {
	sc := shopScene(t, "茶馆 IRC")
	shop, buyer, owner, gid, ctx := sc.shop, sc.buyer, sc.owner, sc.gid, sc.ctx
	const step = sceneStep
	sc.openShop()
	sc.join()

	// The bridge: a new key on node B, a member, then a bridge.
	key, err := protocol.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	bridge, err := client.New(sc.urlB, key, client.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bridge.Join(ctx, sc.token); err != nil {
		t.Fatalf("the bridge joining: %v", err)
	}
	if _, err := owner.SetRole(ctx, gid, key.ID(), protocol.RoleBridge); err != nil {
		t.Fatalf("making the bridge a bridge: %v", err)
	}
	alice := &protocol.Bridged{Network: "irc", User: "alice", Name: "Alice"}
	aliceID := alice.ID(key.ID()).String()
	relay := func(text string) error {
		_, err := bridge.Send(ctx, gid, protocol.MessageBody{Text: text, Bridged: alice})
		return err
	}
	if err := relay("hello from IRC"); err != nil {
		t.Fatalf("relaying for Alice: %v", err)
	}

	// Both pages show the message as hers.
	msg := `.msg[data-bridged="` + aliceID + `"]`
	for _, b := range []*browser{shop, buyer} {
		b.do("seeing Alice's message", step,
			waitText(msg+" .text", "hello from IRC", step),
			waitText(msg+" .author", "Alice (irc)", step),
			chromedp.WaitVisible(css(msg+" .author .net-badge")),
			waitText(msg+" .avatar.bridged .initials", "A", step),
		)
		if s := get(b, "reading the author", chromedp.Text(css(msg+" .author"))); strings.TrimSpace(s) != "Alice (irc)" {
			t.Errorf("%s: the relayed message shows as %q, want Alice (irc)", b.name, s)
		}
		if a := eval[string](b, "reading the signer", `document.querySelector(`+jsString(msg)+`).dataset.author`); a != key.ID().String() {
			t.Errorf("%s: the relayed message's signer is %q, want the bridge", b.name, a)
		}
	}
	buyer.screenshot("130-buyer-bridged-message")

	// Her card on the buyer's page: the bridge, the network, her ID there.
	buyer.do("opening Alice's card", step,
		chromedp.Click(css(msg+" .author")),
		chromedp.WaitVisible(css("#person-card")),
		waitText("#person-label", "Alice (irc)", step),
		waitText("#person-role", "Other network", step),
		waitText("#person-bridge", "Relayed by", step),
		waitText("#person-network", "irc", step),
		waitText("#person-remote", "alice", step),
		waitText("#person-id", aliceID, step),
	)
	buyer.screenshot("131-buyer-bridged-card")
	buyer.do("closing the card", step, tap("#btn-person-close"), chromedp.WaitNotPresent(css("#person-card")))

	// The shop mutes her in the members' list, other networks.
	row := `#bridged-list li[data-user="` + aliceID + `"]`
	shop.do("muting Alice", step,
		chromedp.Click(css("#btn-manage")),
		chromedp.WaitVisible(css(row+" .act-mute")),
		waitText("#bridged-section h2", "其他平台的成员", step),
		waitText(row+" .who", "Alice (irc)", step),
		waitText(row+" .who .net-badge", "(irc)", step),
		chromedp.SetValue(css(row+" .mute-dur"), "1h"),
		chromedp.Click(css(row+" .act-mute")),
		waitText(row+" .muted-badge", "禁言至", step),
		chromedp.WaitVisible(css(row+" .act-unmute")),
	)
	shop.screenshot("132-shop-bridged-muted")
	if err := relay("am I muted?"); protocol.AsError(err).Code != protocol.CodeMuted {
		t.Fatalf("relaying for a muted Alice: %v, want muted", err)
	}
	buyer.do("seeing the mute line", step, waitText("#messages", "muted Alice (irc) until", step))

	// Unmuted and removed: the host refuses her while she is out.
	shop.do("unmuting and removing Alice", step,
		chromedp.Click(css(row+" .act-unmute")),
		chromedp.WaitNotPresent(css(row+" .muted-badge")),
		chromedp.WaitNotPresent(css(row+" .act-unmute")),
		chromedp.Click(css(row+" .act-kick")),
		waitJS(`document.querySelector(`+jsString(row+" .act-kick")+`).dataset.armed === "1"`, step),
		chromedp.Click(css(row+" .act-kick")),
		waitText(row+" .removed-badge", "已移出", step),
		chromedp.WaitVisible(css(row+" .act-approve")),
	)
	shop.screenshot("133-shop-bridged-removed")
	if err := relay("am I out?"); protocol.AsError(err).Code != protocol.CodeNotMember {
		t.Fatalf("relaying for a removed Alice: %v, want not_member", err)
	}
	buyer.do("seeing the removal line", step, waitText("#messages", "removed Alice (irc)", step))

	// Let back: she writes again, live on the buyer's page.
	shop.do("letting Alice back", step,
		chromedp.Click(css(row+" .act-approve")),
		chromedp.WaitNotPresent(css(row+" .removed-badge")),
		chromedp.WaitVisible(css(row+" .act-kick")),
	)
	if err := relay("back again"); err != nil {
		t.Fatalf("relaying for Alice let back: %v", err)
	}
	buyer.do("seeing Alice write again", step,
		waitText("#messages", "let Alice (irc) back", step),
		waitJS(`[...document.querySelectorAll(`+jsString(msg+" .text")+`)].some((e) => e.textContent.includes("back again"))`, step),
	)
	buyer.screenshot("134-buyer-bridged-back")
	shop.do("seeing the moderation lines", step,
		chromedp.Click(css(".group-header .back")),
		chromedp.WaitVisible(css("#composer")),
		waitText("#messages", "你 禁言了 Alice (irc)", step),
		waitText("#messages", "你 将 Alice (irc) 移出了群", step),
		waitText("#messages", "你 允许 Alice (irc) 回到群里", step),
		waitJS(`[...document.querySelectorAll(`+jsString(msg+" .text")+`)].some((e) => e.textContent.includes("back again"))`, step),
	)
	shop.screenshot("135-shop-bridged-chat")
}

// TestBrowserBridgedNames: names.js shows a person of another network as
// "name (network)", else "user (network)", the network in a badge of its
// own; a member whose nick reads the same, and two people of the same
// label through two bridges, each get the end of their ID; a relayed
// message's newer name replaces the one of the group view.
func TestBrowserBridgedNames(t *testing.T) {
	chromiumPath(t)
	b := openModules(t)
	defer b.checkExceptions()
	k := func() string {
		key, err := protocol.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		return key.ID().String()
	}
	me, nickID, bridge1, bridge2 := k(), k(), k(), k()
	alice1 := protocol.BridgedID(mustUser(t, bridge1), "irc", "alice").String()
	alice2 := protocol.BridgedID(mustUser(t, bridge2), "irc", "alice").String()
	bob := protocol.BridgedID(mustUser(t, bridge1), "matrix", "@bob:example.org").String()
	type out struct {
		Bob, BobText, BobBadge, Alice1, Alice2, Nick, Renamed, Initials string
		MemberBadge                                                     bool
		New, Again                                                      string
	}
	o := eval[out](b, "labelling bridged people", `(async () => {
  const N = await import("/js/names.js");
  const n = new N.Names(`+jsString(me)+`);
  n.setMembers([{user: `+jsString(me)+`, role: "owner"}, {user: `+jsString(nickID)+`, role: "member", nick: "Alice (irc)"}], 10);
  n.setBridged([
    {id: `+jsString(alice1)+`, network: "irc", user: "alice", name: "Alice", bridge: `+jsString(bridge1)+`, first: 3},
    {id: `+jsString(alice2)+`, network: "irc", user: "alice", name: "Alice", bridge: `+jsString(bridge2)+`, first: 4},
    {id: `+jsString(bob)+`, network: "matrix", user: "@bob:example.org", bridge: `+jsString(bridge1)+`, first: 5},
  ], 10);
  const el = N.nameEl(n, `+jsString(bob)+`);
  const r = {
    Bob: n.plain(`+jsString(bob)+`), BobText: el.textContent, BobBadge: (el.querySelector(".net-badge") || {}).textContent || "",
    Alice1: n.plain(`+jsString(alice1)+`), Alice2: n.plain(`+jsString(alice2)+`), Nick: n.plain(`+jsString(nickID)+`),
    MemberBadge: !!N.nameEl(n, `+jsString(nickID)+`).querySelector(".net-badge"),
  };
  r.New = String(n.noteBridged({id: "12D3KooWnew", network: "xmpp", user: "carol@example.org"}, `+jsString(bridge1)+`, 11));
  r.Again = String(n.noteBridged({id: `+jsString(bob)+`, network: "matrix", user: "@bob:example.org", name: "Bob"}, `+jsString(bridge1)+`, 12));
  r.Renamed = n.plain(`+jsString(bob)+`);
  r.Initials = N.avatarEl(n, `+jsString(bob)+`).textContent;
  return r;
})()`)
	if o.Bob != "@bob:example.org (matrix)" || o.BobText != o.Bob || o.BobBadge != "(matrix)" {
		t.Errorf("a bridged person without a name: label %q, element %q, badge %q", o.Bob, o.BobText, o.BobBadge)
	}
	for _, c := range []struct{ label, id string }{{o.Alice1, alice1}, {o.Alice2, alice2}, {o.Nick, nickID}} {
		if !strings.HasPrefix(c.label, "Alice (irc) · ") || !strings.HasSuffix(c.id, strings.TrimPrefix(c.label, "Alice (irc) · ")) {
			t.Errorf("three people shown as Alice (irc): one is %q, want the end of its ID %s", c.label, c.id)
		}
	}
	if o.Alice1 == o.Alice2 || o.Alice1 == o.Nick {
		t.Errorf("two people show the same label: %q %q %q", o.Alice1, o.Alice2, o.Nick)
	}
	if o.MemberBadge {
		t.Error("a member's nick shows a network badge")
	}
	if o.New != "new" || o.Again != "true" || o.Renamed != "Bob (matrix)" || o.Initials != "B" {
		t.Errorf("relayed messages: new %q, renamed %q (%q), initials %q", o.New, o.Again, o.Renamed, o.Initials)
	}
}
