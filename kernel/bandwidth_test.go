package kernel_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/kernel"
)

// SumF32 over lengths 0…67 and a large odd one, several offsets: the sum of
// small integers is exact in float32 in any order, so any difference from
// the integer sum is a bug, and NaN guards around x catch reads past the end.
func TestSumF32(t *testing.T) {
	for _, n := range append([]int{1001, 4099}, seq(68)...) {
		for off := 0; off < 3; off++ {
			x, full := testkit.Guarded(n+off, 8)
			x = x[off:]
			for i := range full {
				if i < 8 || i >= 8+n+off {
					full[i] = float32(math.NaN())
				}
			}
			want := 0
			for i := range x {
				x[i] = float32(i%7 - 3)
				want += i%7 - 3
			}
			if got := kernel.SumF32(x); got != float32(want) {
				t.Fatalf("n %d off %d: SumF32 = %v, want %d", n, off, got, want)
			}
		}
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// BenchmarkBandwidth streams 256 MiB through SumF32 on 1 and 2 goroutines:
// MB/s is this machine's memory read bandwidth, the ceiling of a matvec.
//
//	go test ./kernel/ -run '^$' -bench Bandwidth -benchtime 5x
func BenchmarkBandwidth(b *testing.B) {
	buf := make([]float32, 256<<20/4)
	for i := range buf {
		buf[i] = 1
	}
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			b.SetBytes(int64(4 * len(buf)))
			for b.Loop() {
				kernel.ReadBandwidth(buf, threads, 1)
			}
		})
	}
}
