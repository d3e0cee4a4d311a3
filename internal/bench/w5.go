package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qunchat/qun/node"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/storage"
)

// settle is how long a footprint child waits after start-up before it
// measures, so that start-up garbage and connection set-up are behind it.
const settle = 3 * time.Second

// ChildReport is what a W5 child process prints (one JSON line).
type ChildReport struct {
	RSSMB      float64 `json:"rss_mb"`
	Goroutines int     `json:"goroutines"`
	StartupS   float64 `json:"startup_s"`
	HeapMB     float64 `json:"heap_mb"`           // heap in use after a GC
	WakeMS     float64 `json:"wake_ms,omitempty"` // reading one sleeping group (loads it)
	Groups     int     `json:"groups"`
	Events     int     `json:"events"`
	WorkS      float64 `json:"work_s"` // creating groups or generating events
}

// w5 measures footprints, each in a child process of its own.
func (e *env) w5(ctx context.Context) (r Result) {
	r = Result{Workload: "W5", Title: "footprint",
		Mode: "each node in a child process of its own (qun bench --child), loopback, fsync on"}
	exe, err := e.exe()
	if err != nil {
		r.Err = err
		return r
	}
	child := func(mode, dir string, n int) (ChildReport, error) {
		fmt.Fprintf(e.progress, "W5: child %s (%d)…\n", mode, n)
		var out, errb bytes.Buffer
		cmd := exec.CommandContext(ctx, exe, e.childArgs(mode, dir, n)...)
		cmd.Stdout = &out
		cmd.Stderr = io.MultiWriter(&errb, e.progress)
		var rep ChildReport
		if err := cmd.Run(); err != nil {
			return rep, fmt.Errorf("child %s: %w: %s", mode, err, strings.TrimSpace(errb.String()))
		}
		if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &rep); err != nil {
			return rep, fmt.Errorf("child %s answered %q: %w", mode, out.String(), err)
		}
		return rep, nil
	}
	root := filepath.Join(e.cfg.Dir, "w5")

	idle, err := child("idle", filepath.Join(root, "idle"), 0)
	if err != nil {
		r.Err = err
		return r
	}
	r.add("idle_rss_mb", idle.RSSMB, atMost(80))
	r.add("idle_goroutines", float64(idle.Goroutines), nil)

	gdir := filepath.Join(root, "groups")
	made, err := child("groups", gdir, e.cfg.Groups)
	if err != nil {
		r.Err = err
		return r
	}
	loaded, err := child("load", gdir, 0)
	if err != nil {
		r.Err = err
		return r
	}
	r.add("groups", float64(made.Groups), nil)
	r.add("groups_rss_mb", loaded.RSSMB, atMost(max(200, float64(made.Groups)/100))) // 1 GB for 100,000
	r.add("groups_heap_mb", loaded.HeapMB, nil)
	r.add("groups_goroutines", float64(loaded.Goroutines), nil)
	r.add("groups_startup_s", loaded.StartupS, atMost(5))
	r.add("groups_wake_ms", loaded.WakeMS, nil)
	r.add("groups_created_per_s", float64(made.Groups)/made.WorkS, nil)

	sdir := filepath.Join(root, "stored")
	gen, err := child("generate", sdir, e.cfg.StoredEvents)
	if err != nil {
		r.Err = err
		return r
	}
	start, err := child("load", sdir, 0)
	if err != nil {
		r.Err = err
		return r
	}
	r.add("stored_events", float64(gen.Events), nil)
	r.add("startup_s", start.StartupS, atMost(1))
	r.add("stored_rss_mb", start.RSSMB, nil)
	r.note("RSS (VmRSS) and goroutines measured %s after start-up, in a process running one node and nothing else", settle)
	r.note("groups: %d groups created on a fresh node, which is then restarted and measured; stored: one group of %d events (written with valid signatures, straight into the store), start-up = node.New + Start", made.Groups, gen.Events)
	return r
}

