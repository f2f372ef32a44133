// Reference: llama.cpp src/llama-model.cpp (llm_build_llama, llm_build_qwen2, llm_build_gpt2) and
// src/llama-graph.cpp (build_attn_mha: K·Q scaled and masked, softmax, V·KQ, without flash attention).

package model

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/gptgo/gptgo/kernel"
	"github.com/gptgo/gptgo/tensor"
)

// Forward runs tokens through the model at positions Pos…Pos+len-1, appends
// them to the KV cache, and returns the logits [V] of the last token. The
// slice is the state's buffer: it is valid until the next call. Long inputs
// go through the layers Batch tokens at a time.
func (s *State) Forward(tokens []int32) ([]float32, error) {
	if len(tokens) == 0 {
		return nil, fmt.Errorf("model: forward: no tokens")
	}
	var last []float32
	err := s.forward(tokens, false, func(_ int, l []float32) error { last = l; return nil })
	return last, err
}

// ForwardAll is Forward that computes the logits of every token: fn gets
// the index of the token in tokens and its logits [V] (valid during the call).
func (s *State) ForwardAll(tokens []int32, fn func(i int, logits []float32) error) error {
	return s.forward(tokens, true, fn)
}

func (s *State) forward(tokens []int32, all bool, fn func(int, []float32) error) error {
	if s.pos+len(tokens) > s.ctx {
		return fmt.Errorf("model: %d tokens after %d cached exceed the context of %d", len(tokens), s.pos, s.ctx)
	}
	V := s.m.Vocab
	for i, t := range tokens {
		if int(t) < -s.m.VirtualTokens() || int(t) >= V { // -P … -1: a prompt-tuning adapter's virtual tokens (prompt_infer.go)
			return fmt.Errorf("model: token %d at index %d is outside the vocabulary of %d%s", t, i, V, s.m.virtualNote())
		}
	}
	for done := 0; done < len(tokens); {
		nb := min(s.batch, len(tokens)-done)
		s.ubatch = nb
		if err := s.layers(tokens[done : done+nb]); err != nil {
			return err
		}
		first := nb - 1 // only the last row's logits unless all
		if all {
			first = 0
		}
		for r := first; r < nb; r += logitRows {
			n := min(logitRows, nb-r)
			C := s.m.Embd
			if err := s.matmul(s.m.Output, s.xb[r*C:(r+n)*C], n, s.logits[:n*V]); err != nil {
				return err
			}
			for j := range n {
				if err := fn(done+r+j, s.logits[j*V:(j+1)*V]); err != nil {
					return err
				}
			}
		}
		done += nb
	}
	return nil
}

