package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"
)

// Config says which workloads to run and how big they are. The zero value
// plus defaults (applied by Run) is the standard run of BENCHMARKS.md.
type Config struct {
	// Dir is the scratch directory for the nodes' data; it must be empty
	// or absent. Default: a new temporary directory, removed when Run
	// returns.
	Dir string
	// Only lists the workloads to run ("W1", "W3"…); empty runs all.
	Only []string
	// Quick shrinks every workload to a smoke test of a few seconds.
	Quick bool
	// Progress receives one line per second about the running workload.
	// Default: none.
	Progress io.Writer
	// Logger receives the nodes' logs. Default: discard.
	Logger *slog.Logger
	// Exe is the qun binary W4 and W5 start as a child (`Exe bench
	// --child …`). Default: the running executable.
	Exe string
	// ChildProfiles, when set, is a directory where each child process
	// writes a CPU profile (MODE-N.prof).
	ChildProfiles string

	// BurstMessages and BurstSenders size W1 (default 20,000 and 16).
	BurstMessages, BurstSenders int
	// PacedRate (per second) and PacedFor size W2 (default 1,000/s for 20 s).
	PacedRate int
	PacedFor  time.Duration
	// CatchUpEvents is the size of the group D catches up with in W3
	// (default 100,000).
	CatchUpEvents int
	// FanoutClients are W4's numbers of WebSocket clients, one run each
	// (default 2,000 and 5,000).
	FanoutClients []int
	// Groups is the number of hosted groups in W5 (default 100,000).
	Groups int
	// StoredEvents is the number of stored events for W5's start-up
	// (default 1,000,000).
	StoredEvents int
	// BridgeMessages sizes W6: messages each way through the bridge
	// (default 2,000).
	BridgeMessages int
	// Images and ImageMembers size W7: photos of ~1 MB uploaded (default
	// 20) and members who download one (default 500).
	Images, ImageMembers int
}

// Workloads lists the workloads Run knows, in the order it runs them.
var Workloads = []string{"W1", "W2", "W3", "W4", "W5", "W6", "W7"}

func (c Config) withDefaults() (Config, error) {
	def := func(v *int, full, quick int) {
		if *v == 0 {
			*v = full
			if c.Quick {
				*v = quick
			}
		}
	}
	def(&c.BurstMessages, 20000, 300)
	def(&c.BurstSenders, 16, 4)
	def(&c.PacedRate, 1000, 100)
	def(&c.CatchUpEvents, 100000, 1000)
	def(&c.Groups, 100000, 10)
	def(&c.StoredEvents, 1000000, 3000)
	def(&c.BridgeMessages, 2000, 50)
	def(&c.Images, 20, 2)
	def(&c.ImageMembers, 500, 10)
	if len(c.FanoutClients) == 0 {
		c.FanoutClients = []int{2000, 5000}
		if c.Quick {
			c.FanoutClients = []int{20, 50}
		}
	}
	if c.PacedFor == 0 {
		c.PacedFor = 20 * time.Second
		if c.Quick {
			c.PacedFor = 2 * time.Second
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	var errs []error
	for _, k := range c.FanoutClients {
		if k < 1 {
			errs = append(errs, fmt.Errorf("fan-out clients must be at least 1, not %d", k))
		}
	}
	for i, w := range c.Only {
		c.Only[i] = strings.ToUpper(strings.TrimSpace(w))
		if !slices.Contains(Workloads, c.Only[i]) {
			errs = append(errs, fmt.Errorf("unknown workload %q (known: %s)", w, strings.Join(Workloads, ", ")))
		}
	}
	for _, v := range []struct {
		name string
		n    int
	}{{"burst messages", c.BurstMessages}, {"burst senders", c.BurstSenders}, {"paced rate", c.PacedRate},
		{"catch-up events", c.CatchUpEvents}, {"groups", c.Groups}, {"stored events", c.StoredEvents},
		{"images", c.Images}, {"image members", c.ImageMembers}, {"bridge messages", c.BridgeMessages}} {
		if v.n < 1 {
			errs = append(errs, fmt.Errorf("%s must be at least 1, not %d", v.name, v.n))
		}
	}
	if c.BurstSenders > c.BurstMessages {
		errs = append(errs, fmt.Errorf("%d senders for %d messages: want at most one sender per message", c.BurstSenders, c.BurstMessages))
	}
	if c.PacedFor < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("paced duration %s is too short", c.PacedFor))
	}
	return c, errors.Join(errs...)
}

func (c Config) runs(w string) bool { return len(c.Only) == 0 || slices.Contains(c.Only, w) }

// Target is a bound a figure should meet: Value >= Bound (AtLeast) or
// Value <= Bound.
type Target struct {
	AtLeast bool
	Bound   float64
}

func (t Target) String() string {
	if t.AtLeast {
		return "≥ " + formatValue(t.Bound)
	}
	return "≤ " + formatValue(t.Bound)
}

