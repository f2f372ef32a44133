//go:build !purego

// Reference: Arm ARM (DDI 0487) C7 (FMLA, FCVTL, SHLL); dot_float_amd64.go and dot_f32ggml_amd64.go, the
// amd64 twins whose orders these kernels repeat.

package kernel

func init() {
	dotF32 = asmDot(dotF32NEON, 1, 4, 4)
	useAsm("f32")
	dotF16 = asmDot(dotF16NEON, 1, 2, 4)
	useAsm("f16")
	dotBF16 = asmDot(dotBF16NEON, 1, 2, 4)
	useAsm("bf16")

	dotF32TinyBLAS = func(w, x []float32) float32 {
		if n8 := len(w) / 8; n8 > 0 {
			return dotF32TinyBLASNEON(n8, &w[0], &x[0])
		}
		return 0
	}
	tileF32TinyBLAS = func(w, x []float32, xStride int, out *[4]float32) {
		if n8 := len(w) / 8; n8 > 0 {
			tileF32TinyBLASNEON(n8, &w[0], &x[0], 4*xStride, out)
			return
		}
		*out = [4]float32{}
	}
	dotF32GGMLVec = func(w, x []float32, np int) float32 {
		if np > 0 {
			_, _ = w[:np], x[:np]
			return dotF32GGMLNEON(np/32, &w[0], &x[0])
		}
		return 0
	}
	useAsm("f32-llama.cpp-order")
	dotF16GGMLVec = func(np int, w, x []byte) float32 {
		if np > 0 {
			_, _ = w[:2*np], x[:4*np]
			return dotF16GGMLNEON(np/32, &w[0], &x[0])
		}
		return 0
	}
	useAsm("f16-llama.cpp-order")

	axpy = func(a float32, x, y []float32) {
		y = y[:len(x)]
		if len(x) > 0 {
			axpyNEON(len(x), a, &x[0], &y[0])
		}
	}
	useAsm("axpy")
}

// dotF32NEON computes, in dotF32Asm's order on amd64 (two 8-lane
// accumulators of fused multiply-adds, dot_float_amd64.s), so that arm64
// and amd64 give the same bits; the plain Go (dotF32Generic) sums in
// another order and agrees within the tolerance asm_test.go states:
//
//	for i := 0; i < n; i++ {
//		s += w[i] * x[i] // w, x read as float32 at byte offset 4i
//	}
//	return s
//
//go:noescape
func dotF32NEON(n int, w, x *byte) float32

// dotF16NEON is dotF32NEON with w n half-precision values (2n bytes),
// widened exactly by FCVTL: s += FP16ToFP32(w[i]) * x[i].
//
//go:noescape
func dotF16NEON(n int, w, x *byte) float32

// dotBF16NEON is dotF32NEON with w n bfloat16 values, widened by a 16-bit
// shift: s += BF16ToFP32(w[i]) * x[i].
//
//go:noescape
func dotBF16NEON(n int, w, x *byte) float32

// dotF32TinyBLASNEON is dotF32TinyBLASGeneric over 8·n8 values (n8 ≥ 1),
// bit for bit.
//
//go:noescape
func dotF32TinyBLASNEON(n8 int, w, x *float32) float32

// tileF32TinyBLASNEON computes out[j] = dotF32TinyBLASNEON(n8, w, x +
// j·xStride bytes) for j < 4, bit for bit.
//
//go:noescape
func tileF32TinyBLASNEON(n8 int, w, x *float32, xStride int, out *[4]float32)

// dotF32GGMLNEON is dotF32GGMLVecGeneric over 32·n32 values (n32 ≥ 1),
// bit for bit.
//
//go:noescape
func dotF32GGMLNEON(n32 int, w, x *float32) float32

// dotF16GGMLNEON is dotF16GGMLVecGeneric over 32·n32 values (n32 ≥ 1),
// bit for bit.
//
//go:noescape
func dotF16GGMLNEON(n32 int, w, x *byte) float32

// axpyNEON computes y[i] += a·x[i] for i < n (n > 0), fused as the amd64
// assembly is: in Go, for i := range n { y[i] = fma(a, x[i], y[i]) }.
//
//go:noescape
func axpyNEON(n int, a float32, x, y *float32)
