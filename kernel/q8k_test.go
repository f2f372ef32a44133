// Reference: ggml/src/ggml-quants.c (quantize_row_q8_K_ref, nearest_int).

package kernel

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// kNearestInt must round like rintf in the default mode (ties to even) over
// the whole range ggml allows (|x| ≤ 2^22−1).
func TestKNearestInt(t *testing.T) {
	cases := []float32{0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 126.5, 127.4, -127.6, 4194303, -4194303, 1e-30}
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 10000; i++ {
		cases = append(cases, float32((r.Float64()*2-1)*float64(int(1)<<uint(r.IntN(23)))))
	}
	for _, v := range cases {
		if got, want := kNearestInt(v), int32(math.RoundToEven(float64(v))); got != want {
			t.Fatalf("kNearestInt(%v) = %d, want %d", v, got, want)
		}
	}
}

// QuantizeQ8_K over 0…4 blocks and a larger odd count, at several offsets
// inside a guarded destination: every block must satisfy the format's
// invariants, and the selected implementation must equal the generic one
// byte for byte (the activation format is exact, not approximate).
func TestQuantizeQ8K(t *testing.T) {
	const guard = 0xA5
	r := rand.New(rand.NewPCG(2, 2))
	for _, nb := range []int{0, 1, 2, 3, 4, 9} {
		n := nb * QKK
		src := make([]float32, n)
		for i := range src {
			src[i] = float32(r.NormFloat64() * math.Exp(4*r.Float64()-2))
		}
		if nb >= 2 {
			clear(src[QKK : 2*QKK]) // an all-zero block
		}
		if nb >= 3 {
			src[2*QKK+17] = 1e4 // one dominant positive value
		}
		keep := slices.Clone(src)
		for _, off := range []int{0, 1, 5} {
			full := bytes.Repeat([]byte{guard}, off+nb*BlockQ8KBytes+16)
			dst := full[off : off+nb*BlockQ8KBytes : off+nb*BlockQ8KBytes]
			QuantizeQ8_K(src, dst)
			for i, b := range full {
				if (i < off || i >= off+len(dst)) && b != guard {
					t.Fatalf("%d blocks, offset %d: guard byte %d overwritten", nb, off, i-off)
				}
			}
			if !slices.Equal(src, keep) {
				t.Fatal("source changed")
			}
			ref := make([]byte, len(dst))
			quantizeQ8_KGeneric(src, ref)
			if !bytes.Equal(ref, dst) {
				t.Fatalf("%d blocks: selected quantizer differs from the generic one", nb)
			}
			for i := 0; i < nb; i++ {
				checkQ8KBlock(t, src[i*QKK:(i+1)*QKK], dst[i*BlockQ8KBytes:(i+1)*BlockQ8KBytes])
			}
		}
	}
}

func checkQ8KBlock(t *testing.T, x []float32, b []byte) {
	t.Helper()
	d := kF32(b[q8KOffD:])
	var amax float32
	imax := 0
	for i, v := range x {
		if a := float32(math.Abs(float64(v))); a > amax {
			amax, imax = a, i
		}
	}
	if amax == 0 {
		if !bytes.Equal(b, make([]byte, len(b))) {
			t.Fatal("all-zero block is not all zero bytes")
		}
		return
	}
	// The largest magnitude maps to -127, so d has the opposite sign to it.
	if q := int8(b[q8KOffQs+imax]); q != -127 {
		t.Fatalf("largest value %v quantized to %d, want -127", x[imax], q)
	}
	if want := 1 / (-127 / x[imax]); d != want {
		t.Fatalf("d = %v, want %v", d, want)
	}
	// Each value is within half a step (plus float32 rounding of the scale).
	for i, v := range x {
		q := float64(int8(b[q8KOffQs+i]))
		if err := math.Abs(float64(v) - float64(d)*q); err > math.Abs(float64(d))*(0.5+1e-5) {
			t.Fatalf("x[%d] = %v, stored %v×%v, error %g over half a step", i, v, d, q, err)
		}
	}
	for j := 0; j < QKK/16; j++ {
		var s int
		for _, q := range b[q8KOffQs+16*j : q8KOffQs+16*j+16] {
			s += int(int8(q))
		}
		if got := int(int16(binary.LittleEndian.Uint16(b[q8KOffBsums+2*j:]))); got != s {
			t.Fatalf("bsums[%d] = %d, want %d", j, got, s)
		}
	}
}

func BenchmarkQuantizeQ8K(b *testing.B) {
	const n = 4096
	r := rand.New(rand.NewPCG(3, 3))
	src := make([]float32, n)
	for i := range src {
		src[i] = float32(r.NormFloat64())
	}
	dst := make([]byte, n/QKK*BlockQ8KBytes)
	b.SetBytes(4 * n)
	for b.Loop() {
		QuantizeQ8_K(src, dst)
	}
}
