package kernel

import (
	"encoding/binary"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// fmaLanes rounds d·s+acc once, as a hardware float32 FMA: checked against
// big.Float on random operands of the dots' shape (a float32 scale times an
// integer) and on sums built so that a float64 rounding alone would land on
// a float32 tie.
func TestFmaLanesRoundsOnce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	exact := func(a float32, b int32, c float32) float32 {
		x := new(big.Float).SetPrec(200).SetFloat64(float64(a))
		x.Mul(x, new(big.Float).SetPrec(200).SetInt64(int64(b)))
		x.Add(x, new(big.Float).SetPrec(200).SetFloat64(float64(c)))
		f, _ := x.Float32()
		return f
	}
	check := func(a float32, b int32, c float32) {
		acc, s := [8]float32{c}, [8]int32{b}
		fmaLanes(&acc, a, &s)
		if want := exact(a, b, c); math.Float32bits(acc[0]) != math.Float32bits(want) {
			t.Fatalf("fma(%g, %d, %g) = %g, want %g", a, b, c, acc[0], want)
		}
		if one := fma32i(a, b, c); math.Float32bits(one) != math.Float32bits(acc[0]) {
			t.Fatalf("fma32i(%g, %d, %g) = %g, fmaLanes %g", a, b, c, one, acc[0])
		}
	}
	for range 200000 {
		a := float32(r.NormFloat64() * math.Exp(4*r.NormFloat64()))
		b := int32(r.IntN(1<<19) - 1<<18)
		c := float32(r.NormFloat64() * math.Exp(4*r.NormFloat64()))
		check(a, b, c)
	}
	// a·b = 1 + 2⁻³⁰ (812825·1321 = 2³⁰+1): beside 2²⁴ the float64 sum drops
	// the 2⁻³⁰ and lands on the float32 tie 2²⁴+1, where one rounding gives
	// 2²⁴+2.
	a := float32(812825 * 0x1p-30)
	for _, sg := range []float32{1, -1} {
		check(sg*a, 1321, sg*0x1p24)
		check(sg*a, -1321, sg*0x1p24)
		check(-sg*a, 1321, sg*(0x1p24+4))
		check(sg*a, 1321, sg*(0x1p24+2))
	}
	if acc, s := ([8]float32{0x1p24}), ([8]int32{1321}); true {
		fmaLanes(&acc, a, &s)
		if acc[0] != 0x1p24+2 {
			t.Errorf("tie case: %v, want 2²⁴+2", acc[0])
		}
	}
}

