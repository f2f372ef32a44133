// Reference: STYLE.md habit 1 (naive version beside the fast one, tested over lengths, offsets and guards).

package kernel_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/kernel"
	"github.com/gptgo/gptgo/tensor"
)

// Each selected dot (assembly on an AVX2+FMA machine, plain Go otherwise or
// under -tags purego) is compared with its plain-Go reference over every
// length from 0 to 67 blocks (elements for the float types) and one large odd
// length, at several byte offsets, with guard bytes around both inputs.
//
// Tolerance: |fast − generic| <= c·(k + 16)·u·S, where u = 2⁻²⁴ is float32's
// unit roundoff, S = Σ|wᵢ·xᵢ| over the dequantized values (computed in
// float64) and k is the number of float additions in the longer of the two
// summation chains: the element count for the float types (the generic keeps
// 4 partial sums, the assembly 32; worst case both errors are below k·u·S),
// the block count for the quantized ones, whose per-block integer sums are
// exact in both versions, so only the float scaling and the block-order
// summation differ. c = 1 for the float types; c = 8 for the quantized ones
// because a K-quant block is a difference of a scale part and a min part,
// each of which can exceed the block's share of S by a small factor.
// A kernel that drops or repeats one block misses by ~S/blocks, far outside.

type asmCase struct {
	name    string
	wt      tensor.DType // weight type
	xt      tensor.DType // activation type: F32, Q8_0 or Q8_K
	fast    func(n int, w, x []byte) float32
	generic func(n int, w, x []byte) float32
}

var asmCases = []asmCase{
	{"f32", tensor.F32, tensor.F32, kernel.DotF32, kernel.RefDotF32},
	{"f16", tensor.F16, tensor.F32, kernel.DotF16, kernel.RefDotF16},
	{"bf16", tensor.BF16, tensor.F32, kernel.DotBF16, kernel.RefDotBF16},
	{"q4_0", tensor.Q4_0, tensor.Q8_0, kernel.DotQ4_0, kernel.RefDotQ4_0},
	{"q8_0", tensor.Q8_0, tensor.Q8_0, kernel.DotQ8_0, kernel.RefDotQ8_0},
	{"q4_K", tensor.Q4_K, tensor.Q8_K, kernel.DotQ4_K, kernel.RefDotQ4_K},
	{"q5_K", tensor.Q5_K, tensor.Q8_K, kernel.DotQ5_K, kernel.RefDotQ5_K},
	{"q6_K", tensor.Q6_K, tensor.Q8_K, kernel.DotQ6_K, kernel.RefDotQ6_K},
}

const asmGuardBytes = 64

// asmWeights returns nblocks random blocks of type t with finite,
// moderate scales; extreme fills every quant with its largest code.
func asmWeights(r *rand.Rand, t tensor.DType, nblocks int, extreme bool) []byte {
	ts := t.TypeSize()
	b := make([]byte, nblocks*ts)
	switch t {
	case tensor.F32:
		for i := 0; i < nblocks; i++ {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(r.NormFloat64())))
		}
		return b
	case tensor.F16:
		for i := 0; i < nblocks; i++ {
			binary.LittleEndian.PutUint16(b[2*i:], kernel.FP32ToFP16(float32(r.NormFloat64())))
		}
		return b
	case tensor.BF16:
		for i := 0; i < nblocks; i++ {
			binary.LittleEndian.PutUint16(b[2*i:], kernel.FP32ToBF16(float32(r.NormFloat64())))
		}
		return b
	}
	for i := range b {
		b[i] = byte(r.Uint32())
		if extreme {
			b[i] = 0xFF
		}
	}
	for i := 0; i < nblocks; i++ {
		blk := b[i*ts : (i+1)*ts]
		for _, off := range asmScaleOffsets(t) {
			s := float32(0.001 + 0.05*r.Float64())
			if r.IntN(4) == 0 {
				s = -s
			}
			binary.LittleEndian.PutUint16(blk[off:], kernel.FP32ToFP16(s))
		}
	}
	return b
}

// asmScaleOffsets gives the byte offsets of the fp16 scale fields of a block.
func asmScaleOffsets(t tensor.DType) []int {
	switch t {
	case tensor.Q4_0, tensor.Q8_0, tensor.Q5_0, tensor.IQ4_NL:
		return []int{0}
	case tensor.Q4_1, tensor.Q5_1, tensor.Q4_K, tensor.Q5_K:
		return []int{0, 2}
	case tensor.Q2_K:
		return []int{80, 82}
	case tensor.Q3_K:
		return []int{108}
	case tensor.Q6_K:
		return []int{208}
	}
	panic("no scale offsets for " + t.String())
}

