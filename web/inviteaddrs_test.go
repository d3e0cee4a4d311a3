package web_test

import (
	"slices"
	"testing"
)

// TestBrowserInviteAddrs: an invite the web client signs carries the host's
// public addresses only; a host with none keeps its local ones (the same
// rule as the Go SDK's).
func TestBrowserInviteAddrs(t *testing.T) {
	chromiumPath(t)
	b := openModules(t)
	defer b.checkExceptions()
	pick := func(addrs string) []string {
		t.Helper()
		return eval[[]string](b, "picking invite addresses", `(async () => {
  const P = await import("/js/proto.js");
  return P.inviteAddrs(`+addrs+`).map((x) => P.multiaddrToString(x));
})()`)
	}
	got := pick(`["/ip4/127.0.0.1/tcp/4001", "/ip4/192.168.1.20/tcp/4001", "/ip4/1.2.3.4/tcp/4001", "/ip6/::1/tcp/4001",
  "/ip4/10.0.0.5/tcp/4001", "/ip4/172.20.0.1/tcp/4001", "/ip4/100.64.0.1/tcp/4001", "/ip6/fe80::1/tcp/4001", "/ip6/fd00::1/tcp/4001",
  "/ip6/2606:4700::7/tcp/4001"]`)
	// (the page writes IPv6 addresses uncompressed)
	if want := []string{"/ip4/1.2.3.4/tcp/4001", "/ip6/2606:4700:0:0:0:0:0:7/tcp/4001"}; !slices.Equal(got, want) {
		t.Fatalf("invite addresses %v, want %v", got, want)
	}
	if got := pick(`["/ip4/127.0.0.1/tcp/4001", "/ip4/192.168.1.20/tcp/4001"]`); len(got) != 2 {
		t.Fatalf("a LAN host's invite carries %v, want both local addresses", got)
	}
}
