// Reference: STYLE.md habit 1; ggml/src/ggml-cpu/ggml-cpu-quants.c (ggml_vec_dot_q*_K_q8_K).

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

type kqCase struct {
	dt   tensor.DType
	dot  func(n int, w, x []byte) float32 // the selected implementation
	half []int                            // byte offsets of the block's fp16 scales
}

var kqCases = []kqCase{
	{tensor.Q2_K, kernel.DotQ2_K, []int{80, 82}},
	{tensor.Q3_K, kernel.DotQ3_K, []int{108}},
	{tensor.Q4_K, kernel.DotQ4_K, []int{0, 2}},
	{tensor.Q5_K, kernel.DotQ5_K, []int{0, 2}},
	{tensor.Q6_K, kernel.DotQ6_K, []int{208}},
	{tensor.IQ4_XS, kernel.DotIQ4_XS, []int{0}},
	{tensor.TQ1_0, kernel.DotTQ1_0, []int{52}},
	{tensor.TQ2_0, kernel.DotTQ2_0, []int{64}},
	{tensor.IQ2_XXS, kernel.DotIQ2_XXS, []int{0}},
	{tensor.IQ2_XS, kernel.DotIQ2_XS, []int{0}},
	{tensor.IQ2_S, kernel.DotIQ2_S, []int{0}},
	{tensor.IQ3_XXS, kernel.DotIQ3_XXS, []int{0}},
	{tensor.IQ3_S, kernel.DotIQ3_S, []int{0}},
	{tensor.IQ1_S, kernel.DotIQ1_S, []int{0}},
	{tensor.IQ1_M, kernel.DotIQ1_M, nil}, // its fp16 scale is spread over the scale words: see kqWeights
}

func TestKBlockBytes(t *testing.T) {
	for name, size := range kernel.BlockBytesK {
		dt, err := tensor.ParseDType(name)
		if err != nil {
			t.Fatal(err)
		}
		if dt.TypeSize() != size {
			t.Errorf("%s: kernel block is %d bytes, DType table says %d", name, size, dt.TypeSize())
		}
	}
	if len(kernel.BlockBytesK) != 16 {
		t.Errorf("%d K block sizes exported, want 16", len(kernel.BlockBytesK))
	}
}

// kqWeights returns nb blocks of random bytes, which are all valid K-quant
// blocks (every bit pattern of scales and quants means something), with the
// fp16 super-block scales replaced by finite values of either sign.
func kqWeights(r *rand.Rand, c kqCase, nb int) []byte {
	ts := c.dt.TypeSize()
	b := make([]byte, nb*ts)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	for i := 0; i < nb; i++ {
		for _, off := range c.half {
			s := float32(0.001 + 0.05*r.Float64())
			if r.IntN(4) == 0 {
				s = -s
			}
			binary.LittleEndian.PutUint16(b[i*ts+off:], kernel.FP32ToFP16(s))
		}
		if c.dt == tensor.IQ1_M {
			// The top bit of the fp16 exponent is bit 14 of the last
			// scale word: clearing it keeps the scale finite (≤ 2).
			b[(i+1)*ts-1] &^= 0x40
		}
	}
	return b
}

func kqActivations(r *rand.Rand, n int) []byte {
	src := make([]float32, n)
	for i := range src {
		src[i] = float32(r.NormFloat64())
		if r.IntN(50) == 0 {
			src[i] *= 20 // outliers, as real activations have
		}
	}
	x := make([]byte, n/256*kernel.BlockQ8KBytes)
	kernel.QuantizeQ8_K(src, x)
	return x
}

func kqDecode(t *testing.T, dt tensor.DType, b []byte, n int) []float32 {
	t.Helper()
	v := make([]float32, n)
	if err := tensor.Dequantize(dt, b, v); err != nil {
		t.Fatal(err)
	}
	return v
}

// kqPlace copies b into a buffer of random garbage, off bytes in, and
// returns a view capped at its length (so a read past the end panics) and
// the whole buffer (to check nothing was written).
func kqPlace(r *rand.Rand, b []byte, off int) (view, full []byte) {
	full = make([]byte, off+len(b)+64)
	for i := range full {
		full[i] = byte(r.Uint32())
	}
	copy(full[off:], b)
	return full[off : off+len(b) : off+len(b)], full
}

