package client

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/qunchat/qun/protocol"
)

// Node pinning (docs/API.md, "Sessions: prove your key"). A sign-in
// challenge names the node that issued it, and the client signs only
// challenges of the node it expects at its API URL: the ID given with
// WithNodeID; else the ID remembered for the URL (trust on first use, in a
// KnownNodes store: in memory by default, a file with KnownNodesFile); else,
// at the first sign-in, the ID the node gives at GET /api/v1/node, which is
// then remembered. So a node that passes on another node's challenge (to
// get a session there with the user's signature) is refused, unless it
// deceived the client at first contact too; pass WithNodeID to close that.

// ErrNodeMismatch matches (with errors.Is) a sign-in refused because the
// challenge names another node than the one expected at the API URL.
var ErrNodeMismatch = errors.New("client: the challenge is of another node than the one expected")

// NodeMismatchError is a sign-in the client refused: the node at URL handed
// out a challenge of node Got, where the client expects node Want (Source
// says why). Nothing was signed.
type NodeMismatchError struct {
	URL    string
	Want   protocol.UserID
	Got    protocol.UserID
	Source string // where Want comes from
}

func (e *NodeMismatchError) Error() string {
	return fmt.Sprintf("refusing to sign in to the qun node at %s: its challenge is for node %s, but that address is node %s (%s); "+
		"another node may be passing on a challenge to act as you there. If the node's key really changed, remove its line from the known nodes file",
		e.URL, e.Got, e.Want, e.Source)
}

// Is makes errors.Is(err, ErrNodeMismatch) match.
func (e *NodeMismatchError) Is(target error) bool { return target == ErrNodeMismatch }

// KnownNodes remembers which node answers at each API URL, so that a
// client signs only challenges of that node. Implementations must be safe
// for concurrent use.
type KnownNodes interface {
	// Lookup returns the node ID remembered for apiURL.
	Lookup(apiURL string) (id protocol.UserID, ok bool, err error)
	// Remember records id for apiURL.
	Remember(apiURL string, id protocol.UserID) error
	// String says where the IDs are kept, for error messages.
	String() string
}

// WithKnownNodes makes the client remember the node ID of its API URL in k
// (and check it there at every sign-in) instead of in memory.
func WithKnownNodes(k KnownNodes) Option {
	return func(o *options) error {
		if k == nil {
			return errors.New("client: WithKnownNodes needs a store")
		}
		o.known = k
		return nil
	}
}

// memKnown is the default KnownNodes: in memory, for the client's life.
type memKnown struct {
	mu  sync.Mutex
	ids map[string]protocol.UserID
}

func (m *memKnown) Lookup(u string) (protocol.UserID, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.ids[u]
	return id, ok, nil
}

func (m *memKnown) Remember(u string, id protocol.UserID) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ids == nil {
		m.ids = map[string]protocol.UserID{}
	}
	m.ids[u] = id
	return nil
}

func (m *memKnown) String() string { return "remembered from an earlier sign-in" }

// maxKnownNodesBytes bounds a known nodes file.
const maxKnownNodesBytes = 1 << 20

// KnownNodesPath returns where the known nodes file of a key file is kept:
// known_nodes in the key's directory.
func KnownNodesPath(keyPath string) string {
	return filepath.Join(filepath.Dir(keyPath), "known_nodes")
}

// KnownNodesFile returns a KnownNodes kept in the file at path: one line
// per node, its API URL and its node ID separated by a space; lines that
// start with # are comments. A missing file is empty; it is created (mode
// 0600) at the first Remember, and replaced whole at each.
func KnownNodesFile(path string) KnownNodes { return &fileKnown{path: path} }

type fileKnown struct {
	path string
	mu   sync.Mutex // serialises this process's read-modify-write
}

func (f *fileKnown) String() string { return "pinned in " + f.path }

func (f *fileKnown) read() (map[string]protocol.UserID, error) {
	file, err := os.Open(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]protocol.UserID{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading known nodes: %w", err)
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, maxKnownNodesBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading known nodes %s: %w", f.path, err)
	}
	if len(data) > maxKnownNodesBytes {
		return nil, fmt.Errorf("known nodes file %s is larger than %d bytes", f.path, maxKnownNodesBytes)
	}
	out := map[string]protocol.UserID{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) != 2 {
			return nil, fmt.Errorf("known nodes file %s:%d: want \"API-URL NODE-ID\"", f.path, line)
		}
		id, err := protocol.ParseUserID(fields[1])
		if err != nil {
			return nil, fmt.Errorf("known nodes file %s:%d: %v", f.path, line, err)
		}
		out[fields[0]] = id
	}
	return out, nil
}

func (f *fileKnown) Lookup(u string) (protocol.UserID, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.read()
	if err != nil {
		return protocol.UserID{}, false, err
	}
	id, ok := m[u]
	return id, ok, nil
}

func (f *fileKnown) Remember(u string, id protocol.UserID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.read()
	if err != nil {
		return err
	}
	m[u] = id
	var b strings.Builder
	b.WriteString("# qun: the node ID of each API URL this key signed in to (see docs/API.md)\n")
	urls := make([]string, 0, len(m))
	for k := range m {
		urls = append(urls, k)
	}
	sort.Strings(urls)
	for _, k := range urls {
		fmt.Fprintf(&b, "%s %s\n", k, m[k])
	}
	dir := filepath.Dir(f.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("remembering the node ID: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".known_nodes-*")
	if err != nil {
		return fmt.Errorf("remembering the node ID: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(b.String())
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.path)
	}
	if err != nil {
		return fmt.Errorf("remembering the node ID in %s: %w", f.path, err)
	}
	return nil
}
