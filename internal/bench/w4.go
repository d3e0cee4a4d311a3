package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/qunchat/qun/node"
	"github.com/qunchat/qun/protocol"
	"github.com/qunchat/qun/protocol/api"
)

// fanoutRate and fanoutFor are W4's sending rate and duration.
const (
	fanoutRate = 20
	fanoutFor  = 15 * time.Second
)

// serveReport is what `qun bench --child serve` prints once its node runs.
type serveReport struct {
	API   string `json:"api"`
	Group string `json:"group"`
	PID   int    `json:"pid"`
}

// w4 runs one node in a child process and connects light clients to its
// WebSocket from this process: once with 2,000 clients, once with 5,000.
func (e *env) w4(ctx context.Context) (r Result) {
	r = Result{Workload: "W4", Title: "fan-out",
		Mode: "one node in a child process; WebSocket light clients in this process over loopback; submissions through the HTTP API"}
	for _, k := range e.cfg.FanoutClients {
		if err := e.fanout(ctx, &r, k); err != nil {
			r.Err = fmt.Errorf("%d clients: %w", k, err)
			return r
		}
	}
	sendFor := fanoutFor
	if e.cfg.Quick {
		sendFor = 2 * time.Second
	}
	r.note("each client: its own key, signed in (challenge), subscribed to one public group; %d msg/s for %s sent as the group's owner", fanoutRate, sendFor)
	r.note("latency: from the start of the submit request to the event read by the client; the clients' own CPU (JSON decoding) shares the 2 cores with the node")
	r.note("rss_kb_per_client: growth of the node's RSS from before the clients connected to when all were subscribed and idle")
	return r
}

func (e *env) fanout(ctx context.Context, r *Result, k int) error {
	exe, err := e.exe()
	if err != nil {
		return err
	}
	dir := filepath.Join(e.cfg.Dir, fmt.Sprintf("w4-%d", k))
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(cctx, exe, e.childArgs("serve", dir, k)...)
	cmd.Stderr = e.progress
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the node: %w", err)
	}
	defer func() {
		stdin.Close() // the child stops when its stdin closes
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return fmt.Errorf("the node did not start: %w", err)
	}
	var sr serveReport
	if err := json.Unmarshal([]byte(line), &sr); err != nil {
		return fmt.Errorf("the node answered %q: %w", line, err)
	}
	gid, err := protocol.ParseGroupID(sr.Group)
	if err != nil {
		return err
	}
	admin, err := loadKey(filepath.Join(dir, "admin.key"))
	if err != nil {
		return err
	}
	owner, err := signIn(ctx, sr.API, admin)
	if err != nil {
		return err
	}
	rss0, err := procRSSMB(sr.PID)
	if err != nil {
		return err
	}

	sendFor := fanoutFor
	if e.cfg.Quick {
		sendFor = 2 * time.Second
	}
	total := int(fanoutRate * sendFor.Seconds())
	clients := make([]*fanClient, k)
	var connected atomic.Int64
	stop := e.ticker(func() string { return fmt.Sprintf("W4 %d: %d clients subscribed", k, connected.Load()) })
	var next atomic.Int64
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= k || firstErr.Load() != nil {
					return
				}
				c, err := newFanClient(cctx, sr.API, gid, total)
				if err != nil {
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				clients[i] = c
				connected.Add(1)
			}
		}()
	}
	wg.Wait()
	stop()
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.conn.CloseNow()
			}
		}
	}()
	if p := firstErr.Load(); p != nil {
		return *p
	}
	// Idle clients: let the node settle, then measure its RSS.
	select {
	case <-time.After(2 * time.Second):
	case <-ctx.Done():
		return ctx.Err()
	}
	rss1, err := procRSSMB(sr.PID)
	if err != nil {
		return err
	}
	for _, c := range clients {
		c.start()
	}

	// Send at fanoutRate; message i carries i in its text.
	subs := signMessages(gid, func(int) *protocol.Key { return admin }, "w4", total)
	sentAt := make([]time.Time, total)
	stop = e.ticker(func() string {
		var got int64
		for _, c := range clients {
			got += c.received.Load()
		}
		return fmt.Sprintf("W4 %d: %d deliveries of %d", k, got, int64(k)*int64(total))
	})
	start := time.Now()
	var sendErr atomic.Pointer[error]
	var sends sync.WaitGroup
	for i := range total { // open loop: a slow answer does not slow the sending
		at := start.Add(time.Duration(i) * time.Second / fanoutRate)
		select {
		case <-time.After(time.Until(at)):
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		sentAt[i] = time.Now()
		sends.Add(1)
		go func() {
			defer sends.Done()
			if _, err := owner.submit(ctx, subs[i].Raw); err != nil {
				sendErr.CompareAndSwap(nil, &err)
			}
		}()
	}
	sendSpan := time.Since(start)
	sends.Wait()
	// Wait until every client has everything, or 30 s after the last send.
	deadline := time.Now().Add(30 * time.Second)
	for _, c := range clients {
		select {
		case <-c.done:
		case <-time.After(time.Until(deadline)):
		}
	}
	elapsed := time.Since(start)
	stop()
	var lat []time.Duration
	var delivered int64
	var last time.Time
	for _, c := range clients {
		c.conn.CloseNow()
		<-c.stopped
		delivered += c.received.Load()
		for i, t := range c.at {
			if !t.IsZero() && !sentAt[i].IsZero() {
				lat = append(lat, t.Sub(sentAt[i]))
				if t.After(last) {
					last = t
				}
			}
		}
	}
	want := int64(k) * int64(total)
	span := last.Sub(start)
	if span <= 0 {
		span = elapsed
	}
	p := fmt.Sprintf("_%d", k)
	r.add("sent_per_s"+p, float64(total)/sendSpan.Seconds(), nil)
	r.add("deliveries_per_s"+p, float64(delivered)/span.Seconds(), nil)
	var pctTarget *Target
	if k >= 5000 {
		pctTarget = atLeast(99.99)
	}
	r.add("delivered_pct"+p, 100*float64(delivered)/float64(want), pctTarget)
	var p99Target *Target
	if k >= 5000 {
		p99Target = atMost(250)
	}
	r.add("p50_ms"+p, ms(percentile(lat, 50)), nil)
	r.add("p99_ms"+p, ms(percentile(lat, 99)), p99Target)
	r.add("max_ms"+p, ms(percentile(lat, 100)), nil)
	r.add("rss_mb"+p, rss1, nil)
	var perTarget *Target
	if k >= 5000 {
		perTarget = atMost(40)
	}
	r.add("rss_kb_per_client"+p, (rss1-rss0)*1024/float64(k), perTarget)
	if p := sendErr.Load(); p != nil {
		r.note("%d clients: a submission failed: %v", k, *p)
	}
	return nil
}

