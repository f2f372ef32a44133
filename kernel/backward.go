// Reference: llm.c train_gpt2.c (matmul_backward, layernorm_backward, gelu_backward, crossentropy_softmax_backward,
// encoder_backward); the forward conventions differentiated here are those of ops.go (ggml-cpu.c).

package kernel

import "math"

// Backward kernels for training. Each one is the derivative of a forward op
// in ops.go (or of a plain matmul / embedding lookup), written for the exact
// order of operations of that forward, so that a model trains on the very
// math it runs at inference. Like llm.c they ACCUMULATE (+=) into gradient
// buffers: a tensor used twice (tied embeddings, a residual stream) collects
// both contributions, and the caller zeroes gradients once per step.
//
// Legend for shapes (row-major, outer axis first; a row is contiguous):
//
//	N rows (tokens of a batch, B·T)   T sequence length      C row width (input features)
//	R output features of a linear     V vocabulary size      F feed-forward width
//	H query heads   KH key/value heads (GQA: H/KH query heads share one)   D head width
//
// A linear layer's weight is [R, C] (row r holds the C weights of output r),
// the layout of a GGUF F32 tensor with ne = [C, R], so y[n, r] = w[r]·x[n].
//
// Precision: storage is float32; sums that reduce a whole row to one
// number (norm statistics, softmax normalisers, dot products of a gradient
// with an activation row) run in float64, because they feed every element of
// the row and their rounding would be amplified. Elementwise accumulations
// (dx += g·w) stay in float32, as in llm.c: each element then carries an
// error of order √terms·ε, well inside the tests' bounds.

// LinearBackwardInput adds dy·w to dx for rows n in [n0, n1):
// dx[n, c] += Σ_r dy[n, r]·w[r, c]. dy is [N, R], w is [R, C], dx is [N, C].
// Rows are independent, so callers may split [0, N) across workers.
func LinearBackwardInput(dx, dy, w []float32, R, C, n0, n1 int) {
	w = w[:R*C]
	for n := n0; n < n1; n++ {
		dxr, dyr := dx[n*C:(n+1)*C], dy[n*R:(n+1)*R]
		for r, g := range dyr {
			if g == 0 {
				continue // masked rows (ignored targets) cost nothing
			}
			wr := w[r*C : (r+1)*C]
			for c, wv := range wr {
				dxr[c] += float32(g * wv)
			}
		}
	}
}

// LinearBackwardWeight adds dyᵀ·x to dw and the column sums of dy to db
// (db may be nil: no bias) for output rows r in [r0, r1):
// dw[r, c] += Σ_n dy[n, r]·x[n, c], db[r] += Σ_n dy[n, r]. dy is [N, R],
// x is [N, C], dw is [R, C]. Each output row r is owned by one caller, and
// the sum over n runs in order, so splitting [0, R) across workers gives the
// same bits for any worker count.
func LinearBackwardWeight(dw, db, dy, x []float32, N, R, C, r0, r1 int) {
	x, dy = x[:N*C], dy[:N*R]
	for r := r0; r < r1; r++ {
		dwr := dw[r*C : (r+1)*C]
		var bsum float64
		for n := range N {
			g := dy[n*R+r]
			if g == 0 {
				continue
			}
			bsum += float64(g)
			xr := x[n*C : (n+1)*C]
			for c, xv := range xr {
				dwr[c] += float32(g * xv)
			}
		}
		if db != nil {
			db[r] += float32(bsum)
		}
	}
}

// EmbeddingBackward scatters the row gradients dy [N, C] into the table
// gradient dtable [V, C]: dtable[tokens[n]] += dy[n]. Tokens must be in
// range (the forward checked them). Rows are added in order n = 0, 1, …, so
// a token that repeats gets the same sum whatever the machine.
func EmbeddingBackward(dtable, dy []float32, tokens []int32, C int) {
	for n, t := range tokens {
		AddTo(dtable[int(t)*C:(int(t)+1)*C], dy[n*C:(n+1)*C])
	}
}

// AddTo adds src to dst elementwise: the backward of a residual add or of
// a learned position embedding (dpos[t] += dy[b, t] for every sequence b).
func AddTo(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] += v
	}
}

