// Reference: ggml/src/ggml-quants.c (quantize_row_q*_K_ref, dequantize_row_q*_K) and ggml-common.h (block sizes).

package tensor

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"

	"github.com/gptgo/gptgo/internal/testkit"
)

var kTypes = []DType{Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K, IQ4_XS, TQ1_0, TQ2_0}

func TestKQuantBlockLayouts(t *testing.T) {
	sizes := map[DType]uintptr{
		Q2_K: unsafe.Sizeof(blockQ2K{}), Q3_K: unsafe.Sizeof(blockQ3K{}), Q4_K: unsafe.Sizeof(blockQ4K{}),
		Q5_K: unsafe.Sizeof(blockQ5K{}), Q6_K: unsafe.Sizeof(blockQ6K{}), Q8_K: unsafe.Sizeof(blockQ8K{}),
		IQ4_XS: unsafe.Sizeof(blockIQ4XS{}), TQ1_0: unsafe.Sizeof(blockTQ1_0{}), TQ2_0: unsafe.Sizeof(blockTQ2_0{}),
	}
	want := map[DType]int{Q2_K: 84, Q3_K: 110, Q4_K: 144, Q5_K: 176, Q6_K: 210, Q8_K: 292, IQ4_XS: 136, TQ1_0: 54, TQ2_0: 66}
	for dt, size := range sizes {
		if int(size) != want[dt] || dt.TypeSize() != want[dt] {
			t.Errorf("%v: struct %d bytes, DType table %d, ggml %d", dt, size, dt.TypeSize(), want[dt])
		}
	}
	// quantizeQ45K writes both types through Q4_K's offsets.
	if q5KOffD != q4KOffD || q5KOffDmin != q4KOffDmin || q5KOffScales != q4KOffScales {
		t.Error("Q5_K's d, dmin and scales are not where Q4_K's are")
	}
}

func TestKQuantFormatsRegistered(t *testing.T) {
	for _, dt := range kTypes {
		f := FormatOf(dt)
		if f.Quantize == nil || f.Dequantize == nil {
			t.Errorf("%v: quantize or dequantize missing", dt)
		}
		if dt != Q8_K && (f.VecDot == nil || f.VecDotType != Q8_K) {
			t.Errorf("%v: VecDot %v against %v, want a dot against Q8_K", dt, f.VecDot != nil, f.VecDotType)
		}
	}
}

// Every (scale, min) pair of 6-bit values survives packing and unpacking, in
// every one of the eight positions.
func TestScaleMinK4RoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for trial := 0; trial < 2000; trial++ {
		var ls, lm [8]uint8
		q := make([]byte, 12)
		for j := range ls {
			ls[j], lm[j] = uint8(r.IntN(64)), uint8(r.IntN(64))
			if trial < 64 {
				ls[j], lm[j] = uint8(trial), uint8(63-trial)
			}
			packScaleMinK4(q, j, ls[j], lm[j])
		}
		for j := range ls {
			if s, m := scaleMinK4(j, q); s != ls[j] || m != lm[j] {
				t.Fatalf("sub-block %d: packed (%d, %d), unpacked (%d, %d)", j, ls[j], lm[j], s, m)
			}
		}
	}
}

// kqRandom returns n values from a mix of distributions: Gaussian, heavy
// tailed, and rows scaled over several orders of magnitude.
func kqRandom(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		v := r.NormFloat64()
		if r.IntN(20) == 0 {
			v *= 6
		}
		x[i] = float32(v * math.Exp(float64(i/256%5)-2))
	}
	return x
}

