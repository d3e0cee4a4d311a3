package bench

import (
	"context"
	"encoding/json"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

func TestConfigDefaultsAndErrors(t *testing.T) {
	c, err := Config{Quick: true, Only: []string{" w1", "W5"}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if !c.runs("W1") || c.runs("W2") || c.BurstMessages != 300 {
		t.Fatalf("quick config %+v", c)
	}
	_, err = Config{Only: []string{"W9"}, BurstSenders: 5, BurstMessages: 3, FanoutClients: []int{0}}.withDefaults()
	for _, want := range []string{`unknown workload "W9"`, "5 senders for 3 messages", "fan-out clients must be at least 1"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

func TestResultJSON(t *testing.T) {
	r := Result{Workload: "W1", Title: "burst", Mode: "m"}
	r.add("acked_per_s", 1234.56, atLeast(5000))
	r.add("lost", 0, atMost(0))
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["workload"] != "W1" || m["acked_per_s"] != 1235.0 || m["lost"] != 0.0 || m["targets_met"] != false {
		t.Fatalf("JSON %s", b)
	}
	if missed := m["missed"].([]any); len(missed) != 1 || missed[0] != "acked_per_s" {
		t.Fatalf("missed %v", missed)
	}
}

// TestCPUByLabel: CPU spent under a pprof label is attributed to it.
func TestCPUByLabel(t *testing.T) {
	c, err := startCPU()
	if err != nil {
		t.Skipf("CPU profile unavailable: %v", err)
	}
	pprof.Do(context.Background(), pprof.Labels("node", "X"), func(context.Context) {
		x := 0
		for start := time.Now(); time.Since(start) < 300*time.Millisecond; {
			for i := range 10000 {
				x ^= i * i
			}
		}
		_ = x
	})
	per, err := c.stop("node")
	if err != nil {
		t.Fatal(err)
	}
	if per["X"] < 100*time.Millisecond {
		t.Fatalf("label X got %v of CPU, want about 300ms (all: %v)", per["X"], per)
	}
}
