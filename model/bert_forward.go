// Reference: llama.cpp src/llama-model.cpp (llm_build_bert: embeddings + token type 0 + positions,
// LayerNorm, post-norm blocks, GELU; attention without a KV cache over the whole ubatch with a
// per-sequence mask) and src/llama-graph.cpp (build_pooling: mean, cls, last).

package model

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/gptgo/gptgo/kernel"
	"github.com/gptgo/gptgo/tensor"
)

// EncoderState holds the activation buffers of one running encoder,
// allocated once for Batch tokens and reused by every call. Texts are
// packed: several go through the matmuls as one batch of rows, and the
// attention of a text reads only its own rows (a block-diagonal mask, as
// llama.cpp's per-sequence KQ mask), so packing never changes a text's
// vector. An EncoderState is not safe for concurrent use.
type EncoderState struct {
	e          *Encoder
	pool       *tensor.Pool
	ownPool    bool
	ctx, batch int // most tokens in one text (≤ T_train), most tokens in one pass (≥ ctx)

	x, xb   []float32   // [C, B] residual stream and scratch
	q, k, v []float32   // [H·D, B] projections
	qkv     []float32   // [3·H·D, B] fused projection (nomic-bert)
	gate    []float32   // [F, B] SwiGLU's gate (nomic-bert)
	rope    []float32   // [RopeDims, B] (cos, sin) pairs for each row's position in its text (nomic-bert)
	vt      []float32   // [n, H·D] per text: v transposed, so that p·V is one dot per output
	att     []float32   // [H·D, B] attention output before attn_output
	proj    []float32   // [C, B] output of attn_output and ffn_down
	up      []float32   // [F, B] feed-forward hidden
	scores  [][]float32 // per worker: [ctx] attention weights of one query
}

// NewState allocates an EncoderState. o.Ctx bounds one text's tokens (0:
// the model's training context, which the position embeddings cover);
// o.Batch bounds the tokens of one pass (0: DefaultBatch) and is raised to
// o.Ctx, since a text's tokens must all be in one pass to see each other.
// The buffers take about B·(7C + F) floats.
func (e *Encoder) NewState(o Options) (*EncoderState, error) {
	c := e.Config
	ctx := o.Ctx
	if ctx == 0 {
		ctx = c.CtxTrain
	}
	if ctx < 1 || ctx > c.CtxTrain {
		return nil, fmt.Errorf("model: context length %d is outside 1…%d (the model's position embeddings)", ctx, c.CtxTrain)
	}
	batch := o.Batch
	if batch == 0 {
		batch = DefaultBatch
	}
	if batch < 1 {
		return nil, fmt.Errorf("model: batch size %d", batch)
	}
	batch = max(batch, ctx)
	s := &EncoderState{e: e, pool: o.Pool, ctx: ctx, batch: batch}
	if s.pool == nil {
		s.pool, s.ownPool = tensor.NewPool(o.Threads), true
	}
	B, C, qd := batch, c.Embd, c.QDim()
	s.x = make([]float32, B*C)
	s.xb = make([]float32, B*C)
	s.q = make([]float32, B*qd)
	s.k = make([]float32, B*qd)
	s.v = make([]float32, B*qd)
	s.vt = make([]float32, B*qd)
	s.att = make([]float32, B*qd)
	s.proj = make([]float32, B*C)
	s.up = make([]float32, B*c.FF)
	if c.FusedQKV {
		s.qkv = make([]float32, B*3*qd)
	}
	if c.FFN == FFNSwiGLU {
		s.gate = make([]float32, B*c.FF)
	}
	if c.Rope != RopeNone {
		s.rope = make([]float32, B*c.RopeDims)
	}
	s.scores = make([][]float32, s.pool.Workers())
	for w := range s.scores {
		s.scores[w] = make([]float32, ctx)
	}
	return s, nil
}

// Close stops the state's own worker pool, if it made one.
func (s *EncoderState) Close() {
	if s.ownPool {
		s.pool.Close()
		s.ownPool = false
	}
}

// Encoder returns the model the state runs.
func (s *EncoderState) Encoder() *Encoder { return s.e }

// Ctx is the most tokens one text may have.
func (s *EncoderState) Ctx() int { return s.ctx }

// Batch is the most tokens one pass through the layers takes.
func (s *EncoderState) Batch() int { return s.batch }

// BufferBytes is the size of the activation buffers.
func (s *EncoderState) BufferBytes() int64 {
	n := len(s.x) + len(s.xb) + len(s.q) + len(s.k) + len(s.v) + len(s.vt) + len(s.att) + len(s.proj) + len(s.up) +
		len(s.qkv) + len(s.gate) + len(s.rope)
	for _, sc := range s.scores {
		n += len(sc)
	}
	return 4 * int64(n)
}

