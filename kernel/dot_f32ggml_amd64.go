//go:build !purego

package kernel

func init() {
	if !hasAVX2FMA {
		return
	}
	dotF32TinyBLAS = func(w, x []float32) float32 {
		if n8 := len(w) / 8; n8 > 0 {
			return dotF32TinyBLASAsm(n8, &w[0], &x[0])
		}
		return 0
	}
	dotF32GGMLVec = func(w, x []float32, np int) float32 {
		if np > 0 {
			return dotF32GGMLAsm(np/32, &w[0], &x[0])
		}
		return 0
	}
	tileF32TinyBLAS = func(w, x []float32, xStride int, out *[4]float32) {
		if n8 := len(w) / 8; n8 > 0 {
			tileF32TinyBLASAsm(n8, &w[0], &x[0], 4*xStride, out)
			return
		}
		*out = [4]float32{}
	}
	useAsm("f32-llama.cpp-order")
	if !f16cOK {
		return
	}
	dotF16GGMLVec = func(np int, w, x []byte) float32 {
		if np > 0 {
			_, _ = w[:2*np], x[:4*np]
			return dotF16GGMLAsm(np/32, &w[0], &x[0])
		}
		return 0
	}
	useAsm("f16-llama.cpp-order")
	dotF16HalfXVec = func(np int, w, xh []byte) float32 {
		if np > 0 {
			_, _ = w[:2*np], xh[:2*np]
			return dotF16HalfXAsm(np/32, &w[0], &xh[0])
		}
		return 0
	}
	f16HalfXAsm = true
	useAsm("f16-halves-decode")
}

// dotF32TinyBLASAsm is DotF32TinyBLAS over 8·n8 values, with the hardware's
// FMA (n8 ≥ 1).
//
//go:noescape
func dotF32TinyBLASAsm(n8 int, w, x *float32) float32

// tileF32TinyBLASAsm computes out[j] = dotF32TinyBLASAsm(n8, w, x + j·xStride
// bytes) for j < 4, bit for bit.
//
//go:noescape
func tileF32TinyBLASAsm(n8 int, w, x *float32, xStride int, out *[4]float32)

// dotF32GGMLAsm is DotF32GGML's vector part over 32·n32 values (n32 ≥ 1):
// the float32 that the float64 tail sum starts from.
//
//go:noescape
func dotF32GGMLAsm(n32 int, w, x *float32) float32

// dotF16GGMLAsm is DotF16GGML's vector part over 32·n32 values (n32 ≥ 1).
//
//go:noescape
func dotF16GGMLAsm(n32 int, w, x *byte) float32

// dotF16HalfXAsm is DotF16HalfX's vector part over 32·n32 values (n32 ≥ 1):
// dotF16GGMLAsm with the activations widened from halves too.
//
//go:noescape
func dotF16HalfXAsm(n32 int, w, x *byte) float32
