package light

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps the API's plumbing apart from the node: it reaches the
// node only through Backend, so it imports neither the node nor its
// storage nor a libp2p host.
func TestDeps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range []string{
			"github.com/qunchat/qun/node", "github.com/qunchat/qun/storage", "github.com/qunchat/qun/client",
			"github.com/libp2p/go-libp2p/p2p/", "github.com/libp2p/go-libp2p-pubsub", "github.com/dgraph-io/badger",
		} {
			if dep == f || strings.HasPrefix(dep, f+"/") && !strings.HasPrefix(dep, "github.com/qunchat/qun/node/light") {
				t.Errorf("node/light depends on %s", dep)
			}
		}
	}
}
