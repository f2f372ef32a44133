// Reference: glibc 2.28+ sysdeps/ieee754/flt-32 sinf/cosf/sincosf (the algorithm of Arm's optimized-routines:
// a double-precision polynomial after a one-step reduction below 120, a 4/π table beyond), as built for x86-64
// CPUs with FMA (glibc's multiarch *_fma variants, which gcc compiles with contraction).

package kernel

import "math"

// SinCos32 returns the float32 sine and cosine of y with the bits that
// glibc's sinf, cosf and sincosf give on an x86-64 CPU with FMA, which is
// what llama.cpp's RoPE calls (ggml's rope cache: cosf and sinf of a
// float32 angle, merged into sincosf by gcc). Those functions are not
// correctly rounded (worst case 0.56 ulp): float32(math.Cos(y)) differs
// from them now and then, and one such bit in a rotated query can tip a
// later rounding and move a logit by 0.1 (docs/llamacpp-compat.md,
// section g). So gptgo computes them the same way: in float64, reduced by
// the nearest multiple of π/2 (one fused multiply-subtract below 120, the
// integer product with 4/π beyond), a degree-3 sine or degree-5 cosine
// polynomial in x² evaluated with fused multiply-adds, rounded once to
// float32. Checked bit for bit against this machine's libm over a million
// inputs (TestSinCos32MatchesGlibc). NaN for ±Inf and NaN.
func SinCos32(y float32) (sin, cos float32) {
	top := abstop12(y)
	switch {
	case top < abstop12(float32(math.Pi/4)):
		if top < abstop12(0x1p-12) {
			return y, 1
		}
		x := float64(y)
		return sinCosPoly(x, x*x, &sinCosTable[0], 0)
	case top < abstop12(120):
		x, n := reduceHalfPi(float64(y))
		p := &sinCosTable[n>>1&1]
		x *= sinCosSign[n&3]
		return sinCosPoly(x, x*x, p, n)
	case top < abstop12(float32(math.Inf(1))):
		xi := math.Float32bits(y)
		x, n := reduceHalfPiLarge(xi)
		q := n + int(xi>>31)
		x *= sinCosSign[q&3]
		return sinCosPoly(x, x*x, &sinCosTable[q>>1&1], n)
	}
	nan := y - y
	return nan, nan
}

// abstop12 is the top 12 bits of y's representation without the sign:
// the exponent and the first three bits of the mantissa.
func abstop12(y float32) uint32 { return math.Float32bits(y) >> 20 & 0x7ff }

// sinCosCoef holds the two polynomials: cos x ≈ c0 + c1x² + … + c4x⁸
// and sin x ≈ x + s1x³ + s2x⁵ + s3x⁷ on [−π/4, π/4]. The second entry
// negates the cosine's, for quadrants 2 and 3.
type sinCosCoef struct {
	c0, c1, c2, c3, c4 float64
	s1, s2, s3         float64
}

var sinCosTable = [2]sinCosCoef{
	{0x1p0, -0x1.ffffffd0c621cp-2, 0x1.55553e1068f19p-5, -0x1.6c087e89a359dp-10, 0x1.99343027bf8c3p-16,
		-0x1.555545995a603p-3, 0x1.1107605230bc4p-7, -0x1.994eb3774cf24p-13},
	{-0x1p0, 0x1.ffffffd0c621cp-2, -0x1.55553e1068f19p-5, 0x1.6c087e89a359dp-10, -0x1.99343027bf8c3p-16,
		-0x1.555545995a603p-3, 0x1.1107605230bc4p-7, -0x1.994eb3774cf24p-13},
}

// sinCosSign is the sign the reduced argument takes in each quadrant.
var sinCosSign = [4]float64{1, -1, -1, 1}

// sinCosPoly evaluates both polynomials at the reduced x (x2 = x²) and
// swaps them in odd quadrants n. Every a + b·c below is one fused
// multiply-add, as gcc contracts them in glibc's FMA build.
func sinCosPoly(x, x2 float64, p *sinCosCoef, n int) (sin, cos float32) {
	x3, x4 := x2*x, x2*x2
	c2 := math.FMA(x2, p.c4, p.c3)
	s1 := math.FMA(x2, p.s3, p.s2)
	c1 := math.FMA(x2, p.c1, p.c0)
	x5, x6 := x3*x2, x4*x2
	s := math.FMA(x3, p.s1, x)
	c := math.FMA(x4, p.c2, c1)
	sin, cos = float32(math.FMA(x5, s1, s)), float32(math.FMA(x6, c2, c))
	if n&1 != 0 {
		return cos, sin
	}
	return sin, cos
}

// reduceHalfPi returns x − n·π/2 for the nearest n (|x| < 120, where
// π/2's 53 bits leave the result accurate). The quotient is scaled by 2²⁴
// and truncated to int32, so that the quadrant lands in bits 24 and up
// with rounding to nearest.
func reduceHalfPi(x float64) (float64, int) {
	const halfPiInv24, halfPi = 0x1.45F306DC9C883p+23, 0x1.921FB54442D18p0
	n := (int32(x*halfPiInv24) + 0x800000) >> 24
	return math.FMA(-float64(n), halfPi, x), int(n)
}

// invPiOver4 is 4/π to 192 bits, each entry 8 bits on from the one
// before, so that any 96-bit window starts at an entry.
var invPiOver4 = [24]uint32{
	0xa2, 0xa2f9, 0xa2f983, 0xa2f9836e,
	0xf9836e4e, 0x836e4e44, 0x6e4e4415, 0x4e441529,
	0x441529fc, 0x1529fc27, 0x29fc2757, 0xfc2757d1,
	0x2757d1f5, 0x57d1f534, 0xd1f534dd, 0xf534ddc0,
	0x34ddc0db, 0xddc0db62, 0xc0db6295, 0xdb629599,
	0x6295993c, 0x95993c43, 0x993c4390, 0x3c439041,
}

// reduceHalfPiLarge reduces |y| ≥ 120 (y's bits xi; the sign is ignored)
// by the nearest multiple n of π/2: the mantissa times 96 bits of 4/π
// chosen by the exponent gives the quotient as a 2.62 fixed-point number,
// whose fraction times π/2 is the result.
func reduceHalfPiLarge(xi uint32) (float64, int) {
	const twoPi63 = 0x1.921FB54442D18p-62 // 2π·2⁻⁶⁴
	arr := invPiOver4[xi>>26&15:]
	shift := xi >> 23 & 7
	m := (xi&0xffffff | 0x800000) << shift
	r0 := uint64(m * arr[0]) // a 32-bit product: its high bits fall off the top
	r1 := uint64(m) * uint64(arr[4])
	r2 := uint64(m) * uint64(arr[8])
	r := r2>>32 | r0<<32
	r += r1
	n := (r + 1<<61) >> 62
	r -= n << 62
	return float64(int64(r)) * twoPi63, int(n)
}