// EmbedEach embeds every sequence of seqs and calls fn with its index and
// vector, in order. With PoolMean, PoolCLS or PoolLast the vector is one
// [C] per text; with PoolNone it is every token's hidden state, n rows of
// C one after the other. o.Normalize scales each vector (each row, for
// PoolNone) to unit L2 norm. Texts are packed into passes of up to Batch
// tokens; v is valid only during the call. Sums are float64. ctx is checked
// between passes.
func (s *EncoderState) EmbedEach(ctx context.Context, seqs [][]int32, o EmbedOptions, fn func(i int, v []float32) error) error {
	switch o.Pooling {
	case PoolNone, PoolMean, PoolCLS, PoolLast:
	default:
		return fmt.Errorf("model: embed: pooling %s is not one of none, mean, cls, last", o.Pooling)
	}
	V := s.e.Vocab
	for i, toks := range seqs {
		if len(toks) == 0 {
			return fmt.Errorf("model: embed: input %d has no tokens (an empty text has no embedding)", i)
		}
		if len(toks) > s.ctx {
			return fmt.Errorf("model: embed: input %d is %d tokens, more than the context of %d", i, len(toks), s.ctx)
		}
		for j, t := range toks {
			if t < 0 || int(t) >= V {
				return fmt.Errorf("model: embed: input %d: token %d at index %d is outside the vocabulary of %d", i, t, j, V)
			}
		}
	}
	C := s.e.Embd
	pooled := make([]float32, C)
	for first := 0; first < len(seqs); {
		if err := ctx.Err(); err != nil {
			return err
		}
		end, rows := first, 0
		for end < len(seqs) && rows+len(seqs[end]) <= s.batch {
			rows += len(seqs[end])
			end++
		}
		batch := seqs[first:end]
		if err := s.encode(batch); err != nil {
			return err
		}
		row := 0
		for i, toks := range batch {
			h := s.x[row*C : (row+len(toks))*C]
			row += len(toks)
			out := pooled
			if o.Pooling == PoolNone {
				out = h
				if o.Normalize {
					for r := range len(toks) {
						NormalizeL2(h[r*C : (r+1)*C])
					}
				}
			} else {
				pool(out, h, len(toks), o)
			}
			if err := fn(first+i, out); err != nil {
				return err
			}
		}
		first = end
	}
	return nil
}

// Embed embeds one sequence; the vector is the caller's.
func (s *EncoderState) Embed(ctx context.Context, tokens []int32, o EmbedOptions) ([]float32, error) {
	var out []float32
	err := s.EmbedEach(ctx, [][]int32{tokens}, o, func(_ int, v []float32) error {
		out = append([]float32(nil), v...)
		return nil
	})
	return out, err
}

// pool writes the pooled vector of the n rows of h into out, in float64.
func pool(out, h []float32, n int, o EmbedOptions) {
	C := len(out)
	acc := make([]float64, C)
	switch o.Pooling {
	case PoolMean:
		for r := range n {
			for j, v := range h[r*C : (r+1)*C] {
				acc[j] += float64(v)
			}
		}
		for j := range acc {
			acc[j] /= float64(n)
		}
	case PoolCLS, PoolLast:
		r := 0
		if o.Pooling == PoolLast {
			r = n - 1
		}
		for j, v := range h[r*C : (r+1)*C] {
			acc[j] = float64(v)
		}
	}
	if o.Normalize {
		var ss float64
		for _, v := range acc {
			ss += float64(v * v) // rounded, as amd64 does: arm64 would fuse it
		}
		if ss > 0 { // a zero vector stays zero, as llama.cpp's common_embd_normalize leaves it
			inv := 1 / math.Sqrt(ss)
			for j := range acc {
				acc[j] *= inv
			}
		}
	}
	for j, v := range acc {
		out[j] = float32(v)
	}
}

// NormalizeL2 scales x in place to unit L2 norm (a zero vector stays zero),
// summing in float64. The encoder's normalised pooling and `gptgo embed`'s
// per-token vectors of a decoder both use it, so both are scaled alike.
func NormalizeL2(x []float32) {
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	if ss > 0 {
		inv := 1 / math.Sqrt(ss)
		for j, v := range x {
			x[j] = float32(float64(v) * inv)
		}
	}
}

