// Reference: Vaswani et al. 2017 §3.2 (scaled dot-product attention, without a mask: BERT's encoder),
// and the pooling and L2 normalisation of sentence embedders (Reimers & Gurevych 2019, Sentence-BERT §3).

package autograd

import (
	"math"

	"github.com/gptgo/gptgo/kernel"
)

// The ops an encoder needs beyond the decoder's (issue #21, training
// embedders): attention in both directions within each packed text, the
// mean over each text's rows, and scaling rows to a fixed L2 norm. Texts
// are packed back to back: lens[i] rows belong to text i.

// checkLens reports whether lens are positive and sum to n.
func checkLens(lens []int, n int) bool {
	sum := 0
	for _, l := range lens {
		if l <= 0 {
			return false
		}
		sum += l
	}
	return sum == n
}

// AttentionPacked is multi-head attention without a causal mask over
// packed texts: q, k, v [N, H·D] with N = Σ lens, and each row attends to
// every row of its own text. → [N, H·D]. The softmax weights (Σ lens²·H
// floats) are kept for the backward. Work is split over (text, head)
// pairs, each summed in a fixed order, so results do not depend on the
// worker count.
func (t *Tape) AttentionPacked(q, k, v *Var, lens []int, H, D int) *Var {
	if t.err != nil {
		return t.dead
	}
	N, qd := q.Rows(), H*D
	if H <= 0 || D <= 0 || q.Cols() != qd || k.Cols() != qd || v.Cols() != qd || k.Rows() != N || v.Rows() != N || !checkLens(lens, N) {
		return t.fail("attention (packed) q %v k %v v %v with H=%d D=%d and text lengths %v: shapes do not fit", q.Shape, k.Shape, v.Shape, H, D, lens)
	}
	starts := make([]int, len(lens)+1) // first row of each text
	pstart := make([]int, len(lens)+1) // first softmax weight of each text
	for i, l := range lens {
		starts[i+1] = starts[i] + l
		pstart[i+1] = pstart[i] + l*l*H
	}
	probs := t.scratch(pstart[len(lens)])
	y := t.out("attention_packed", []int{N, qd}, q, k, v)
	scale := float32(1 / math.Sqrt(float64(D)))
	tasks := len(lens) * H
	t.pool.For(tasks, 1, func(s, e int) {
		for task := s; task < e; task++ {
			i, h := task/H, task%H
			first, n := starts[i], lens[i]
			P := probs[pstart[i]+h*n*n : pstart[i]+(h+1)*n*n]
			for a := range n {
				qa := q.Data[(first+a)*qd+h*D : (first+a)*qd+(h+1)*D]
				row := P[a*n : (a+1)*n]
				for b := range n {
					kb := k.Data[(first+b)*qd+h*D : (first+b)*qd+(h+1)*D]
					// float32(x*y) here and below: each product rounded, as amd64
					// does, where Go's arm64 compiler would fuse x*y + z (issue #20).
					var dot float32
					for d, x := range qa {
						dot += float32(x * kb[d])
					}
					row[b] = dot * scale
				}
				kernel.Softmax(row)
				out := y.Data[(first+a)*qd+h*D : (first+a)*qd+(h+1)*D]
				clear(out)
				for b, p := range row {
					vb := v.Data[(first+b)*qd+h*D : (first+b)*qd+(h+1)*D]
					for d, x := range vb {
						out[d] += float32(p * x)
					}
				}
			}
		}
	})
	t.record(y, func() {
		gy := y.Grad
		if gy == nil {
			return
		}
		gq, gk, gv := t.grad(q), t.grad(k), t.grad(v)
		// Each (text, head) task writes only its own rows and head
		// columns of gq, gk and gv, so tasks never share an element.
		t.pool.For(tasks, 1, func(s, e int) {
			dp := make([]float32, 0)
			for task := s; task < e; task++ {
				i, h := task/H, task%H
				first, n := starts[i], lens[i]
				P := probs[pstart[i]+h*n*n : pstart[i]+(h+1)*n*n]
				if cap(dp) < n {
					dp = make([]float32, n)
				}
				dp = dp[:n]
				for a := range n {
					g := gy[(first+a)*qd+h*D : (first+a)*qd+(h+1)*D]
					row := P[a*n : (a+1)*n]
					// dP[a,b] = g·v_b; dS = P ⊙ (dP − Σ_b P·dP).
					var sum float32
					for b := range n {
						vb := v.Data[(first+b)*qd+h*D : (first+b)*qd+(h+1)*D]
						var dot float32
						for d, x := range g {
							dot += float32(x * vb[d])
						}
						dp[b] = dot
						sum += float32(row[b] * dot)
					}
					for b, p := range row {
						ds := p * (dp[b] - sum) * scale
						if gv != nil {
							gvb := gv[(first+b)*qd+h*D : (first+b)*qd+(h+1)*D]
							for d, x := range g {
								gvb[d] += float32(p * x)
							}
						}
						if gq != nil {
							gqa := gq[(first+a)*qd+h*D : (first+a)*qd+(h+1)*D]
							kb := k.Data[(first+b)*qd+h*D : (first+b)*qd+(h+1)*D]
							for d, x := range kb {
								gqa[d] += float32(ds * x)
							}
						}
						if gk != nil {
							gkb := gk[(first+b)*qd+h*D : (first+b)*qd+(h+1)*D]
							qa := q.Data[(first+a)*qd+h*D : (first+a)*qd+(h+1)*D]
							for d, x := range qa {
								gkb[d] += float32(ds * x)
							}
						}
					}
				}
			}
		})
	})
	return y
}