// Every K-quant dot against a naive float64 reference: both sides
// dequantized with the tensor package, multiplied and summed in float64.
//
// Tolerance: |got − want| <= 1e-5·S with S = Σ|wᵢ·xᵢ|. The kernel's integer
// sums are exact; what differs is float32 rounding, u = 2⁻²⁴ ≈ 6e-8 per
// operation: in the reference each dequantized weight carries ≤ 3u of
// |d·sc·q| + |dmin·m| (two products and a difference) and each activation
// u; the kernel rounds d_w·d_x, the scaled integer sums and the difference
// (≤ 4u of the scale and min parts) and adds blocks in float32 (≤ nb·u of S
// for nb ≤ 11). With random bytes the scale and min parts are each within a
// small factor of the weight's magnitude, so the total stays below ~40u·S ≈
// 2.4e-6·S; 1e-5·S leaves margin yet is ~1000 times smaller than the error
// of dropping, repeating or misplacing one 16-value sub-block.
func TestKDotsAgainstNaive(t *testing.T) {
	for _, c := range kqCases {
		generic := kernel.GenericK[c.dt.String()]
		t.Run(c.dt.String(), func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, uint64(c.dt)))
			for _, nb := range []int{0, 1, 2, 3, 4, 11} {
				n := nb * 256
				wb := kqWeights(r, c, nb)
				xb := kqActivations(r, n)
				w := kqDecode(t, c.dt, wb, n)
				x := kqDecode(t, tensor.Q8_K, xb, n)
				var want, mag float64
				for i := range w {
					want += float64(w[i]) * float64(x[i])
					mag += math.Abs(float64(w[i]) * float64(x[i]))
				}
				tol := 1e-5 * mag
				for _, off := range []int{0, 1, 3, 7, 13} {
					wv, wfull := kqPlace(r, wb, off)
					xv, xfull := kqPlace(r, xb, 2*off+1)
					wkeep, xkeep := bytes.Clone(wfull), bytes.Clone(xfull)
					for name, f := range map[string]func(int, []byte, []byte) float32{"selected": c.dot, "generic": generic} {
						got := float64(f(n, wv, xv))
						if math.Abs(got-want) > tol || math.IsNaN(got) {
							t.Fatalf("%s: %d blocks at offset %d: got %v, want %v (tol %.3g)", name, nb, off, got, want, tol)
						}
					}
					if !bytes.Equal(wfull, wkeep) || !bytes.Equal(xfull, xkeep) {
						t.Fatalf("%d blocks at offset %d: inputs changed", nb, off)
					}
				}
			}
		})
	}
}

// With every quant, scale and min at its largest code and activations all
// at ±127, the integer sums reach their extremes; the result must still
// match the reference (no int32 overflow, no lost sign).
func TestKDotsExtremeCodes(t *testing.T) {
	for _, c := range kqCases {
		t.Run(c.dt.String(), func(t *testing.T) {
			const nb = 2
			n := nb * 256
			wb := bytes.Repeat([]byte{0xFF}, nb*c.dt.TypeSize())
			for i := 0; i < nb; i++ {
				for _, off := range c.half {
					binary.LittleEndian.PutUint16(wb[i*c.dt.TypeSize()+off:], kernel.FP32ToFP16(0.01))
				}
			}
			src := make([]float32, n)
			for i := range src {
				src[i] = 1
				if i%3 == 0 {
					src[i] = -1
				}
			}
			xb := make([]byte, nb*kernel.BlockQ8KBytes)
			kernel.QuantizeQ8_K(src, xb)
			w := kqDecode(t, c.dt, wb, n)
			x := kqDecode(t, tensor.Q8_K, xb, n)
			var want, mag float64
			for i := range w {
				want += float64(w[i]) * float64(x[i])
				mag += math.Abs(float64(w[i]) * float64(x[i]))
			}
			for name, f := range map[string]func(int, []byte, []byte) float32{"selected": c.dot, "generic": kernel.GenericK[c.dt.String()]} {
				if got := float64(f(n, wb, xb)); math.Abs(got-want) > 1e-5*mag {
					t.Errorf("%s: got %v, want %v", name, got, want)
				}
			}
		})
	}
}

