package node

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/multiformats/go-multiaddr"

	"github.com/qunchat/qun/node/light"
	"github.com/qunchat/qun/protocol"
)

// countingListener is a TCP listener the test owns: it counts the
// connections it accepts and closes each at once (a port that is open but
// speaks no libp2p).
type countingListener struct {
	ln      net.Listener
	accepts atomic.Int64
}

func newCountingListener(t *testing.T) *countingListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &countingListener{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l.accepts.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return l
}

func (l *countingListener) port() int { return l.ln.Addr().(*net.TCPAddr).Port }

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return p
}

// craftedInvite is a validly signed invite of a group nobody holds, whose
// host (a fresh key) is "at" the given loopback ports.
func craftedInvite(t *testing.T, ports ...int) *protocol.SignedInvite {
	t.Helper()
	var gid protocol.GroupID
	rand.Read(gid[:])
	host, inviter := newKey(t), newKey(t)
	inv := protocol.Invite{Group: gid, Host: host.ID(), Inviter: inviter.ID(), Nonce: nonce()}
	for _, p := range ports {
		a, err := multiaddr.NewMultiaddr(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", p))
		if err != nil {
			t.Fatal(err)
		}
		inv.Addrs = append(inv.Addrs, a.Bytes())
	}
	si, err := inv.Sign(inviter)
	if err != nil {
		t.Fatal(err)
	}
	return si
}

// rawPreview returns the status and the body of a preview.
func rawPreview(t *testing.T, a *apiClient, inv *protocol.SignedInvite) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", a.base+"/api/v1/invites/preview?token="+inv.Token(), nil)
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// TestPreviewDialsNoOneForStrangers: a preview without a session of an
// invite whose addresses include a live listener makes no connection to
// it; signed in, the node asks the host, and an open port and a closed one
// give byte-identical answers; remote previews are rate-limited per
// session.
func TestPreviewDialsNoOneForStrangers(t *testing.T) {
	a := startNode(t, "")
	open := newCountingListener(t)
	closed := closedPort(t)
	anon := newAPI(t, a, nil)

	both := craftedInvite(t, open.port(), closed)
	status, body := rawPreview(t, anon, both)
	if status != http.StatusUnauthorized || !bytes.Contains(body, []byte(`"unauthenticated"`)) {
		t.Fatalf("anonymous preview of a group held elsewhere: %d %s", status, body)
	}
	_, openBody := rawPreview(t, anon, craftedInvite(t, open.port()))
	_, closedBody := rawPreview(t, anon, craftedInvite(t, closed))
	if !bytes.Equal(openBody, closedBody) {
		t.Fatalf("anonymous previews tell open from closed:\n%s\n%s", openBody, closedBody)
	}
	// The node answered without dialing; give a stray dial a moment to land.
	holdsFor(t, 300*time.Millisecond, func() error {
		if n := open.accepts.Load(); n != 0 {
			return fmt.Errorf("an anonymous preview made the node connect %d times to an address of the caller's choosing", n)
		}
		return nil
	})

	// Signed in: the node tries the host; the answer is the same sentence
	// whatever is at the address.
	user := newAPI(t, a, newKey(t)).signIn()
	status, openBody = rawPreview(t, user, craftedInvite(t, open.port()))
	_, closedBody = rawPreview(t, user, craftedInvite(t, closed))
	if status != http.StatusServiceUnavailable || !bytes.Equal(openBody, closedBody) ||
		!bytes.Contains(openBody, []byte("the group's host could not be reached")) {
		t.Fatalf("signed-in previews of an open and a closed port:\n%d %s\n%s", status, openBody, closedBody)
	}
	if open.accepts.Load() == 0 {
		t.Fatal("a signed-in preview did not ask the invite's host (the test would prove nothing)")
	}
	// And remote previews are rate-limited per session.
	limited := false
	for i := 0; i < 2*light.PreviewBurst && !limited; i++ {
		status, _ := rawPreview(t, user, craftedInvite(t, closed))
		limited = status == http.StatusTooManyRequests
	}
	if !limited {
		t.Fatalf("%d remote previews in a row were not rate-limited", 2*light.PreviewBurst)
	}
}
