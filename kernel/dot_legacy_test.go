package kernel_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/kernel"
	"github.com/gptgo/gptgo/tensor"
)

// dotCase is one weight type, its activation type and its dot.
type dotCase struct {
	w, x tensor.DType
	dot  func(n int, w, x []byte) float32
}

var dotCases = []dotCase{
	{tensor.F32, tensor.F32, kernel.DotF32},
	{tensor.F16, tensor.F32, kernel.DotF16},
	{tensor.BF16, tensor.F32, kernel.DotBF16},
	{tensor.Q4_0, tensor.Q8_0, kernel.DotQ4_0},
	{tensor.Q4_1, tensor.Q8_1, kernel.DotQ4_1},
	{tensor.Q5_0, tensor.Q8_0, kernel.DotQ5_0},
	{tensor.Q5_1, tensor.Q8_1, kernel.DotQ5_1},
	{tensor.Q8_0, tensor.Q8_0, kernel.DotQ8_0},
	{tensor.IQ4_NL, tensor.Q8_0, kernel.DotIQ4_NL},
}

// The layouts the kernels hard-code are the ones in the DType table.
func TestLegacyBlockBytes(t *testing.T) {
	for name, size := range kernel.BlockBytes {
		dt, err := tensor.ParseDType(name)
		if err != nil {
			t.Fatal(err)
		}
		if dt.TypeSize() != size || dt.BlockSize() != kernel.QK {
			t.Errorf("%s: kernel block %d bytes of %d, table %d of %d", name, size, kernel.QK, dt.TypeSize(), dt.BlockSize())
		}
	}
}

// randomValues returns n values whose scale varies block by block (as in real
// weights), with an occasional outlier and exact zero.
func randomValues(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	scale := 1.0
	for i := range v {
		if i%32 == 0 {
			scale = math.Exp(r.NormFloat64())
		}
		switch r.IntN(50) {
		case 0:
			v[i] = float32(8 * scale * r.NormFloat64())
		case 1:
			v[i] = 0
		default:
			v[i] = float32(scale * r.NormFloat64())
		}
	}
	return v
}

func encode(t testing.TB, dt tensor.DType, v []float32) []byte {
	t.Helper()
	size, err := dt.RowSize(int64(len(v)))
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, size)
	if err := tensor.Quantize(dt, v, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t testing.TB, dt tensor.DType, b []byte, n int) []float32 {
	t.Helper()
	v := make([]float32, n)
	if err := tensor.Dequantize(dt, b, v); err != nil {
		t.Fatal(err)
	}
	return v
}

// placed copies b into a larger buffer at byte offset off, with guard bytes
// on both sides, and returns the view and the whole buffer.
func placed(b []byte, off int) (view, full []byte) {
	full = make([]byte, len(b)+off+16)
	for i := range full {
		full[i] = 0xA5
	}
	copy(full[off:], b)
	return full[off : off+len(b) : off+len(b)], full
}

// dotBound is the error allowed between a dot and the float64 dot of the
// dequantized operands:
//
//	|got - want| <= 2^-22·(terms+4)·Σ|wᵢxᵢ| + 2^-9·Σ_blocks |m|·Σ|x|
//
// The first part is the classic bound for a float32 sum of `terms` rounded
// products (γ_k ≈ k·2^-24), doubled for slack: terms is n for the float
// types and the number of blocks for the block types, whose per-block
// integer sums are exact. The second part exists only for Q4_1/Q5_1: the
// offset term uses Q8_1's s, computed from the float32 d before d itself is
// rounded to fp16 and then stored in fp16 (two relative errors ≤ 2^-11),
// exactly as llama.cpp does, where the naive sum uses fp16(d)·Σq.
func dotBound(c dotCase, n int, wb []byte, w, x []float32) float64 {
	var s float64
	for i := range w {
		s += math.Abs(float64(w[i]) * float64(x[i]))
	}
	terms := n
	if c.w.BlockSize() > 1 {
		terms = n / c.w.BlockSize()
	}
	bound := math.Ldexp(float64(terms+4)*s, -22)
	if c.x == tensor.Q8_1 {
		for b := 0; b < n/32; b++ {
			m := kernel.FP16ToFP32(binary.LittleEndian.Uint16(wb[b*c.w.TypeSize()+2:]))
			var ax float64
			for _, v := range x[b*32 : b*32+32] {
				ax += math.Abs(float64(v))
			}
			bound += math.Ldexp(math.Abs(float64(m))*ax, -9)
		}
	}
	return bound
}

func naiveDot(w, x []float32) float64 {
	var s float64
	for i := range w {
		s += float64(w[i]) * float64(x[i])
	}
	return s
}

// lengthsFor returns the element counts to try: every length 0…67 for the
// float types, 0…5 blocks for the block types, plus a large odd count.
func lengthsFor(dt tensor.DType) []int {
	var ns []int
	if dt.BlockSize() == 1 {
		for n := 0; n <= 67; n++ {
			ns = append(ns, n)
		}
		return append(ns, 1001)
	}
	for b := 0; b <= 5; b++ {
		ns = append(ns, b*dt.BlockSize())
	}
	return append(ns, 97*dt.BlockSize())
}

