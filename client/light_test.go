package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

func TestPreviewAndMyGroups(t *testing.T) {
	f := newFakeNode(t)
	c := newTestClient(t, f)
	ctx := context.Background()
	inv, _, err := c.CreateInvite(ctx, protocol.GroupID{9}, 5, time.Hour, "ORDER-7")
	if err != nil {
		t.Fatal(err)
	}
	ro, _ := New(f.srv.URL, nil) // a preview needs no key
	for _, tok := range []string{inv.Token(), c.URL() + "/join#" + inv.Token(), " " + inv.Token() + "\n"} {
		p, err := ro.Preview(ctx, tok)
		if err != nil {
			t.Fatalf("preview of %q: %v", tok, err)
		}
		if p.Group != inv.Group.String() || p.Name != "shop" || !p.Valid || p.MaxUses != 5 || p.Inviter != c.Key().ID().String() {
			t.Errorf("preview %+v", p)
		}
	}
	if _, err := ro.Preview(ctx, "  "); err == nil || !strings.Contains(err.Error(), "not a qun invite token") {
		t.Errorf("empty token: %v", err)
	}

	gs, err := c.MyGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 2 || gs[0].Role != "member" || gs[0].UnreadFrom != 3 || gs[0].Pins[0] != 2 || !gs[1].Pending {
		t.Errorf("my groups %+v", gs)
	}
}

func TestBackwardPaging(t *testing.T) {
	f := newFakeNode(t)
	c := newTestClient(t, f)
	ctx := context.Background()
	gid := protocol.GroupID{1}
	f.history = 2345

	p, err := c.EventsBefore(ctx, gid, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Events) != 10 || p.Events[0].Seq != 2336 || p.Events[9].Seq != 2345 || p.Prev != 2336 || p.Head != 2345 {
		t.Fatalf("newest page: %d events from %d, prev %d", len(p.Events), p.Events[0].Seq, p.Prev)
	}
	p, err = c.EventsBefore(ctx, gid, 5, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Events) != 4 || p.Events[0].Seq != 1 || p.Prev != 0 {
		t.Errorf("oldest page: %d events, prev %d", len(p.Events), p.Prev)
	}
	if _, err := c.EventsBefore(ctx, gid, 0, MaxEventsLimit+1); err == nil {
		t.Error("a limit above the maximum was sent")
	}

	// Backward walks everything, newest first, through short pages too.
	for _, pageCap := range []int{0, 7} {
		f.pageCap = pageCap
		want := uint64(2345)
		for ev, err := range c.Backward(ctx, gid, 0, 100) {
			if err != nil {
				t.Fatal(err)
			}
			if ev.Seq != want {
				t.Fatalf("page cap %d: seq %d, want %d", pageCap, ev.Seq, want)
			}
			want--
		}
		if want != 0 {
			t.Errorf("page cap %d: stopped before seq %d", pageCap, want)
		}
	}
	f.pageCap = 0

	// Stopping early fetches no more pages.
	f.queries = nil
	n := 0
	for range c.Backward(ctx, gid, 2000, 50) {
		n++
		if n == 3 {
			break
		}
	}
	if len(f.queries) != 1 || f.queries[0] != "before=2000&limit=50" {
		t.Errorf("queries %v", f.queries)
	}
}

// A node that answers a backward page out of place is caught.
func TestBackwardChecked(t *testing.T) {
	f := newFakeNode(t)
	key, _ := protocol.NewKey()
	for name, page := range map[string]api.BackwardPage{
		"at before":    {Events: []api.EventView{{Seq: 9}, {Seq: 10}}, Head: 20, Prev: 9},
		"descending":   {Events: []api.EventView{{Seq: 8}, {Seq: 7}}, Head: 20, Prev: 7},
		"prev too far": {Events: []api.EventView{{Seq: 8}, {Seq: 9}}, Head: 20, Prev: 9},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/events") {
				writeJSON(w, http.StatusOK, page)
				return
			}
			f.srv.Config.Handler.ServeHTTP(w, r)
		}))
		c, _ := New(srv.URL, key)
		if _, err := c.EventsBefore(context.Background(), protocol.GroupID{1}, 10, 5); err == nil || !strings.Contains(err.Error(), "answered") {
			t.Errorf("%s: %v", name, err)
		}
		srv.Close()
	}
}
