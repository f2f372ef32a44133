package tensor

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/kernel"
)

// The documented block structs have exactly the GGML sizes of the DType table.
func TestLegacyBlockSizes(t *testing.T) {
	for _, c := range []struct {
		dt   DType
		size uintptr
	}{
		{Q4_0, unsafe.Sizeof(blockQ4_0{})},
		{Q4_1, unsafe.Sizeof(blockQ4_1{})},
		{Q5_0, unsafe.Sizeof(blockQ5_0{})},
		{Q5_1, unsafe.Sizeof(blockQ5_1{})},
		{Q8_0, unsafe.Sizeof(blockQ8_0{})},
		{Q8_1, unsafe.Sizeof(blockQ8_1{})},
		{IQ4_NL, unsafe.Sizeof(blockIQ4_NL{})},
	} {
		if int(c.size) != c.dt.TypeSize() || c.dt.BlockSize() != QK {
			t.Errorf("%v: struct %d bytes, table %d bytes of %d", c.dt, c.size, c.dt.TypeSize(), c.dt.BlockSize())
		}
	}
}

// Every type of this file set is registered with the activation type
// llama.cpp uses for it (F32 for the float types, where gptgo differs).
func TestLegacyFormatsRegistered(t *testing.T) {
	want := map[DType]DType{F32: F32, F16: F32, BF16: F32, Q4_0: Q8_0, Q4_1: Q8_1, Q5_0: Q8_0,
		Q5_1: Q8_1, Q8_0: Q8_0, Q8_1: Q8_1, IQ4_NL: Q8_0}
	for dt, vdt := range want {
		f := FormatOf(dt)
		if f.Dequantize == nil || f.Quantize == nil {
			t.Errorf("%v: quantize or dequantize missing", dt)
		}
		if f.VecDotType != vdt {
			t.Errorf("%v: VecDotType %v, want %v", dt, f.VecDotType, vdt)
		}
		if (f.VecDot == nil) != (dt == Q8_1) {
			t.Errorf("%v: VecDot presence wrong", dt)
		}
	}
}

// gaussianBlocks returns n normal values whose scale changes every block.
func gaussianBlocks(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	scale := 1.0
	for i := range v {
		if i%QK == 0 {
			scale = math.Exp(2 * r.NormFloat64())
		}
		v[i] = float32(scale * r.NormFloat64())
	}
	return v
}

// Quantize → Dequantize stays within each format's error, and neither writes
// outside its output. The NMSE bounds are about 1.5× what these formats give
// on these Gaussian blocks (measured, seed fixed: Q4_0 5.8e-3, Q4_1 4.6e-3,
// Q5_0 1.7e-3, Q5_1 1.3e-3, Q8_0 2.3e-5, IQ4_NL 5.5e-3, F16 5.0e-8, BF16
// 3.2e-6). They match the uniform-error estimate step²/12 / σ² with step =
// 2·amax/2^b and amax ≈ 2.2σ for 32 values; float types lose half an ulp.
func TestLegacyRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	bounds := map[DType]float64{F32: 0, F16: 1e-7, BF16: 5e-6, Q4_0: 9e-3, Q4_1: 7e-3, Q5_0: 2.6e-3,
		Q5_1: 2e-3, Q8_0: 3.5e-5, Q8_1: 3.5e-5, IQ4_NL: 8.5e-3}
	const n = 64 * QK
	src := gaussianBlocks(r, n)
	orig := append([]float32(nil), src...)
	for dt := range DType(numDTypes) {
		bound, ok := bounds[dt]
		if !ok {
			continue
		}
		size, _ := dt.RowSize(n)
		full := make([]byte, size+32)
		for i := range full {
			full[i] = 0x5A
		}
		q := full[16 : 16+size : 16+size]
		if err := Quantize(dt, src, q); err != nil {
			t.Fatal(err)
		}
		for i, b := range full {
			if (i < 16 || i >= 16+int(size)) && b != 0x5A {
				t.Fatalf("%v: Quantize wrote outside its blocks at %d", dt, i-16)
			}
		}
		out, guarded := testkit.Guarded(n, 8)
		if err := Dequantize(dt, q, out); err != nil {
			t.Fatal(err)
		}
		testkit.CheckGuards(t, guarded, n, 8)
		e := testkit.NMSE(out, src)
		t.Logf("%v: NMSE %.3g (bound %.3g)", dt, e, bound)
		if e > bound {
			t.Errorf("%v: NMSE %.3g above %.3g", dt, e, bound)
		}
		for i := range src {
			if math.Float32bits(src[i]) != math.Float32bits(orig[i]) {
				t.Fatalf("%v: Quantize changed its input at %d", dt, i)
			}
		}
	}
}

