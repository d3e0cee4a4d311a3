package bench

import (
	"bytes"
	"fmt"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/google/pprof/profile"
)

// cpuByLabel measures the CPU time of a span of work per value of one pprof
// label, from the process's CPU profile (100 samples per second per busy
// thread). Goroutines without the label (Go's garbage collector workers,
// the benchmark driver) are counted under "".
type cpuByLabel struct {
	buf bytes.Buffer
}

// startCPU starts the CPU profile. It fails when a profile already runs
// (qun bench --cpuprofile): the per-node figures are then left out.
func startCPU() (*cpuByLabel, error) {
	c := &cpuByLabel{}
	if err := pprof.StartCPUProfile(&c.buf); err != nil {
		return nil, err
	}
	return c, nil
}

// stop stops the profile and returns the CPU time per value of label.
func (c *cpuByLabel) stop(label string) (map[string]time.Duration, error) {
	pprof.StopCPUProfile()
	return sumProfileByLabel(c.buf.Bytes(), label)
}

// processCPU is the CPU time (user + system) the process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sumProfileByLabel reads a pprof CPU profile and sums the last sample
// value (CPU nanoseconds) per value of label.
func sumProfileByLabel(data []byte, label string) (map[string]time.Duration, error) {
	p, err := profile.ParseData(data)
	if err != nil {
		return nil, fmt.Errorf("reading CPU profile: %w", err)
	}
	out := map[string]time.Duration{}
	for _, s := range p.Sample {
		if len(s.Value) == 0 {
			continue
		}
		key := ""
		if vals := s.Label[label]; len(vals) > 0 {
			key = vals[0]
		}
		out[key] += time.Duration(s.Value[len(s.Value)-1])
	}
	return out, nil
}