// RMSNormBackward is the derivative of RMSNorm (ops.go) for one row:
// with s = 1/sqrt(mean(x²) + eps), y = (x·s)·w, it adds
//
//	dw[i] += dy[i]·x[i]·s
//	dx[i] += s·dy[i]·w[i] − s³·x[i]·Σⱼ dy[j]·w[j]·x[j] / n
//
// The statistics are recomputed from x as the forward computed them (the
// float32 mean of a float64 sum), so nothing but x need be saved.
func RMSNormBackward(dx, dw, dy, x, w []float32, eps float32) {
	n := len(x)
	dx, dw, dy, w = dx[:n], dw[:n], dy[:n], w[:n]
	var sum float64
	for _, v := range x {
		sum += float64(v * v)
	}
	mean := float32(sum / float64(n))
	s := 1 / float32(math.Sqrt(float64(mean+eps)))
	var dot float64 // Σ dy·w·x in float64: it multiplies every element of dx
	for i, v := range x {
		dot += float64(float64(dy[i]) * float64(w[i]) * float64(v))
	}
	k := float32(float64(s) * float64(s) * float64(s) * dot / float64(n))
	for i, v := range x {
		dw[i] += float32(dy[i] * (v * s))
		dx[i] += float32(s*dy[i]*w[i]) - float32(k*v)
	}
}

// LayerNormBackward is the derivative of LayerNorm (ops.go) for one row:
// with x̂ = (x − mean)·rstd and y = x̂·w + b, it adds dw[i] += dy[i]·x̂[i],
// db[i] += dy[i] (db may be nil), and
//
//	dx[i] += rstd·(g[i] − mean(g) − x̂[i]·mean(g·x̂)),  g = dy·w
//
// (llm.c layernorm_backward). Mean and rstd are recomputed from x.
func LayerNormBackward(dx, dw, db, dy, x, w []float32, eps float32) {
	n := len(x)
	dx, dw, dy, w = dx[:n], dw[:n], dy[:n], w[:n]
	var sum float64
	for _, v := range x {
		sum += float64(v)
	}
	mean := float32(sum / float64(n))
	var sum2 float64
	for _, v := range x {
		d := v - mean
		sum2 += float64(d * d)
	}
	rstd := 1 / float32(math.Sqrt(float64(float32(sum2/float64(n))+eps)))
	var gMean, gxMean float64
	for i, v := range x {
		g := float64(dy[i]) * float64(w[i])
		gMean += g
		gxMean += float64(g * float64((v-mean)*rstd))
	}
	gMean /= float64(n)
	gxMean /= float64(n)
	for i, v := range x {
		xh := (v - mean) * rstd
		dw[i] += float32(dy[i] * xh)
		if db != nil {
			db[i] += dy[i]
		}
		dx[i] += float32(rstd * float32(float64(dy[i]*w[i])-gMean-float64(float64(xh)*gxMean)))
	}
}

// RopeNormBackward turns the gradient with respect to RopeNorm's output
// into the gradient with respect to its input, in place. A rotation's
// transpose is the rotation by −θ: (g0, g1) ← (g0·c + g1·s, −g0·s + g1·c).
func RopeNormBackward(g, cache []float32, nDims int) {
	for i0 := 0; i0 < nDims; i0 += 2 {
		c, s := cache[i0], cache[i0+1]
		g0, g1 := g[i0], g[i0+1]
		g[i0] = float32(g0*c) + float32(g1*s)
		g[i0+1] = float32(g1*c) - float32(g0*s)
	}
}

// RopeNeoxBackward is RopeNormBackward for RopeNeox's pairing (x[i], x[i+nDims/2]).
func RopeNeoxBackward(g, cache []float32, nDims int) {
	h := nDims / 2
	for i0 := 0; i0 < nDims; i0 += 2 {
		c, s := cache[i0], cache[i0+1]
		i := i0 / 2
		g0, g1 := g[i], g[i+h]
		g[i] = float32(g0*c) + float32(g1*s)
		g[i+h] = float32(g1*c) - float32(g0*s)
	}
}

// sigmoid in float32 via a float64 exp, as SiLU computes it.
func sigmoid(x float32) float32 { return 1 / (1 + float32(math.Exp(float64(-x)))) }

// SiLUBackward adds dy·silu'(x) to dx, where silu'(x) = σ(x)·(1 + x·(1 − σ(x))).
func SiLUBackward(dx, dy, x []float32) {
	n := len(x)
	dx, dy = dx[:n], dy[:n]
	for i, v := range x {
		sg := sigmoid(v)
		dx[i] += float32(dy[i] * (sg * (1 + float32(v*(1-sg)))))
	}
}

// SwiGLUBackward is the derivative of SwiGLU (y = silu(gate)·up): it adds
// dy·silu(gate) to dup and dy·up·silu'(gate) to dgate.
//
// Where the CPU has it (AVX-512), swigluBackwardVec takes groups of eight
// with the loop's bits, and hands back any group where it cannot promise
// them (see swigluBackwardAsm); the loop does those and the tail. The
// scalar float64 exp was 13% of the 0.9M training step.
func SwiGLUBackward(dgate, dup, dy, gate, up []float32) {
	n := len(gate)
	dgate, dup, dy, up = dgate[:n], dup[:n], dy[:n], up[:n]
	if swigluBackwardVec == nil {
		swigluBackwardGeneric(dgate, dup, dy, gate, up)
		return
	}
	for i := 0; i < n; {
		i += swigluBackwardVec(dgate[i:], dup[i:], dy[i:], gate[i:], up[i:])
		e := min(n, i+8) // the group handed back, or the tail
		swigluBackwardGeneric(dgate[i:e], dup[i:e], dy[i:e], gate[i:e], up[i:e])
		i = e
	}
}

