// Reference: q8_1act.go (quantizeQ8_1ActGeneric, the plain Go the assembly is held to).

package kernel

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// TestQuantizeQ8_1ActMatchesGeneric: where the Q8_1 activation quantizer
// runs as assembly (NEON on arm64), it writes the plain Go's bytes for
// every block, over random magnitudes from 1e-40 to 1e30 and the edge
// cases of TestQuantizeQ8_0ActMatchesGeneric (zero blocks, ties, values
// that saturate, ±Inf and NaN, whose −2³¹ per value wraps the sum); a NaN
// d or s may differ in its payload only.
func TestQuantizeQ8_1ActMatchesGeneric(t *testing.T) {
	skipUnlessAsm(t, "q8_1-activations")
	r := rand.New(rand.NewPCG(9, 10))
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
			for j := range x {
				x[j] = float32(r.IntN(255)-127) / 2
			}
		case 4:
			for j := range x { // many NaNs: their −2³¹ wraps Σ
				if r.IntN(3) == 0 {
					x[j] = nan
				}
			}
		}
	}
	isNaN := func(h uint16) bool { return h&0x7c00 == 0x7c00 && h&0x3ff != 0 }
	got, want := make([]byte, nb*q8_1Bytes), make([]byte, nb*q8_1Bytes)
	for _, n := range []int{1, 2, 3, 7, nb} {
		clear(got)
		clear(want)
		quantizeQ8_1Act(src[:n*QK], got[:n*q8_1Bytes])
		quantizeQ8_1ActGeneric(src[:n*QK], want[:n*q8_1Bytes])
		for b := 0; b < n; b++ {
			g, w := got[b*q8_1Bytes:(b+1)*q8_1Bytes], want[b*q8_1Bytes:(b+1)*q8_1Bytes]
			for _, off := range []int{0, q8_1S} {
				gh, wh := binary.LittleEndian.Uint16(g[off:]), binary.LittleEndian.Uint16(w[off:])
				if gh != wh && !(isNaN(gh) && isNaN(wh)) {
					t.Fatalf("block %d of %d: half at %d = %#04x, want %#04x (x %v)", b, n, off, gh, wh, src[b*QK:(b+1)*QK])
				}
			}
			if string(g[q8_1QS:]) != string(w[q8_1QS:]) {
				t.Fatalf("block %d of %d: quants\n% x\nwant\n% x", b, n, g[q8_1QS:], w[q8_1QS:])
			}
		}
	}
}