// Quantize → dequantize must come back within each format's error: NMSE
// bounds are ~1.5× the values measured on this seed (Gaussian data with 5%
// outliers at 6σ, 16 super-blocks: Q2_K 0.126, Q3_K 0.049, Q4_K 0.0104,
// Q5_K 0.0024, Q6_K 5.3e-4, Q8_K 2.5e-4), i.e. what each bit width buys; a
// layout or scale mistake gives errors of order 1. Inputs must be left unchanged, and
// dequantize must write exactly its output range.
func TestKQuantRoundTrip(t *testing.T) {
	bound := map[DType]float64{Q2_K: 0.19, Q3_K: 0.075, Q4_K: 0.016, Q5_K: 0.005, Q6_K: 8e-4, Q8_K: 4e-4, IQ4_XS: 0.016, TQ1_0: 1e-6, TQ2_0: 1e-6}
	r := rand.New(rand.NewPCG(9, 9))
	for _, dt := range kTypes {
		for _, nb := range []int{0, 1, 3, 16} {
			n := nb * QKK
			x := kqRandom(r, n)
			if dt == TQ1_0 || dt == TQ2_0 {
				// Ternary formats are for ternary weights: only the fp16
				// rounding of each block's scale is lost.
				for i := range x {
					x[i] = float32(r.IntN(3)-1) * float32(1+i/QKK)
				}
			}
			keep := slices.Clone(x)
			q := make([]byte, nb*dt.TypeSize())
			if err := Quantize(dt, x, q); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(x, keep) {
				t.Fatalf("%v: input changed", dt)
			}
			qkeep := slices.Clone(q)
			y, full := testkit.Guarded(n, 8)
			if err := Dequantize(dt, q, y); err != nil {
				t.Fatal(err)
			}
			testkit.CheckGuards(t, full, n, 8)
			if !slices.Equal(q, qkeep) {
				t.Fatalf("%v: dequantize changed its input", dt)
			}
			if nb == 0 {
				continue
			}
			e := testkit.NMSE(y, x)
			if nb == 16 {
				t.Logf("%v: NMSE %.3g over %d values", dt, e, n)
			}
			if !(e <= bound[dt]) {
				t.Errorf("%v, %d blocks: NMSE %.3g, want ≤ %.3g", dt, nb, e, bound[dt])
			}
		}
	}
}

// Edge blocks: all zero, constant, one spike, tiny values, all negative.
// Each must quantize to finite values that dequantize within half the
// block's largest magnitude (2-bit codes are that coarse); a block too small
// for the fp16 super-block scale (below ~1e-7) may flush to zero.
func TestKQuantEdgeBlocks(t *testing.T) {
	blocks := map[string]func(i int) float32{
		"zero":     func(int) float32 { return 0 },
		"constant": func(int) float32 { return 0.7 },
		"negative": func(i int) float32 { return -1 - float32(i%7) },
		"spike": func(i int) float32 {
			if i == 77 {
				return 100
			}
			return 0
		},
		"tiny": func(i int) float32 { return float32(i%5) * 1e-20 },
	}
	for name, gen := range blocks {
		x := make([]float32, QKK)
		var amax float64
		for i := range x {
			x[i] = gen(i)
			amax = math.Max(amax, math.Abs(float64(x[i])))
		}
		tol := 0.5*amax + 1e-30
		if amax < 1e-7 {
			tol = amax + 1e-30
		}
		for _, dt := range kTypes {
			q := make([]byte, dt.TypeSize())
			y := make([]float32, QKK)
			if err := Quantize(dt, x, q); err != nil {
				t.Fatal(err)
			}
			if err := Dequantize(dt, q, y); err != nil {
				t.Fatal(err)
			}
			for i := range y {
				if d := math.Abs(float64(y[i] - x[i])); math.IsNaN(d) || d > tol {
					t.Fatalf("%s block, %v: value %d: %v came back as %v", name, dt, i, x[i], y[i])
				}
			}
		}
	}
}

// Golden digests of llama.cpp's reference quantizers (quantize_row_q*_K_ref
// of the Feb 2025 source, built with gcc 12 at -O2 for x86-64) over
// kqGoldenInput: this covers Q2_K and Q3_K, which the reference models do
// not contain, and edge cases (zero sub-blocks, spikes, values below
// GROUP_MAX_EPS, wide dynamic range) for every type.
var kqGolden = map[DType]string{
	Q2_K: "c7b904e2fedcf2cadeef917b6358f342f539b73a82a56d94570e70b08d42189d",
	Q3_K: "838874e7ddb7e55ee3ff562eb8bea9efd87045e8648ddd75aef3c1ab03a11cf2",
	Q4_K: "2b3f91131ded9ea3fcf87c4eba99813d9bbf97fece8914281439dd1de43a73e4",
	Q5_K: "07957ce3c0453f3e9128cf82c0b393ba9db29add748572ded4cc0b55f029f4c7",
	Q6_K: "cdefdd16d553b8a1d225467af751023798ff0d3d2c376845ecc44fa79f7a32db",
	Q8_K: "087a8b9942b60e868bbe20d1e0bf38c0eabccd824cf9b38df6111f8d4ffed712",
	// quantize_iq4_xs with no importance matrix (what llama-quantize runs).
	IQ4_XS: "affd6c7a16defe80d31e0e6b116e8d4a953ac1fbaf7550bf03dc6f54d8ee5f69",
	TQ1_0:  "c43b141a320f0c6294ae261c31c3adb5c8701117c0bfc23845d7a5988fc75990",
	TQ2_0:  "7f3b1afc93bcdfc69b2c1ec2a7e1778e1aebb429751d53a3670085e178e982ff",
}