// Each dot (the dispatched one, which may be assembly, and the plain Go one)
// agrees with a float64 dot of the dequantized operands, at odd byte offsets,
// without reading past its inputs or writing to them.
func TestDotsAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	offsets := [][2]int{{0, 0}, {1, 3}, {3, 1}, {7, 6}}
	for _, c := range dotCases {
		impls := map[string]func(int, []byte, []byte) float32{"dispatch": c.dot, "generic": kernel.Generic[c.w.String()]}
		for _, n := range lengthsFor(c.w) {
			wv, xv := randomValues(r, n), randomValues(r, n)
			wb, xb := encode(t, c.w, wv), encode(t, c.x, xv)
			wq, xq := decode(t, c.w, wb, n), decode(t, c.x, xb, n)
			want := naiveDot(wq, xq)
			bound := dotBound(c, n, wb, wq, xq)
			for _, off := range offsets {
				wView, wFull := placed(wb, off[0])
				xView, xFull := placed(xb, off[1])
				wCopy, xCopy := bytes.Clone(wFull), bytes.Clone(xFull)
				for name, dot := range impls {
					got := float64(dot(n, wView, xView))
					if math.Abs(got-want) > bound {
						t.Fatalf("%v·%v %s n=%d offsets %v: got %v, want %v (bound %.3g)", c.w, c.x, name, n, off, got, want, bound)
					}
					if !bytes.Equal(wFull, wCopy) || !bytes.Equal(xFull, xCopy) {
						t.Fatalf("%v %s n=%d: inputs or their guards changed", c.w, name, n)
					}
				}
			}
		}
	}
}

// Each block dot reproduces a hand-made block: the dot of known quants with
// unit scales is an exact small integer, so any slip in the nibble, fifth-bit
// or codebook decoding shows.
func TestDotsExactOnSmallIntegers(t *testing.T) {
	ones := make([]float32, 64)
	for i := range ones {
		ones[i] = float32(i%7) - 3 // -3…3, exact in every activation format when amax is 3
	}
	ones[0], ones[32] = 127, 127 // makes each Q8 block's d = 1 exactly, so q = x
	for _, c := range dotCases[3:] {
		// Weights whose quantization is exact: integers in the format's range
		// with a block max that makes d a power of two.
		w := make([]float32, 64)
		for i := range w {
			w[i] = float32(i%5) - 2
		}
		if c.w == tensor.Q4_0 || c.w == tensor.IQ4_NL {
			w[0], w[32] = -8, -8 // Q4_0: d = 1
		}
		if c.w == tensor.Q5_0 {
			w[0], w[32] = -16, -16
		}
		if c.w == tensor.Q4_1 || c.w == tensor.Q5_1 {
			w[0], w[32] = 13, 13 // d = (13 - -2)/15 = 1
			if c.w == tensor.Q5_1 {
				w[0], w[32] = 29, 29 // d = (29 - -2)/31 = 1
			}
		}
		if c.w == tensor.Q8_0 {
			w[0], w[32] = 127, 127
		}
		wb, xb := encode(t, c.w, w), encode(t, c.x, ones)
		wq := decode(t, c.w, wb, 64)
		want := naiveDot(wq, ones)
		if c.w != tensor.IQ4_NL {
			// Exact formats here: the dequantized weights are the integers.
			for i := range w {
				if wq[i] != w[i] {
					t.Fatalf("%v: setup not exact: w[%d] = %v -> %v", c.w, i, w[i], wq[i])
				}
			}
		}
		for name, dot := range map[string]func(int, []byte, []byte) float32{"dispatch": c.dot, "generic": kernel.Generic[c.w.String()]} {
			// IQ4_NL's least-squares d is not a power of two, so d·Σ rounds
			// once per block and once per sum: allow 4 float32 ulps there.
			tol := 0.0
			if c.w == tensor.IQ4_NL {
				tol = math.Ldexp(math.Abs(want), -21)
			}
			if got := dot(64, wb, xb); math.Abs(float64(got)-want) > tol {
				t.Errorf("%v %s: got %v, want %v (tolerance %g)", c.w, name, got, want, tol)
			}
		}
	}
}

// BenchmarkDot times the dispatched dots (assembly where the CPU has it),
// BenchmarkDotGeneric the plain-Go ones, at n = 4096.
func BenchmarkDot(b *testing.B) {
	benchDots(b, func(c dotCase) func(int, []byte, []byte) float32 { return c.dot })
}

func BenchmarkDotGeneric(b *testing.B) {
	benchDots(b, func(c dotCase) func(int, []byte, []byte) float32 { return kernel.Generic[c.w.String()] })
}

func benchDots(b *testing.B, pick func(dotCase) func(int, []byte, []byte) float32) {
	const n = 4096
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range dotCases {
		b.Run(c.w.String(), func(b *testing.B) {
			wb, xb := encode(b, c.w, randomValues(r, n)), encode(b, c.x, randomValues(r, n))
			b.SetBytes(int64(len(wb)))
			var sink float32
			dot := pick(c)
			for b.Loop() {
				sink += dot(n, wb, xb)
			}
			_ = sink
		})
	}
}
