// Reference: ggml/src/ggml-common.h (i-quant blocks and grids) and ggml/src/ggml-quants.c (dequantize_row_iq*).

package tensor

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"testing"
	"unsafe"
)

func TestIQuantBlockSizes(t *testing.T) {
	sizes := map[DType]uintptr{
		IQ2_XXS: unsafe.Sizeof(blockIQ2XXS{}), IQ2_XS: unsafe.Sizeof(blockIQ2XS{}), IQ2_S: unsafe.Sizeof(blockIQ2S{}),
		IQ3_XXS: unsafe.Sizeof(blockIQ3XXS{}), IQ3_S: unsafe.Sizeof(blockIQ3S{}), IQ1_S: unsafe.Sizeof(blockIQ1S{}),
		IQ1_M: unsafe.Sizeof(blockIQ1M{}), IQ4_XS: unsafe.Sizeof(blockIQ4XS{}),
	}
	want := map[DType]int{IQ2_XXS: 66, IQ2_XS: 74, IQ2_S: 82, IQ3_XXS: 98, IQ3_S: 110, IQ1_S: 50, IQ1_M: 56, IQ4_XS: 136}
	for dt, size := range sizes {
		if int(size) != want[dt] || dt.TypeSize() != want[dt] {
			t.Errorf("%v: struct %d bytes, DType table %d, ggml %d", dt, size, dt.TypeSize(), want[dt])
		}
		if !dt.CanDequantize() {
			t.Errorf("%v: no dequantizer registered", dt)
		}
	}
}

// iqRandomBlocks makes nb blocks of SplitMix64 bytes (seed 100 + the type
// number), with each block's fp16 scale forced finite the way the C harness
// that produced iqDequantGolden did.
func iqRandomBlocks(dt DType, nb int) []byte {
	size := dt.TypeSize()
	state := 100 + uint64(dt)
	buf := make([]byte, nb*size)
	for i := 0; i < len(buf); i += 8 {
		state += 0x9e3779b97f4a7c15
		z := state
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		z ^= z >> 31
		for k := 0; k < 8 && i+k < len(buf); k++ {
			buf[i+k] = byte(z >> (8 * k))
		}
	}
	for b := 0; b < nb; b++ {
		p := buf[b*size : (b+1)*size]
		if dt == IQ1_M {
			p[size-1] &^= 0x40 // keep the fp16 exponent below all-ones
			continue
		}
		d := binary.LittleEndian.Uint16(p)&0x83ff | 0x2c00
		binary.LittleEndian.PutUint16(p, d)
	}
	return buf
}

// sha256 of llama.cpp's dequantize_row_* output (float32, little-endian) for
// iqRandomBlocks(dt, 40): random bytes exercise every field of every block.
var iqDequantGolden = map[DType]string{
	IQ2_XXS: "0dc819920ef4978aecbd486cfefae0c861dc03f206d2370894b5165896edcb33",
	IQ2_XS:  "f1cebb53a502434296f42de757f85074d1140bfc23e65e4a17d205997b407418",
	IQ2_S:   "939425a85c6a93fc8c7c42f33db793b66600aaaba6f73950f854583bfabce905",
	IQ3_XXS: "5e2d7435dc6a46fe9645d9363d81780c2c95b70fd967c59098271d8c26532868",
	IQ3_S:   "14f313e4dc5918577d9c28baa30709c4cf4428fa9c9692442ab09272d4c4efb3",
	IQ1_S:   "59b05589f646cb7d6298893cf0a4440808ddf636280c6cf5f1ec732623fbb917",
	IQ1_M:   "007f958016eca505ef95e4622ee618d276cc7b78f142214e8ed126a108e25234",
	IQ4_XS:  "5311357d4b3ceefcc7dbcb15e7c1f4692295a391b0874017a8b1e3cba7dc09b6",
}

