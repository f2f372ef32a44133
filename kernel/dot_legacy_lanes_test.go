// Reference: STYLE.md habits 1 and 2 (the plain Go beside the fast code, tolerances by formula);
// ggml-cpu-quants.c's AVX2 quantize_row_q8_1.

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

// laneCase is one of the dots in llama.cpp's AVX2 lane order
// (dot_legacy_lanes.go): the selected one, its plain Go and its rows form.
type laneCase struct {
	name    string
	w, x    tensor.DType
	dot     func(n int, w, x []byte) float32
	generic func(n int, w, x []byte) float32
	rows    kernel.DotRows // nil where the dot has no rows form
}

var laneCases = []laneCase{
	{"q4_1", tensor.Q4_1, tensor.Q8_1, kernel.DotQ4_1, kernel.RefDotQ4_1, kernel.DotQ4_1Rows},
	{"q5_0", tensor.Q5_0, tensor.Q8_0, kernel.DotQ5_0, kernel.RefDotQ5_0, kernel.DotQ5_0Rows},
	{"q5_1", tensor.Q5_1, tensor.Q8_1, kernel.DotQ5_1, kernel.RefDotQ5_1, kernel.DotQ5_1Rows},
	{"iq4_nl", tensor.IQ4_NL, tensor.Q8_0, kernel.DotIQ4_NL, kernel.RefDotIQ4_NL, kernel.DotIQ4_NLRows},
	{"iq4_nl-tinyblas", tensor.IQ4_NL, tensor.Q8_0, kernel.DotIQ4_NLTinyBLAS, kernel.RefDotIQ4_NLTinyBLAS, nil},
}

// Every lane-order dot, selected and plain Go, agrees with the float64 dot
// of the dequantized operands within dotBound (dot_legacy_test.go: a float32
// sum of one rounded term per block, plus Q8_1's rounded s for Q4_1/Q5_1).
func TestLaneDotsAgainstFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, c := range laneCases {
		dc := dotCase{c.w, c.x, c.dot}
		for _, n := range lengthsFor(c.w) {
			wv, xv := randomValues(r, n), randomValues(r, n)
			wb, xb := encode(t, c.w, wv), encode(t, c.x, xv)
			wq, xq := decode(t, c.w, wb, n), decode(t, c.x, xb, n)
			want, bound := naiveDot(wq, xq), dotBound(dc, n, wb, wq, xq)
			for name, dot := range map[string]func(int, []byte, []byte) float32{"selected": c.dot, "generic": c.generic} {
				if got := float64(dot(n, wb, xb)); math.Abs(got-want) > bound {
					t.Fatalf("%s %s n=%d: got %v, want %v (bound %.3g)", c.name, name, n, got, want, bound)
				}
			}
		}
	}
}

// The selected dot (assembly on an AVX2+FMA+F16C machine) gives the plain
// Go's bits, over 0…67 blocks and 129, at odd offsets, with 0xFF guards
// around both inputs (a read past the end changes the result or shows in
// the guards), and with every code at its extreme every fourth try; the
// rows form gives the dot's bits row by row and writes nothing past out.
func TestLaneDotsMatchGenericBits(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, c := range laneCases {
		t.Run(c.name, func(t *testing.T) {
			for _, k := range append(seq(68), 129) {
				n := k * kernel.QK
				for off := range 4 {
					extreme := off == 3
					w := asmWeights(r, c.w, k, extreme)
					x := laneActivations(r, c.x, n, extreme)
					wg, wfull := asmGuarded(w, off)
					xg, xfull := asmGuarded(x, (off*5)%7)
					w0, x0 := bytes.Clone(wfull), bytes.Clone(xfull)
					got, want := c.dot(n, wg, xg), c.generic(n, wg, xg)
					if math.Float32bits(got) != math.Float32bits(want) {
						t.Fatalf("n %d off %d extreme %v: got %v (%#x), generic %v (%#x)", n, off, extreme,
							got, math.Float32bits(got), want, math.Float32bits(want))
					}
					if !bytes.Equal(wfull, w0) || !bytes.Equal(xfull, x0) {
						t.Fatalf("n %d off %d: inputs or guards changed", n, off)
					}
				}
				if c.rows == nil {
					continue
				}
				rowBytes := k * c.w.TypeSize()
				rb := rowBytes + r.IntN(3)
				w := bytes.Repeat([]byte{0xFF}, 3*rb)
				for j := range 3 {
					copy(w[j*rb:], asmWeights(r, c.w, k, false))
				}
				x := laneActivations(r, c.x, n, false)
				out := []float32{1, 2, 3, 42}
				c.rows(n, w, rb, x, out[:3])
				for j := range 3 {
					if want := c.dot(n, w[j*rb:], x); math.Float32bits(out[j]) != math.Float32bits(want) {
						t.Fatalf("rows n %d: row %d = %v, dot %v", n, j, out[j], want)
					}
				}
				if out[3] != 42 {
					t.Fatalf("rows n %d: wrote past out", n)
				}
			}
		})
	}
}

