// Reference: ggml/src/ggml-cpu/vec.h (ggml_vec_dot_f32, ggml_vec_dot_f16) and ggml/src/ggml-cpu/ggml-cpu.c
// (ggml_vec_dot_bf16); float weights are dotted here against float32 activations.

package kernel

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// F32Bytes returns the bytes of x without copying: the little-endian float32
// encoding GGUF uses, on the little-endian machines Go runs on (amd64, arm64,
// riscv64, …). Writes through one view show through the other.
func F32Bytes(x []float32) []byte {
	if len(x) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&x[0])), 4*len(x))
}

// BytesF32 returns b as float32 values without copying. b must be 4-byte
// aligned and a whole number of floats, as F32Bytes results and F32 tensor
// data in a mmapped GGUF file are; anything else is a programmer error and
// panics (an unaligned *float32 is invalid for the Go runtime's pointer checks).
func BytesF32(b []byte) []float32 {
	if len(b) == 0 {
		return nil
	}
	if len(b)%4 != 0 || uintptr(unsafe.Pointer(&b[0]))%4 != 0 {
		panic("kernel: BytesF32 needs a 4-byte aligned, whole number of float32s")
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

// The float dots read both operands with encoding/binary rather than through
// unsafe views: the compiler turns each Uint32/Uint16 into one load, the
// generic code then accepts any byte offset (tests try odd ones), and the
// result is right on a big-endian machine too.
//
// They keep four float32 partial sums, combined as (s0+s1)+(s2+s3). The four
// independent chains let the CPU overlap additions (one chain would be bound
// by add latency), and the rounding error stays of order √n·ε·Σ|wᵢxᵢ|, well
// inside the tests' bound. Each product is rounded on its own (float32(w*x)) so
// that no architecture fuses it into an FMA and the generic result is the same
// everywhere.

// DotF32 returns Σ w[i]·x[i] over n float32 elements; w and x hold 4n bytes.
func DotF32(n int, w, x []byte) float32 { return dotF32(n, w, x) }

var dotF32 = dotF32Generic

func dotF32Generic(n int, w, x []byte) float32 {
	w, x = w[:4*n], x[:4*n]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+16 <= 4*n; i += 16 {
		wb, xb := w[i:i+16], x[i:i+16]
		s0 += float32(f32at(wb, 0) * f32at(xb, 0))
		s1 += float32(f32at(wb, 4) * f32at(xb, 4))
		s2 += float32(f32at(wb, 8) * f32at(xb, 8))
		s3 += float32(f32at(wb, 12) * f32at(xb, 12))
	}
	for ; i < 4*n; i += 4 {
		s0 += float32(f32at(w, i) * f32at(x, i))
	}
	return (s0 + s1) + (s2 + s3)
}

func f32at(b []byte, i int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b[i:])) }

// fp16Table maps every half-precision bit pattern to its float32 value. A
// 256 KiB table beats the branchy conversion in the F16 hot loop (ggml keeps
// the same table for machines without F16C); it is built once and never
// written again.
var fp16Table = func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = FP16ToFP32(uint16(i))
	}
	return &t
}()

// DotF16 returns Σ w[i]·x[i] with w n half-precision values (2n bytes) and x
// n float32 values (4n bytes).
func DotF16(n int, w, x []byte) float32 { return dotF16(n, w, x) }

var dotF16 = dotF16Generic

func dotF16Generic(n int, w, x []byte) float32 {
	w, x = w[:2*n], x[:4*n]
	t := fp16Table
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= n; i += 4 {
		wb, xb := w[2*i:2*i+8], x[4*i:4*i+16]
		s0 += float32(t[binary.LittleEndian.Uint16(wb[0:])] * f32at(xb, 0))
		s1 += float32(t[binary.LittleEndian.Uint16(wb[2:])] * f32at(xb, 4))
		s2 += float32(t[binary.LittleEndian.Uint16(wb[4:])] * f32at(xb, 8))
		s3 += float32(t[binary.LittleEndian.Uint16(wb[6:])] * f32at(xb, 12))
	}
	for ; i < n; i++ {
		s0 += float32(t[binary.LittleEndian.Uint16(w[2*i:])] * f32at(x, 4*i))
	}
	return (s0 + s1) + (s2 + s3)
}

// DotBF16 returns Σ w[i]·x[i] with w n bfloat16 values (2n bytes) and x n
// float32 values (4n bytes).
func DotBF16(n int, w, x []byte) float32 { return dotBF16(n, w, x) }

var dotBF16 = dotBF16Generic

func dotBF16Generic(n int, w, x []byte) float32 {
	w, x = w[:2*n], x[:4*n]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= n; i += 4 {
		wb, xb := w[2*i:2*i+8], x[4*i:4*i+16]
		s0 += float32(bf16at(wb, 0) * f32at(xb, 0))
		s1 += float32(bf16at(wb, 2) * f32at(xb, 4))
		s2 += float32(bf16at(wb, 4) * f32at(xb, 8))
		s3 += float32(bf16at(wb, 6) * f32at(xb, 12))
	}
	for ; i < n; i++ {
		s0 += float32(bf16at(w, 2*i) * f32at(x, 4*i))
	}
	return (s0 + s1) + (s2 + s3)
}

// bf16at widens a bfloat16: its 16 bits are the top half of a float32.
func bf16at(b []byte, i int) float32 {
	return math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[i:])) << 16)
}