// encode runs the packed texts of seqs (≤ Batch tokens together, each
// checked) through the encoder, leaving each token's final hidden state in
// x, text after text. Nearly all the time goes to the six weight matmuls
// per block, each over every packed row at once; attention costs
// Σ n²·H·D per block, small beside them for texts of a few hundred tokens.
func (s *EncoderState) encode(seqs [][]int32) error {
	e, c := s.e, s.e.Config
	C, F, qd := c.Embd, c.FF, c.QDim()
	nb := 0
	for _, toks := range seqs {
		nb += len(toks)
	}
	x, xb := s.x[:nb*C], s.xb[:nb*C]

	// x = LN(tok_embd[id] + token_types[0] + pos_embd[p]), summed in llama.cpp's order.
	row := 0
	for _, toks := range seqs {
		for p, t := range toks {
			xr, pe := x[row*C:(row+1)*C], xb[row*C:(row+1)*C]
			if err := e.TokEmbd.DequantizeRow(int(t), xr); err != nil {
				return fmt.Errorf("model: embedding of token %d: %w", t, err)
			}
			if e.TypeEmbd != nil {
				kernel.Add(xr, xr, e.TypeEmbd)
			}
			if c.LearnedPos {
				if err := e.PosEmbd.DequantizeRow(p, pe); err != nil {
					return fmt.Errorf("model: position embedding %d: %w", p, err)
				}
				kernel.Add(xr, pe, xr)
			}
			if c.Rope != RopeNone { // positions restart at 0 in every text
				kernel.RopeCache(s.rope[row*c.RopeDims:(row+1)*c.RopeDims], p, c.RopeDims, c.RopeBase, c.RopeScale, nil)
			}
			kernel.LayerNorm(xr, xr, e.EmbdNorm, e.EmbdNormB, c.NormEps)
			row++
		}
	}

	att, proj := s.att[:nb*qd], s.proj[:nb*C]
	for li := range e.Blocks {
		l := &e.Blocks[li]
		if err := s.project(l, x, nb); err != nil {
			return err
		}
		s.attention(seqs)
		if err := s.matmulBias(l.Wo, l.Bo, att, nb, proj); err != nil {
			return err
		}
		kernel.Add(x, proj, x)
		s.norm(x, l.AttnNorm, l.AttnNormB, nb)

		up := s.up[:nb*F]
		if err := s.matmulBias(l.Up, l.UpB, x, nb, up); err != nil {
			return err
		}
		if c.FFN == FFNSwiGLU {
			gate := s.gate[:nb*F]
			if err := s.matmulBias(l.Gate, nil, x, nb, gate); err != nil {
				return err
			}
			kernel.SwiGLU(up, gate, up)
		} else {
			s.gelu(up)
		}
		if err := s.matmulBias(l.Down, l.DownB, up, nb, proj); err != nil {
			return err
		}
		kernel.Add(x, proj, x)
		s.norm(x, l.OutNorm, l.OutNormB, nb)
	}
	return nil
}

// gelu is kernel.GELUF16 (ggml's CPU GELU: tanh form, input and output
// through half precision, which llama.cpp's vectors carry) by table
// lookup, as ggml does it, and split over the workers: computed per value
// it took a fifth of a 110M model's time.
func (s *EncoderState) gelu(x []float32) {
	t := geluF16Table()
	s.pool.For(len(x), 4096, func(i0, i1 int) {
		for i := i0; i < i1; i++ {
			switch v := x[i]; {
			case v <= -10:
				x[i] = 0
			case v >= 10:
			default:
				x[i] = t[kernel.FP32ToFP16(v)]
			}
		}
	})
}

// geluF16Table is GELUF16 of every half-precision value, indexed by its bits.
var geluF16Table = sync.OnceValue(func() []float32 {
	t := make([]float32, 1<<16)
	for h := range t {
		t[h] = kernel.FP16ToFP32(uint16(h))
	}
	kernel.GELUF16(t, t)
	// Inputs inside (−10, 10) that round to ±10 take the formula, not
	// the clamp: GELUF16 of the float just inside.
	for _, v := range []float32{-10, 10} {
		var in, out [1]float32
		in[0] = math.Nextafter32(v, 0)
		kernel.GELUF16(out[:], in[:])
		t[kernel.FP32ToFP16(v)] = out[0]
	}
	return t
})

// norm applies LayerNorm to each of the nb rows of x in place.
func (s *EncoderState) norm(x, w, b []float32, nb int) {
	C, eps := s.e.Embd, s.e.NormEps
	s.pool.For(nb, 16, func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			kernel.LayerNorm(x[r*C:(r+1)*C], x[r*C:(r+1)*C], w, b, eps)
		}
	})
}

