// Reference: backward.go (rowMax, CrossEntropy's row maximum: the builtin max folded in order).

package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestRowMaxSameBits: rowMax (the vector form where there is one) gives the
// builtin max loop's bits over lengths 0…67 and 32,000, with NaNs, both
// zeros (all-zero rows of either sign and mixed), infinities and negative
// rows.
func TestRowMaxSameBits(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	loop := func(x []float32) float32 {
		m := float32(math.Inf(-1))
		for _, v := range x {
			m = max(m, v)
		}
		return m
	}
	negz := float32(math.Copysign(0, -1))
	lengths := []int{32000, 32001}
	for n := range 68 {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		for kind := range 7 {
			x := randF32(r, n, 3)
			switch {
			case kind == 1 && n > 0:
				x[r.IntN(n)] = float32(math.NaN())
			case kind == 2:
				for i := range x {
					x[i] = negz
				}
			case kind == 3:
				for i := range x {
					x[i] = negz
				}
				if n > 0 {
					x[r.IntN(n)] = 0
				}
			case kind == 4 && n > 0:
				x[r.IntN(n)] = float32(math.Inf(1))
			case kind == 5:
				for i := range x {
					x[i] = -1 - float32(i%7)
				}
			case kind == 6 && n > 0:
				for i := range x {
					x[i] = -x[i] * x[i]
				}
				x[r.IntN(n)] = 0 // a zero maximum among negatives
			}
			got, want := rowMax(x), loop(x)
			if math.Float32bits(got) != math.Float32bits(want) {
				t.Fatalf("n=%d kind %d: rowMax %v (%#x), the loop %v (%#x)", n, kind, got, math.Float32bits(got), want, math.Float32bits(want))
			}
		}
	}
}
