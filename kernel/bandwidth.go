// Reference: John McCalpin's STREAM benchmark (sustainable memory bandwidth), read-only variant.

package kernel

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// SumF32 returns the sum of x. It exists to measure how fast this machine
// streams memory into one core: with AVX2 it issues one 32-byte load per
// vector add over four accumulators, so on a buffer far larger than the
// caches its speed is the core's memory read bandwidth, the ceiling for any
// matrix-vector product over weights of that size.
func SumF32(x []float32) float32 { return sumF32(x) }

var sumF32 = sumF32Generic

func sumF32Generic(x []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i]
		s1 += x[i+1]
		s2 += x[i+2]
		s3 += x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// ReadBandwidth measures the memory read bandwidth in bytes per second with
// the given number of goroutines streaming disjoint parts of buf (which
// should be much larger than the last-level cache, e.g. 256 MiB) through
// SumF32. It returns the best of passes timed passes.
func ReadBandwidth(buf []float32, threads, passes int) float64 {
	threads = max(threads, 1)
	part := len(buf) / threads
	best := 0.0
	var wg sync.WaitGroup
	for p := 0; p < max(passes, 1); p++ {
		start := time.Now()
		for t := 0; t < threads; t++ {
			wg.Add(1)
			go func(x []float32) {
				defer wg.Done()
				bandwidthSink.Store(math.Float32bits(SumF32(x)))
			}(buf[t*part : (t+1)*part])
		}
		wg.Wait()
		if bw := float64(4*part*threads) / time.Since(start).Seconds(); bw > best {
			best = bw
		}
	}
	return best
}

// bandwidthSink keeps the sums alive so that no pass is optimised away.
var bandwidthSink atomic.Uint32