// laneActivations returns n random activations as MatMul makes them
// (QuantizeQ8_0Activations, QuantizeQ8_1Activations); extreme makes every
// quant ±127 (s at its largest for Q8_1).
func laneActivations(r *rand.Rand, t tensor.DType, n int, extreme bool) []byte {
	src := make([]float32, n)
	for i := range src {
		src[i] = float32(r.NormFloat64() * 3)
		if extreme {
			src[i] = 1
		}
	}
	if t == tensor.Q8_1 {
		b := make([]byte, n/kernel.QK*36)
		kernel.QuantizeQ8_1Activations(src, b)
		return b
	}
	b := make([]byte, n/kernel.QK*34)
	kernel.QuantizeQ8_0Activations(src, b)
	return b
}

// IQ4_NL's two orders (llama.cpp's single-token dot: even and odd blocks in
// two sets of lanes; its tinyBLAS batches: one) are different sums: on
// enough random rows some result must differ in its last bits, or the two
// functions are one and MatMul's batch dispatch is untested.
func TestIQ4_NLOrdersDiffer(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	const n = 8 * kernel.QK
	differ := 0
	for range 64 {
		w := asmWeights(r, tensor.IQ4_NL, n/kernel.QK, false)
		x := laneActivations(r, tensor.Q8_0, n, false)
		if math.Float32bits(kernel.RefDotIQ4_NL(n, w, x)) != math.Float32bits(kernel.RefDotIQ4_NLTinyBLAS(n, w, x)) {
			differ++
		}
	}
	if differ == 0 {
		t.Fatal("the two IQ4_NL orders agreed on all 64 rows")
	}
	t.Logf("%d/64 rows differ between the two orders", differ)
}

// QuantizeQ8_1Activations stores QuantizeQ8_0Activations' d and quants, and
// s = fp16(d·Σ). In a block whose first value is NaN (which the AVX2 amax
// fold drops, so d stays finite) that NaN converts to −2³¹ before the packs
// saturate it to −128, and llama.cpp's Σ takes the −2³¹: s must too.
func TestQuantizeQ8_1Activations(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	src := randomValues(r, 4*kernel.QK)
	src[2*kernel.QK] = float32(math.NaN())
	q1 := make([]byte, 4*36)
	q0 := make([]byte, 4*34)
	kernel.QuantizeQ8_1Activations(src, q1)
	kernel.QuantizeQ8_0Activations(src, q0)
	for b := range 4 {
		b1, b0 := q1[b*36:(b+1)*36], q0[b*34:(b+1)*34]
		if !bytes.Equal(b1[:2], b0[:2]) || !bytes.Equal(b1[4:], b0[2:]) {
			t.Fatalf("block %d: d or quants differ from Q8_0's", b)
		}
		// s takes the float32 d = amax/127, before d is rounded to fp16.
		var amax float32
		for _, v := range src[b*kernel.QK : (b+1)*kernel.QK] {
			if !math.IsNaN(float64(v)) {
				amax = max(amax, float32(math.Abs(float64(v))))
			}
		}
		d := amax / 127
		var sum int32
		for _, q := range b1[4:] {
			sum += int32(int8(q))
		}
		if b == 2 {
			if int8(b1[4]) != -128 {
				t.Fatalf("NaN quantized to %d, want -128", int8(b1[4]))
			}
			sum += 128 + math.MinInt32
		}
		want := kernel.FP32ToFP16(d * float32(sum))
		if got := binary.LittleEndian.Uint16(b1[2:]); got != want {
			t.Errorf("block %d: s = %#04x, want %#04x (d %v, Σ %d)", b, got, want, d, sum)
		}
	}
}
