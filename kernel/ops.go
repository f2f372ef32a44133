// Reference: ggml/src/ggml-cpu/ggml-cpu.c (ggml_compute_forward_rms_norm_f32, _norm_f32, _soft_max_f32,
// _rope_f32 with ggml_rope_cache_init, ggml_v_expf and ggml_vec_silu_f32 (AVX2), ggml_vec_gelu_f32 with GGML_GELU_FP16).

package kernel

import "math"

// The vector operations of a Transformer layer, on one row at a time. Each
// follows ggml's order of operations (float64 sums where ggml uses
// ggml_float, a separate scale then weight multiply in the norms, the
// cumulative float32 theta in RoPE) so that gptgo's logits land within a few
// thousandths of llama.cpp's on the same file. The naive float64 versions in
// ops_test.go are their references.

// RMSNorm writes dst[i] = (x[i] / sqrt(mean(x²) + eps)) · w[i]. dst may be x.
func RMSNorm(dst, x, w []float32, eps float32) {
	n := len(x)
	dst, w = dst[:n], w[:n]
	var sum float64
	for _, v := range x {
		sum += float64(v * v)
	}
	mean := float32(sum / float64(n))
	scale := 1 / float32(math.Sqrt(float64(mean+eps)))
	for i, v := range x {
		dst[i] = (v * scale) * w[i]
	}
}

// LayerNorm writes dst[i] = ((x[i]-mean) / sqrt(var + eps)) · w[i] + b[i];
// b may be nil (no bias). dst may be x.
func LayerNorm(dst, x, w, b []float32, eps float32) {
	n := len(x)
	dst, w = dst[:n], w[:n]
	var sum float64
	for _, v := range x {
		sum += float64(v)
	}
	mean := float32(sum / float64(n))
	var sum2 float64
	for i, v := range x {
		d := v - mean
		dst[i] = d
		sum2 += float64(d * d)
	}
	variance := float32(sum2 / float64(n))
	scale := 1 / float32(math.Sqrt(float64(variance+eps)))
	if b == nil {
		for i := range dst {
			dst[i] = (dst[i] * scale) * w[i]
		}
		return
	}
	b = b[:n]
	for i := range dst {
		dst[i] = float32((dst[i]*scale)*w[i]) + b[i]
	}
}

// Softmax replaces x by exp(x[i]-max) / Σ exp(x[j]-max). Entries of -Inf
// (masked positions) become 0. It computes as ggml's AVX2 soft_max does a
// row padded with masked entries to a multiple of 8: ExpGGML for every
// entry, each block of 8 summed in float32 in the vector unit's order, the
// block sums added in float64.
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	sum := softmaxExp(x, m)
	Scale(x, float32(1/sum))
}

// softmaxExp replaces x[i] by ExpGGML(x[i] − m) and returns their sum in
// Softmax's order; the amd64 assembly takes the whole groups of eight.
var softmaxExp = func(x []float32, m float32) float64 { return softmaxExpTail(x, m, 0) }

// softmaxExpTail is softmaxExp for x (the rest of a row after the groups
// already summed into sum), continuing sum.
func softmaxExpTail(x []float32, m float32, sum float64) float64 {
	for i := 0; i < len(x); i += 8 {
		var v [8]float32 // entries past the end are the padding's zeros
		for j := range min(8, len(x)-i) {
			v[j] = ExpGGML(x[i+j] - m)
			x[i+j] = v[j]
		}
		// _mm256 → _mm128 halves added, then the movehl/movehdup reduction.
		t0, t1, t2, t3 := v[0]+v[4], v[1]+v[5], v[2]+v[6], v[3]+v[7]
		sum += float64((t0 + t2) + (t1 + t3))
	}
	return sum
}

