//go:build !purego

// Reference: Intel SDM, VCVTPH2PS (F16C) and VFMADD231PS; ggml_vec_dot_f16's AVX2 lanes.

package kernel

func init() {
	if !f16cOK {
		return
	}
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

// dotF16HalfXAsm is DotF16HalfX's vector part over 32·n32 values (n32 ≥ 1).
//
//go:noescape
func dotF16HalfXAsm(n32 int, w, xh *byte) float32