// MeanRows returns the mean of each text's rows of x [N, C] (N = Σ lens):
// [len(lens), C], summed in float64.
func (t *Tape) MeanRows(x *Var, lens []int) *Var {
	if t.err != nil {
		return t.dead
	}
	N, C := x.Rows(), x.Cols()
	if !checkLens(lens, N) {
		return t.fail("mean rows of %q %v with text lengths %v: they do not tile its rows", x.Name, x.Shape, lens)
	}
	y := t.out("mean_rows", []int{len(lens), C}, x)
	acc := make([]float64, C)
	first := 0
	for i, n := range lens {
		clear(acc)
		for r := first; r < first+n; r++ {
			for c, v := range x.Data[r*C : (r+1)*C] {
				acc[c] += float64(v)
			}
		}
		for c := range C {
			y.Data[i*C+c] = float32(acc[c] / float64(n))
		}
		first += n
	}
	t.record(y, func() {
		gx := t.grad(x)
		if y.Grad == nil || gx == nil {
			return
		}
		first := 0
		for i, n := range lens {
			inv := 1 / float32(n)
			g := y.Grad[i*C : (i+1)*C]
			for r := first; r < first+n; r++ {
				for c, v := range g {
					gx[r*C+c] += float32(v * inv)
				}
			}
			first += n
		}
	})
	return y
}

// NormalizeRows scales each row of x to L2 norm s: y = s·x/‖x‖. With s =
// 1/√τ, the dot product of two such rows is their cosine over a
// temperature τ (InfoNCE's logits). A zero row gives a zero row.
func (t *Tape) NormalizeRows(x *Var, s float32) *Var {
	if t.err != nil {
		return t.dead
	}
	N, C := x.Rows(), x.Cols()
	y := t.out("normalize_rows", x.Shape, x)
	inv := make([]float32, N) // 1/‖x_n‖, 0 for a zero row
	for n := range N {
		var ss float64
		for _, v := range x.Data[n*C : (n+1)*C] {
			ss += float64(v) * float64(v)
		}
		if ss > 0 {
			inv[n] = float32(1 / math.Sqrt(ss))
		}
		for c, v := range x.Data[n*C : (n+1)*C] {
			y.Data[n*C+c] = s * v * inv[n]
		}
	}
	t.record(y, func() {
		gx := t.grad(x)
		if y.Grad == nil || gx == nil {
			return
		}
		// With u = x/‖x‖: ∂y/∂x = (s/‖x‖)(I − u uᵀ), so
		// gx = (s/‖x‖)(g − u (u·g)).
		for n := range N {
			if inv[n] == 0 {
				continue
			}
			g, xr := y.Grad[n*C:(n+1)*C], x.Data[n*C:(n+1)*C]
			var ug float64
			for c, v := range g {
				ug += float64(xr[c]*inv[n]) * float64(v)
			}
			for c, v := range g {
				gx[n*C+c] += float32(s * inv[n] * (v - float32(xr[c]*inv[n]*float32(ug))))
			}
		}
	})
	return y
}

// ScaleByExp returns e^θ·x for a one-element θ: a learnable inverse
// temperature kept as its logarithm (CLIP's logit_scale), so that
// optimizer steps move it by ratios and it stays positive.
func (t *Tape) ScaleByExp(x, theta *Var) *Var {
	if t.err != nil {
		return t.dead
	}
	if len(theta.Data) != 1 {
		return t.fail("scale by exp: %q has %d values, want one", theta.Name, len(theta.Data))
	}
	a := float32(math.Exp(float64(theta.Data[0])))
	y := t.out("scale_by_exp", x.Shape, x, theta)
	for i, v := range x.Data {
		y.Data[i] = a * v
	}
	t.record(y, func() {
		if y.Grad == nil {
			return
		}
		if gx := t.grad(x); gx != nil {
			for i, g := range y.Grad {
				gx[i] += float32(a * g)
			}
		}
		if gt := t.grad(theta); gt != nil {
			var s float64 // ∂y/∂θ = y
			for i, g := range y.Grad {
				s += float64(g) * float64(y.Data[i])
			}
			gt[0] += float32(s)
		}
	})
	return y
}
