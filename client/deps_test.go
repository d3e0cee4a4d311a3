package client

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps the SDK light: it may use protocol/ and libp2p's core
// types, never the node, its storage, or a libp2p host stack.
func TestDeps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	forbidden := []string{
		"github.com/qunchat/qun/node",
		"github.com/qunchat/qun/storage",
		"github.com/qunchat/qun/bridge",
		"github.com/libp2p/go-libp2p/p2p/",
		"github.com/libp2p/go-libp2p-pubsub",
		"github.com/dgraph-io/badger",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.HasPrefix(dep, f) {
				t.Errorf("client depends on %s", dep)
			}
		}
	}
}
