package tensor

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/kernel"
)

// The bisection finds the nearest level, the upper one on a tie, as a linear
// scan over the 16 levels does; tried on every midpoint and around it.
func TestIQ4NLBestIndex(t *testing.T) {
	kv := kernel.IQ4NLValues
	scan := func(x float32) uint8 {
		best := 0
		for i := 1; i < 16; i++ {
			if math.Abs(float64(x-float32(kv[i]))) <= math.Abs(float64(x-float32(kv[best]))) {
				best = i
			}
		}
		return uint8(best)
	}
	xs := []float32{-1000, -127.5, 113.5, 1000, 0}
	for i := 0; i < 15; i++ {
		mid := (float32(kv[i]) + float32(kv[i+1])) / 2
		xs = append(xs, mid, math.Nextafter32(mid, -200), math.Nextafter32(mid, 200), float32(kv[i]))
	}
	r := rand.New(rand.NewPCG(11, 12))
	for range 1000 {
		xs = append(xs, float32(r.Float64()*300-150))
	}
	for _, x := range xs {
		if got, want := iq4nlBestIndex(x), scan(x); got != want {
			t.Fatalf("best index of %v = %d, want %d", x, got, want)
		}
	}
}

// The non-linear levels serve Gaussian weights better than Q4_0's uniform
// ones at the same 4.5 bits per value (the reason the format exists), and the
// scale search beats using the first scale d = max/127 alone.
func TestIQ4NLBeatsQ4_0(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	const n = 1024 * QK
	x := gaussianBlocks(r, n)
	nmse := func(dt DType) float64 {
		size, _ := dt.RowSize(n)
		q, y := make([]byte, size), make([]float32, n)
		if err := Quantize(dt, x, q); err != nil {
			t.Fatal(err)
		}
		if err := Dequantize(dt, q, y); err != nil {
			t.Fatal(err)
		}
		return testkit.NMSE(y, x)
	}
	// The plain scale: nearest levels for d = max/127, nothing searched.
	plain := make([]float32, n)
	for i := 0; i < n/QK; i++ {
		_, m := legacyAbsMax(x[i*QK : i*QK+QK])
		d := kernel.FP16ToFP32(kernel.FP32ToFP16(m / 127))
		for j := i * QK; j < i*QK+QK; j++ {
			plain[j] = d * float32(kernel.IQ4NLValues[iq4nlBestIndex(x[j]/d)])
		}
	}
	iq, q4, pl := nmse(IQ4_NL), nmse(Q4_0), testkit.NMSE(plain, x)
	t.Logf("NMSE: IQ4_NL %.4g, Q4_0 %.4g, IQ4_NL without scale search %.4g", iq, q4, pl)
	if iq >= q4 || iq >= pl {
		t.Errorf("IQ4_NL NMSE %.4g not below Q4_0 %.4g and unsearched %.4g", iq, q4, pl)
	}
}
