package bridge

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps: a bridge is a client of its home node (package client), never
// a part of it: no node internals, no storage of the node's, no libp2p
// host. Its connectors are held to the same.
func TestDeps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", ".", "./irc").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	forbidden := []string{
		"github.com/qunchat/qun/node",
		"github.com/qunchat/qun/storage",
		"github.com/libp2p/go-libp2p/p2p/",
		"github.com/libp2p/go-libp2p-pubsub",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.HasPrefix(dep, f) {
				t.Errorf("the bridge depends on %s", dep)
			}
		}
	}
}