// fanClient is one light client subscribed to the group.
type fanClient struct {
	conn     *websocket.Conn
	at       []time.Time // arrival of message i
	received atomic.Int64
	want     int
	done     chan struct{} // closed when every message arrived
	stopped  chan struct{} // closed when the reader ends
}

func newFanClient(ctx context.Context, apiURL string, gid protocol.GroupID, want int) (*fanClient, error) {
	key, err := protocol.NewKey()
	if err != nil {
		return nil, err
	}
	lc, err := signIn(ctx, apiURL, key)
	if err != nil {
		return nil, err
	}
	conn, err := lc.dial(ctx)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(api.WSClientMessage{Type: "subscribe", Group: gid.String()})
	if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
		conn.CloseNow()
		return nil, err
	}
	_, data, err := conn.Read(ctx)
	var m api.WSServerMessage
	if err == nil {
		err = json.Unmarshal(data, &m)
	}
	if err == nil && m.Type != "subscribed" {
		err = fmt.Errorf("subscribing: %s %s", m.Code, m.Message)
	}
	if err != nil {
		conn.CloseNow()
		return nil, err
	}
	return &fanClient{conn: conn, at: make([]time.Time, want), want: want, done: make(chan struct{}), stopped: make(chan struct{})}, nil
}

// start reads events until the connection ends.
func (c *fanClient) start() {
	go func() {
		defer close(c.stopped)
		var m struct {
			Type  string `json:"type"`
			Event struct {
				Text string `json:"text"`
			} `json:"event"`
		}
		for {
			_, data, err := c.conn.Read(context.Background())
			if err != nil {
				return
			}
			now := time.Now()
			m.Type, m.Event.Text = "", ""
			if json.Unmarshal(data, &m) != nil || m.Type != "event" {
				continue
			}
			f := strings.Fields(m.Event.Text)
			if len(f) < 2 || f[0] != "w4" {
				continue
			}
			i, err := strconv.Atoi(f[1])
			if err != nil || i < 0 || i >= len(c.at) || !c.at[i].IsZero() {
				continue
			}
			c.at[i] = now
			if int(c.received.Add(1)) == c.want {
				close(c.done)
			}
		}
	}()
}

// childServe runs a node with one public group until stdin closes, and
// prints a serveReport.
func childServe(ctx context.Context, dir string, stdout io.Writer) error {
	cfg := childConfig(dir)
	cfg.APIRatePerSecond = -1 // thousands of sign-ins from one address
	nd, err := node.New(cfg)
	if err != nil {
		return err
	}
	defer nd.Close()
	if err := nd.Start(ctx); err != nil {
		return err
	}
	admin, err := loadKey(filepath.Join(dir, "admin.key"))
	if err != nil {
		return err
	}
	m := &member{name: "N", node: nd, admin: admin, user: admin}
	name, policy, public, cap := "fan-out", protocol.PolicyOpen, true, uint32(protocol.MaxMemberCap)
	body := &protocol.CreateBody{Host: nd.ID(), Settings: protocol.Settings{Name: &name, Policy: &policy, Public: &public, Cap: &cap}}
	ev, err := submit(ctx, m, mustSign(admin, protocol.GroupID{}, body))
	if err != nil {
		return err
	}
	b, _ := json.Marshal(serveReport{API: nd.APIURL(), Group: ev.Group.String(), PID: os.Getpid()})
	if _, err := fmt.Fprintf(stdout, "%s\n", b); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return nil
}

// procRSSMB reads a process's resident set size.
func procRSSMB(pid int) (float64, error) {
	return rssOf(fmt.Sprintf("/proc/%d/status", pid))
}

// exe returns the qun binary the children run.
func (e *env) exe() (string, error) {
	if e.cfg.Exe != "" {
		return e.cfg.Exe, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the qun binary for the child processes: %w", err)
	}
	return exe, nil
}