// Dot products of real quantized data: quantize a smooth random vector to
// each type, take its dot with Q8_K activations, and compare with the float64
// dot of the original values. The bound is the quantization error of the
// two formats (2-bit weights are coarse), so this catches a kernel that is
// self-consistent with a wrong dequantizer.
func TestKDotsOfQuantizedData(t *testing.T) {
	// Relative error bounds |got−exact|/(‖w‖·‖x‖). For independent random
	// vectors the expected value is about sqrt(NMSE_w + NMSE_x/…)/sqrt(n)
	// (Q2_K: sqrt(0.126)/64 ≈ 5.5e-3, Q4_K ≈ 1.6e-3, Q6_K ≈ 4e-4 with the
	// Q8_K part); the bounds are ~2.5× that. The ternary types get ternary
	// weights (what they are made for), so only the 8-bit activations and
	// the fp16 scale limit them.
	bound := map[tensor.DType]float64{tensor.Q2_K: 0.015, tensor.Q3_K: 0.008, tensor.Q4_K: 0.004, tensor.Q5_K: 0.002,
		tensor.Q6_K: 0.0015, tensor.IQ4_XS: 0.004, tensor.TQ1_0: 0.001, tensor.TQ2_0: 0.001}
	const n = 4096
	xf := make([]float32, n)
	gauss := make([]float32, n)
	ternary := make([]float32, n)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range xf {
		gauss[i] = float32(r.NormFloat64())
		xf[i] = float32(r.NormFloat64())
		ternary[i] = 0.37 * float32(r.IntN(3)-1)
	}
	xb := make([]byte, n/256*kernel.BlockQ8KBytes)
	kernel.QuantizeQ8_K(xf, xb)
	for _, c := range kqCases {
		if tensor.FormatOf(c.dt).Quantize == nil {
			continue // the low-bit i-quants are read-only
		}
		wf := gauss
		if c.dt == tensor.TQ1_0 || c.dt == tensor.TQ2_0 {
			wf = ternary
		}
		var exact, nw, nx float64
		for i := range wf {
			exact += float64(wf[i]) * float64(xf[i])
			nw += float64(wf[i]) * float64(wf[i])
			nx += float64(xf[i]) * float64(xf[i])
		}
		wb := make([]byte, n/256*c.dt.TypeSize())
		if err := tensor.Quantize(c.dt, wf, wb); err != nil {
			t.Fatal(err)
		}
		got := float64(c.dot(n, wb, xb))
		rel := math.Abs(got-exact) / math.Sqrt(nw*nx)
		t.Logf("%v: dot %.4f, exact %.4f, error/(|w||x|) %.2e", c.dt, got, exact, rel)
		if !(rel <= bound[c.dt]) {
			t.Errorf("%v: error %.3g of |w||x| exceeds %.3g", c.dt, rel, bound[c.dt])
		}
	}
}

func benchDotK(b *testing.B, c kqCase) {
	const n = 4096
	r := rand.New(rand.NewPCG(1, 2))
	wb := kqWeights(r, c, n/256)
	xb := kqActivations(r, n)
	b.SetBytes(int64(len(wb)))
	var s float32
	for b.Loop() {
		s += c.dot(n, wb, xb)
	}
	_ = s
}

func BenchmarkDotQ2_K(b *testing.B)    { benchDotK(b, kqCases[0]) }
func BenchmarkDotQ3_K(b *testing.B)    { benchDotK(b, kqCases[1]) }
func BenchmarkDotQ4_K(b *testing.B)    { benchDotK(b, kqCases[2]) }
func BenchmarkDotQ5_K(b *testing.B)    { benchDotK(b, kqCases[3]) }
func BenchmarkDotQ6_K(b *testing.B)    { benchDotK(b, kqCases[4]) }
func BenchmarkDotIQ4_XS(b *testing.B)  { benchDotK(b, kqCases[5]) }
func BenchmarkDotTQ1_0(b *testing.B)   { benchDotK(b, kqCases[6]) }
func BenchmarkDotTQ2_0(b *testing.B)   { benchDotK(b, kqCases[7]) }
func BenchmarkDotIQ2_XXS(b *testing.B) { benchDotK(b, kqCases[8]) }
func BenchmarkDotIQ2_XS(b *testing.B)  { benchDotK(b, kqCases[9]) }
func BenchmarkDotIQ2_S(b *testing.B)   { benchDotK(b, kqCases[10]) }
func BenchmarkDotIQ3_XXS(b *testing.B) { benchDotK(b, kqCases[11]) }
func BenchmarkDotIQ3_S(b *testing.B)   { benchDotK(b, kqCases[12]) }
func BenchmarkDotIQ1_S(b *testing.B)   { benchDotK(b, kqCases[13]) }
func BenchmarkDotIQ1_M(b *testing.B)   { benchDotK(b, kqCases[14]) }
