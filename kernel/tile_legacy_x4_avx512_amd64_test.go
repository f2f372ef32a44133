//go:build !purego

// Reference: STYLE.md habit 1 (guards, odd strides); tile_q8_0x4_avx512_amd64_test.go (the same checks for
// the 4×4 Q8_0 tile).

package kernel

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// legacyX4Case is one 4×4 tile with its 1×4 tile and plain-Go dot.
type legacyX4Case struct {
	name   string
	wb, xb int   // weight and activation block bytes
	scales []int // offsets of the weight block's fp16 fields
	q8_1   bool  // Q8_1 activations (else Q8_0)
	tile4  func(n int, w []byte, rb int, x []byte, xStride int, out []float32, outStride int)
	tile   func(n int, w, x []byte, xStride int, out []float32, outStride int)
	dot    func(n int, w, x []byte) float32
}

var legacyX4Cases = []legacyX4Case{
	{"q5_0", q5_0Bytes, q8_0Bytes, []int{0}, false, TileQ5_0x4, TileQ5_0, dotQ5_0Generic},
	{"iq4_nl", iq4nlBytes, q8_0Bytes, []int{0}, false, TileIQ4_NLx4, TileIQ4_NL, dotIQ4_NLTinyBLASGeneric},
	{"q4_1", q4_1Bytes, q8_1Bytes, []int{0, 2}, true, TileQ4_1x4, TileQ4_1, dotQ4_1Generic},
	{"q5_1", q5_1Bytes, q8_1Bytes, []int{0, 2}, true, TileQ5_1x4, TileQ5_1, dotQ5_1Generic},
}

// legacyX4Acts returns n values as the activation type the quantizers
// make for these weights (extreme: all ±127).
func legacyX4Acts(r *rand.Rand, n int, q8_1, extreme bool) []byte {
	src := make([]float32, n)
	for i := range src {
		src[i] = float32(r.NormFloat64() * 3)
		if extreme {
			src[i] = float32(1 - 2*(i&1))
		}
	}
	if q8_1 {
		b := make([]byte, n/QK*q8_1Bytes)
		QuantizeQ8_1Activations(src, b)
		return b
	}
	b := make([]byte, n/QK*q8_0Bytes)
	QuantizeQ8_0Activations(src, b)
	return b
}

// Each of a 4×4 tile's sixteen products is bit for bit the 1×4 tile's
// (the kernel MatMul ran before) and the plain-Go dot's: rows of 1…67 and
// 128 blocks (32…4096 values), weight and activation rows exact or odd
// strides apart with 0xFF guard bytes between and after them (an fp16 of
// 0xFFFF is a NaN, so a read past a row poisons its products), random and
// extreme blocks (every weight byte 0xFF or 0x00, activations ±127), output
// slots with guards between them, inputs unchanged, no NaN.
func TestVNNITileLegacyX4MatchesTiles(t *testing.T) {
	skipNoVNNI(t)
	if !Tiles() {
		t.Fatal("TilesLegacyX4 without Tiles")
	}
	lengths := append(seqBlocks(1, 67), 128)
	for _, c := range legacyX4Cases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(31, uint64(c.wb)))
			for _, nb := range lengths {
				for s := range 3 {
					ext := nb%5 == 4 && s == 0
					n, rowW, rowX := nb*QK, nb*c.wb, nb*c.xb
					rb, xStride := rowW, rowX // s == 0: rows back to back
					if s > 0 {
						rb, xStride = rowW+1+r.IntN(7), rowX+1+r.IntN(7)
					}
					w := bytes.Repeat([]byte{0xFF}, 3*rb+rowW+64)
					for i := range 4 {
						copy(w[i*rb:], vnniWeights(r, nb, c.wb, c.scales, ext, []byte{0xFF, 0x00}[i&1]))
					}
					x := bytes.Repeat([]byte{0xFF}, 3*xStride+rowX+64)
					for j := range 4 {
						copy(x[j*xStride:], legacyX4Acts(r, n, c.q8_1, ext && j == 1))
					}
					w0, x0 := bytes.Clone(w), bytes.Clone(x)
					const os = 6 // out rows 6 apart: 2 guard slots after each
					out := make([]float32, 3*os+4+2)
					for i := range out {
						out[i] = -7
					}
					c.tile4(n, w, rb, x, xStride, out, os)
					if !bytes.Equal(w, w0) || !bytes.Equal(x, x0) {
						t.Fatalf("%d blocks: inputs changed", nb)
					}
					var one [4]float32
					for i := range 4 {
						c.tile(n, w[i*rb:i*rb+rowW], x, xStride, one[:], 1)
						for j := range 4 {
							got := out[j*os+i]
							want := c.dot(n, w[i*rb:i*rb+rowW], x[j*xStride:j*xStride+rowX])
							if math.IsNaN(float64(got)) || !sameBits(got, one[j]) || !sameBits(got, want) {
								t.Fatalf("%d blocks, strides %d/%d, weight row %d, activation row %d: 4×4 %v, 1×4 %v, Go %v",
									nb, rb, xStride, i, j, got, one[j], want)
							}
						}
					}
					for j := range 4 {
						for k := j*os + 4; k < j*os+os && k < len(out); k++ {
							if out[k] != -7 {
								t.Fatalf("%d blocks: out[%d] written", nb, k)
							}
						}
					}
				}
			}
		})
	}
}

