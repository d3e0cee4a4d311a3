package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestE2EContact: with real nodes and the CLI, a buyer on another node
// asks the shop for a private conversation, the shop's owner accepts (a
// conversation on the shop's node, offered to the buyer), the buyer
// accepts the offer (joins), and the owner reads what the buyer wrote
// there; the shop's group never shows it.
func TestE2EContact(t *testing.T) {
	a, b := startProc(t, t.TempDir()), startProc(t, t.TempDir())
	owner := []string{"--api", a.api, "--key", filepath.Join(a.dir, "admin.key")}
	meiKey := filepath.Join(t.TempDir(), "mei.key")
	mei := []string{"--api", b.api, "--key", meiKey}
	must(t, qunCLI, "key", "new", "--key", meiKey)
	gid := qunJSON(t, append([]string{"group", "create", "--name", "茶馆"}, owner...)...)["group"].(string)
	link := qunJSON(t, append([]string{"invite", "create", gid}, owner...)...)["link"].(string)
	qunJSON(t, append([]string{"join", link}, mei...)...)
	must(t, qunCLI, append([]string{"nick", gid, "梅"}, mei...)...)
	// A second admin, homed on the shop's node too.
	lanKey := filepath.Join(t.TempDir(), "lan.key")
	lan := []string{"--api", a.api, "--key", lanKey}
	lanID := strings.TrimSpace(must(t, qunCLI, "key", "new", "--key", lanKey))
	qunJSON(t, append([]string{"join", link}, lan...)...)
	qunJSON(t, append([]string{"role", gid, lanID, "admin"}, owner...)...)

	if out := must(t, qunCLI, append([]string{"contacts"}, owner...)...); !strings.Contains(out, "no requests or offers") {
		t.Fatalf("contacts before: %q", out)
	}
	out := must(t, qunCLI, append([]string{"contact", "ask", gid, "--note", "order 1024"}, mei...)...)
	if !strings.Contains(out, "asked 2 of the group's staff") {
		t.Fatalf("contact ask: %q", out)
	}
	list := must(t, qunCLI, append([]string{"contacts"}, owner...)...)
	if !strings.Contains(list, `梅 (member) in "茶馆" asks for a private conversation: "order 1024"`) {
		t.Fatalf("the owner's contacts: %q", list)
	}
	id := strings.Fields(list)[0]
	accepted := qunJSON(t, append([]string{"contact", "accept", id[:10]}, owner...)...)
	conv, _ := accepted["conversation"].(string)
	if accepted["name"] != "梅 · 茶馆" || len(conv) != 64 {
		t.Fatalf("contact accept of a request: %v", accepted)
	}
	if out := must(t, qunCLI, append([]string{"contacts"}, owner...)...); !strings.Contains(out, "no requests or offers") {
		t.Fatalf("the accepted request is still listed: %q", out)
	}
	// The other admin's copy of the request is answered: she has the offer.
	if out := must(t, qunCLI, append([]string{"contacts"}, lan...)...); strings.Contains(out, "asks for") || !strings.Contains(out, "offers a private conversation") {
		t.Fatalf("the other admin's contacts: %q", out)
	}
	offers := must(t, qunCLI, append([]string{"contacts"}, mei...)...)
	if !strings.Contains(offers, "offers a private conversation") || !strings.Contains(offers, `"re: order 1024"`) {
		t.Fatalf("the buyer's contacts: %q", offers)
	}
	if out := must(t, qunCLI, append([]string{"contact", "accept", strings.Fields(offers)[0]}, mei...)...); !strings.Contains(out, "joined the private conversation "+conv) {
		t.Fatalf("contact accept of an offer: %q", out)
	}
	qunJSON(t, append([]string{"send", conv, "我的电话是 138-0000-0000"}, mei...)...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	waitFor(t, ctx, "the owner to read the conversation", func() bool {
		return strings.Contains(must(t, qunCLI, append([]string{"history", conv}, owner...)...), "138-0000-0000")
	})
	if strings.Contains(must(t, qunCLI, append([]string{"history", gid}, owner...)...), "138-0000-0000") {
		t.Fatal("the shop's group shows the conversation")
	}
	// Refusals in words: a buyer cannot open a conversation on a node they
	// do not run, nor dismiss what is not there.
	_, errs, code := qunCLI(t, append([]string{"contact", "offer", gid, strings.TrimSpace(must(t, qunCLI, append([]string{"whoami"}, owner...)...))}, mei...)...)
	if code != 1 || !strings.Contains(errs, "only this node's admins can create groups") {
		t.Fatalf("a buyer offering: exit %d, %q", code, errs)
	}
	if _, errs, code := qunCLI(t, append([]string{"contact", "dismiss", "abcdef"}, mei...)...); code != 1 || !strings.Contains(errs, "no request or offer abcdef") {
		t.Fatalf("dismissing nothing: exit %d, %q", code, errs)
	}
}
