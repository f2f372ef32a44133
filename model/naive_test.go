// Reference: the Transformer as written in the papers — LLaMA (Touvron et al. 2023: RMSNorm, RoPE,
// SwiGLU), GQA (Ainslie et al. 2023), GPT-2 (Radford et al. 2019) — in float64, one token at a time.

package model

import (
	"math"
	"testing"

	"github.com/gptgo/gptgo/tensor"
)

// naiveForward computes the logits of every position of tokens with plain
// float64 loops and no cache: the independent check of forward.go. It reads
// the same weights, expanded to float64.
func naiveForward(t *testing.T, m *Model, tokens []int32) [][]float64 {
	t.Helper()
	c := m.Config
	mat := func(w *tensor.Tensor) [][]float64 { // [rows][cols]
		if w == nil {
			return nil
		}
		v, err := w.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		out := make([][]float64, w.Rows())
		for r := range out {
			out[r] = f64s(v[r*w.Cols() : (r+1)*w.Cols()])
		}
		return out
	}
	matvec := func(w [][]float64, x []float64, bias []float32) []float64 {
		y := make([]float64, len(w))
		for r, row := range w {
			for i, v := range row {
				y[r] += v * x[i]
			}
			if bias != nil {
				y[r] += float64(bias[r])
			}
		}
		return y
	}
	norm := func(x []float64, w, b []float32) []float64 {
		n := float64(len(x))
		y := make([]float64, len(x))
		var mean, ss float64
		if c.Norm == LayerNorm {
			for _, v := range x {
				mean += v / n
			}
		}
		for _, v := range x {
			ss += (v - mean) * (v - mean) / n
		}
		for i, v := range x {
			y[i] = (v - mean) / math.Sqrt(ss+float64(c.NormEps)) * float64(w[i])
			if b != nil {
				y[i] += float64(b[i])
			}
		}
		return y
	}
	rope := func(x []float64, pos int) {
		for i := 0; i < c.RopeDims/2; i++ {
			theta := float64(c.RopeScale) * float64(pos) * math.Pow(float64(c.RopeBase), -2*float64(i)/float64(c.RopeDims))
			if m.RopeFreqs != nil {
				theta /= float64(m.RopeFreqs[i])
			}
			a, b := 2*i, 2*i+1
			if c.Rope == RopeNeox {
				a, b = i, i+c.RopeDims/2
			}
			x0, x1 := x[a], x[b]
			x[a] = x0*math.Cos(theta) - x1*math.Sin(theta)
			x[b] = x0*math.Sin(theta) + x1*math.Cos(theta)
		}
	}
	emb, pe, out := mat(m.TokEmbd), mat(m.PosEmbd), mat(m.Output)
	type layerMats struct{ q, k, v, qkv, o, gate, up, down [][]float64 }
	ls := make([]layerMats, c.Layers)
	for i := range ls {
		l := &m.Blocks[i]
		ls[i] = layerMats{mat(l.Wq), mat(l.Wk), mat(l.Wv), mat(l.Wqkv), mat(l.Wo), mat(l.Gate), mat(l.Up), mat(l.Down)}
	}
	D, qd, kvd := c.HeadDim, c.QDim(), c.KVDim()
	keys := make([][][]float64, c.Layers) // [layer][pos][K·D]
	vals := make([][][]float64, c.Layers)
	var logits [][]float64
	for pos, tok := range tokens {
		x := append([]float64(nil), emb[tok]...)
		if pe != nil {
			for i := range x {
				x[i] += pe[pos][i]
			}
		}
		for li := range ls {
			l, w := &m.Blocks[li], ls[li]
			h := norm(x, l.AttnNorm, l.AttnNormB)
			var q, k, v []float64
			if w.qkv != nil {
				all := matvec(w.qkv, h, l.Bqkv)
				q, k, v = all[:qd], all[qd:qd+kvd], all[qd+kvd:]
			} else {
				q, k, v = matvec(w.q, h, l.Bq), matvec(w.k, h, l.Bk), matvec(w.v, h, l.Bv)
			}
			if c.Rope != RopeNone {
				for hh := range c.Heads {
					rope(q[hh*D:(hh+1)*D], pos)
				}
				for hh := range c.KVHeads {
					rope(k[hh*D:(hh+1)*D], pos)
				}
			}
			keys[li] = append(keys[li], k)
			vals[li] = append(vals[li], v)
			att := make([]float64, qd)
			for hh := range c.Heads {
				kv := hh / (c.Heads / c.KVHeads)
				w := make([]float64, pos+1)
				var mx, sum float64 = math.Inf(-1), 0
				for t := range w {
					for d := range D {
						w[t] += q[hh*D+d] * keys[li][t][kv*D+d]
					}
					w[t] /= math.Sqrt(float64(D))
					mx = math.Max(mx, w[t])
				}
				for t := range w {
					w[t] = math.Exp(w[t] - mx)
					sum += w[t]
				}
				for t := range w {
					for d := range D {
						att[hh*D+d] += w[t] / sum * vals[li][t][kv*D+d]
					}
				}
			}
			o := matvec(w.o, att, l.Bo)
			for i := range x {
				x[i] += o[i]
			}
			h = norm(x, l.FFNNorm, l.FFNNormB)
			up := matvec(w.up, h, l.UpB)
			if c.FFN == FFNSwiGLU {
				g := matvec(w.gate, h, nil)
				for i := range up {
					up[i] *= g[i] / (1 + math.Exp(-g[i]))
				}
			} else {
				for i, a := range up {
					up[i] = 0.5 * a * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(a+0.044715*a*a*a)))
				}
			}
			d := matvec(w.down, up, l.DownB)
			for i := range x {
				x[i] += d[i]
			}
		}
		logits = append(logits, matvec(out, norm(x, m.OutNorm, m.OutNormB), nil))
	}
	return logits
}

func f64s(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// TestForwardAgainstNaive compares forward.go with the float64 reference
// on the tiny random models. With an F32 cache the only differences are
// float32 rounding (measured ~1e-6) and GELU's half-precision detour in
// gpt2 (~1e-3): the logits, of order 1, agree within 2e-3. With the default
// F16 cache they also move by the half-precision rounding of K, V, q and the
// attention weights (measured ~1e-3), within 5e-3.
func TestForwardAgainstNaive(t *testing.T) {
	for _, arch := range Architectures() {
		m := tinyModel(t, arch)
		want := naiveForward(t, m, tinyTokens)
		for _, kv := range []struct {
			f32 bool
			tol float64
		}{{true, 2e-3}, {false, 5e-3}} {
			got := allLogits(t, m, Options{KVF32: kv.f32}, tinyTokens)
			var maxD float64
			for i := range want {
				for j := range want[i] {
					maxD = math.Max(maxD, math.Abs(float64(got[i][j])-want[i][j]))
				}
			}
			t.Logf("%s, %s cache: max |Δlogit| %.2g against float64", arch, kvName(kv.f32), maxD)
			if maxD > kv.tol {
				t.Errorf("%s, %s cache: max |Δlogit| %.3g > %g", arch, kvName(kv.f32), maxD, kv.tol)
			}
		}
	}
}
