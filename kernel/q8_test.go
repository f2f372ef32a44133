package kernel

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// The generic quantizer follows quantize_row_q8_0_ref: d = amax/127 in
// float32, q = roundf(x·(1/d)), half away from zero.
func TestQuantizeQ8_0Rounding(t *testing.T) {
	x := make([]float32, QK)
	copy(x, []float32{-127, 0.5, -0.5, 1.5, 2.5, -2.5, 0.49999997, 126.5})
	want := []int8{-127, 1, -1, 2, 3, -3, 0, 127}
	b := make([]byte, q8_0Bytes)
	quantizeQ8_0Generic(x, b)
	if d := binary.LittleEndian.Uint16(b); d != 0x3c00 {
		t.Errorf("d = %#04x, want 0x3c00 (1.0)", d)
	}
	for j, w := range want {
		if got := int8(b[q8_0QS+j]); got != w {
			t.Errorf("q[%d] for %v = %d, want %d", j, x[j], got, w)
		}
	}
	for j := len(want); j < QK; j++ {
		if b[q8_0QS+j] != 0 {
			t.Errorf("q[%d] = %d for 0", j, int8(b[q8_0QS+j]))
		}
	}
}

// Every element of a random block comes back within half a step, the sum s
// of Q8_1 is d·Σq in fp16, and the dispatched quantizers (assembly where
// present) write exactly the generic bytes, since Q8_0 weight files and
// activations both come from them.
func TestQuantizeQ8Random(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const nb = 37
	x := make([]float32, nb*QK)
	for i := range x {
		x[i] = float32(r.NormFloat64() * math.Exp(3*r.NormFloat64()))
	}
	b0, b1 := make([]byte, nb*q8_0Bytes), make([]byte, nb*q8_1Bytes)
	quantizeQ8_0Generic(x, b0)
	quantizeQ8_1Generic(x, b1)
	for i := 0; i < nb; i++ {
		blk0, blk1 := b0[i*q8_0Bytes:], b1[i*q8_1Bytes:]
		if !bytes.Equal(blk0[:2], blk1[:2]) || !bytes.Equal(blk0[q8_0QS:q8_0QS+QK], blk1[q8_1QS:q8_1QS+QK]) {
			t.Fatalf("block %d: Q8_0 and Q8_1 disagree on d or quants", i)
		}
		var amax float32
		for _, v := range x[i*QK : i*QK+QK] {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		d := FP16ToFP32(binary.LittleEndian.Uint16(blk0))
		sum := 0
		for j, v := range x[i*QK : i*QK+QK] {
			q := int8(blk0[q8_0QS+j])
			sum += int(q)
			// Half a step of the float32 scale, plus the fp16 rounding of d.
			if e := math.Abs(float64(v) - float64(q)*float64(d)); e > float64(amax)/127*(0.5+1e-6)+127*math.Abs(float64(d)-float64(amax)/127) {
				t.Fatalf("block %d element %d: %v came back as %d·%v", i, j, v, q, d)
			}
		}
		if s := binary.LittleEndian.Uint16(blk1[q8_1S:]); s != FP32ToFP16(float32(sum)*(amax/127)) {
			t.Errorf("block %d: s = %#04x, want fp16(%d·%v)", i, s, sum, amax/127)
		}
	}
	d0, d1 := make([]byte, len(b0)), make([]byte, len(b1))
	QuantizeQ8_0(x, d0)
	QuantizeQ8_1(x, d1)
	if !bytes.Equal(d0, b0) || !bytes.Equal(d1, b1) {
		t.Error("dispatched quantizer differs from the generic one")
	}
}

func BenchmarkQuantizeQ8_0(b *testing.B) {
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)))
	}
	dst := make([]byte, len(x)/QK*q8_0Bytes)
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		QuantizeQ8_0(x, dst)
	}
}
