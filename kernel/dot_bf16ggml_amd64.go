//go:build !purego

// Reference: ggml/src/ggml-cpu/ggml-cpu.c (ggml_vec_dot_bf16, its __AVX2__ branch).

package kernel

func init() {
	if !hasAVX2FMA {
		return
	}
	dotBF16GGMLVec = func(np int, w, x []byte) float32 {
		if np > 0 {
			_, _ = w[:2*np], x[:4*np]
			return dotBF16GGMLAsm(np/32, &w[0], &x[0])
		}
		return 0
	}
	useAsm("bf16-llama.cpp-order")
	dotBF16HalfXVec = func(np int, w, xh []byte) float32 {
		if np > 0 {
			_, _ = w[:2*np], xh[:2*np]
			return dotBF16HalfXAsm(np/32, &w[0], &xh[0])
		}
		return 0
	}
	bf16HalfXAsm = true
	useAsm("bf16-halves-decode")
}

// dotBF16GGMLAsm is DotBF16GGML's vector part over 32·n32 values (n32 ≥ 1),
// bit for bit dotBF16GGMLVecGeneric.
//
//go:noescape
func dotBF16GGMLAsm(n32 int, w, x *byte) float32

// dotBF16HalfXAsm is DotBF16HalfX's vector part over 32·n32 values
// (n32 ≥ 1), bit for bit dotBF16HalfXVecGeneric.
//
//go:noescape
func dotBF16HalfXAsm(n32 int, w, x *byte) float32
