package kernel_test

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/kernel"
	"github.com/gptgo/gptgo/tensor"
)

// sameFloat reports whether a and b are the same float32 bits, or both NaN
// (whose payload the hardware may choose).
func sameFloat(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b
}

// Packed Q4_0 gives every row DotQ4_0's bits, in the selected kernel and in
// the plain-Go one: random rows, all-ones nibbles against ±127 activations,
// and scales that are ±0, subnormal, the largest half, ±Inf and NaN; for
// lengths of 1…3 blocks and a long one, two groups, rows with gaps between
// them, and nothing written past out.
func TestDotQ4_0x8MatchesDotQ4_0(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	specials := []uint16{0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x7BFF, 0x7C00, 0xFC00, 0x7E00}
	for _, blocks := range []int{1, 2, 3, 65} {
		n := blocks * kernel.QK
		for variant := range 3 {
			extreme := variant == 1
			const groups, rows = 2, 2 * kernel.Q4_0x8Rows
			rb := blocks*18 + r.IntN(3)
			w := make([]byte, rows*rb)
			for j := range rows {
				copy(w[j*rb:], asmWeights(r, tensor.Q4_0, blocks, extreme))
				if variant == 2 {
					for b := range blocks {
						binary.LittleEndian.PutUint16(w[j*rb+18*b:], specials[r.IntN(len(specials))])
					}
				}
			}
			x, _ := asmActivations(r, tensor.Q8_0, n, extreme)
			packed := make([]byte, rows*blocks*18)
			gb := blocks * 8 * 18
			for g := range groups {
				if err := kernel.PackQ4_0x8(n, w[g*8*rb:], rb, packed[g*gb:(g+1)*gb]); err != nil {
					t.Fatal(err)
				}
			}
			out := make([]float32, rows+1)
			out[rows] = 42
			kernel.DotQ4_0x8Rows(n, packed, x, out[:rows])
			if out[rows] != 42 {
				t.Fatalf("n %d: wrote past out", n)
			}
			for g := range groups {
				var gen [kernel.Q4_0x8Rows]float32
				kernel.DotQ4_0x8Generic(blocks, packed[g*gb:], x, &gen)
				for i := range kernel.Q4_0x8Rows {
					row := g*8 + i
					want := kernel.DotQ4_0(n, w[row*rb:], x)
					if !sameFloat(out[row], want) || !sameFloat(gen[i], want) {
						t.Fatalf("n %d variant %d row %d: packed %v, generic %v, DotQ4_0 %v", n, variant, row, out[row], gen[i], want)
					}
				}
			}
		}
	}
}

func TestPackQ4_0x8Sizes(t *testing.T) {
	rows := make([]byte, 8*36)
	if err := kernel.PackQ4_0x8(64, rows, 36, make([]byte, 8*36)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		n, rb, rows, dst int
	}{
		{63, 36, 8 * 36, 8 * 36}, // not whole blocks
		{64, 35, 8 * 36, 8 * 36}, // rows overlap
		{64, 36, 7 * 36, 8 * 36}, // seven rows
		{64, 36, 8 * 36, 8*36 - 1},
	} {
		if err := kernel.PackQ4_0x8(c.n, make([]byte, c.rows), c.rb, make([]byte, c.dst)); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}
