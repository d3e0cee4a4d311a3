package client

import (
	"testing"

	"github.com/multiformats/go-multiaddr"
)

// TestInviteAddrsPreferPublic: an invite carries the host's public
// addresses only, never its loopback or private-range ones next to them;
// a host with no public address (a LAN) gets its local ones.
func TestInviteAddrsPreferPublic(t *testing.T) {
	str := func(bs [][]byte) []string {
		var out []string
		for _, b := range bs {
			m, err := multiaddr.NewMultiaddrBytes(b)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, m.String())
		}
		return out
	}
	mixed := []string{"/ip4/127.0.0.1/tcp/4001", "/ip4/192.168.1.20/tcp/4001", "/ip4/1.2.3.4/tcp/4001",
		"/ip6/::1/tcp/4001", "/ip4/10.0.0.5/udp/4001/quic-v1", "/ip6/2606:4700::7/tcp/4001", "/dns4/shop.example.com/tcp/4001", "not an address"}
	got := str(inviteAddrs(mixed))
	want := []string{"/ip4/1.2.3.4/tcp/4001", "/ip6/2606:4700::7/tcp/4001", "/dns4/shop.example.com/tcp/4001"}
	if len(got) != len(want) {
		t.Fatalf("invite addresses %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("invite addresses %v, want %v", got, want)
		}
	}
	lan := []string{"/ip4/127.0.0.1/tcp/4001", "/ip4/192.168.1.20/tcp/4001"}
	if got := str(inviteAddrs(lan)); len(got) != 2 {
		t.Fatalf("a LAN host's invite carries %v, want both local addresses", got)
	}
}
