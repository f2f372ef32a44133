package kernel

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// TestQuantizeQ8_0ActMatchesGeneric: the assembly activation quantizer
// writes the plain-Go quantizer's bytes for every block, over random
// magnitudes from 1e-40 to 1e30 and the edge cases: zero blocks, ties,
// values that saturate, ±Inf and NaN anywhere in a block. A NaN scale may
// differ in its payload only (both must be NaN).
func TestQuantizeQ8_0ActMatchesGeneric(t *testing.T) {
	skipUnlessAsm(t, "q8-activations")
	r := rand.New(rand.NewPCG(7, 8))
	const nb = 4000
	src := make([]float32, nb*QK)
	for i := range src {
		src[i] = float32(r.NormFloat64() * math.Exp(8*r.NormFloat64()))
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	specials := []float32{0, float32(math.Copysign(0, -1)), nan, inf, -inf, 0.5, 1.5, -2.5, 127, -128, 1e-45, math.MaxFloat32}
	for b := 0; b < nb; b++ {
		x := src[b*QK : (b+1)*QK]
		switch b % 8 {
		case 0:
			clear(x)
		case 1, 2:
			x[r.IntN(QK)] = specials[r.IntN(len(specials))]
		case 3:
			for j := range x { // integer-valued and half-integers: ties after scaling
				x[j] = float32(r.IntN(255)-127) / 2
			}
		}
	}
	got, want := make([]byte, nb*q8_0Bytes), make([]byte, nb*q8_0Bytes)
	for _, n := range []int{1, 2, 3, 7, nb} { // lengths, including one block
		clear(got)
		clear(want)
		quantizeQ8_0Act(src[:n*QK], got[:n*q8_0Bytes])
		quantizeQ8_0ActGeneric(src[:n*QK], want[:n*q8_0Bytes])
		for b := 0; b < n; b++ {
			g, w := got[b*q8_0Bytes:(b+1)*q8_0Bytes], want[b*q8_0Bytes:(b+1)*q8_0Bytes]
			gd, wd := binary.LittleEndian.Uint16(g), binary.LittleEndian.Uint16(w)
			isNaN := func(h uint16) bool { return h&0x7c00 == 0x7c00 && h&0x3ff != 0 }
			if gd != wd && !(isNaN(gd) && isNaN(wd)) {
				t.Fatalf("block %d of %d: d = %#04x, want %#04x (x %v)", b, n, gd, wd, src[b*QK:(b+1)*QK])
			}
			if string(g[q8_0QS:]) != string(w[q8_0QS:]) {
				t.Fatalf("block %d of %d: quants\n% x\nwant\n% x (x %v)", b, n, g[q8_0QS:], w[q8_0QS:], src[b*QK:(b+1)*QK])
			}
		}
	}
}

// TestQuantizeQ8_KMatchesGeneric: the assembly Q8_K quantizer writes the
// plain-Go bytes (scale, quants, bsums) for random super-blocks and for
// ones with zeros, ties for the largest magnitude of either sign, ±Inf,
// NaN and subnormals in them.
func TestQuantizeQ8_KMatchesGeneric(t *testing.T) {
	skipUnlessAsm(t, "q8-activations")
	r := rand.New(rand.NewPCG(9, 10))
	const nb = 300
	src := make([]float32, nb*QKK)
	for i := range src {
		src[i] = float32(r.NormFloat64() * math.Exp(4*r.NormFloat64()))
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for b := 0; b < nb; b++ {
		x := src[b*QKK : (b+1)*QKK]
		switch b % 10 {
		case 0:
			clear(x)
		case 1: // all zero but NaNs: amax stays 0
			clear(x)
			x[r.IntN(QKK)] = nan
		case 2: // the largest magnitude twice in a group of eight, with both signs
			g, m := 8*r.IntN(QKK/8), float32(1e30)
			j := g + r.IntN(7)
			x[j], x[j+1+r.IntN(g+7-j)] = -m, m
		case 3: // a NaN in the last step of the running maxima
			x[QKK-1-r.IntN(32)] = nan
		case 4:
			x[r.IntN(QKK)] = inf
		case 5:
			x[r.IntN(QKK)] = -inf
		case 6:
			for j := range x {
				x[j] = float32(r.NormFloat64()) * 1e-42
			}
		case 7: // half-integers after scaling
			for j := range x {
				x[j] = float32(r.IntN(255) - 127)
			}
		}
	}
	for _, n := range []int{1, 2, 11, nb} {
		got, want := make([]byte, n*BlockQ8KBytes), make([]byte, n*BlockQ8KBytes)
		quantizeQ8_K(src[:n*QKK], got)
		quantizeQ8_KGeneric(src[:n*QKK], want)
		for b := 0; b < n; b++ {
			g, w := got[b*BlockQ8KBytes:(b+1)*BlockQ8KBytes], want[b*BlockQ8KBytes:(b+1)*BlockQ8KBytes]
			if string(g) != string(w) {
				t.Fatalf("super-block %d of %d (case %d):\n% x\nwant\n% x", b, n, b%10, g, w)
			}
		}
	}
}