// childArgs are the arguments of a child process.
func (e *env) childArgs(mode, dir string, n int) []string {
	args := []string{"bench", "--child", mode, "--dir", dir, "--n", strconv.Itoa(n)}
	if e.cfg.ChildProfiles != "" {
		args = append(args, "--cpuprofile", filepath.Join(e.cfg.ChildProfiles, fmt.Sprintf("%s-%d.prof", mode, n)))
	}
	return args
}

// RunChild runs one child-process part of W4 or W5 in this process and
// prints one JSON line to stdout. W5 modes print a ChildReport: idle (a
// fresh node), groups (create n groups on a fresh node), generate (a node
// whose store holds one group of n events), load (start the node stored in
// dir). W4's serve runs a node with one public group until stdin closes.
func RunChild(ctx context.Context, mode, dir string, n int, stdout, stderr io.Writer) error {
	var rep ChildReport
	var err error
	switch mode {
	case "idle", "load":
		rep, err = childLoad(ctx, dir)
	case "groups":
		rep, err = childGroups(ctx, dir, n)
	case "generate":
		rep, err = childGenerate(ctx, dir, n, stderr)
	case "serve":
		return childServe(ctx, dir, stdout)
	default:
		err = fmt.Errorf("unknown child mode %q", mode)
	}
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(rep)
}

func childConfig(dir string) node.Config {
	return node.Config{
		DataDir:       dir,
		ListenAddrs:   []string{"/ip4/127.0.0.1/tcp/0"},
		APIAddr:       "127.0.0.1:0",
		RatePerSecond: -1,
		Logger:        slog.New(slog.DiscardHandler),
	}
}

// childLoad starts the node in dir, waits settle and measures it.
func childLoad(ctx context.Context, dir string) (ChildReport, error) {
	start := time.Now()
	n, err := node.New(childConfig(dir))
	if err != nil {
		return ChildReport{}, err
	}
	defer n.Close()
	if err := n.Start(ctx); err != nil {
		return ChildReport{}, err
	}
	rep := ChildReport{StartupS: time.Since(start).Seconds()}
	select {
	case <-time.After(settle):
	case <-ctx.Done():
		return rep, ctx.Err()
	}
	rep.RSSMB, err = rssMB()
	rep.Goroutines = runtime.NumGoroutine()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rep.HeapMB = float64(ms.HeapInuse) / (1 << 20)
	if gids := n.Groups(); len(gids) > 1 {
		t0 := time.Now()
		if _, err := n.GroupView(gids[0]); err != nil {
			return rep, fmt.Errorf("reading a sleeping group: %w", err)
		}
		rep.WakeMS = float64(time.Since(t0).Microseconds()) / 1000
	}
	return rep, err
}

// childGroups creates n groups hosted by a fresh node in dir.
func childGroups(ctx context.Context, dir string, n int) (ChildReport, error) {
	cfg := childConfig(dir)
	cfg.IdleAfter = time.Second // as a merchant's node would over hours: created groups go to sleep
	nd, err := node.New(cfg)
	if err != nil {
		return ChildReport{}, err
	}
	defer nd.Close()
	if err := nd.Start(ctx); err != nil {
		return ChildReport{}, err
	}
	admin, err := loadKey(filepath.Join(dir, "admin.key"))
	if err != nil {
		return ChildReport{}, err
	}
	m := &member{name: "N", node: nd, admin: admin, user: admin}
	start := time.Now()
	var next atomic.Int64
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for int(next.Add(1)) <= n && firstErr.Load() == nil {
				if _, err := createGroup(ctx, m, "group"); err != nil {
					firstErr.CompareAndSwap(nil, &err)
				}
			}
		}()
	}
	wg.Wait()
	if p := firstErr.Load(); p != nil {
		return ChildReport{}, *p
	}
	return ChildReport{Groups: n, WorkS: time.Since(start).Seconds()}, nd.Close()
}

