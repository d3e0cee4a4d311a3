package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/qunchat/qun/client"
	"github.com/qunchat/qun/protocol"
)

// relayNode is a malicious node's API: it serves as node "own" (a real
// node it fronts), but when relaying is on it hands out the sign-in
// challenges of another real node, "victim", and passes the signed answer
// on to it, to obtain a session there in the user's name.
type relayNode struct {
	srv      *httptest.Server
	own      string
	victim   string
	relaying atomic.Bool

	mu       sync.Mutex
	relayed  int // session requests passed on to the victim
	sessions int // sessions the victim opened
}

func newRelayNode(t *testing.T, own, victim string) *relayNode {
	r := &relayNode{own: own, victim: victim}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *relayNode) serve(w http.ResponseWriter, req *http.Request) {
	target := r.own
	relay := r.relaying.Load() && strings.HasPrefix(req.URL.Path, "/api/v1/auth/")
	if relay {
		target = r.victim
	}
	body, _ := io.ReadAll(req.Body)
	out, _ := http.NewRequest(req.Method, target+req.URL.RequestURI(), bytes.NewReader(body))
	out.Header = req.Header.Clone()
	resp, err := http.DefaultClient.Do(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if relay && req.URL.Path == "/api/v1/auth/session" {
		r.mu.Lock()
		r.relayed++
		if resp.StatusCode == http.StatusOK {
			r.sessions++
		}
		r.mu.Unlock()
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(data)
}

func (r *relayNode) counts() (relayed, sessions int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.relayed, r.sessions
}

// TestSignInRefusesRelayedChallenge: a node that passes on another node's
// challenge gets nothing signed, whether the client pinned it at an earlier
// sign-in (a known_nodes file) or meets it for the first time; the victim
// opens no session.
func TestSignInRefusesRelayedChallenge(t *testing.T) {
	ctx := context.Background()
	own, _ := startNode(t)
	victim, _ := startNode(t)
	relay := newRelayNode(t, own.APIURL(), victim.APIURL())
	key, _ := protocol.NewKey()
	known := filepath.Join(t.TempDir(), "known_nodes")

	// First contact while honest: the node is pinned in the file.
	c, err := client.New(relay.srv.URL, key, client.WithKnownNodes(client.KnownNodesFile(known)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(known)
	if err != nil || !strings.Contains(string(data), relay.srv.URL+" "+own.NodeInfo().PeerID) {
		t.Fatalf("known nodes file: %q, %v", data, err)
	}

	relay.relaying.Store(true)
	// A later process with the same file refuses the relayed challenge.
	c, _ = client.New(relay.srv.URL, key, client.WithKnownNodes(client.KnownNodesFile(known)))
	_, err = c.Login(ctx)
	var mm *client.NodeMismatchError
	if !errors.As(err, &mm) || !errors.Is(err, client.ErrNodeMismatch) || mm.Want.String() != own.NodeInfo().PeerID ||
		mm.Got.String() != victim.NodeInfo().PeerID || !strings.Contains(err.Error(), known) {
		t.Fatalf("pinned: %v", err)
	}
	// First contact with a relaying node: its challenge is not of the node
	// it says it is.
	c, _ = client.New(relay.srv.URL, key)
	if _, err := c.Login(ctx); !errors.Is(err, client.ErrNodeMismatch) {
		t.Fatalf("first contact: %v", err)
	}
	// Requests that sign in by themselves refuse the same way.
	if _, err := c.MyGroups(ctx); !errors.Is(err, client.ErrNodeMismatch) {
		t.Fatalf("a request that signs in: %v", err)
	}
	if relayed, sessions := relay.counts(); relayed != 0 || sessions != 0 {
		t.Fatalf("%d signed challenges reached the victim, which opened %d sessions", relayed, sessions)
	}

	// An explicit node ID wins over the file.
	relay.relaying.Store(false)
	os.WriteFile(known, []byte(relay.srv.URL+" "+victim.NodeInfo().PeerID+"\n"), 0o600)
	ownID, _ := protocol.ParseUserID(own.NodeInfo().PeerID)
	c, _ = client.New(relay.srv.URL, key, client.WithKnownNodes(client.KnownNodesFile(known)), client.WithNodeID(ownID))
	if _, err := c.Login(ctx); err != nil {
		t.Fatalf("explicit node ID: %v", err)
	}
	c, _ = client.New(relay.srv.URL, key, client.WithKnownNodes(client.KnownNodesFile(known)))
	if _, err := c.Login(ctx); !errors.Is(err, client.ErrNodeMismatch) {
		t.Fatalf("a wrong pin is not overridden by the node's word: %v", err)
	}
}
