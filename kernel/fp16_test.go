package kernel

import (
	"math"
	"testing"
)

// Every half value converts to float32 and back to itself (NaNs stay NaN).
func TestFP16RoundTripAll(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := FP16ToFP32(h)
		back := FP32ToFP16(f)
		if f != f {
			if FP16ToFP32(back) == FP16ToFP32(back) {
				t.Fatalf("NaN %#04x came back as %#04x, not NaN", h, back)
			}
			continue
		}
		if back != h {
			t.Fatalf("%#04x -> %v -> %#04x", h, f, back)
		}
	}
}

// Rounding to nearest even against a float64 reference that picks the closer
// of the two neighbouring halves.
func TestFP32ToFP16Rounding(t *testing.T) {
	cases := []float32{1 + 1.0/2048, 1 + 3.0/2048, 65504, 65520, 65519.99, 6.1e-5, 5.96e-8, 2.98e-8, 2.99e-8, -0.33333334, 1e-10}
	for _, f := range cases {
		got := FP16ToFP32(FP32ToFP16(f))
		want := nearestHalf(float64(f))
		if float64(got) != want && !(math.IsInf(want, 0) && math.IsInf(float64(got), 0)) {
			t.Errorf("FP32ToFP16(%v) = %v, want %v", f, got, want)
		}
	}
}

func nearestHalf(x float64) float64 {
	best, bestErr := 0.0, math.Inf(1)
	var bestBits uint16
	for i := 0; i < 1<<16; i++ {
		v := float64(FP16ToFP32(uint16(i)))
		if v != v {
			continue
		}
		e := math.Abs(v - x)
		if e < bestErr || (e == bestErr && uint16(i)&1 == 0 && bestBits&1 == 1) {
			best, bestErr, bestBits = v, e, uint16(i)
		}
	}
	if math.Abs(x) >= 65520 {
		return math.Copysign(math.Inf(1), x)
	}
	return best
}

func TestBF16(t *testing.T) {
	for _, c := range []struct {
		in   float32
		want uint16
	}{{1, 0x3f80}, {-2, 0xc000}, {1.00390625, 0x3f80}, {1.01171875, 0x3f82}, {float32(math.Inf(1)), 0x7f80}} {
		if got := FP32ToBF16(c.in); got != c.want {
			t.Errorf("FP32ToBF16(%v) = %#04x, want %#04x", c.in, got, c.want)
		}
		if c.in == c.in && BF16ToFP32(c.want) != c.in && c.in != 1.00390625 && c.in != 1.01171875 {
			t.Errorf("BF16ToFP32(%#04x) = %v", c.want, BF16ToFP32(c.want))
		}
	}
	nan := float32(math.NaN())
	if v := BF16ToFP32(FP32ToBF16(nan)); v == v {
		t.Error("NaN did not stay NaN")
	}
}
