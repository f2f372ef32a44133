// Reference: dot_float_amd64.s (the AVX2 order of DotF32/F16/BF16), which dot_float_arm64.s repeats lane for lane.

package kernel

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// dotFloatAsmOrder is the float dots' assembly order, stated in plain Go:
// two 8-lane accumulators a and b take alternate groups of 8 products by
// one fused multiply-add each, a last group of 8 goes to a, the lanes a+b
// are folded as hsum8, and the last n%8 products are added one by one,
// fused. The amd64 (AVX2) and arm64 (NEON) kernels both compute exactly
// this, so the two machines give the same bits; the plain-Go dots keep
// another order (four partial sums, unfused) and agree within
// asm_test.go's bound.
func dotFloatAsmOrder(w, x []float32) float32 {
	n := len(w)
	var a, b [8]float32
	i := 0
	for ; i+16 <= n; i += 16 {
		for m := range 8 {
			a[m] = fma32x(w[i+m], x[i+m], a[m])
			b[m] = fma32x(w[i+8+m], x[i+8+m], b[m])
		}
	}
	if i+8 <= n {
		for m := range 8 {
			a[m] = fma32x(w[i+m], x[i+m], a[m])
		}
		i += 8
	}
	for m := range 8 {
		a[m] += b[m]
	}
	s := hsum8(&a)
	for ; i < n; i++ {
		s = fma32x(w[i], x[i], s)
	}
	return s
}

// TestFloatDotsAsmOrder: where DotF32, DotF16 and DotBF16 run as assembly
// (AVX2 on amd64, NEON on arm64), each gives dotFloatAsmOrder's bits, for
// lengths 0…67 and 4099, at odd byte offsets, with values over a wide
// range of magnitudes so that every rounding shows, and 0xFF guards (NaN
// for every float type) around both inputs.
func TestFloatDotsAsmOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	mag := func() float64 { return r.NormFloat64() * math.Ldexp(1, r.IntN(16)-8) }
	for _, c := range []struct {
		name string
		es   int // weight bytes per element
		dot  func(n int, w, x []byte) float32
		enc  func(b []byte, v float32) float32 // stores v, returns the value stored
	}{
		{"f32", 4, DotF32, func(b []byte, v float32) float32 {
			binary.LittleEndian.PutUint32(b, math.Float32bits(v))
			return v
		}},
		{"f16", 2, DotF16, func(b []byte, v float32) float32 {
			h := FP32ToFP16(v)
			binary.LittleEndian.PutUint16(b, h)
			return FP16ToFP32(h)
		}},
		{"bf16", 2, DotBF16, func(b []byte, v float32) float32 {
			h := FP32ToBF16(v)
			binary.LittleEndian.PutUint16(b, h)
			return BF16ToFP32(h)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			skipUnlessAsm(t, c.name)
			for _, n := range append(seqN(68), 4099) {
				for off := range 3 {
					wv, xv := make([]float32, n), make([]float32, n)
					wb, xb := make([]byte, 64+off+c.es*n+64), make([]byte, 64+2*off+4*n+64)
					for i := range wb {
						wb[i], xb[i%len(xb)] = 0xFF, 0xFF
					}
					w, x := wb[64+off:64+off+c.es*n], xb[64+2*off:64+2*off+4*n]
					for i := range n {
						wv[i] = c.enc(w[c.es*i:], float32(mag()))
						xv[i] = float32(mag())
						binary.LittleEndian.PutUint32(x[4*i:], math.Float32bits(xv[i]))
					}
					w0, x0 := bytes.Clone(wb), bytes.Clone(xb)
					got, want := c.dot(n, w, x), dotFloatAsmOrder(wv, xv)
					if math.Float32bits(got) != math.Float32bits(want) {
						t.Fatalf("n %d off %d: %v (%#x), assembly order %v (%#x)", n, off, got, math.Float32bits(got), want, math.Float32bits(want))
					}
					if !bytes.Equal(wb, w0) || !bytes.Equal(xb, x0) {
						t.Fatalf("n %d off %d: inputs or guards changed", n, off)
					}
				}
			}
		})
	}
}

// TestAxpyFused: where Axpy runs as assembly, every element is one fused
// multiply-add, fma32x's bits.
func TestAxpyFused(t *testing.T) {
	skipUnlessAsm(t, "axpy")
	r := rand.New(rand.NewPCG(23, 24))
	for _, n := range append(seqN(40), 1001) {
		x, y := make([]float32, n), make([]float32, n+1)
		for i := range x {
			x[i], y[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
		}
		y[n] = 42
		a := float32(r.NormFloat64())
		want := make([]float32, n)
		for i := range want {
			want[i] = fma32x(a, x[i], y[i])
		}
		Axpy(a, x, y[:n])
		for i := range want {
			if math.Float32bits(y[i]) != math.Float32bits(want[i]) {
				t.Fatalf("n %d: y[%d] = %v, fused %v", n, i, y[i], want[i])
			}
		}
		if y[n] != 42 {
			t.Fatalf("n %d: wrote past y", n)
		}
	}
}

// seqN is 0, 1, …, n−1.
func seqN(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
