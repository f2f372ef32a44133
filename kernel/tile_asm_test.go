//go:build amd64 && !purego

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

// Each of a tile's four products must be bit for bit the selected dot of the
// same rows (the tile repeats the dot's order of operations), over lengths
// 0…67 (elements, or super-blocks for Q4_K) and a large odd one, odd row
// strides with 0xFF guards between the rows (a NaN for the float types; a
// read past a row's end poisons that product), extreme codes every fifth
// length, guards around and between the output slots, inputs unchanged.
func TestTilesMatchDots(t *testing.T) {
	if !kernel.Tiles() {
		if cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C {
			t.Fatal("Tiles() is false on an AVX2+FMA+F16C machine")
		}
		t.Skip("no AVX2+FMA+F16C")
	}
	for _, c := range []struct {
		name string
		wt   tensor.DType
		tile func(int, []byte, []byte, int, []float32, int)
		dot  func(int, []byte, []byte) float32
	}{
		{"f32", tensor.F32, kernel.TileF32, kernel.DotF32},
		{"f16", tensor.F16, kernel.TileF16, kernel.DotF16},
		{"bf16", tensor.BF16, kernel.TileBF16, kernel.DotBF16},
		{"q8_0", tensor.Q8_0, scaled(kernel.TileQ8_0), kernel.DotQ8_0},
		{"q4_0", tensor.Q4_0, scaled(kernel.TileQ4_0), kernel.DotQ4_0},
		{"q4_K", tensor.Q4_K, kernel.TileQ4_K, kernel.DotQ4_K},
		{"q5_K", tensor.Q5_K, kernel.TileQ5_K, kernel.DotQ5_K},
		{"q6_K", tensor.Q6_K, kernel.TileQ6_K, kernel.DotQ6_K},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(2, uint64(c.wt)))
			xt, bs := tensor.F32, 1 // activation type, elements per length step
			if c.wt.BlockSize() > 1 {
				xt, bs = tensor.Q8_K, c.wt.BlockSize()
				if c.wt == tensor.Q8_0 || c.wt == tensor.Q4_0 {
					xt = tensor.Q8_0
				}
			}
			for _, k := range append(seq(68), 129) {
				if bs == 1 && k == 129 {
					k = 1001
				}
				n := k * bs
				rowBytes := n / xt.BlockSize() * xt.TypeSize()
				xStride := rowBytes + 4*(1+r.IntN(3)) + r.IntN(2) // NaN guard between rows
				w, wfull := asmGuarded(asmWeights(r, c.wt, n/c.wt.BlockSize(), k%5 == 4), r.IntN(4))
				x := bytes.Repeat([]byte{0xFF}, 3*xStride+rowBytes+asmGuardBytes)
				for j := 0; j < 4; j++ {
					xb, _ := asmActivations(r, xt, n, k%5 == 4 && j == 1)
					copy(x[j*xStride:], xb)
				}
				w0, x0 := append([]byte(nil), wfull...), append([]byte(nil), x...)
				out, full := testkit.Guarded(16, 4)
				c.tile(n, w, x, xStride, out, 5)
				for k := range out {
					if k%5 != 0 && out[k] != testkit.Guard {
						t.Fatalf("n %d: out[%d] written", n, k)
					}
				}
				testkit.CheckGuards(t, full, 16, 4)
				if !bytes.Equal(wfull, w0) || !bytes.Equal(x, x0) {
					t.Fatalf("n %d: inputs changed", n)
				}
				for j := 0; j < 4; j++ {
					want := c.dot(n, w, x[j*xStride:])
					if got := out[5*j]; math.Float32bits(got) != math.Float32bits(want) {
						t.Fatalf("n %d: row %d: tile %v, dot %v", n, j, got, want)
					}
				}
			}
		})
	}
}

// scaled adapts a tile that reads its activations' scales as float32 to the
// signature of the others, making the scales with Q8_0Scales4 first.
func scaled(tile func(int, []byte, []byte, int, []float32, []float32, int)) func(int, []byte, []byte, int, []float32, int) {
	return func(n int, w, x []byte, xStride int, out []float32, outStride int) {
		xd := make([]float32, 4*(n/kernel.QK))
		kernel.Q8_0Scales4(n/kernel.QK, x, xStride, xd)
		tile(n, w, x, xStride, xd, out, outStride)
	}
}

// BenchmarkKernelTile times one 1×4 tile of 4096-element products, to set
// beside four dot calls (BenchmarkKernelDot).
//
//	go test ./kernel/ -run '^$' -bench KernelTile -benchtime 0.3s
func BenchmarkKernelTile(b *testing.B) {
	const n = 4096
	r := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct {
		name string
		wt   tensor.DType
		tile func(int, []byte, []byte, int, []float32, int)
	}{{"f32", tensor.F32, kernel.TileF32}, {"f16", tensor.F16, kernel.TileF16}, {"bf16", tensor.BF16, kernel.TileBF16}, {"q8_0", tensor.Q8_0, nil}, {"q4_0", tensor.Q4_0, nil}, {"q4_K", tensor.Q4_K, kernel.TileQ4_K}, {"q5_K", tensor.Q5_K, kernel.TileQ5_K}, {"q6_K", tensor.Q6_K, kernel.TileQ6_K}} {
		xt := tensor.F32
		if c.wt.BlockSize() > 1 {
			xt = tensor.Q8_K
			if c.wt == tensor.Q8_0 || c.wt == tensor.Q4_0 {
				xt = tensor.Q8_0
			}
		}
		w := asmWeights(r, c.wt, n/c.wt.BlockSize(), false)
		x, _ := asmActivations(r, xt, 4*n, false)
		out := make([]float32, 4)
		tile := c.tile
		if tile == nil { // the scales made once, as MatMul makes them once per group of rows
			st := kernel.TileQ8_0
			if c.wt == tensor.Q4_0 {
				st = kernel.TileQ4_0
			}
			xd := make([]float32, 4*(n/kernel.QK))
			kernel.Q8_0Scales4(n/kernel.QK, x, len(x)/4, xd)
			tile = func(n int, w, x []byte, xStride int, out []float32, outStride int) {
				st(n, w, x, xStride, xd, out, outStride)
			}
		}
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			cpuLoop(b, func() { tile(n, w, x, len(x)/4, out, 1) })
		})
	}
}