func (t Target) met(v float64) bool {
	if t.AtLeast {
		return v >= t.Bound
	}
	return v <= t.Bound
}

func atLeast(v float64) *Target { return &Target{AtLeast: true, Bound: v} }
func atMost(v float64) *Target  { return &Target{Bound: v} }

// Figure is one measured value.
type Figure struct {
	// Name is snake_case with the unit as suffix (acked_per_s, p99_ms).
	Name   string
	Value  float64
	Target *Target // nil when the issue sets no target for it
}

// Met reports whether the figure meets its target (true without a target).
func (f Figure) Met() bool { return f.Target == nil || f.Target.met(f.Value) }

// Result is the outcome of one workload.
type Result struct {
	Workload string // "W1"
	Title    string // "burst"
	Mode     string // how the nodes ran and were driven
	Figures  []Figure
	Notes    []string // facts needed to read the figures
	Err      error    // the workload could not finish
}

func (r *Result) add(name string, v float64, t *Target) {
	r.Figures = append(r.Figures, Figure{Name: name, Value: v, Target: t})
}

func (r *Result) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// Met reports whether every figure with a target meets it.
func (r Result) Met() bool {
	for _, f := range r.Figures {
		if !f.Met() {
			return false
		}
	}
	return r.Err == nil
}

// MarshalJSON writes one flat object: {"workload": "W1", "title": …,
// "mode": …, "<figure>": value…, "targets_met": bool, "missed": [names],
// "notes": […], "error": "…"}.
func (r Result) MarshalJSON() ([]byte, error) {
	m := map[string]any{"workload": r.Workload, "title": r.Title, "mode": r.Mode, "targets_met": r.Met()}
	missed := []string{}
	for _, f := range r.Figures {
		m[f.Name] = roundFigure(f.Value)
		if !f.Met() {
			missed = append(missed, f.Name)
		}
	}
	m["missed"] = missed
	if len(r.Notes) > 0 {
		m["notes"] = r.Notes
	}
	if r.Err != nil {
		m["error"] = r.Err.Error()
	}
	return json.Marshal(m)
}

func roundFigure(v float64) float64 {
	switch {
	case v >= 100:
		return float64(int64(v + 0.5))
	case v >= 1:
		return float64(int64(v*100+0.5)) / 100
	default:
		return float64(int64(v*10000+0.5)) / 10000
	}
}

func formatValue(v float64) string {
	switch {
	case v >= 10000:
		s := fmt.Sprintf("%.0f", v)
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		return b.String()
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	case v == 0:
		return "0"
	default:
		return fmt.Sprintf("%.4f", v)
	}
}

// WriteTable prints the results as a table: workload, figure, value,
// target, met.
func WriteTable(w io.Writer, results []Result) {
	fmt.Fprintf(w, "%-4s %-28s %14s %12s  %s\n", "", "figure", "value", "target", "met")
	for _, r := range results {
		fmt.Fprintf(w, "%s %s — %s\n", r.Workload, r.Title, r.Mode)
		for _, f := range r.Figures {
			target, met := "", ""
			if f.Target != nil {
				target, met = f.Target.String(), "yes"
				if !f.Met() {
					met = "NO"
				}
			}
			fmt.Fprintf(w, "%-4s %-28s %14s %12s  %s\n", "", f.Name, formatValue(f.Value), target, met)
		}
		for _, n := range r.Notes {
			fmt.Fprintf(w, "     note: %s\n", n)
		}
		if r.Err != nil {
			fmt.Fprintf(w, "     error: %v\n", r.Err)
		}
	}
}

// Run runs the configured workloads in order and returns one result per
// workload. A workload that fails has Err set and the others still run;
// Run returns an error only for a bad Config or when ctx is cancelled.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.Dir != "" {
		if entries, err := os.ReadDir(cfg.Dir); err == nil && len(entries) > 0 {
			return nil, fmt.Errorf("scratch directory %s is not empty: the workloads need fresh nodes", cfg.Dir)
		}
	} else {
		dir, err := os.MkdirTemp("", "qun-bench-")
		if err != nil {
			return nil, fmt.Errorf("creating scratch directory: %w", err)
		}
		defer os.RemoveAll(dir)
		cfg.Dir = dir
	}
	env := &env{cfg: cfg, progress: cfg.Progress}
	defer env.close()
	var results []Result
	for _, w := range Workloads {
		if !cfg.runs(w) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return results, err
		}
		var r Result
		switch w {
		case "W1":
			r = env.w1(ctx)
		case "W2":
			r = env.w2(ctx)
		case "W3":
			r = env.w3(ctx)
		case "W4":
			r = env.w4(ctx)
		case "W5":
			r = env.w5(ctx)
		case "W6":
			r = env.w6(ctx)
		case "W7":
			r = env.w7(ctx)
		}
		results = append(results, r)
	}
	return results, ctx.Err()
}
