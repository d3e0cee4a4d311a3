package node

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNodeDoesNotImportClient: the node serves the light-client API and
// must not depend on the SDK of it (client/), not even in its tests; key
// files come from internal/keyfile.
func TestNodeDoesNotImportClient(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "-test", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "github.com/qunchat/qun/client" || strings.HasPrefix(dep, "github.com/qunchat/qun/client/") {
			t.Errorf("node depends on %s", dep)
		}
	}
}