// Zero blocks and hand-checked rounding cases, with the bytes llama.cpp's
// reference code gives (worked out from quantize_row_*_ref by hand).
func TestLegacyQuantizeCases(t *testing.T) {
	zeros := make([]float32, QK)
	check := func(name string, dt DType, x []float32, wantHead []byte, wantQ func(k int) byte) {
		t.Helper()
		b := make([]byte, dt.TypeSize())
		if err := Quantize(dt, x, b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b[:len(wantHead)], wantHead) {
			t.Errorf("%s: header % x, want % x", name, b[:len(wantHead)], wantHead)
		}
		for k := len(wantHead); k < len(b); k++ {
			if w := wantQ(k - len(wantHead)); b[k] != w {
				t.Errorf("%s: byte %d = %#02x, want %#02x", name, k, b[k], w)
			}
		}
	}
	// An all-zero block: Q4_0's d = 0/-8 is -0 (fp16 0x8000) and every value
	// lands on the middle level 8; Q8_0's d is +0.
	check("Q4_0 zeros", Q4_0, zeros, []byte{0x00, 0x80}, func(int) byte { return 0x88 })
	check("Q5_0 zeros", Q5_0, zeros, []byte{0x00, 0x80, 0xff, 0xff, 0xff, 0xff}, func(int) byte { return 0x00 })
	check("Q8_0 zeros", Q8_0, zeros, []byte{0, 0}, func(int) byte { return 0 })
	check("Q4_1 zeros", Q4_1, zeros, []byte{0, 0, 0, 0}, func(int) byte { return 0 })
	check("IQ4_NL zeros", IQ4_NL, zeros, []byte{0, 0}, func(int) byte { return 0x88 })

	// Q8_0 rounds half away from zero (C's roundf), not to even: with
	// amax = 127, d = 1 and q = round(x).
	x := make([]float32, QK)
	copy(x, []float32{127, 0.5, -0.5, 2.5, -2.5, 1.4999999, -126.5})
	wantQ8 := []int8{127, 1, -1, 3, -3, 1, -127}
	check("Q8_0 ties", Q8_0, x, []byte{0x00, 0x3c}, func(k int) byte {
		if k < len(wantQ8) {
			return byte(wantQ8[k])
		}
		return 0
	})

	// Q4_0: the first value of largest magnitude (-4) fixes d = -4/-8 = 0.5;
	// a later +4 would need level 16 and is clamped to 15.
	x = make([]float32, QK)
	copy(x, []float32{-4, 4, 1, -1})
	x[16] = 0.25 // 0.25·2 + 8.5 = 9.0 → 9 (truncation, not rounding)
	check("Q4_0 clamp", Q4_0, x, []byte{0x00, 0x38}, func(k int) byte {
		lo := []byte{0, 15, 10, 6}
		l := byte(8)
		if k < len(lo) {
			l = lo[k]
		}
		h := byte(8)
		if k == 0 {
			h = 9
		}
		return l | h<<4
	})
}

// A constant block quantizes to d = 0 and m = the constant in Q4_1/Q5_1.
func TestLegacyConstantBlock(t *testing.T) {
	x := make([]float32, QK)
	for i := range x {
		x[i] = 0.3
	}
	for _, dt := range []DType{Q4_1, Q5_1} {
		b := make([]byte, dt.TypeSize())
		y := make([]float32, QK)
		if err := Quantize(dt, x, b); err != nil {
			t.Fatal(err)
		}
		if err := Dequantize(dt, b, y); err != nil {
			t.Fatal(err)
		}
		want := kernel.FP16ToFP32(kernel.FP32ToFP16(0.3))
		for i := range y {
			if y[i] != want {
				t.Fatalf("%v: y[%d] = %v, want %v", dt, i, y[i], want)
			}
		}
	}
}

// Q8_1's s is fp16(d·Σq) of the stored quants, with d the float32 scale
// amax/127 before its own rounding to fp16, as in quantize_row_q8_1_ref.
func TestQ8_1Sum(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	src := gaussianBlocks(r, 8*QK)
	b := make([]byte, 8*sizeQ8_1)
	if err := Quantize(Q8_1, src, b); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 8; i++ {
		blk := b[i*sizeQ8_1:]
		amax, _ := legacyAbsMax(src[i*QK : i*QK+QK])
		d := amax / 127
		sum := 0
		for _, q := range blk[4 : 4+QK] {
			sum += int(int8(q))
		}
		if got, want := binary.LittleEndian.Uint16(blk[2:]), kernel.FP32ToFP16(float32(sum)*d); got != want {
			t.Errorf("block %d: s = %#04x, want %#04x", i, got, want)
		}
	}
}

// The length checks of Quantize and Dequantize reject partial blocks and
// mismatched buffers with an error.
func TestLegacyLengthErrors(t *testing.T) {
	if err := Quantize(Q4_0, make([]float32, 31), make([]byte, 18)); err == nil {
		t.Error("31 values accepted for a Q4_0 block")
	}
	if err := Dequantize(Q5_1, make([]byte, 23), make([]float32, 32)); err == nil {
		t.Error("23 bytes accepted for a Q5_1 block")
	}
}

// Values a damaged file or a diverging run can produce (NaN, ±Inf, huge,
// subnormal) quantize without a panic and keep the block size, and any bytes
// dequantize without a panic: garbage in, garbage numbers out, never a crash.
func TestLegacyNonFiniteInputs(t *testing.T) {
	inf := float32(math.Inf(1))
	x := make([]float32, 4*QK)
	for i := range x {
		x[i] = float32(i%5) - 2
	}
	x[3], x[40], x[70], x[100] = float32(math.NaN()), inf, -inf, math.MaxFloat32
	x[101] = 1e-45
	for _, dt := range []DType{F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, IQ4_NL} {
		size, _ := dt.RowSize(int64(len(x)))
		b := make([]byte, size)
		if err := Quantize(dt, x, b); err != nil {
			t.Fatal(err)
		}
		y := make([]float32, len(x))
		if err := Dequantize(dt, b, y); err != nil {
			t.Fatal(err)
		}
		for i := range b {
			b[i] = byte(i*151 + 7)
		}
		if err := Dequantize(dt, b, y); err != nil {
			t.Fatal(err)
		}
	}
}
