package node

import (
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
	"github.com/qunchat/qun/storage"
)

// TestJoinLargeGroupFromCheckpoint: a new member joins a group of many
// events whose new members read from their join. Her node starts from the
// host's checkpoint, so the join and her first read take what a join in a
// small group takes, and her node stores a handful of events, not the log.
// QUN_JOIN_EVENTS=1000000 runs it at a million (docs/BENCHMARKS.md).
func TestJoinLargeGroupFromCheckpoint(t *testing.T) {
	events := 100_000
	if raceEnabled {
		events = 10_000
	}
	if s := os.Getenv("QUN_JOIN_EVENTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("QUN_JOIN_EVENTS=%q: want a number of events", s)
		}
		events = v
	}
	dir := t.TempDir()
	a := startNode(t, dir)
	name, hist := "大群", protocol.HistoryFromJoin
	gid := mustSubmit(t, a, a.admin, protocol.GroupID{}, &protocol.CreateBody{Host: a.ID(),
		Settings: protocol.Settings{Name: &name, History: &hist}}).Group
	inv := invite(t, a, a.admin, gid, a, 0, 0)
	addr := a.Host().Addrs()[0].String()
	hostKey, owner := a.key, a.admin
	a.Close()

	built := time.Now()
	top := appendMessages(t, filepath.Join(dir, "store"), gid, hostKey, owner, events)
	t.Logf("appended %d messages in %v", events, time.Since(built).Round(time.Millisecond))

	a = startNode(t, dir, func(c *Config) { c.ListenAddrs = []string{addr} })
	c := startNode(t, "")
	carol := newKey(t)
	start := time.Now()
	j := join(t, c, carol, inv).Seq
	var page api.EventsPage
	newAPI(t, c, carol).signIn().mustCall("GET", "/api/v1/groups/"+gid.String()+"/events?from=1", nil, &page)
	took := time.Since(start)
	if len(page.Events) != 1 || page.Events[0].Seq != j || j != top+1 {
		t.Fatalf("Carol reads %d events from %v, want her join at %d", len(page.Events), firstSeq(page.Events), top+1)
	}
	if base, _, _ := c.store.Base(gid); base != top {
		t.Fatalf("her node's log starts after %d, want %d", base, top)
	}
	t.Logf("joined a group of %d events and read it in %v", top, took.Round(time.Millisecond))
	if limit := 5 * time.Second * raceSlowdown; took > limit {
		t.Fatalf("joining a group of %d events took %v, over %v", top, took, limit)
	}
}

// appendMessages writes n messages by owner after the group's head into a
// closed node's store, signed by the host as its sequencer would, with a
// snapshot of the state after them; it returns the new head.
func appendMessages(t *testing.T, storeDir string, gid protocol.GroupID, host, owner *protocol.Key, n int) uint64 {
	t.Helper()
	st, err := storage.Open(storeDir, storage.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	snap, ok, err := st.LatestSnapshot(gid)
	state := protocol.NewState()
	if err == nil && ok {
		state, err = protocol.UnmarshalSnapshot(snap.Data)
	}
	if err != nil {
		t.Fatal(err)
	}
	for state.Head < mustHead(t, st, gid) { // replay what the snapshot lacks
		recs, err := st.Range(gid, state.Head+1, 1000, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			ev, err := protocol.DecodeEvent(r.Data)
			if err == nil {
				err = state.Apply(ev, func(uint64) (protocol.EventInfo, bool) { return protocol.EventInfo{}, false })
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	// Submissions are independent: sign them on every core.
	subs := make([][]byte, n)
	var wg sync.WaitGroup
	workers := 4
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				s := protocol.Submission{Group: gid, Kind: protocol.KindMessage, Author: owner.ID(), Time: nowMS(), Nonce: nonce(),
					Body: text("历史消息 " + strconv.Itoa(i)).Encode()}
				subs[i] = owner.Sign(protocol.DomainSubmission, s.Encode())
			}
		}()
	}
	wg.Wait()
	now := max(nowMS(), state.HeadTime)
	var batch []storage.Record
	flush := func(last bool) {
		b := storage.Batch{Group: gid, Events: batch}
		if last {
			data, err := state.MarshalSnapshot()
			if err != nil {
				t.Fatal(err)
			}
			b.Snapshot = &storage.Snapshot{Seq: state.Head, Data: data}
		}
		if err := st.Commit(b); err != nil {
			t.Fatal(err)
		}
		batch = batch[:0]
	}
	for _, sub := range subs {
		e := protocol.Event{Group: gid, Seq: state.Head + 1, Prev: state.HeadID, Time: now, Via: host.ID(), Submission: sub}
		ev, err := e.Sign(host)
		if err != nil {
			t.Fatal(err)
		}
		if err := state.Apply(ev, nil); err != nil {
			t.Fatal(err)
		}
		batch = append(batch, storage.Record{Seq: ev.Seq, ID: ev.ID, SubmissionID: ev.Sub.ID, Data: ev.Raw})
		if len(batch) == 2000 {
			flush(false)
		}
	}
	flush(true)
	return state.Head
}

func mustHead(t *testing.T, st *storage.Store, gid protocol.GroupID) uint64 {
	t.Helper()
	h, _, err := st.Head(gid)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