func TestIQuantDequantizeVsLlamaCpp(t *testing.T) {
	const nb = 40
	for dt, want := range iqDequantGolden {
		y := make([]float32, nb*QKK)
		if err := Dequantize(dt, iqRandomBlocks(dt, nb), y); err != nil {
			t.Fatal(err)
		}
		raw := make([]byte, 4*len(y))
		for i, v := range y {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
		if d := sha256.Sum256(raw); hex.EncodeToString(d[:]) != want {
			t.Errorf("%v: dequantized values differ from llama.cpp's (first values %v)", dt, y[:4])
		}
	}
}

// llama.cpp's scalar dots (gcc 12 -O2 -march=x86-64) of iqRandomBlocks(dt,
// 40) with kqGoldenActivations as Q8_K, in 4 rows of 10 blocks: float32 bits.
var iqGoldenDots = map[DType][4]uint32{
	IQ2_XXS: {0xc214fadf, 0xc3136ffd, 0x43a9fa21, 0x4216f26e},
	IQ2_XS:  {0x4247564d, 0xc3278c4e, 0xc2b509f5, 0x4367178f},
	IQ2_S:   {0x42f760b6, 0xc0f82e78, 0x425abb86, 0x42c8036f},
	IQ3_XXS: {0x438385f3, 0x44342ab7, 0xc28768a8, 0x410df710},
	IQ3_S:   {0xc43e205a, 0xc2e8e328, 0x4024a060, 0x440d1dcb},
	IQ1_S:   {0x404be0fe, 0x41f2b750, 0xc074296c, 0x3ffe9dc4},
	IQ1_M:   {0x41f17818, 0xc1d01748, 0x42941bf2, 0xc0d7c8c2},
	IQ4_XS:  {0x4591e128, 0x44f3ffef, 0x44917e2a, 0x459d2f7f},
}

// The registered i-quant dots agree with llama.cpp's within float32
// rounding of the per-block (IQ4_XS: per-group) scaling and summation
// order, bounded by 1e-5·Σ|per-block dot| as in TestKDotsVsLlamaCpp.
func TestIQuantDotsVsLlamaCpp(t *testing.T) {
	const nb, rowBlocks = 40, 10
	q8 := make([]byte, nb*Q8_K.TypeSize())
	if err := Quantize(Q8_K, kqGoldenActivations(nb*QKK), q8); err != nil {
		t.Fatal(err)
	}
	for dt, want := range iqGoldenDots {
		f := FormatOf(dt)
		if f.VecDot == nil || f.VecDotType != Q8_K {
			t.Fatalf("%v: no dot against Q8_K registered", dt)
		}
		w := iqRandomBlocks(dt, nb)
		ts := dt.TypeSize()
		for r := range want {
			wr := w[r*rowBlocks*ts : (r+1)*rowBlocks*ts]
			xr := q8[r*rowBlocks*Q8_K.TypeSize() : (r+1)*rowBlocks*Q8_K.TypeSize()]
			got := f.VecDot(rowBlocks*QKK, wr, xr)
			var mag float64
			for b := 0; b < rowBlocks; b++ {
				mag += math.Abs(float64(f.VecDot(QKK, wr[b*ts:], xr[b*Q8_K.TypeSize():])))
			}
			w32 := math.Float32frombits(want[r])
			if math.Abs(float64(got)-float64(w32)) > 1e-5*mag {
				t.Errorf("%v row %d: dot %v, llama.cpp %v (tolerance %.3g)", dt, r, got, w32, 1e-5*mag)
			}
		}
	}
}

// Blocks come from users' files: any bytes at all (NaN and Inf scales
// included) must dequantize and take dots without a panic; every index a
// block can hold is inside its codebook.
func TestKAndIQuantArbitraryBytes(t *testing.T) {
	types := []DType{Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K, IQ4_XS, TQ1_0, TQ2_0,
		IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M}
	const nb = 8
	q8 := iqRandomBlocks(Q8_K, nb)
	for _, dt := range types {
		for _, fill := range []byte{0x00, 0xFF, 0x7C, 0xA5} {
			w := iqRandomBlocks(dt, nb)
			for i := 0; i < len(w); i += 3 {
				w[i] = fill
			}
			if err := Dequantize(dt, w, make([]float32, nb*QKK)); err != nil {
				t.Fatal(err)
			}
			if f := FormatOf(dt); f.VecDot != nil {
				_ = f.VecDot(nb*QKK, w, q8)
			}
		}
	}
}