// layers pushes nb ≤ Batch tokens through every block, leaving the final
// normalised hidden states in xb and the tokens' keys and values in the
// cache. Nearly all the time goes to the weight matmuls; attention grows
// with the context.
func (s *State) layers(tokens []int32) error {
	m, c := s.m, s.m.Config
	nb, C, F := len(tokens), c.Embd, c.FF
	qd, kvd, D := c.QDim(), c.KVDim(), c.HeadDim
	x, xb := s.x[:nb*C], s.xb[:nb*C]

	for b, t := range tokens {
		row := x[b*C : (b+1)*C]
		if err := m.tokenRow(t, row); err != nil { // TokEmbd's row, or a virtual token's (prompt_infer.go)
			return fmt.Errorf("model: embedding of token %d: %w", t, err)
		}
		if c.LearnedPos {
			pe := s.proj[:C]
			if err := m.PosEmbd.DequantizeRow(s.rowPos(b), pe); err != nil { // rowPos: s.pos+b, or the row's own position in a batch (batch.go)
				return fmt.Errorf("model: position embedding %d: %w", s.rowPos(b), err)
			}
			kernel.Add(row, row, pe)
		}
	}
	if c.Rope != RopeNone {
		for b := range nb {
			kernel.RopeCache(s.rope[b*c.RopeDims:(b+1)*c.RopeDims], s.rowPos(b), c.RopeDims, c.RopeBase, c.RopeScale, m.RopeFreqs)
		}
	}

	q, k, v := s.q[:nb*qd], s.k[:nb*kvd], s.v[:nb*kvd]
	for li := range m.Blocks {
		l := &m.Blocks[li]
		s.norm(xb, x, l.AttnNorm, l.AttnNormB, nb)

		if c.FusedQKV {
			w := qd + 2*kvd
			qkv := s.qkv[:nb*w]
			if err := s.matmul(l.Wqkv, xb, nb, qkv); err != nil {
				return err
			}
			for b := range nb {
				r := qkv[b*w : (b+1)*w]
				if l.Bqkv != nil {
					kernel.Add(r, r, l.Bqkv)
				}
				copy(q[b*qd:(b+1)*qd], r[:qd])
				copy(k[b*kvd:(b+1)*kvd], r[qd:qd+kvd])
				copy(v[b*kvd:(b+1)*kvd], r[qd+kvd:])
			}
		} else {
			if err := s.matmulBias(l.Wq, l.Bq, xb, nb, q); err != nil {
				return err
			}
			if err := s.matmulBias(l.Wk, l.Bk, xb, nb, k); err != nil {
				return err
			}
			if err := s.matmulBias(l.Wv, l.Bv, xb, nb, v); err != nil {
				return err
			}
		}

		if c.Rope != RopeNone {
			rotate := kernel.RopeNorm
			if c.Rope == RopeNeox {
				rotate = kernel.RopeNeox
			}
			for b := range nb {
				cache := s.rope[b*c.RopeDims : (b+1)*c.RopeDims]
				for h := range c.Heads {
					rotate(q[b*qd+h*D:b*qd+(h+1)*D], cache, c.RopeDims)
				}
				for h := range c.KVHeads {
					rotate(k[b*kvd+h*D:b*kvd+(h+1)*D], cache, c.RopeDims)
				}
			}
		}

		if err := s.prefixRows(li, tokens, k, v); err != nil { // a prefix-tuning adapter's keys and values (prefix_infer.go)
			return err
		}
		s.storeKV(li, k, v, nb)
		s.attention(li, nb)

		if err := s.matmulBias(l.Wo, l.Bo, s.att[:nb*qd], nb, s.proj[:nb*C]); err != nil {
			return err
		}
		kernel.Add(x, x, s.proj[:nb*C])

		s.norm(xb, x, l.FFNNorm, l.FFNNormB, nb)
		up := s.up[:nb*F]
		if err := s.matmulBias(l.Up, l.UpB, xb, nb, up); err != nil {
			return err
		}
		switch c.FFN {
		case FFNSwiGLU:
			gate := s.gate[:nb*F]
			if err := s.matmul(l.Gate, xb, nb, gate); err != nil {
				return err
			}
			kernel.SwiGLU(up, gate, up)
		case FFNGELU:
			// ggml's CPU GELU goes through half precision; so do we, to
			// land on llama.cpp's logits.
			kernel.GELUF16(up, up)
		}
		if err := s.matmulBias(l.Down, l.DownB, up, nb, s.proj[:nb*C]); err != nil {
			return err
		}
		kernel.Add(x, x, s.proj[:nb*C])
	}
	s.norm(xb, x, m.OutNorm, m.OutNormB, nb)
	s.pos += nb
	return nil
}

// norm writes the normalised rows of x into dst.
func (s *State) norm(dst, x, w, b []float32, nb int) {
	C, eps := s.m.Embd, s.m.NormEps
	for r := range nb {
		xr, dr := x[r*C:(r+1)*C], dst[r*C:(r+1)*C]
		if s.m.Norm == LayerNorm {
			kernel.LayerNorm(dr, xr, w, b, eps)
		} else {
			kernel.RMSNorm(dr, xr, w, eps)
		}
	}
}

// matmulBias computes out = w·x (+ bias on every row when bias is not nil).
func (s *State) matmulBias(w *tensor.Tensor, bias, x []float32, nb int, out []float32) error {
	if err := s.matmul(w, x, nb, out); err != nil {
		return err
	}
	if bias != nil {
		R := w.Rows()
		for b := range nb {
			r := out[b*R : (b+1)*R]
			kernel.Add(r, r, bias)
		}
	}
	return nil
}