// swigluBackwardVec, where the CPU has it, runs swigluBackwardGeneric's loop
// over whole groups of eight from the start, bit for bit, and returns how
// many elements it did (a multiple of 8); it stops at a group it cannot do.
var swigluBackwardVec func(dgate, dup, dy, gate, up []float32) int

// swigluBackwardGeneric is SwiGLUBackward's loop: the reference and the
// fallback.
func swigluBackwardGeneric(dgate, dup, dy, gate, up []float32) {
	n := len(gate)
	dgate, dup, dy, up = dgate[:n], dup[:n], dy[:n], up[:n]
	for i, g := range gate {
		sg := sigmoid(g)
		dup[i] += float32(dy[i] * (g * sg))
		dgate[i] += float32(dy[i] * up[i] * (sg * (1 + float32(g*(1-sg)))))
	}
}

// GELUBackward adds dy·gelu'(x) to dx for the tanh approximation that GELU
// (ops.go) computes. Training differentiates the float32 GELU, not GELUF16:
// the half-precision table of ggml's CPU backend is an inference shortcut
// with a stepwise (zero almost everywhere) derivative. sech² is written
// 1 − tanh², which cannot overflow where cosh would.
func GELUBackward(dx, dy, x []float32) {
	n := len(x)
	dx, dy = dx[:n], dy[:n]
	for i, v := range x {
		u := geluSqrt2OverP * v * (1 + float32(geluCoefA*v*v))
		th := float32(math.Tanh(float64(u)))
		du := geluSqrt2OverP * (1 + float32(3*geluCoefA*v*v))
		dx[i] += float32(dy[i] * (float32(0.5*(1+th)) + float32(0.5*v*(1-float32(th*th))*du)))
	}
}

// CrossEntropy computes the softmax cross-entropy of N rows of logits [N, V]
// against targets [N] and writes its gradient, scaled by scale, into dlogits
// (overwritten, not accumulated: the logits have no other consumer). Rows
// whose target equals ignore contribute nothing: their loss is skipped and
// their gradient row is zeroed. It returns the sum of the per-row losses
// −log softmax(logits)[target] in float64 and the number of rows counted;
// the mean loss is sum/count and scale is normally 1/count. Targets other
// than ignore must lie in [0, V) (callers check them). The log-sum-exp
// subtracts the row maximum and sums in float64.
func CrossEntropy(dlogits, logits []float32, targets []int32, V int, ignore int32, scale float32) (sum float64, count int) {
	for n, t := range targets {
		lr, dr := logits[n*V:(n+1)*V], dlogits[n*V:(n+1)*V]
		if t == ignore {
			clear(dr)
			continue
		}
		m := rowMax(lr)
		// One exp per logit: e^(v-m) is parked in dr while z sums it in
		// float64, then dr is scaled in place.
		z := expShift(dr, lr, m)
		sum += math.Log(z) - float64(lr[t]-m)
		count++
		k := float32(float64(scale) / z)
		for i := range dr {
			dr[i] *= k
		}
		dr[t] -= scale
	}
	return sum, count
}

// rowMax is the builtin max folded over x from −Inf (a NaN wins, +0 beats
// −0): the row maximum of CrossEntropy. The loop took 3.5% of the 15M
// training step (V = 32000); rowMaxVec, where the CPU has it, gives the
// same value or hands the row back.
func rowMax(x []float32) float32 {
	if rowMaxVec != nil {
		if m, ok := rowMaxVec(x); ok {
			return m
		}
	}
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	return m
}

// rowMaxVec, where the CPU has it, returns rowMax's loop's value and true,
// or false for a row it leaves to the loop.
var rowMaxVec func(x []float32) (float32, bool)

// expShift writes dst[i] = e^(x[i]-m) and returns Σ dst[i] in float64: the
// softmax numerators of a row whose maximum is m. The amd64 file installs
// an AVX2 version (ggml_v_expf's polynomial) where the CPU allows.
var expShift = expShiftGeneric

// expShiftGeneric is the reference: math.Exp in float64, each value rounded
// once to float32 and summed unrounded.
func expShiftGeneric(dst, x []float32, m float32) float64 {
	dst = dst[:len(x)]
	var z float64
	for i, v := range x {
		e := math.Exp(float64(v - m))
		dst[i] = float32(e)
		z += e
	}
	return z
}
