//go:build !purego

// Reference: ggml/src/ggml-cpu/ggml-cpu.c (ggml_v_expf, ggml_v_silu, ggml_vec_soft_max_f32).

package kernel

func init() {
	if !hasAVX2FMA {
		return
	}
	softmaxExp = softmaxExpAVX2
	siluGated = siluGatedAVX2
	useAsm("softmax-silu")
}

// softmaxExpAVX2 runs softmaxExpAsm over the whole groups of eight and
// softmaxExpGeneric over the rest, continuing its sum.
func softmaxExpAVX2(x []float32, m float32) float64 {
	n8 := len(x) / 8
	var sum float64
	if n8 > 0 {
		sum = softmaxExpAsm(n8, &x[0], m)
	}
	return softmaxExpTail(x[8*n8:], m, sum)
}

// siluGatedAVX2 runs siluAsm over the whole groups of eight and
// siluGatedGeneric over the rest (libm's exp there, as ggml's tail).
func siluGatedAVX2(dst, x, up []float32) {
	n8 := len(x) / 8
	if n8 > 0 {
		var u *float32
		if up != nil {
			u = &up[0]
		}
		siluAsm(n8, &x[0], u, &dst[0])
	}
	siluTail(dst, x, up, 8*n8)
}

// softmaxExpAsm computes, eight at a time, x[i] = ExpGGML(x[i] − m) for
// 8·n8 values and returns the sum Softmax forms of them: each group of
// eight added in float32 as ggml's AVX2 horizontal sum does, the group
// sums added in float64.
//
//go:noescape
func softmaxExpAsm(n8 int, x *float32, m float32) float64

// siluAsm computes, eight at a time, dst[i] = x[i] / (1 + ExpGGML(0 −
// x[i])), multiplied by up[i] when up is not nil, for 8·n8 values. dst may
// be x or up.
//
//go:noescape
func siluAsm(n8 int, x, up, dst *float32)