// ExpGGML is e^x as ggml's AVX2 code computes it (ggml_v_expf: a
// degree-5 polynomial after range reduction, within ~1.5 ulp of the true
// value), one lane at a time; softmax and SiLU use it so that their results
// are bit-identical to llama.cpp's on the same inputs. FMA steps are fused
// as in the vector code.
func ExpGGML(x float32) float32 {
	const r = 0x1.8p23
	z := fma32(x, 0x1.715476p+0, r)
	n := z - r
	b := fma32(-n, 0x1.7f7d1cp-20, fma32(-n, 0x1.62e4p-1, x))
	e := math.Float32bits(z) << 23
	k := math.Float32frombits(e + math.Float32bits(1))
	u := b * b
	j := fma32(fma32(fma32(0x1.0e4020p-7, b, 0x1.573e2ep-5), u, fma32(0x1.555e66p-3, b, 0x1.fffdb6p-2)), u, 0x1.ffffecp-1*b)
	an := float32(math.Abs(float64(n)))
	if !(an > 126) {
		return fma32(j, k, k)
	}
	var g uint32
	if n <= 0 {
		g = 0x82000000
	}
	s1 := math.Float32frombits(g + 0x7f000000)
	if an > 192 {
		return s1 * s1
	}
	s2 := math.Float32frombits(e - g)
	return fma32(s2, j, s2) * s1
}

// fma32 is a·b+c rounded once to float32, as C's fmaf. The product of two
// float32s is exact in float64, so only the sum rounds there; rounding
// that again to float32 can differ from one rounding when it lands exactly
// halfway between two float32s, and then the sum's error (TwoSum) says
// which way the exact value lies.
func fma32(a, b, c float32) float32 {
	p, cc := float64(a)*float64(b), float64(c)
	s := p + cc
	if bits := math.Float64bits(s); bits&(1<<29-1) == 1<<28 && math.Abs(s) >= 0x1p-126 && math.Abs(s) < 0x1p128 {
		bb := s - p
		switch e := (p - (s - bb)) + (cc - bb); {
		case e > 0:
			s = math.Nextafter(s, math.Inf(1))
		case e < 0:
			s = math.Nextafter(s, math.Inf(-1))
		}
	}
	return float32(s)
}

// RopeCache fills cache (len ≥ nDims) with the (cos θᵢ, sin θᵢ) pairs for
// position pos: θᵢ = freqScale · pos · base^(-2i/nDims) / factors[i].
// Like ggml, base^(-2i/nDims) is built by repeated float32 multiplication,
// not pow, so the angles match llama.cpp's to the last bit, and their
// cosines and sines are glibc's cosf and sinf (SinCos32), which llama.cpp
// calls, rather than the correctly rounded values. freqScale is
// 1/factor for linear scaling (1 without); factors are llama-3's per-pair
// frequency divisors ("rope_freqs.weight"), nil for none.
func RopeCache(cache []float32, pos, nDims int, base, freqScale float32, factors []float32) {
	// The exponent is a float32 quotient, as in ggml (-2.0f/n_dims).
	thetaScale := float32(math.Pow(float64(base), float64(float32(-2)/float32(nDims))))
	theta := float32(pos)
	for i0 := 0; i0 < nDims; i0 += 2 {
		ff := float32(1)
		if factors != nil {
			ff = factors[i0/2]
		}
		t := freqScale * (theta / ff)
		cache[i0+1], cache[i0] = SinCos32(t)
		theta *= thetaScale
	}
}

// RopeNorm rotates one head x in place by the angles in cache, pairing
// adjacent elements (x[2i], x[2i+1]) — the original LLaMA ("normal") layout.
// Elements from nDims on are left as they are. Each output is one fused
// multiply-add over the other, rounded product — x0·c − (x1·s) and
// x0·s + (x1·c) — as gcc contracts ggml's rotation in llama.cpp's builds.
func RopeNorm(x, cache []float32, nDims int) {
	for i0 := 0; i0 < nDims; i0 += 2 {
		c, s := cache[i0], cache[i0+1]
		x0, x1 := x[i0], x[i0+1]
		x[i0] = fma32(x0, c, -float32(x1*s))
		x[i0+1] = fma32(x0, s, float32(x1*c))
	}
}

// RopeNeox rotates one head x in place pairing x[i] with x[i+nDims/2] —
// the GPT-NeoX layout used by Qwen2, Phi, Gemma and others.
func RopeNeox(x, cache []float32, nDims int) {
	h := nDims / 2
	for i0 := 0; i0 < nDims; i0 += 2 {
		c, s := cache[i0], cache[i0+1]
		i := i0 / 2
		x0, x1 := x[i], x[i+h]
		x[i] = fma32(x0, c, -float32(x1*s))
		x[i+h] = fma32(x0, s, float32(x1*c))
	}
}