// asmActivations returns n activations in type t and their float values.
func asmActivations(r *rand.Rand, t tensor.DType, n int, extreme bool) ([]byte, []float64) {
	src := make([]float32, n)
	for i := range src {
		src[i] = float32(r.NormFloat64())
		if extreme {
			src[i] = 1 // every quant becomes ±127
		}
	}
	vals := make([]float64, n)
	switch t {
	case tensor.F32:
		for i, v := range src {
			vals[i] = float64(v)
		}
		return append([]byte(nil), kernel.F32Bytes(src)...), vals
	case tensor.Q8_0:
		b := make([]byte, n/32*34)
		kernel.RefQuantizeQ8_0(src, b)
		for i := range vals {
			blk := b[i/32*34:]
			vals[i] = float64(kernel.FP16ToFP32(binary.LittleEndian.Uint16(blk))) * float64(int8(blk[2+i%32]))
		}
		return b, vals
	case tensor.Q8_K:
		b := make([]byte, n/256*kernel.BlockQ8KBytes)
		kernel.RefQuantizeQ8_K(src, b)
		for i := range vals {
			blk := b[i/256*kernel.BlockQ8KBytes:]
			vals[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(blk))) * float64(int8(blk[4+i%256]))
		}
		return b, vals
	}
	panic("bad activation type " + t.String())
}

// asmGuarded copies b into the middle of a buffer of 0xFF guard bytes (a NaN
// for every float type, so a read past the end shows in the result), starting
// off bytes after a guard region, and returns the view and the whole buffer.
func asmGuarded(b []byte, off int) (view, full []byte) {
	full = bytes.Repeat([]byte{0xFF}, asmGuardBytes+off+len(b)+asmGuardBytes)
	copy(full[asmGuardBytes+off:], b)
	return full[asmGuardBytes+off : asmGuardBytes+off+len(b) : asmGuardBytes+off+len(b)], full
}

func TestAsmDotMatchesGeneric(t *testing.T) {
	t.Log(kernel.Features())
	for _, c := range asmCases {
		t.Run(c.name, func(t *testing.T) {
			f := tensor.FormatOf(c.wt)
			if f.Dequantize == nil {
				t.Skipf("no %v format registered yet", c.wt)
			}
			r := rand.New(rand.NewPCG(1, uint64(c.wt)))
			bs := c.wt.BlockSize()
			if c.xt != tensor.F32 {
				bs = c.xt.BlockSize()
			}
			lengths := make([]int, 0, 70)
			for k := 0; k <= 67; k++ {
				lengths = append(lengths, k)
			}
			large := 129
			if bs == 1 {
				large = 4099
			}
			lengths = append(lengths, large)
			for _, k := range lengths {
				n := k * bs
				for off := 0; off < 4; off++ {
					extreme := off == 3 && c.xt != tensor.F32
					w := asmWeights(r, c.wt, n/c.wt.BlockSize(), extreme)
					x, xv := asmActivations(r, c.xt, n, extreme)
					wv := make([]float32, n)
					f.Dequantize(w, wv)
					var want64, S float64
					for i := range wv {
						p := float64(wv[i]) * xv[i]
						want64 += p
						S += math.Abs(p)
					}
					wg, wfull := asmGuarded(w, off)
					xg, xfull := asmGuarded(x, (off*4)%7)
					w0, x0 := append([]byte(nil), wfull...), append([]byte(nil), xfull...)

					got := c.fast(n, wg, xg)
					want := c.generic(n, wg, xg)
					if !bytes.Equal(wfull, w0) || !bytes.Equal(xfull, x0) {
						t.Fatalf("n %d off %d: inputs or guards changed", n, off)
					}
					steps, cf := float64(n), 1.0
					if c.wt.BlockSize() > 1 {
						steps, cf = float64(k), 8
					}
					tol := cf * (steps + 16) * 0x1p-24 * S
					if math.IsNaN(float64(got)) || math.Abs(float64(got)-float64(want)) > tol {
						t.Fatalf("n %d off %d extreme %v: got %v, generic %v (float64 %v), tolerance %g",
							n, off, extreme, got, want, want64, tol)
					}
					// The generic itself must agree with float64 (a sanity
					// check that the test data are what we think they are).
					if math.Abs(float64(want)-want64) > 2*tol+1e-6*S {
						t.Fatalf("n %d off %d: generic %v far from float64 %v (S %g)", n, off, want, want64, S)
					}
				}
			}
		})
	}
}
