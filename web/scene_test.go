package web_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
)

// scene is the shop most browser tests play in: node A hosts a group that
// its admin (the owner, through the Go SDK) made, with an open invite; a
// phone browser on each node: the shop's (node A, Chinese, 360×740) and a
// buyer's (node B, English, 390×844). Nothing is opened yet: openShop and
// join do that.
type scene struct {
	t          *testing.T
	ctx        context.Context // ends with the test (at most sceneTimeout)
	na, nb     testNode
	urlA, urlB string
	owner      *client.Client // the admin of node A, owner of the group
	gid        protocol.GroupID
	name       string // the group's
	token      string // the invite's
	shop       *browser
	buyer      *browser
}

// sceneStep bounds each step of a scene's set-up; sceneTimeout the Go
// SDK's calls of a whole test.
const (
	sceneStep    = 20 * time.Second
	sceneTimeout = 4 * time.Minute
)

// sceneOption changes how shopScene sets the scene up.
type sceneOption func(*sceneConfig)

type sceneConfig struct {
	shop, buyer string // the browsers' names (screenshots, logs)
	policy      *protocol.Policy
}

// withBrowsers names the shop's and the buyer's browser.
func withBrowsers(shop, buyer string) sceneOption {
	return func(c *sceneConfig) { c.shop, c.buyer = shop, buyer }
}

// withPolicy gives the group a join policy (approval: the invite leads to
// a join request).
func withPolicy(p protocol.Policy) sceneOption {
	return func(c *sceneConfig) { c.policy = &p }
}

// shopScene starts the two nodes, makes the group called name and its
// invite, and starts both browsers; uncaught exceptions and CSP breaches
// of either page fail the test at its end.
func shopScene(t *testing.T, name string, opts ...sceneOption) *scene {
	t.Helper()
	chromiumPath(t)
	cfg := sceneConfig{shop: "shop-zh", buyer: "buyer-en"}
	for _, o := range opts {
		o(&cfg)
	}
	art := artifactsDir(t)
	na, nb := startNode(t), startNode(t)
	sc := &scene{t: t, na: na, nb: nb, urlA: appURL(t, na), urlB: appURL(t, nb), name: name}
	ctx, cancel := context.WithTimeout(context.Background(), sceneTimeout)
	t.Cleanup(cancel)
	sc.ctx = ctx

	var host protocol.UserID
	sc.owner, host = nodeAdmin(t, na, sc.urlA, 10*time.Second)
	var err error
	sc.gid, _, err = sc.owner.CreateGroup(ctx, host, protocol.Settings{Name: &name, Policy: cfg.policy})
	if err != nil {
		t.Fatalf("creating the group: %v", err)
	}
	inv, _, err := sc.owner.CreateInvite(ctx, sc.gid, 0, time.Hour, "")
	if err != nil {
		t.Fatalf("creating the invite: %v", err)
	}
	sc.token = inv.Token()

	sc.shop = newBrowser(t, cfg.shop, 360, 740, "zh-CN", art)
	sc.buyer = newBrowser(t, cfg.buyer, 390, 844, "en-US", art)
	t.Cleanup(sc.shop.checkExceptions)
	t.Cleanup(sc.buyer.checkExceptions)
	return sc
}

// inGroup waits until a page shows the group's chat, live.
func (sc *scene) inGroup() []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		waitText("#group-name", sc.name, sceneStep),
		chromedp.WaitVisible(css("#composer")),
		chromedp.WaitVisible(css("#conn.live")),
	}
}

// openShop signs the shop's page in with node A's admin key and opens the
// group's chat.
func (sc *scene) openShop() {
	sc.t.Helper()
	sc.shop.do("opening the group", sceneStep, append([]chromedp.Action[chromedp.Void]{
		chromedp.Navigate(sc.urlA + "/"),
		chromedp.WaitVisible(css("#btn-import-key")),
		chromedp.SetValue(css("#key-import-text"), strings.TrimSpace(readFile(sc.t, filepath.Join(sc.na.dir, "admin.key")))),
		chromedp.Click(css("#btn-import-key")),
		chromedp.WaitVisible(css("#btn-new-group")),
		chromedp.Evaluate[chromedp.Void](`location.hash = "#/g/` + sc.gid.String() + `"`),
	}, sc.inGroup()...)...)
}

// join opens the invite on the buyer's page (node B), makes a key first
// when the page has none, and joins: the chat opens, live, with "You
// joined".
func (sc *scene) join() {
	sc.t.Helper()
	sc.buyer.do("opening the invite", sceneStep, sc.openInvite()...)
	sc.buyer.do("joining", sceneStep, append([]chromedp.Action[chromedp.Void]{
		chromedp.WaitVisible(css("#btn-join")),
		chromedp.Click(css("#btn-join")),
	}, append(sc.inGroup(), waitText("#messages", "You joined", sceneStep))...)...)
}

// openInvite opens the invite on the buyer's page, with a new key when
// the page has none, up to the preview.
func (sc *scene) openInvite() []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(sc.urlB + "/join#" + sc.token),
		chromedp.WaitVisible(css("#btn-new-key, #btn-join")),
		chromedp.Evaluate[chromedp.Void](`(() => { const b = document.querySelector("#btn-new-key"); if (b) b.click(); })()`),
		chromedp.WaitVisible(css("#btn-join")),
	}
}

// userID is the ID a page is signed in with (the title of its "me" link).
func userID(b *browser) string {
	b.t.Helper()
	return get(b, "reading the user's ID", chromedp.AttributeValue(css("#me"), "title")).Value
}

// eventually checks every 50 ms until check returns nil, and fails the
// test with its last error once timeout has passed.
func eventually(t *testing.T, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check()
		if err == nil {
			return
		}
		select {
		case <-deadline.C:
			t.Fatalf("after %s: %v", timeout, err)
		case <-tick.C:
		}
	}
}

// nodeAdmin returns the Go SDK client of node n's admin (its admin.key),
// talking to url, and the node's ID: the host of the groups it creates.
func nodeAdmin(t *testing.T, n testNode, url string, timeout time.Duration) (*client.Client, protocol.UserID) {
	t.Helper()
	key, err := client.LoadKey(filepath.Join(n.dir, "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(url, key, client.WithTimeout(timeout))
	if err != nil {
		t.Fatal(err)
	}
	host, err := protocol.ParseUserID(n.NodeInfo().PeerID)
	if err != nil {
		t.Fatal(err)
	}
	return c, host
}

// merchantSDK returns the Go SDK client of node n's admin and one of an API
// token with scopes, made by that admin: the shop's own systems.
func merchantSDK(t *testing.T, ctx context.Context, n testNode, url string, scopes ...string) (admin, erp *client.Client) {
	t.Helper()
	admin, _ = nodeAdmin(t, n, url, 10*time.Second)
	tok, err := admin.CreateToken(ctx, "shop", scopes)
	if err != nil {
		t.Fatal(err)
	}
	erp, err = client.New(url, nil, client.WithAPIToken(tok.Token), client.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return admin, erp
}
