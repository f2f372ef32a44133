//go:build amd64 && !purego

// Reference: STYLE.md habit 1 (guards, odd strides); tile_asm_test.go (the same checks for the other tiles).

package kernel_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/kernel"
	"github.com/gptgo/gptgo/tensor"
	"golang.org/x/sys/cpu"
)

// Each of a lane-order tile's four products is bit for bit its dot (for
// IQ4_NL, the tinyBLAS-order dot that batches use), over 0…67 blocks and
// 129, with odd row strides and 0xFF guard bytes between the rows, extreme
// codes every fifth length, guards around and between the output slots,
// inputs unchanged.
func TestLaneTilesMatchDots(t *testing.T) {
	if !kernel.Tiles() {
		if cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C {
			t.Fatal("Tiles() is false on an AVX2+FMA+F16C machine")
		}
		t.Skip("no AVX2+FMA+F16C")
	}
	for _, c := range []struct {
		name   string
		wt, xt tensor.DType
		tile   func(int, []byte, []byte, int, []float32, int)
		dot    func(int, []byte, []byte) float32
	}{
		{"q4_1", tensor.Q4_1, tensor.Q8_1, kernel.TileQ4_1, kernel.RefDotQ4_1},
		{"q5_0", tensor.Q5_0, tensor.Q8_0, kernel.TileQ5_0, kernel.RefDotQ5_0},
		{"q5_1", tensor.Q5_1, tensor.Q8_1, kernel.TileQ5_1, kernel.RefDotQ5_1},
		{"iq4_nl", tensor.IQ4_NL, tensor.Q8_0, kernel.TileIQ4_NL, kernel.RefDotIQ4_NLTinyBLAS},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, uint64(c.wt)))
			for _, k := range append(seq(68), 129) {
				n := k * kernel.QK
				rowBytes := k * c.xt.TypeSize()
				xStride := rowBytes + 1 + r.IntN(7) // 0xFF guard between rows
				w, wfull := asmGuarded(asmWeights(r, c.wt, k, k%5 == 4), r.IntN(4))
				x := bytes.Repeat([]byte{0xFF}, 3*xStride+rowBytes+asmGuardBytes)
				for j := range 4 {
					copy(x[j*xStride:], laneActivations(r, c.xt, n, k%5 == 4 && j == 1))
				}
				w0, x0 := bytes.Clone(wfull), bytes.Clone(x)
				out, full := testkit.Guarded(16, 4)
				c.tile(n, w, x, xStride, out, 5)
				for i := range out {
					if i%5 != 0 && out[i] != testkit.Guard {
						t.Fatalf("n %d: out[%d] written", n, i)
					}
				}
				testkit.CheckGuards(t, full, 16, 4)
				if !bytes.Equal(wfull, w0) || !bytes.Equal(x, x0) {
					t.Fatalf("n %d: inputs changed", n)
				}
				for j := range 4 {
					want := c.dot(n, w, x[j*xStride:])
					if got := out[5*j]; math.Float32bits(got) != math.Float32bits(want) {
						t.Fatalf("n %d: row %d: tile %v, dot %v", n, j, got, want)
					}
				}
			}
		})
	}
}

// BenchmarkLaneTile times one 1×4 tile of 4096-element products against
// four calls of the dot it repeats.
//
//	go test ./kernel/ -run '^$' -bench LaneTile -benchtime 0.3s
func BenchmarkLaneTile(b *testing.B) {
	const n = 4096
	r := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct {
		name   string
		wt, xt tensor.DType
		tile   func(int, []byte, []byte, int, []float32, int)
		dot    func(int, []byte, []byte) float32
	}{
		{"q4_1", tensor.Q4_1, tensor.Q8_1, kernel.TileQ4_1, kernel.DotQ4_1},
		{"q5_0", tensor.Q5_0, tensor.Q8_0, kernel.TileQ5_0, kernel.DotQ5_0},
		{"q5_1", tensor.Q5_1, tensor.Q8_1, kernel.TileQ5_1, kernel.DotQ5_1},
		{"iq4_nl", tensor.IQ4_NL, tensor.Q8_0, kernel.TileIQ4_NL, kernel.DotIQ4_NLTinyBLAS},
	} {
		w := asmWeights(r, c.wt, n/kernel.QK, false)
		x := laneActivations(r, c.xt, 4*n, false)
		xs := len(x) / 4
		out := make([]float32, 4)
		b.Run(c.name+"/tile", func(b *testing.B) {
			for b.Loop() {
				c.tile(n, w, x, xs, out, 1)
			}
		})
		b.Run(c.name+"/4dots", func(b *testing.B) {
			for b.Loop() {
				for j := range 4 {
					out[j] = c.dot(n, w, x[j*xs:])
				}
			}
		})
	}
}
