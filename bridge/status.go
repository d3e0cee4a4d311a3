package bridge

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// StatusFile is the file in the data folder where a running bridge keeps
// its status lines (qun bridge status prints it).
const StatusFile = "status.txt"

// Status is one line per route: the group, how far it is relayed, the
// messages each way, and each remote channel with its connector's state.
//
//	route 3aff237f5705 "Tea shop" (both) seq 125 · in 40 · out 80 · refused 1 · irc.libera:#tea ✓ at 125 · xmpp.shop:tea@muc.example ✗ at 120 (dial tcp: connection refused)
func (g *Gateway) Status() []string {
	var out []string
	for _, r := range g.routes {
		r.mu.Lock()
		name := ""
		if r.view != nil {
			name = r.view.Name
		}
		var b strings.Builder
		fmt.Fprintf(&b, "route %s %q (%s) seq %d · in %d · out %d · refused %d", r.gid.String()[:12], name, r.dir, r.head, r.in, r.out, r.refused)
		if r.subErr != "" {
			fmt.Fprintf(&b, " · node: %s", r.subErr)
		}
		r.mu.Unlock()
		for _, s := range r.remotes {
			st := s.conn.Status()
			g.mu.Lock()
			stopped := g.connErrs[s.key.conn]
			g.mu.Unlock()
			mark, why := "✓", ""
			switch {
			case stopped != "":
				mark, why = "✗", stopped
			case !st.Connected:
				mark, why = "✗", st.LastError
				if why == "" {
					why = "connecting"
				}
			}
			s.mu.Lock()
			at, lastErr := s.cursor, s.lastErr
			s.mu.Unlock()
			if why == "" && lastErr != "" {
				why = lastErr
			}
			fmt.Fprintf(&b, " · %s %s", s.key, mark)
			if r.relaysOut() {
				fmt.Fprintf(&b, " at %d", at)
			}
			if why != "" {
				fmt.Fprintf(&b, " (%s)", oneLine(why, 120))
			}
		}
		out = append(out, b.String())
	}
	return out
}

// WriteStatus writes the status lines, with the time, to StatusFile in
// dir (in a temporary file renamed over it, so a reader never sees half).
func (g *Gateway) WriteStatus(dir string) error {
	text := "at " + time.Now().UTC().Format(time.RFC3339) + "\n" + strings.Join(g.Status(), "\n") + "\n"
	tmp := filepath.Join(dir, StatusFile+".tmp")
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, StatusFile))
}
