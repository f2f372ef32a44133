// Reference: ggml/src/ggml-cpu/ggml-cpu.c (ggml_vec_dot_bf16, its __AVX2__ branch: four 8-lane
// accumulators over 32 values, (c1+c3)+(c2+c4), _mm_movehl_ps and _mm_movehdup_ps, a float64 tail).

package kernel

// DotBF16GGML returns Σ w[i]·x[i] for n bfloat16 weights (w, 2n bytes) and
// n float32 activations (x, 4n bytes) in the order of llama.cpp's AVX2
// ggml_vec_dot_bf16, which it uses for BF16 weights and a single token, with
// the activations converted to BF16 (so x should hold values that BF16
// represents, as model.State's RoundBF16Into makes them; every product is
// then exact in float32): accumulator j of four takes elements 8j…8j+7 of
// every 32, the four are added (a0+a2)+(a1+a3) lane by lane, the lanes
// folded ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)) (hsum8, not the F16 dot's
// VHADDPS order), and the last n%32 products added in float64. DotBF16 (two
// accumulators, the order of the BF16 tiles) differs from it by float32
// rounding; MatMul takes this one for a single activation row.
func DotBF16GGML(n int, w, x []byte) float32 {
	w, x = w[:2*n], x[:4*n]
	np := n &^ 31
	s := float64(dotBF16GGMLVec(np, w, x))
	for i := np; i < n; i++ {
		s += float64(bf16at(w, 2*i) * f32At(x, i))
	}
	return float32(s)
}

// DotBF16GGMLRows is DotBF16GGML over rows (DotRows).
func DotBF16GGMLRows(n int, w []byte, rb int, x []byte, out []float32) {
	for r := range out {
		out[r] = DotBF16GGML(n, w[r*rb:], x)
	}
}

// dotBF16GGMLVec returns the float32 that DotBF16GGML's vector part (its
// first np values, np a multiple of 32) folds to: the assembly where the
// CPU has AVX2 (dot_bf16ggml_amd64.go), else the plain Go below.
var dotBF16GGMLVec = dotBF16GGMLVecGeneric

func dotBF16GGMLVecGeneric(np int, w, x []byte) float32 {
	var acc [4][8]float32
	for i := 0; i < np; i += 32 {
		for j := range 4 {
			for m := range 8 {
				e := i + 8*j + m
				// llama.cpp multiplies, then adds (or gcc fuses the two):
				// either way one rounding, for the product of two
				// bfloat16 values is exact in float32.
				acc[j][m] = fma32x(bf16at(w, 2*e), f32At(x, e), acc[j][m])
			}
		}
	}
	var l [8]float32
	for m := range 8 {
		l[m] = (acc[0][m] + acc[2][m]) + (acc[1][m] + acc[3][m])
	}
	return hsum8(&l)
}
