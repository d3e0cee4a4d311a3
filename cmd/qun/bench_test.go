package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"testing"
	"time"
)

// TestBenchQuick runs `qun bench --quick --json` (every workload at a tiny
// size, a few seconds) as a smoke test: each workload finishes, prints one
// JSON object with snake_case figures, and loses nothing.
func TestBenchQuick(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, binary(t), "bench", "--quick", "--json", "--dir", t.TempDir())
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("qun bench --quick: %v\nstderr:\n%s", err, stderr.String())
	}
	want := []string{"W1", "W2", "W3", "W4", "W5", "W6", "W7"}
	sc := bufio.NewScanner(&stdout)
	i := 0
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, sc.Text())
		}
		if i >= len(want) || r["workload"] != want[i] {
			t.Fatalf("line %d: workload %v, want %v", i+1, r["workload"], want)
		}
		if e, ok := r["error"]; ok {
			t.Errorf("%s failed: %v", want[i], e)
		}
		for _, k := range []string{"lost", "failed", "catchup_lost"} {
			if v, ok := r[k]; ok && v.(float64) != 0 {
				t.Errorf("%s: %s = %v", want[i], k, v)
			}
		}
		i++
	}
	if i != len(want) {
		t.Fatalf("%d results, want %d:\n%s\nstderr:\n%s", i, len(want), stdout.String(), stderr.String())
	}
	if !bytes.Contains(stderr.Bytes(), []byte("W1: signing")) {
		t.Errorf("no progress on stderr:\n%s", stderr.String())
	}
}

// TestBenchFlags: bad flag values are usage errors, reported at once.
func TestBenchFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"bench", "--only", "W9", "--messages", "-1"}, &stdout, &stderr)
	if code != 2 {
		t.Fatalf("exit %d, want 2; stderr %q", code, stderr.String())
	}
	for _, want := range []string{`unknown workload "W9"`, "burst messages must be at least 1"} {
		if !bytes.Contains(stderr.Bytes(), []byte(want)) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}