// llamaQ8_0 states llama.cpp's AVX2 quantize_row_q8_0 for finite input in
// the plainest terms (max is order-free without NaNs).
func llamaQ8_0(x []float32, out []byte) {
	var amax float32
	for _, v := range x {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	binary.LittleEndian.PutUint16(out, FP32ToFP16(amax/127))
	var id float32
	if amax != 0 {
		id = 127 / amax
	}
	for j, v := range x {
		out[2+j] = byte(int8(math.RoundToEven(float64(v * id))))
	}
}

func TestQuantizeActivations(t *testing.T) {
	// Ties round to even; 127/amax, not 1/(amax/127).
	x := make([]float32, QK)
	copy(x, []float32{-127, 0.5, -0.5, 1.5, 2.5, -2.5, 0.49999997, 126.5})
	want := []int8{-127, 0, 0, 2, 2, -2, 0, 126}
	b := make([]byte, q8_0Bytes)
	QuantizeQ8_0Activations(x, b)
	for j, w := range want {
		if got := int8(b[q8_0QS+j]); got != w {
			t.Errorf("q[%d] for %v = %d, want %d", j, x[j], got, w)
		}
	}
	if roundEvenSat8(float32(math.NaN())) != -128 || roundEvenSat8(1e10) != -128 || roundEvenSat8(200) != 127 || roundEvenSat8(-200) != -128 {
		t.Error("saturation differs from VCVTPS2DQ + packs")
	}
	r := rand.New(rand.NewPCG(3, 4))
	const nb = 257
	src := make([]float32, nb*QK)
	for i := range src {
		src[i] = float32(r.NormFloat64() * math.Exp(3*r.NormFloat64()))
		if i%97 == 5 {
			src[i] = 0
		}
	}
	for i := 0; i < QK; i++ {
		src[3*QK+i] = 0 // an all-zero block
	}
	got0, got1, want0 := make([]byte, nb*q8_0Bytes), make([]byte, nb*q8_1Bytes), make([]byte, q8_0Bytes)
	QuantizeQ8_0Activations(src, got0)
	QuantizeQ8_1Activations(src, got1)
	differ := 0
	ref := make([]byte, nb*q8_0Bytes)
	quantizeQ8_0Generic(src, ref)
	for i := range nb {
		llamaQ8_0(src[i*QK:i*QK+QK], want0)
		g0, g1 := got0[i*q8_0Bytes:(i+1)*q8_0Bytes], got1[i*q8_1Bytes:(i+1)*q8_1Bytes]
		if string(g0) != string(want0) {
			t.Fatalf("block %d: % x, want % x", i, g0, want0)
		}
		if string(g1[:2]) != string(g0[:2]) || string(g1[q8_1QS:]) != string(g0[q8_0QS:]) {
			t.Fatalf("block %d: Q8_1 quants differ from Q8_0's", i)
		}
		var sum int32
		for _, q := range g0[q8_0QS:] {
			sum += int32(int8(q))
		}
		if s := binary.LittleEndian.Uint16(g1[q8_1S:]); s != FP32ToFP16(FP16ToFP32(0)+float32(sum)*q8d(src[i*QK:i*QK+QK])) {
			t.Fatalf("block %d: s = %#04x", i, s)
		}
		if string(g0) != string(ref[i*q8_0Bytes:(i+1)*q8_0Bytes]) {
			differ++
		}
	}
	t.Logf("%d of %d blocks differ from the reference quantizer", differ, nb)
}

// q8d is amax/127 in float32.
func q8d(x []float32) float32 {
	var amax float32
	for _, v := range x {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	return amax / 127
}

// llamaDot8 is the llama.cpp AVX2 / tinyBLAS_Q0_AVX sum over blocks whose
// eight lane sums lanes(b) returns, with d(b) = w.d·x.d: stated with
// float64 FMAs (exact here: the product is exact, and the float64 sum then
// rounds to float32 correctly unless on a tie, which the random data below
// does not construct).
func llamaDot8(nb int, d func(int) float32, lanes func(int) [8]int32) float32 {
	var acc [8]float32
	for b := range nb {
		s := lanes(b)
		for m := range 8 {
			acc[m] = float32(math.FMA(float64(d(b)), float64(s[m]), float64(acc[m])))
		}
	}
	t0, t1, t2, t3 := acc[0]+acc[4], acc[1]+acc[5], acc[2]+acc[6], acc[3]+acc[7]
	return (t0 + t2) + (t1 + t3)
}

// The Q8_0 and Q4_0 dots, plain Go and dispatched (assembly where the CPU
// has it), give llama.cpp's AVX2 sums bit for bit, at every length: Q8_0
// ggml_vec_dot_q8_0_q8_0's (= tinyBLAS's) and Q4_0 the repacked
// ggml_gemv_q4_0_8x8_q8_0's. (Like
// llama.cpp's sign trick, the assembly assumes no quant is −128.)
func TestLegacyDotsInLlamaOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, nb := range []int{0, 1, 2, 3, 4, 5, 7, 8, 16, 33, 128} {
		x := make([]byte, nb*q8_0Bytes)
		w8 := make([]byte, nb*q8_0Bytes)
		w4 := make([]byte, nb*q4_0Bytes)
		for i := range x { // quants in −127…127, as every quantizer writes them
			x[i], w8[i] = byte(int8(r.IntN(255)-127)), byte(int8(r.IntN(255)-127))
		}
		for i := range w4 {
			w4[i] = byte(r.Uint32())
		}
		for b := range nb { // finite fp16 scales of varied size
			binary.LittleEndian.PutUint16(x[b*q8_0Bytes:], FP32ToFP16(float32(r.NormFloat64())))
			binary.LittleEndian.PutUint16(w8[b*q8_0Bytes:], FP32ToFP16(float32(r.NormFloat64()*1e-3)))
			binary.LittleEndian.PutUint16(w4[b*q4_0Bytes:], FP32ToFP16(float32(r.NormFloat64()*1e-2)))
		}
		xd := func(b int) float32 { return half(x[b*q8_0Bytes:]) }
		xq := func(b, j int) int32 { return int32(int8(x[b*q8_0Bytes+q8_0QS+j])) }
		want8 := llamaDot8(nb, func(b int) float32 { return half(w8[b*q8_0Bytes:]) * xd(b) }, func(b int) (s [8]int32) {
			for j := range QK {
				s[j/4] += int32(int8(w8[b*q8_0Bytes+q8_0QS+j])) * xq(b, j)
			}
			return s
		})
		// Q4_0: llama.cpp's repacked q4_0_8x8 order, one accumulator, the
		// block's whole integer sum per FMA.
		var want4 float32
		for b := range nb {
			var sumi int32
			for j := range 16 {
				q := w4[b*q4_0Bytes+2+j]
				sumi += (int32(q&15)-8)*xq(b, j) + (int32(q>>4)-8)*xq(b, j+16)
			}
			d := half(w4[b*q4_0Bytes:]) * xd(b)
			want4 = float32(math.FMA(float64(d), float64(sumi), float64(want4)))
		}
		n := nb * QK
		for _, c := range []struct {
			name string
			got  float32
			want float32
		}{
			{"q8_0 generic", dotQ8_0Generic(n, w8, x), want8},
			{"q8_0", DotQ8_0(n, w8, x), want8},
			{"q4_0 generic", dotQ4_0Generic(n, w4, x), want4},
			{"q4_0", DotQ4_0(n, w4, x), want4},
		} {
			if math.Float32bits(c.got) != math.Float32bits(c.want) {
				t.Errorf("%s, %d blocks: %v, llama.cpp order %v", c.name, nb, c.got, c.want)
			}
		}
	}
}

// The dispatched K-quant dots (assembly where the CPU has it) give the
// plain-Go lane order's bits.
func TestKDotsMatchLaneOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, c := range []struct {
		name       string
		size       int
		fast, slow func(int, []byte, []byte) float32
		fix        func(b []byte)
	}{
		{"q4_K", blockQ4KBytes, DotQ4_K, dotQ4_KGeneric, func(b []byte) {
			binary.LittleEndian.PutUint16(b[q4KOffD:], FP32ToFP16(float32(r.NormFloat64()*1e-2)))
			binary.LittleEndian.PutUint16(b[q4KOffDmin:], FP32ToFP16(float32(r.NormFloat64()*1e-2)))
			if r.IntN(2) == 0 { // the mins' sum alone, where its order shows
				binary.LittleEndian.PutUint16(b[q4KOffD:], 0)
			}
		}},
		{"q5_K", blockQ5KBytes, DotQ5_K, dotQ5_KGeneric, func(b []byte) {
			binary.LittleEndian.PutUint16(b[q5KOffD:], FP32ToFP16(float32(r.NormFloat64()*1e-2)))
			binary.LittleEndian.PutUint16(b[q5KOffDmin:], FP32ToFP16(float32(r.NormFloat64()*1e-2)))
			if r.IntN(2) == 0 { // the mins' sum alone, where its order shows
				binary.LittleEndian.PutUint16(b[q5KOffD:], 0)
			}
		}},
		{"q6_K", blockQ6KBytes, DotQ6_K, dotQ6_KGeneric, func(b []byte) {
			binary.LittleEndian.PutUint16(b[q6KOffD:], FP32ToFP16(float32(r.NormFloat64()*1e-2)))
		}},
	} {
		for _, nb := range []int{1, 2, 3, 5, 16, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 33} {
			w := make([]byte, nb*c.size)
			for i := range w {
				w[i] = byte(r.Uint32())
			}
			src := make([]float32, nb*QKK)
			for i := range src {
				src[i] = float32(r.NormFloat64())
			}
			x := make([]byte, nb*BlockQ8KBytes)
			quantizeQ8_KGeneric(src, x)
			for b := range nb {
				c.fix(w[b*c.size:])
			}
			n := nb * QKK
			if got, want := c.fast(n, w, x), c.slow(n, w, x); math.Float32bits(got) != math.Float32bits(want) {
				t.Errorf("%s, %d blocks: %v, lane order %v", c.name, nb, got, want)
			}
		}
	}
}

func BenchmarkQuantizeQ8_0Activations(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	out := make([]byte, len(x)/QK*q8_0Bytes)
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		QuantizeQ8_0Activations(x, out)
	}
}