// seqBlocks returns lo…hi.
func seqBlocks(lo, hi int) []int {
	s := make([]int, 0, hi-lo+1)
	for k := lo; k <= hi; k++ {
		s = append(s, k)
	}
	return s
}

// A tile of no blocks writes zeros and reads nothing; overlapping rows are
// a caller's bug and panic with the package's name.
func TestVNNITileLegacyX4Edges(t *testing.T) {
	skipNoVNNI(t)
	for _, c := range legacyX4Cases {
		out := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
		c.tile4(0, nil, 0, nil, 0, out, 4)
		for i, v := range out {
			if v != 0 {
				t.Fatalf("%s: empty tile: out[%d] = %v", c.name, i, v)
			}
		}
		func() {
			defer func() {
				if p := recover(); p == nil || !bytes.Contains([]byte(fmt.Sprint(p)), []byte("kernel:")) {
					t.Fatalf("%s: overlapping rows: recovered %v", c.name, p)
				}
			}()
			w, x := make([]byte, 8*c.wb), make([]byte, 8*c.xb)
			c.tile4(2*QK, w, c.wb, x, 2*c.xb, out, 4)
		}()
	}
}

// BenchmarkTileLegacyX4 times sixteen products of 4096 and of 768 values
// (the 110M shape's rows, 24 blocks, where a call's fixed work counts):
// one 4×4 tile against four 1×4 tiles (the kernels MatMul ran before), CPU
// time per op.
//
//	go test ./kernel -run '^$' -bench TileLegacyX4 -count 5
func BenchmarkTileLegacyX4(b *testing.B) {
	if !vnniOK {
		b.Skip("no AVX512-VNNI")
	}
	for _, nb := range []int{128, 24} {
		for _, c := range legacyX4Cases {
			r := rand.New(rand.NewPCG(1, uint64(c.wb)))
			w := vnniWeights(r, 4*nb, c.wb, c.scales, false, 0)
			x := legacyX4Acts(r, 4*nb*QK, c.q8_1, false)
			rb, xs := nb*c.wb, nb*c.xb
			out := make([]float32, 16)
			b.Run(fmt.Sprintf("%s/%d/4x4", c.name, nb*QK), func(b *testing.B) {
				cpuNanosLoop(b, func() { c.tile4(nb*QK, w, rb, x, xs, out, 4) })
			})
			b.Run(fmt.Sprintf("%s/%d/4x1x4", c.name, nb*QK), func(b *testing.B) {
				cpuNanosLoop(b, func() {
					for i := range 4 {
						c.tile(nb*QK, w[i*rb:(i+1)*rb], x, xs, out[i:], 4)
					}
				})
			})
		}
	}
}