const kqGoldenInputDigest = "dc2bf094ab883120fd280198775e2629bf8c6c2106385c9a34c9e62fac00e2dd"

// kqGoldenInput is 90 super-blocks from SplitMix64, each value an exact
// 24-bit fraction u in [-1, 1) shaped by a per-block rule (block b uses
// rule b%10), so that C and Go compute identical float32 inputs.
func kqGoldenInput() []float32 {
	const nb = 90
	state := uint64(42)
	next := func() uint64 {
		state += 0x9e3779b97f4a7c15
		z := state
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		return z ^ z>>31
	}
	x := make([]float32, nb*QKK)
	for b := 0; b < nb; b++ {
		for i := 0; i < QKK; i++ {
			u := float32(int32(next()>>40)-1<<23) * (1.0 / (1 << 23))
			var v float32
			switch b % 10 {
			case 0:
				v = u
			case 1:
				v = u * u * u * 3
			case 2:
				v = absf(u) + 0.1
			case 3:
				v = -absf(u) * 0.01
			case 4:
				if i/16%3 != 0 {
					v = u
				}
			case 5:
				v = u * 0.001
				if i == b*37%256 {
					v = 50
				}
			case 6:
				v = u
				if i < 128 {
					v = 0.25
				}
			case 7:
				v = u
				if i < 128 {
					v = u * 0x1p-60
				}
			case 8:
				v = 0
			default:
				v = u * 0.5
				if i/32%2 == 0 {
					v = u * 1000
				}
			}
			x[b*QKK+i] = v
		}
	}
	return x
}

func TestKQuantGoldenVsLlamaCpp(t *testing.T) {
	x := kqGoldenInput()
	raw := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	if d := sha256.Sum256(raw); hex.EncodeToString(d[:]) != kqGoldenInputDigest {
		t.Fatal("golden input generator drifted from the one the digests were made with")
	}
	for _, dt := range kTypes {
		q := make([]byte, len(x)/QKK*dt.TypeSize())
		if err := Quantize(dt, x, q); err != nil {
			t.Fatal(err)
		}
		if d := sha256.Sum256(q); hex.EncodeToString(d[:]) != kqGolden[dt] {
			t.Errorf("%v: quantized bytes differ from llama.cpp's (sha256 %x)", dt, d)
		}
	}
}

func BenchmarkQuantizeK(b *testing.B) {
	x := kqRandom(rand.New(rand.NewPCG(1, 1)), 16*QKK)
	for _, dt := range kTypes {
		q := make([]byte, 16*dt.TypeSize())
		b.Run(dt.String(), func(b *testing.B) {
			b.SetBytes(int64(4 * len(x)))
			for b.Loop() {
				_ = Quantize(dt, x, q)
			}
		})
	}
}

// llama.cpp's scalar dots (ggml_vec_dot_*_q8_K of ggml-cpu-quants.c, gcc 12
// -O2 -march=x86-64, so the plain-C branch) of kqGoldenInput, quantized to
// each type, with kqGoldenActivations as Q8_K, in 9 rows of 10 blocks:
// float32 bits.
var kqGoldenDots = map[DType][9]uint32{
	Q2_K:   {0xc50b6706, 0x42f9f01a, 0xc59265a6, 0xc4091bce, 0xc51a6947, 0x441d2ee7, 0xc44c3792, 0x43e8554b, 0xc5eb22c0},
	Q3_K:   {0xc4d50e32, 0x44008608, 0xc5a349de, 0xc36d9480, 0xc50fd7d7, 0xc45f8b7e, 0xc47f37f0, 0xc3aa356e, 0xc5ce0216},
	Q4_K:   {0xc4991c2f, 0xc0c9f600, 0xc58c4fd8, 0xc43d057a, 0xc4f55222, 0xc44baea6, 0xc47d0d01, 0xc2a59024, 0xc5d1bed4},
	Q5_K:   {0xc49376ce, 0x4360d040, 0xc5999398, 0xc4204aa0, 0xc502beb6, 0xc3c636e8, 0xc424dc33, 0x40e3c240, 0xc5d91bdc},
	Q6_K:   {0xc496837a, 0x4264e300, 0xc59860e0, 0xc3bb73f0, 0xc508941e, 0xc3cccd70, 0xc439bb04, 0x42aee8bc, 0xc5d6de39},
	IQ4_XS: {0xc458bb20, 0xc38fa70c, 0xc598d460, 0xc3220fb0, 0xc4e94fca, 0xc37afb30, 0xc4392def, 0xc3f4ecb6, 0xc5dc31b1},
	TQ1_0:  {0xc5222be0, 0xc450cd3c, 0xc50db1e7, 0x44c483a9, 0xc1acc3c1, 0x4313116a, 0x44f0dbc8, 0xc56b7842, 0xc5e1b8f4},
	TQ2_0:  {0xc5222be0, 0xc450cd3c, 0xc50db1e7, 0x44c483a9, 0xc1acc3c1, 0x4313116a, 0x44f0dbc8, 0xc56b7842, 0xc5e1b8f4},
}

