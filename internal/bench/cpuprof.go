package bench

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"runtime/pprof"
	"syscall"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
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

// sumProfileByLabel reads a gzipped pprof profile (profile.proto) and sums
// the last sample value (CPU nanoseconds) per value of label.
//
//	message Profile { repeated ValueType sample_type = 1; repeated Sample sample = 2; …; repeated string string_table = 6; … }
//	message Sample { repeated uint64 location_id = 1; repeated int64 value = 2; repeated Label label = 3; }
//	message Label { int64 key = 1; int64 str = 2; int64 num = 3; int64 num_unit = 4; }
func sumProfileByLabel(gz []byte, label string) (map[string]time.Duration, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("reading CPU profile: %w", err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("reading CPU profile: %w", err)
	}
	type sample struct {
		value  int64
		labels [][2]int64 // key, str
	}
	var samples []sample
	var strs []string
	err = fields(b, func(num protowire.Number, typ protowire.Type, v uint64, data []byte) error {
		switch {
		case num == 2 && typ == protowire.BytesType:
			var s sample
			err := fields(data, func(num protowire.Number, typ protowire.Type, v uint64, data []byte) error {
				switch {
				case num == 2 && typ == protowire.VarintType:
					s.value = int64(v)
				case num == 2 && typ == protowire.BytesType: // packed
					for len(data) > 0 {
						x, n := protowire.ConsumeVarint(data)
						if n < 0 {
							return protowire.ParseError(n)
						}
						s.value, data = int64(x), data[n:]
					}
				case num == 3 && typ == protowire.BytesType:
					var l [2]int64
					err := fields(data, func(num protowire.Number, _ protowire.Type, v uint64, _ []byte) error {
						if num == 1 || num == 2 {
							l[num-1] = int64(v)
						}
						return nil
					})
					s.labels = append(s.labels, l)
					return err
				}
				return nil
			})
			samples = append(samples, s)
			return err
		case num == 6 && typ == protowire.BytesType:
			strs = append(strs, string(data))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("decoding CPU profile: %w", err)
	}
	str := func(i int64) string {
		if i < 0 || int(i) >= len(strs) {
			return ""
		}
		return strs[i]
	}
	out := map[string]time.Duration{}
	for _, s := range samples {
		key := ""
		for _, l := range s.labels {
			if str(l[0]) == label {
				key = str(l[1])
			}
		}
		out[key] += time.Duration(s.value)
	}
	return out, nil
}

// fields walks a protobuf message.
func fields(b []byte, fn func(num protowire.Number, typ protowire.Type, v uint64, data []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v uint64
		var data []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			data, n = protowire.ConsumeBytes(b)
		case protowire.Fixed32Type:
			_, n = protowire.ConsumeFixed32(b)
		case protowire.Fixed64Type:
			_, n = protowire.ConsumeFixed64(b)
		default:
			return errors.New("unsupported wire type")
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := fn(num, typ, v, data); err != nil {
			return err
		}
	}
	return nil
}