// storeKV writes the keys and values of nb new tokens at positions
// Pos…Pos+nb-1 of layer li: K row by row, V transposed (row j holds element j
// of every position) so that the attention-weighted sum of V is a dot
// product per output element, as in llama.cpp without flash attention.
func (s *State) storeKV(li int, k, v []float32, nb int) {
	if s.paged != nil { // several sequences through their block tables (batch.go)
		s.pagedStoreKV(li, k, v, nb)
		return
	}
	kvd, T, es := s.m.KVDim(), s.ctx, s.kvSize
	kc, vc := s.kCache[li], s.vCache[li]
	for b := range nb {
		p := s.pos + b
		kr, vr := k[b*kvd:(b+1)*kvd], v[b*kvd:(b+1)*kvd]
		if es == 2 {
			kernel.FP32ToFP16Bytes(kc[p*kvd*2:(p+1)*kvd*2], kr)
			h := s.vh[:2*kvd] // V's halves, then scattered to their rows
			kernel.FP32ToFP16Bytes(h, vr)
			for j := range kvd {
				vc[(j*T+p)*2], vc[(j*T+p)*2+1] = h[2*j], h[2*j+1]
			}
			continue
		}
		for j := range kvd {
			binary.LittleEndian.PutUint32(kc[(p*kvd+j)*4:], math.Float32bits(kr[j]))
			binary.LittleEndian.PutUint32(vc[(j*T+p)*4:], math.Float32bits(vr[j]))
		}
	}
}

// matmul computes out = w·x, then adds the LoRA adapters of w when the
// model runs with any (lora_infer.go), from the unrounded activations.
func (s *State) matmul(w *tensor.Tensor, x []float32, nb int, out []float32) error {
	if err := s.matmulBase(w, x, nb, out); err != nil || s.m.lora == nil {
		return err
	}
	return s.addAdapters(w, x, nb, out)
}

// matmulBase is Pool.MatMul with the activations rounded the way ggml converts
// them for half-precision weights: to F16 for F16 weights, to BF16 for BF16
// (their vec_dot_type), so that those products are llama.cpp's exactly.
// Quantized weights need nothing here: MatMul quantizes the activations to
// their 8-bit dot type itself.
func (s *State) matmulBase(w *tensor.Tensor, x []float32, nb int, out []float32) error {
	switch w.DType {
	case tensor.F16:
		r := s.xr[:len(x)]
		kernel.RoundF16Into(r, x)
		x = r
	case tensor.BF16:
		r := s.xr[:len(x)]
		kernel.RoundBF16Into(r, x)
		x = r
	}
	if s.mm != nil {
		return s.mm(w, x, nb, out)
	}
	if w.DType == tensor.F32 {
		return s.matmulF32(w, x, nb, out)
	}
	return s.pool.MatMul(w, x, nb, out)
}

// matmulF32 multiplies by F32 weights in llama.cpp's order: tinyBLAS's for a
// batch of two or more tokens (its output head included, with every row's
// logits requested), ggml_vec_dot_f32's for one token (kernel.DotF32TinyBLAS,
// DotF32GGML). The two orders differ from each other and from Pool.MatMul's;
// on tiny-gpt2-f32 the difference decided a greedy near-tie (0.0003 apart).
// A batch takes four tokens at a time through kernel.TileF32TinyBLAS, which
// gives each the dot's bits.
func (s *State) matmulF32(w *tensor.Tensor, x []float32, nb int, out []float32) error {
	C, R := w.Cols(), w.Rows()
	if len(x) < nb*C || len(out) < nb*R {
		return fmt.Errorf("model: matmul of %d×%d F32 weights with %d rows: buffers too short", R, C, nb)
	}
	tiny := s.ubatch >= 2 && C%8 == 0 && R%4 == 0 // else tinyBLAS declines
	s.pool.For(R, 16, func(r0, r1 int) {
		var t [4]float32
		for r := r0; r < r1; r++ {
			wr := kernel.BytesF32(w.Row(r))[:C]
			b := 0
			if tiny {
				for ; b+4 <= nb; b += 4 {
					kernel.TileF32TinyBLAS(wr, x[b*C:(b+4)*C], C, &t)
					for j, v := range t {
						out[(b+j)*R+r] = v
					}
				}
			}
			for ; b < nb; b++ {
				xb := x[b*C : (b+1)*C]
				if tiny {
					out[b*R+r] = kernel.DotF32TinyBLAS(wr, xb)
				} else {
					out[b*R+r] = kernel.DotF32GGML(wr, xb)
				}
			}
		}
	})
	return nil
}