// SiLU writes dst[i] = x[i] / (1 + exp(-x[i])). dst may be x. Like ggml's
// AVX2 loop, whole blocks of 8 use ExpGGML and the tail uses libm's expf.
func SiLU(dst, x []float32) { siluGated(dst[:len(x)], x, nil) }

// SwiGLU writes dst[i] = silu(gate[i]) · up[i], the gated feed-forward of
// LLaMA and its descendants (ggml computes silu, then multiplies). dst may
// alias gate or up.
func SwiGLU(dst, gate, up []float32) {
	n := len(gate)
	siluGated(dst[:n], gate, up[:n])
}

// siluGated writes dst[i] = silu(x[i]), times up[i] when up is not nil;
// the amd64 assembly takes the whole groups of eight.
var siluGated = func(dst, x, up []float32) { siluTail(dst, x, up, 0) }

// siluTail is siluGated from index i on.
func siluTail(dst, x, up []float32, i int) {
	n8 := len(x) &^ 7
	for ; i < len(x); i++ {
		s := silu(x[i], i < n8)
		if up != nil {
			s *= up[i]
		}
		dst[i] = s
	}
}

func silu(v float32, vector bool) float32 {
	if vector {
		return v / (1 + ExpGGML(0-v))
	}
	return v / (1 + float32(math.Exp(float64(-v))))
}

const (
	geluCoefA      = 0.044715
	geluSqrt2OverP = 0.79788456080286535587989211986876
)

// geluTanh is GELU's tanh approximation in float32 arithmetic. The
// float32() around a·x·x keeps it a rounded product: without it Go's arm64
// (and ppc64, s390x) compiler fuses 1 + a·x·x into an FMA, which is
// geluTanhGGML, and the plain Go would give other bits there than on amd64.
func geluTanh(x float32) float32 {
	return 0.5 * x * (1 + float32(math.Tanh(float64(geluSqrt2OverP*x*(1+float32(geluCoefA*x*x))))))
}

// geluTanhGGML is geluTanh as llama.cpp's table was built: its C compiler
// (-march=native, GCC's default -ffp-contract=fast) fuses 1 + a·x·x into one
// FMA. Over the half-precision inputs GELUF16 uses, this changes one table
// entry (x = -1.9990234: -0.04550171, not -0.04547119) and the result is
// glibc's table exactly; checked exhaustively by TestGELUF16Table. The
// float64 FMA of float32 operands is rounded twice, which at these inputs
// never meets a tie.
func geluTanhGGML(x float32) float32 {
	inner := float32(math.FMA(float64(float32(geluCoefA*x)), float64(x), 1))
	return 0.5 * x * (1 + float32(math.Tanh(float64(geluSqrt2OverP*x*inner))))
}

// GELU writes dst[i] = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). dst may be x.
func GELU(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = geluTanh(v)
	}
}

// GELUF16 is GELU as ggml's CPU backend computes it: the input is rounded to
// half precision, and so is the result (ggml looks both up in a 64Ki-entry
// half-precision table); inputs beyond ±10 are clamped to 0 and x. Models
// compared against llama.cpp use this one.
func GELUF16(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		switch {
		case v <= -10:
			dst[i] = 0
		case v >= 10:
			dst[i] = v
		default:
			h := FP16ToFP32(FP32ToFP16(v))
			dst[i] = FP16ToFP32(FP32ToFP16(geluTanhGGML(h)))
		}
	}
}

// Add writes dst[i] = a[i] + b[i]. dst may alias a or b.
func Add(dst, a, b []float32) {
	n := len(a)
	dst, b = dst[:n], b[:n]
	for i := range a {
		dst[i] = a[i] + b[i]
	}
}

// Mul writes dst[i] = a[i] · b[i]. dst may alias a or b.
func Mul(dst, a, b []float32) {
	n := len(a)
	dst, b = dst[:n], b[:n]
	for i := range a {
		dst[i] = a[i] * b[i]
	}
}

// Scale multiplies x by s in place.
func Scale(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

// RoundF16 rounds x in place to the nearest half-precision value, as ggml
// does to activations that meet an F16 operand (the KV cache).
func RoundF16(x []float32) { roundF16(x, x) }
