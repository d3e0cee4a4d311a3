package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestE2EProfile: with real nodes, a member sets a name once (kept on
// their home node and put into every group they are in), a nickname in one
// group, and the other member's history shows them by those names.
func TestE2EProfile(t *testing.T) {
	a, b := startProc(t, t.TempDir()), startProc(t, t.TempDir())
	admin := []string{"--api", a.api, "--key", filepath.Join(a.dir, "admin.key")}
	meiKey := filepath.Join(t.TempDir(), "mei.key")
	mei := []string{"--api", b.api, "--key", meiKey}
	must(t, qunCLI, "key", "new", "--key", meiKey)
	var gids []string
	for _, name := range []string{"Tea shop", "Tea shop VIP"} {
		gid := qunJSON(t, append([]string{"group", "create", "--name", name}, admin...)...)["group"].(string)
		link := qunJSON(t, append([]string{"invite", "create", gid}, admin...)...)["link"].(string)
		qunJSON(t, append([]string{"join", link}, mei...)...)
		gids = append(gids, gid)
	}
	if out := must(t, qunCLI, append([]string{"profile", "show"}, mei...)...); !strings.Contains(out, "no profile set") {
		t.Fatalf("profile show before: %q", out)
	}
	_, errs, code := qunCLI(t, append([]string{"profile", "set", "--name", " 王小明"}, mei...)...)
	if code != 1 || !strings.Contains(errs, "white space") {
		t.Fatalf("a name with a leading space: exit %d, %q", code, errs)
	}
	out := must(t, qunCLI, append([]string{"profile", "set", "--name", "王小明", "--bio", "喜欢喝茶"}, mei...)...)
	if !strings.Contains(out, "your 2 groups show it") {
		t.Fatalf("profile set: %q", out)
	}
	if v := qunJSON(t, append([]string{"profile", "show"}, mei...)...); v["name"] != "王小明" || v["bio"] != "喜欢喝茶" {
		t.Fatalf("profile show: %v", v)
	}
	// She shows the VIP group on her profile: the shop sees it on her, in
	// the other group, with its host.
	if out := must(t, qunCLI, append([]string{"profile", "set", "--show", gids[1]}, mei...)...); !strings.Contains(out, "your 2 groups show it") {
		t.Fatalf("profile set --show: %q", out)
	}
	if out := must(t, qunCLI, append([]string{"profile", "show"}, mei...)...); !strings.Contains(out, "shows: "+gids[1]) || !strings.Contains(out, "name:  王小明") {
		t.Fatalf("profile show after --show: %q", out)
	}
	if _, errs, code := qunCLI(t, append([]string{"profile", "set", "--show", strings.Repeat("a", 64)}, mei...)...); code != 1 || !strings.Contains(errs, "not a member") {
		t.Fatalf("showing a group she is not in: exit %d, %q", code, errs)
	}
	if _, errs, code := qunCLI(t, append([]string{"profile", "set", "--show", gids[0], "--show-none"}, mei...)...); code != 2 || !strings.Contains(errs, "exclude") {
		t.Fatalf("--show with --show-none: exit %d, %q", code, errs)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	waitFor(t, sctx, "her shown group in the shop's view of the other group", func() bool {
		v := qunJSON(t, append([]string{"group", "info", gids[0], "--json"}, admin...)...)
		for _, m := range v["member_list"].([]any) {
			mm := m.(map[string]any)
			if gs, ok := mm["groups"].([]any); ok && len(gs) == 1 && gs[0].(map[string]any)["group"] == gids[1] {
				return true
			}
		}
		return false
	})
	qunJSON(t, append([]string{"send", gids[0], "有乌龙茶吗？"}, mei...)...)
	qunJSON(t, append([]string{"nick", gids[1], "老王"}, mei...)...)
	qunJSON(t, append([]string{"send", gids[1], "VIP 价格？"}, mei...)...)
	for i, want := range []string{"王小明: 有乌龙茶吗？", "老王: VIP 价格？"} {
		var hist string
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		waitFor(t, ctx, "the host's history to show the name", func() bool {
			hist = must(t, qunCLI, append([]string{"history", gids[i]}, admin...)...)
			return strings.Contains(hist, want)
		})
		if !strings.Contains(hist, `is now called "王小明"`) {
			t.Fatalf("history of group %d lacks the profile line:\n%s", i, hist)
		}
	}
}
