//go:build !purego

// Reference: ops.go (ExpGGML, Softmax, SiLU); expggml_amd64.go, the amd64 twin.

package kernel

func init() {
	softmaxExp = func(x []float32, m float32) float64 {
		n8 := len(x) / 8
		var sum float64
		if n8 > 0 {
			sum = softmaxExpNEON(n8, &x[0], m)
		}
		return softmaxExpTail(x[8*n8:], m, sum)
	}
	siluGated = func(dst, x, up []float32) {
		n8 := len(x) / 8
		if n8 > 0 {
			_ = dst[8*n8-1]
			var u *float32
			if up != nil {
				u = &up[:8*n8][0]
			}
			siluNEON(n8, &x[0], u, &dst[0])
		}
		siluTail(dst, x, up, 8*n8)
	}
	useAsm("softmax-silu")
}

// softmaxExpNEON computes, for 8·n8 values (n8 ≥ 1), x[i] = ExpGGML(x[i] −
// m) and returns the sum Softmax forms of them, as softmaxExpTail does:
// each group of eight added in float32 as hsum8, the group sums in float64.
//
//go:noescape
func softmaxExpNEON(n8 int, x *float32, m float32) float64

// siluNEON computes dst[i] = x[i] / (1 + ExpGGML(0 − x[i])), multiplied by
// up[i] when up is not nil, for 8·n8 values (n8 ≥ 1), as siluTail's vector
// part does. dst may be x or up.
//
//go:noescape
func siluNEON(n8 int, x, up, dst *float32)