// kqGoldenActivations: SplitMix64 from seed 7, each value an exact 24-bit
// fraction in [-1, 1).
func kqGoldenActivations(n int) []float32 {
	state := uint64(7)
	a := make([]float32, n)
	for i := range a {
		state += 0x9e3779b97f4a7c15
		z := state
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		z ^= z >> 31
		a[i] = float32(int32(z>>40)-1<<23) * (1.0 / (1 << 23))
	}
	return a
}

// The registered dots agree with llama.cpp's. The integer sums are exact
// in both; llama.cpp adds the scaled sums in a different order (8 float
// lanes per block for most types), so the bound is on float32 rounding:
// |got − want| <= 1e-5·Σ|per-block dot| (about 10 roundings of each block's
// contribution, with margin). Rows whose blocks cancel still have to agree
// to that absolute level; a wrong scale or offset misses by whole blocks.
func TestKDotsVsLlamaCpp(t *testing.T) {
	x := kqGoldenInput()
	a := kqGoldenActivations(len(x))
	q8 := make([]byte, len(a)/QKK*Q8_K.TypeSize())
	if err := Quantize(Q8_K, a, q8); err != nil {
		t.Fatal(err)
	}
	const rowBlocks = 10
	for dt, want := range kqGoldenDots {
		f := FormatOf(dt)
		w := make([]byte, len(x)/QKK*dt.TypeSize())
		if err := Quantize(dt, x, w); err != nil {
			t.Fatal(err)
		}
		same := 0
		for r := range want {
			wr := w[r*rowBlocks*dt.TypeSize() : (r+1)*rowBlocks*dt.TypeSize()]
			xr := q8[r*rowBlocks*Q8_K.TypeSize() : (r+1)*rowBlocks*Q8_K.TypeSize()]
			got := f.VecDot(rowBlocks*QKK, wr, xr)
			var mag float64
			for b := 0; b < rowBlocks; b++ {
				mag += math.Abs(float64(f.VecDot(QKK, wr[b*dt.TypeSize():], xr[b*Q8_K.TypeSize():])))
			}
			w32 := math.Float32frombits(want[r])
			if math.Abs(float64(got)-float64(w32)) > 1e-5*mag {
				t.Errorf("%v row %d: dot %v, llama.cpp %v (tolerance %.3g)", dt, r, got, w32, 1e-5*mag)
			}
			if math.Float32bits(got) == want[r] {
				same++
			}
		}
		t.Logf("%v: %d of %d row dots bit-identical to llama.cpp's", dt, same, len(want))
	}
}

// Weights come from users' files: NaN, ±Inf and huge values must not make a
// quantizer or a dot panic (the results are as meaningless as ggml's).
func TestKQuantNonFiniteInputs(t *testing.T) {
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 3e38, -3e38, 1e-45}
	r := rand.New(rand.NewPCG(11, 11))
	for _, dt := range kTypes {
		for _, sp := range specials {
			x := kqRandom(r, 2*QKK)
			for i := 0; i < len(x); i += 1 + r.IntN(40) {
				x[i] = sp
			}
			q := make([]byte, 2*dt.TypeSize())
			if err := Quantize(dt, x, q); err != nil {
				t.Fatal(err)
			}
			if err := Dequantize(dt, q, make([]float32, len(x))); err != nil {
				t.Fatal(err)
			}
			if f := FormatOf(dt); f.VecDot != nil {
				q8 := make([]byte, 2*Q8_K.TypeSize())
				if err := Quantize(Q8_K, x, q8); err != nil {
					t.Fatal(err)
				}
				_ = f.VecDot(len(x), q, q8)
			}
		}
	}
}
