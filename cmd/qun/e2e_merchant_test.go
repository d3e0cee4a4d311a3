package main

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/internal/testserver"
)

// qunWithToken runs the qun binary with $QUN_TOKEN set.
func qunWithToken(token string) func(*testing.T, ...string) (string, string, int) {
	return func(t *testing.T, args ...string) (string, string, int) {
		t.Helper()
		return qunEnv(t, []string{"QUN_TOKEN=" + token}, args...)
	}
}

// TestE2EMerchantCLI: a node admin makes an API token; a merchant's
// script, with only the token, makes an order group and an order's invite
// (QR code to a file); a buyer on another node joins with the bare token;
// the admin sees the order on the member; a revoked token is refused with
// a reason.
func TestE2EMerchantCLI(t *testing.T) {
	a, b := startProc(t, t.TempDir()), startProc(t, t.TempDir())
	admin := []string{"--api", a.api, "--key", filepath.Join(a.dir, "admin.key")}
	out := must(t, qunCLI, append([]string{"token", "create", "--name", "erp", "--scopes", "groups,invites,orders"}, admin...)...)
	token, rest, _ := strings.Cut(out, "\n")
	if !strings.HasPrefix(token, "qun_") || !strings.Contains(rest, "shown this once") {
		t.Fatalf("token create printed %q", out)
	}
	list := must(t, qunCLI, append([]string{"token", "list"}, admin...)...)
	if !strings.Contains(list, "erp") || strings.Contains(list, token) {
		t.Fatalf("token list printed %q", list)
	}

	erp := qunWithToken(token)
	var g struct{ Group string }
	if err := json.Unmarshal([]byte(must(t, erp, "order", "group", "--name", "Order A1001", "--api", a.api, "--json")), &g); err != nil {
		t.Fatal(err)
	}
	qr := filepath.Join(t.TempDir(), "A1001.png")
	var inv struct{ Token, Link, Ref string }
	if err := json.Unmarshal([]byte(must(t, erp, "order", "invite", g.Group, "A1001", "--buyer", "u-77", "--qr", qr, "--api", a.api, "--json")), &inv); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(qr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(f); err != nil {
		t.Fatalf("the QR file is no PNG: %v", err)
	}
	f.Close()
	human := must(t, erp, "order", "invite", g.Group, "A1001", "--api", a.api)
	if !strings.Contains(human, "made before") || !strings.Contains(human, inv.Token) {
		t.Fatalf("asking again printed %q", human)
	}

	buyerKey := filepath.Join(t.TempDir(), "buyer.key")
	must(t, qunCLI, "key", "new", "--key", buyerKey)
	must(t, qunCLI, "join", inv.Token, "--api", b.api, "--key", buyerKey)
	info := must(t, qunCLI, append([]string{"group", "info", g.Group}, admin...)...)
	if !strings.Contains(info, "order A1001 · buyer u-77") {
		t.Fatalf("the admin does not see the order on the member:\n%s", info)
	}

	// A broadcast to the order group, and its status.
	var bc struct{ ID, State string }
	if err := json.Unmarshal([]byte(must(t, erp, "broadcast", "--group", g.Group, "--mention-all", "live", "now", "--api", a.api, "--json")), &bc); err != nil || bc.ID == "" {
		t.Fatalf("broadcast: %+v %v", bc, err)
	}
	testserver.WaitUntil(t, 10*time.Second, "the broadcast sent", func() bool {
		return strings.Contains(must(t, erp, "broadcast", "status", bc.ID, "--api", a.api), ": sent, 1 of 1 groups")
	})
	if out := must(t, erp, "tag", g.Group, "VIP", "老客", "--api", a.api); !strings.Contains(out, "vip, 老客") {
		t.Fatalf("tag printed %q", out)
	}
	if svc := must(t, erp, "service", "--api", a.api); !strings.Contains(svc, "[vip, 老客]") {
		t.Fatalf("service does not show the tags: %q", svc)
	}
	var tb struct{ ID string }
	if err := json.Unmarshal([]byte(must(t, erp, "broadcast", "--tag", "老客", "老客专享", "--api", a.api, "--json")), &tb); err != nil || tb.ID == "" {
		t.Fatalf("broadcast --tag: %+v %v", tb, err)
	}
	testserver.WaitUntil(t, 10*time.Second, "the tagged broadcast sent", func() bool {
		return strings.Contains(must(t, erp, "broadcast", "status", tb.ID, "--api", a.api), ": sent, 1 of 1 groups")
	})
	if _, errs, code := erp(t, "tag", g.Group, "a,b", "--api", a.api); code != 1 || !strings.Contains(errs, "comma") {
		t.Fatalf("a tag with a comma: exit %d, %q", code, errs)
	}
	if _, errs, code := erp(t, "broadcast", "hello", "--api", a.api); code != 1 || !strings.Contains(errs, "name the groups") {
		t.Fatalf("a broadcast to nothing: exit %d, %q", code, errs)
	}

	// A live code.
	var fam struct{ ID, Link string }
	if err := json.Unmarshal([]byte(must(t, erp, "live", "create", "--name", "粉丝群", "--cap", "2", "--api", a.api, "--json")), &fam); err != nil || !strings.Contains(fam.Link, "/l/") {
		t.Fatalf("live create: %+v %v", fam, err)
	}
	if show := must(t, erp, "live", "show", fam.ID, "--api", a.api); !strings.Contains(show, "0 people in 1 groups of up to 2") {
		t.Fatalf("live show: %q", show)
	}

	// Rules of a group the admin owns, from the command line.
	own := qunJSON(t, append([]string{"group", "create", "--name", "Fans"}, admin...)...)["group"].(string)
	must(t, qunCLI, append([]string{"rules", own, "--refuse-links", "--new-member-days", "3", "--strikes", "3", "--action", "mute", "--reply", "price:See the pinned list", "--welcome", "欢迎", "--slow", "30s"}, admin...)...)
	if info := must(t, qunCLI, append([]string{"group", "info", own}, admin...)...); !strings.Contains(info, "rules: refuse links from members of less than 3 days; slow mode: one message per 30 s; 3 strikes → mute 60 min; a welcome; 1 keyword replies") {
		t.Fatalf("group info does not show the rules:\n%s", info)
	}
	must(t, qunCLI, append([]string{"announce", own, "Live on Friday"}, admin...)...)
	if _, errs, code := qunCLI(t, append([]string{"confirm", own}, admin...)...); code != 0 {
		t.Fatalf("confirm: exit %d, %q", code, errs)
	}
	if info := must(t, qunCLI, append([]string{"group", "info", own}, admin...)...); !strings.Contains(info, "confirmed by 1 of 1 members") {
		t.Fatalf("group info does not count the confirmation:\n%s", info)
	}
	if _, errs, code := qunCLI(t, append([]string{"confirm", own}, admin...)...); code != 1 || !strings.Contains(errs, "already") {
		t.Fatalf("confirming twice: exit %d, %q", code, errs)
	}
	if st := must(t, erp, "stats", own, "--days", "3", "--api", a.api); !strings.Contains(st, "1 members; 0 wrote in the last 7 days") || strings.Count(st, "\n") != 5 || !strings.Contains(st, "        0      0       0") {
		t.Fatalf("stats: %q", st)
	}
	if csv := must(t, erp, "stats", own, "--csv", "--api", a.api); !strings.HasPrefix(csv, "date,members,joins_order") || strings.Count(csv, "\n") != 31 {
		t.Fatalf("stats --csv: %q", csv)
	}
	if st := must(t, erp, "stats", "--live", fam.ID, "--api", a.api); !strings.Contains(st, "0 members") {
		t.Fatalf("stats --live: %q", st)
	}
	for _, bad := range [][]string{{"--strikes", "3"}, {"--reply", "no colon"}, {"--clear", "--refuse-links"}, {}, {"--slow", "2h"}, {"--slow", "1.5s"}} {
		_, errs, code := qunCLI(t, append(append([]string{"rules", own}, bad...), admin...)...)
		if code != 2 || errs == "" {
			t.Fatalf("qun rules %v: exit %d, %q", bad, code, errs)
		}
	}

	// An order's group through its states.
	opened := must(t, erp, "order", "open", "B2002", "--buyer", "u-9", "--api", a.api)
	if !strings.Contains(opened, "order B2002: group ") || !strings.Contains(opened, "buyer invite: http") || !strings.Contains(opened, "staff invite: http") {
		t.Fatalf("order open printed %q", opened)
	}
	dispatched := must(t, erp, "order", "state", "B2002", "dispatched", "--api", a.api)
	if !strings.Contains(dispatched, "courier invite: http") {
		t.Fatalf("order state dispatched printed %q", dispatched)
	}
	delivered := must(t, erp, "order", "state", "B2002", "delivered", "--courier-grace", "1h", "--close-after", "3d", "--api", a.api)
	if !strings.Contains(delivered, "the courier's access ends") || !strings.Contains(delivered, "the group closes") {
		t.Fatalf("order state delivered printed %q", delivered)
	}
	_, errs, code := erp(t, "order", "state", "B2002", "accepted", "--api", a.api)
	if code != 1 || !strings.Contains(errs, "cannot go back") {
		t.Fatalf("going back: exit %d, %q", code, errs)
	}
	closed := must(t, erp, "order", "state", "B2002", "closed", "--api", a.api)
	if !strings.Contains(closed, "closed") || strings.Contains(closed, "invite: http") {
		t.Fatalf("order state closed printed %q", closed)
	}

	if l := must(t, erp, "order", "list", "--state", "closed", "--api", a.api); !strings.Contains(l, "1 orders") || !strings.Contains(l, "B2002") {
		t.Fatalf("order list --state closed printed %q", l)
	}
	if _, errs, code := erp(t, "order", "list", "--state", "lost", "--api", a.api); code != 1 || !strings.Contains(errs, "lost") {
		t.Fatalf("order list in an unknown state: exit %d, %q", code, errs)
	}

	// The shop's profile, with a group anyone may join.
	open := must(t, erp, "order", "group", "--name", "茶友群", "--policy", "open", "--api", a.api, "--json")
	var og struct{ Group string }
	if err := json.Unmarshal([]byte(open), &og); err != nil {
		t.Fatal(err)
	}
	if p := must(t, erp, "shop", "set", "--name", "小茶馆", "--description", "每周上新", "--group", og.Group, "--api", a.api); !strings.Contains(p, "小茶馆 — 每周上新\n1 groups") || !strings.Contains(p, og.Group+"  茶友群  open, 1/500 members") {
		t.Fatalf("shop set printed %q", p)
	}
	if _, errs, code := erp(t, "shop", "set", "--name", "x", "--group", g.Group, "--api", a.api); code != 1 || !strings.Contains(errs, "invite only") {
		t.Fatalf("listing an invite-only group: exit %d, %q", code, errs)
	}
	if p := must(t, erp, "shop", "show", "--api", a.api); !strings.Contains(p, "茶友群") {
		t.Fatalf("shop show printed %q (a refused setting changed it?)", p)
	}

	var tl struct{ Tokens []struct{ ID string } }
	if err := json.Unmarshal([]byte(must(t, qunCLI, append([]string{"token", "list", "--json"}, admin...)...)), &tl); err != nil || len(tl.Tokens) != 1 {
		t.Fatalf("tokens: %+v %v", tl, err)
	}
	must(t, qunCLI, append([]string{"token", "revoke", tl.Tokens[0].ID}, admin...)...)
	_, errs, code = erp(t, "order", "invite", g.Group, "A1002", "--api", a.api)
	if code != 1 || !strings.Contains(errs, "revoked") {
		t.Fatalf("a revoked token: exit %d, %q", code, errs)
	}
	_, errs, code = qunWithToken("nonsense")(t, "service", "--api", a.api)
	if code != 2 || !strings.Contains(errs, "qun_") {
		t.Fatalf("a malformed token: exit %d, %q", code, errs)
	}
}
