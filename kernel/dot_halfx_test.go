package kernel

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// TestDotHalfXIsGGMLDot: with the activations given in the weights' own
// half-precision type, DotF16HalfX and DotBF16HalfX (assembly where the
// CPU allows) and their plain-Go vector parts give DotF16GGML's and
// DotBF16GGML's bits on the same values as float32, for every length up to
// 300, at odd byte offsets, over a wide range of magnitudes; the rows forms
// give each row's dot and write nothing beyond out.
func TestDotHalfXIsGGMLDot(t *testing.T) {
	for _, c := range []struct {
		name      string
		toHalf    func(float32) uint16
		widen     func(uint16) float32
		ggml      func(n int, w, x []byte) float32
		halfX     func(n int, w, xh []byte) float32
		rows      DotRows
		vec, want func(np int, w, x []byte) float32
	}{
		{"F16", FP32ToFP16, FP16ToFP32, DotF16GGML, DotF16HalfX, DotF16HalfXRows, dotF16HalfXVecGeneric, dotF16GGMLVecGeneric},
		{"BF16", FP32ToBF16, BF16ToFP32, DotBF16GGML, DotBF16HalfX, DotBF16HalfXRows, dotBF16HalfXVecGeneric, dotBF16GGMLVecGeneric},
	} {
		r := rand.New(rand.NewPCG(31, 32))
		half := func() uint16 { return c.toHalf(float32(r.NormFloat64() * math.Ldexp(1, r.IntN(12)-6))) }
		for n := range 301 {
			const rows = 3
			off := n % 3
			wb, xb, xh := make([]byte, off+2*n*rows), make([]byte, off+4*n), make([]byte, off+2*n)
			for i := range n {
				h := half()
				binary.LittleEndian.PutUint16(xh[off+2*i:], h)
				binary.LittleEndian.PutUint32(xb[off+4*i:], math.Float32bits(c.widen(h)))
			}
			for i := range n * rows {
				binary.LittleEndian.PutUint16(wb[off+2*i:], half())
			}
			out := make([]float32, rows+1)
			out[rows] = 7
			c.rows(n, wb[off:], 2*n, xh[off:], out[:rows])
			if out[rows] != 7 {
				t.Fatalf("%s n=%d: the rows form wrote beyond out", c.name, n)
			}
			for k := range rows {
				w := wb[off+2*k*n:]
				want := c.ggml(n, w, xb[off:])
				if got := c.halfX(n, w, xh[off:]); math.Float32bits(got) != math.Float32bits(want) || math.Float32bits(out[k]) != math.Float32bits(want) {
					t.Fatalf("%s n=%d row %d: half-x dot = %g, rows %g, the GGML dot %g", c.name, n, k, got, out[k], want)
				}
				np := n &^ 31
				if g, v := c.vec(np, w, xh[off:]), c.want(np, w, xb[off:]); math.Float32bits(g) != math.Float32bits(v) {
					t.Fatalf("%s n=%d row %d: plain-Go vector part %g, the GGML dot's %g", c.name, n, k, g, v)
				}
			}
		}
	}
}

// FP32ToBF16Bytes stores FP32ToBF16 of each value, little-endian.
func TestFP32ToBF16Bytes(t *testing.T) {
	src := []float32{0, -1.5, 3.14159, float32(math.Inf(1)), 1e-40, 65504.7}
	dst := make([]byte, 2*len(src)+1)
	dst[len(dst)-1] = 9
	FP32ToBF16Bytes(dst, src)
	for i, v := range src {
		if got := binary.LittleEndian.Uint16(dst[2*i:]); got != FP32ToBF16(v) {
			t.Errorf("%g: %#04x, want %#04x", v, got, FP32ToBF16(v))
		}
	}
	if dst[len(dst)-1] != 9 {
		t.Error("wrote beyond 2·len(src) bytes")
	}
}