// project computes q, k and v of the nb rows of x: three matmuls (bert)
// or one fused one split in q, k, v order (nomic-bert), then, with rotary
// positions, rotates q and k (NEOX pairs, as llama.cpp's nomic-bert).
func (s *EncoderState) project(l *EncoderLayer, x []float32, nb int) error {
	c := s.e.Config
	qd, D := c.QDim(), c.HeadDim
	q, k, v := s.q[:nb*qd], s.k[:nb*qd], s.v[:nb*qd]
	if l.Wqkv != nil {
		qkv := s.qkv[:nb*3*qd]
		if err := s.matmulBias(l.Wqkv, l.Bqkv, x, nb, qkv); err != nil {
			return err
		}
		for b := range nb {
			r := qkv[b*3*qd : (b+1)*3*qd]
			copy(q[b*qd:(b+1)*qd], r[:qd])
			copy(k[b*qd:(b+1)*qd], r[qd:2*qd])
			copy(v[b*qd:(b+1)*qd], r[2*qd:])
		}
	} else {
		if err := s.matmulBias(l.Wq, l.Bq, x, nb, q); err != nil {
			return err
		}
		if err := s.matmulBias(l.Wk, l.Bk, x, nb, k); err != nil {
			return err
		}
		if err := s.matmulBias(l.Wv, l.Bv, x, nb, v); err != nil {
			return err
		}
	}
	if c.Rope != RopeNone {
		for b := range nb {
			cache := s.rope[b*c.RopeDims : (b+1)*c.RopeDims]
			for h := range c.Heads {
				kernel.RopeNeox(q[b*qd+h*D:b*qd+(h+1)*D], cache, c.RopeDims)
				kernel.RopeNeox(k[b*qd+h*D:b*qd+(h+1)*D], cache, c.RopeDims)
			}
		}
	}
	return nil
}

// matmulBias computes out = w·x + bias on every row (no bias when nil). MatMul converts the
// activations to the weights' dot type (F16 for F16, Q8_0 for Q8_0 …) as
// llama.cpp's CPU backend does.
func (s *EncoderState) matmulBias(w *tensor.Tensor, bias, x []float32, nb int, out []float32) error {
	if err := s.pool.MatMul(w, x, nb, out); err != nil {
		return err
	}
	if bias == nil {
		return nil
	}
	R := w.Rows()
	for b := range nb {
		r := out[b*R : (b+1)*R]
		kernel.Add(r, r, bias)
	}
	return nil
}

// attention computes, for every token of every text and every head,
// softmax(q·kᵀ/√D) over the tokens of the token's own text (both ways:
// no causal mask), then the weighted sum of v, into att — all in float32,
// as llama.cpp computes BERT's attention (no KV cache, F32 K and V). Tasks
// are (text, head, query) triples split ggml-style over the workers, each
// with its own scores buffer, so the result does not depend on the number
// of workers.
func (s *EncoderState) attention(seqs [][]int32) {
	c := s.e.Config
	H, D, qd := c.Heads, c.HeadDim, c.QDim()
	scale := float32(1 / math.Sqrt(float64(D)))
	// starts[i] is the first row of text i; tasks of text i are
	// [taskStart[i], taskStart[i+1]).
	starts := make([]int, len(seqs)+1)
	for i, toks := range seqs {
		starts[i+1] = starts[i] + len(toks)
	}
	// vt holds, for text i from row starts[i]·qd on, element e of its n
	// tokens' values at vt[starts[i]·qd + e·n + j]: the weighted sum over
	// tokens becomes a dot product (kernel.DotF32) per output element.
	for i := range seqs {
		first, n := starts[i], starts[i+1]-starts[i]
		vt := s.vt[first*qd : (first+n)*qd]
		for j := range n {
			for e, x := range s.v[(first+j)*qd : (first+j+1)*qd] {
				vt[e*n+j] = x
			}
		}
	}
	tasks := starts[len(seqs)] * H
	W := s.pool.Workers()
	s.pool.For(W, 1, func(w0, w1 int) {
		for w := w0; w < w1; w++ {
			text := 0
			for task := w; task < tasks; task += W {
				row, h := task/H, task%H
				for row >= starts[text+1] {
					text++
				}
				first, n := starts[text], starts[text+1]-starts[text]
				qh := s.q[row*qd+h*D : row*qd+(h+1)*D]
				qb := kernel.F32Bytes(qh)
				sc := s.scores[w][:n]
				for j := range n {
					kr := s.k[(first+j)*qd+h*D : (first+j)*qd+(h+1)*D]
					sc[j] = kernel.DotF32(D, kernel.F32Bytes(kr), qb) * scale
				}
				kernel.Softmax(sc)
				out := s.att[row*qd+h*D : row*qd+(h+1)*D]
				pb := kernel.F32Bytes(sc)
				for d := range out {
					off := first*qd + (h*D+d)*n
					out[d] = kernel.DotF32(n, kernel.F32Bytes(s.vt[off:off+n]), pb)
				}
			}
		}
	})
}
