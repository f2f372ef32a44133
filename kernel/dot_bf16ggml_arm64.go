//go:build !purego

// Reference: Arm ARM (DDI 0487) C7 (FMLA, SHLL, EXT, FADDP); dot_bf16ggml_amd64.go, the amd64 twin whose
// order this repeats.

package kernel

func init() {
	dotBF16GGMLVec = func(np int, w, x []byte) float32 {
		if np > 0 {
			_, _ = w[:2*np], x[:4*np]
			return dotBF16GGMLNEON(np/32, &w[0], &x[0])
		}
		return 0
	}
	useAsm("bf16-llama.cpp-order")
}

// dotBF16GGMLNEON is dotBF16GGMLVecGeneric over 32·n32 values (n32 ≥ 1),
// bit for bit.
//
//go:noescape
func dotBF16GGMLNEON(n32 int, w, x *byte) float32
