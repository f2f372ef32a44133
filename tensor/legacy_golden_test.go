package tensor

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"os"
	"testing"
)

// goldenInput makes 4096 blocks of awkward data with integer arithmetic and
// exact float operations only, so that it is the same on every platform and
// Go version: Gaussian-like blocks (a sum of four uniforms) at scales from
// 2^-30 to 2^20, all-zero and constant blocks, values on the quantization
// lattices (ties for every rounding rule), lone outliers and fp16-subnormal
// scales.
func goldenInput() []float32 {
	s := uint64(0x9E3779B97F4A7C15)
	next := func() uint64 { // xorshift64*
		s ^= s >> 12
		s ^= s << 25
		s ^= s >> 27
		return s * 0x2545F4914F6CDD1D
	}
	uniform := func() float32 { return float32(int32(next()>>40)-1<<23) / (1 << 23) } // [-1, 1)
	x := make([]float32, 4096*QK)
	for b := 0; b < 4096; b++ {
		kind := next() % 10
		scale := float32(math.Ldexp(1+float64(next()%1024)/1024, int(next()%51)-30))
		blk := x[b*QK : b*QK+QK]
		for j := range blk {
			var v float32
			switch kind {
			case 0: // zeros
			case 1:
				v = scale
			case 2:
				v = float32(int(next()%17)-8) * scale
			case 3:
				v = float32(int(next()%33)-16) / 2
			case 4:
				v = float32(int(next()%255) - 127)
			case 5:
				v = uniform() * 1e-6
			default:
				v = (uniform() + uniform() + uniform() + uniform()) * scale
				if next()%16 == 0 {
					v *= 24
				}
			}
			blk[j] = v
		}
	}
	return x
}

// SHA-256 of the blocks llama.cpp's own quantizers (quantize_q4_0 …
// quantize_iq4_nl with no importance matrix, quantize_row_q8_1_ref) wrote for
// goldenInput, from ggml-quants.c of Feb 2025 compiled with gcc -O2 for
// x86-64 (no FMA contraction). They cover the types that have no reference
// model file. A gcc -march=native build contracts some IQ4_NL products into
// FMAs and then differs on 37 of these 4096 IQ4_NL blocks: 35 constant
// blocks, where a positive and a negative scale fit equally well and the
// fused rounding picks the other, and 2 whose d moves by one fp16 ulp. The
// legacy types come out the same from both builds.
var goldenSHA256 = map[DType]string{
	Q4_0:   "62a59b8cb30deaf38f9d0a51c5a108e337b62cb25aaf19de5bbca97b0c0656ba",
	Q4_1:   "5014ccfa40d5e417f1214cb707e2ec7aabf200232390da4cd6e19bd89b24614d",
	Q5_0:   "692e8da8d1c835622b58999bf89def2f197311b9cb03fb5779334e4884c82c4b",
	Q5_1:   "9a61b18476414d178e3eb7e781e22bcd2b00dad8b2fd38338d83250ff772f678",
	Q8_0:   "c83a8261adad7e8d9ae7d14b1a120723fbf9986e7cb850a10bb63d9642ec3c19",
	Q8_1:   "d13799a335cf8854c84470ad125de0bbfb5c8a74036661f02dc9366a8e10bd1e",
	IQ4_NL: "7b7343c1556ab72ed70631d28091849f00d5d9da7a9352b58869a43d637abb94",
}

func TestQuantizeGoldenLlamaCpp(t *testing.T) {
	x := goldenInput()
	for dt := range DType(numDTypes) {
		want, ok := goldenSHA256[dt]
		if !ok {
			continue
		}
		size, _ := dt.RowSize(int64(len(x)))
		b := make([]byte, size)
		if err := Quantize(dt, x, b); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("%v: SHA-256 of the blocks %s, llama.cpp's %s", dt, got, want)
		}
	}
}

// TestGoldenInputDump writes goldenInput (little-endian float32) for a C
// harness that feeds it to llama.cpp's quantizers, when asked to.
func TestGoldenInputDump(t *testing.T) {
	p := os.Getenv("GPTGO_DUMP_GOLDEN")
	if p == "" {
		t.Skip("set GPTGO_DUMP_GOLDEN=file to write the input for regenerating goldenSHA256")
	}
	if err := os.WriteFile(p, F32Bytes(goldenInput()), 0o644); err != nil {
		t.Fatal(err)
	}
}
