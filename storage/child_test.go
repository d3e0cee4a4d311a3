package storage

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Fault tests run the store in a child process (this test binary, re-executed with
// QUN_STORAGE_CHILD set), so that a SIGKILL, a SIGBUS or a hang hits the child, not the test.

func TestMain(m *testing.M) {
	if mode := os.Getenv("QUN_STORAGE_CHILD"); mode != "" {
		os.Exit(runChild(mode, os.Getenv("QUN_STORAGE_DIR")))
	}
	os.Exit(m.Run())
}

// child is a running child process and the lines it printed.
type child struct {
	t      testing.TB
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	lines  chan string
	done   chan struct{} // closed when stdout is at EOF
}

func startChild(t testing.TB, mode, dir string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{"QUN_STORAGE_CHILD=" + mode, "QUN_STORAGE_DIR=" + dir}, env...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{t: t, cmd: cmd, stderr: &bytes.Buffer{}, lines: make(chan string, 1<<16), done: make(chan struct{})}
	cmd.Stderr = &lockedWriter{w: c.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.done)
		defer close(c.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return c
}

// wait waits for the child to exit and returns its state (after stdout is drained).
func (c *child) wait() *os.ProcessState {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		c.t.Fatalf("child %v did not finish; stderr:\n%s", c.cmd.Env[len(c.cmd.Env)-2:], c.stderr)
	}
	_ = c.cmd.Wait()
	return c.cmd.ProcessState
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func childLogger() Option {
	return WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

func runChild(mode, dir string) int {
	switch mode {
	case "wal":
		return childWAL(dir)
	case "full":
		return childFull(dir)
	case "reopen-full":
		return childReopenFull(dir)
	}
	fmt.Fprintf(os.Stderr, "unknown child mode %q\n", mode)
	return 2
}

// walGroups is the number of groups childWAL writes to, one goroutine each.
const walGroups = 4

// childWAL commits one ~600 B event per call to each of walGroups groups, and prints
// "ack <group> <seq>" after each Commit that returned nil, until it is killed (or 60 s).
func childWAL(dir string) int {
	s, err := Open(dir, childLogger())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	deadline := time.Now().Add(60 * time.Second)
	var wg sync.WaitGroup
	for w := range walGroups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := gid(byte(w + 1))
			for seq := uint64(1); time.Now().Before(deadline); seq++ {
				if err := s.Commit(Batch{Group: g, Events: []Record{ev(g, seq, 600)}}); err != nil {
					fmt.Fprintln(os.Stderr, "commit:", err)
					return
				}
				mu.Lock()
				fmt.Fprintf(out, "ack %d %d\n", w+1, seq)
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return 0
}

// Disk-full child: group fullGroup, fullBatch events of fullEventSize bytes per commit.
const (
	fullGroup     = 7
	fullBatch     = 16
	fullEventSize = 4000
	fullMinFree   = minMinFree
	fullBallast   = 48 << 20
)

// childFull commits continuously until SIGTERM, then closes the store and exits 0. It prints
//
//	ack <seq> <unixnano>      after a commit that returned nil (seq: the last event of it)
//	full <unixnano> <text>    after each commit that returned ErrStorageFull
//	read ok|<error>           after each full error: a read of the last acknowledged events
//	err <text>                after any other commit error
func childFull(dir string) int {
	s, err := Open(dir, childLogger(), WithSpaceReserve(fullMinFree, fullBallast))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	g := gid(fullGroup)
	head, _, _ := s.Head(g)
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, "ready")
	out.Flush()
	pace := time.NewTicker(20 * time.Millisecond)
	defer pace.Stop()
	for {
		select {
		case <-term:
			if err := s.Close(); err != nil {
				fmt.Fprintln(os.Stderr, "close:", err)
				return 1
			}
			return 0
		default:
		}
		err := s.Commit(Batch{Group: g, Events: evs(g, head+1, head+fullBatch, fullEventSize)})
		now := time.Now().UnixNano()
		switch {
		case err == nil:
			head += fullBatch
			fmt.Fprintf(out, "ack %d %d\n", head, now)
		case errors.Is(err, ErrStorageFull):
			fmt.Fprintf(out, "full %d %s\n", now, err)
			res := "ok"
			if head > 0 {
				from := max(head, 10) - 9
				r, err := s.Range(g, from, 0, 0)
				if err != nil {
					res = err.Error()
				} else if len(r) != int(head-from+1) || !bytes.Equal(r[len(r)-1].Data, ev(g, head, fullEventSize).Data) {
					res = fmt.Sprintf("read %d events, want %d", len(r), head-from+1)
				}
			}
			fmt.Fprintf(out, "read %s\n", res)
			<-pace.C // the loop retries at a steady pace
		default:
			fmt.Fprintf(out, "err %s\n", err)
			<-pace.C // the loop retries at a steady pace
		}
		out.Flush()
	}
}

// childReopenFull opens the store on a full disk and prints "full <bool>", "head <seq>",
// "read ok|<error>" (every event of fullGroup) and "commit <error>".
func childReopenFull(dir string) int {
	s, err := Open(dir, childLogger(), WithSpaceReserve(fullMinFree, fullBallast))
	if err != nil {
		fmt.Printf("open %v\n", err)
		return 1
	}
	g := gid(fullGroup)
	fmt.Printf("full %v\n", s.Full())
	head, _, err := s.Head(g)
	fmt.Printf("head %d %v\n", head, err)
	res := "ok"
	for from := uint64(1); from <= head; from += 100 {
		r, err := s.Range(g, from, 100, 0)
		if err != nil {
			res = err.Error()
			break
		}
		for _, rec := range r {
			if !bytes.Equal(rec.Data, ev(g, rec.Seq, fullEventSize).Data) {
				res = fmt.Sprintf("seq %d differs", rec.Seq)
			}
		}
	}
	fmt.Printf("read %s\n", res)
	err = s.Commit(Batch{Group: g, Events: evs(g, head+1, head+1, fullEventSize)})
	fmt.Printf("commit %v\n", errors.Is(err, ErrStorageFull))
	fmt.Fprintf(os.Stderr, "commit on full disk: %v\n", err)
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
	}
	return 0
}

// parseFields splits a child line "word a b ..." and parses field i as uint64.
func field(t testing.TB, line string, i int) uint64 {
	t.Helper()
	f := strings.Fields(line)
	if len(f) <= i {
		t.Fatalf("child line %q: no field %d", line, i)
	}
	v, err := strconv.ParseUint(f[i], 10, 64)
	if err != nil {
		t.Fatalf("child line %q: %v", line, err)
	}
	return v
}