// childGenerate makes a node in dir whose store holds one group of n
// events: the group is created through the node, the other n-1 events are
// signed like the host signs them and written straight into the store
// (without fsync: generating is not what is measured).
func childGenerate(ctx context.Context, dir string, n int, progress io.Writer) (ChildReport, error) {
	start := time.Now()
	nd, err := node.New(childConfig(dir))
	if err != nil {
		return ChildReport{}, err
	}
	if err := nd.Start(ctx); err != nil {
		nd.Close()
		return ChildReport{}, err
	}
	admin, err := loadKey(filepath.Join(dir, "admin.key"))
	if err != nil {
		nd.Close()
		return ChildReport{}, err
	}
	m := &member{name: "N", node: nd, admin: admin, user: admin}
	gid, err := createGroup(ctx, m, "a million events")
	if err != nil {
		nd.Close()
		return ChildReport{}, err
	}
	hostID := nd.ID()
	if err := nd.Close(); err != nil {
		return ChildReport{}, err
	}
	hostKey, err := loadKey(filepath.Join(dir, "node.key"))
	if err != nil {
		return ChildReport{}, err
	}
	if hostKey.ID() != hostID {
		return ChildReport{}, errors.New("node.key is not the node's key")
	}
	st, err := storage.Open(filepath.Join(dir, "store"), storage.WithoutSync(), storage.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return ChildReport{}, err
	}
	defer st.Close()
	state := protocol.NewState()
	raw, err := st.Event(gid, 1)
	if err != nil {
		return ChildReport{}, err
	}
	genesis, err := protocol.DecodeEvent(raw)
	if err != nil {
		return ChildReport{}, err
	}
	noLookup := func(uint64) (protocol.EventInfo, bool) { return protocol.EventInfo{}, false }
	if err := state.Apply(genesis, noLookup); err != nil {
		return ChildReport{}, err
	}

	// Submissions are signed in chunks on every core while the events of
	// the previous chunk are signed (one after the other: each names the
	// previous one's hash). A chunk is one storage commit: it must stay
	// under storage.MaxCommitBytes (about 700 bytes per event with indexes).
	const chunk = 1000
	chunks := make(chan []*protocol.SignedSubmission, 1)
	go func() {
		defer close(chunks)
		for done := 1; done < n && ctx.Err() == nil; done += chunk {
			k := min(chunk, n-done)
			chunks <- signMessages(gid, func(int) *protocol.Key { return admin }, fmt.Sprintf("gen%d", done), k)
		}
	}()
	lastReport := time.Now()
	for subs := range chunks {
		batch := storage.Batch{Group: gid}
		for _, s := range subs {
			now := max(uint64(time.Now().UnixMilli()), state.HeadTime)
			e := protocol.Event{Group: gid, Seq: state.Head + 1, Prev: state.HeadID, Time: now, Via: hostID, Submission: s.Raw}
			ev, err := e.Sign(hostKey)
			if err == nil {
				err = state.Apply(ev, noLookup)
			}
			if err != nil {
				return ChildReport{}, fmt.Errorf("generating event %d: %w", e.Seq, err)
			}
			batch.Events = append(batch.Events, storage.Record{Seq: ev.Seq, ID: ev.ID, SubmissionID: ev.Sub.ID, Data: ev.Raw})
		}
		if err := st.Commit(batch); err != nil {
			return ChildReport{}, err
		}
		if time.Since(lastReport) > time.Second {
			fmt.Fprintf(progress, "W5: generated %d/%d events\n", state.Head, n)
			lastReport = time.Now()
		}
	}
	if err := ctx.Err(); err != nil {
		return ChildReport{}, err
	}
	snap, err := state.MarshalSnapshot()
	if err != nil {
		return ChildReport{}, err
	}
	if err := st.Commit(storage.Batch{Group: gid, Snapshot: &storage.Snapshot{Seq: state.Head, Data: snap}}); err != nil {
		return ChildReport{}, err
	}
	return ChildReport{Events: int(state.Head), WorkS: time.Since(start).Seconds()}, st.Close()
}

// rssMB reads this process's resident set size.
func rssMB() (float64, error) { return rssOf("/proc/self/status") }

// rssOf reads VmRSS from a /proc/PID/status file.
func rssOf(path string) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("reading RSS: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				return 0, fmt.Errorf("reading RSS: %w", err)
			}
			return float64(kb) / 1024, nil
		}
	}
	return 0, errors.New("reading RSS: no VmRSS in /proc/self/status")
}
