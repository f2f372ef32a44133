//go:build amd64 && !purego

// Reference: STYLE.md habit 1; Intel SDM vol. 2 (VPDPBUSD).

package kernel

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// laneForms are the assembly forms of each lane-order dot: the AVX2 one
// and the VNNI one (only where the CPU has it), whichever the dispatch
// picked, with the plain Go they must equal.
type laneForm struct {
	name           string
	wBytes, xBytes int
	q81            bool // Q8_1 activations
	generic        func(n int, w, x []byte) float32
	avx2, vnni     func(nb int, w, x *byte) float32
	tile, tileVNNI func(nb int, w, x *byte, xStride int, out *[4]float32)
	tileDot        func(n int, w, x []byte) float32 // what the tile's products equal
}

var laneForms = []laneForm{
	{"q4_1", q4_1Bytes, q8_1Bytes, true, dotQ4_1Generic, dotQ4_1Asm, dotQ4_1VNNIAsm, tileQ4_1Asm, tileQ4_1VNNIAsm, dotQ4_1Generic},
	{"q5_0", q5_0Bytes, q8_0Bytes, false, dotQ5_0Generic, dotQ5_0Asm, dotQ5_0VNNIAsm, tileQ5_0Asm, tileQ5_0VNNIAsm, dotQ5_0Generic},
	{"q5_1", q5_1Bytes, q8_1Bytes, true, dotQ5_1Generic, dotQ5_1Asm, dotQ5_1VNNIAsm, tileQ5_1Asm, tileQ5_1VNNIAsm, dotQ5_1Generic},
	{"iq4_nl", iq4nlBytes, q8_0Bytes, false, dotIQ4_NLGeneric, dotIQ4_NLAsm, dotIQ4_NLVNNIAsm, tileIQ4_NLAsm, tileIQ4_NLVNNIAsm, dotIQ4_NLTinyBLASGeneric},
	{"iq4_nl-tinyblas", iq4nlBytes, q8_0Bytes, false, dotIQ4_NLTinyBLASGeneric, dotIQ4_NLTBAsm, dotIQ4_NLTBVNNIAsm, nil, nil, nil},
}

// laneBlocks returns nb random weight blocks of wBytes with finite fp16
// scales (and mins) at bytes 0 and 2; with extreme, every quant byte 0xFF.
func laneBlocks(r *rand.Rand, nb, wBytes int, extreme bool) []byte {
	b := make([]byte, nb*wBytes)
	for i := range b {
		b[i] = byte(r.Uint32())
		if extreme {
			b[i] = 0xFF
		}
	}
	for i := range nb {
		for _, off := range []int{0, 2} {
			binary.LittleEndian.PutUint16(b[i*wBytes+off:], FP32ToFP16(float32(r.NormFloat64()*0.02)))
		}
	}
	return b
}

// laneActs returns n activations in Q8_0 or Q8_1 as MatMul makes them.
func laneActs(r *rand.Rand, n int, q81, extreme bool) []byte {
	src := make([]float32, n)
	for i := range src {
		src[i] = float32(r.NormFloat64())
		if extreme {
			src[i] = -1
		}
	}
	if q81 {
		b := make([]byte, n/QK*q8_1Bytes)
		QuantizeQ8_1Activations(src, b)
		return b
	}
	b := make([]byte, n/QK*q8_0Bytes)
	QuantizeQ8_0Activations(src, b)
	return b
}

// Both assembly forms of every lane-order dot and tile give the plain Go's
// bits, whichever one the dispatch selected (the other is tested here).
func TestLaneAsmFormsMatchGeneric(t *testing.T) {
	if !hasAVX2FMA || !f16cOK {
		t.Skip("no AVX2+FMA+F16C")
	}
	r := rand.New(rand.NewPCG(21, 22))
	for _, f := range laneForms {
		forms := map[string]func(nb int, w, x *byte) float32{"avx2": f.avx2}
		tiles := map[string]func(nb int, w, x *byte, xStride int, out *[4]float32){"avx2": f.tile}
		if vnniOK {
			forms["vnni"], tiles["vnni"] = f.vnni, f.tileVNNI
		}
		for nb := 1; nb <= 40; nb++ {
			extreme := nb%7 == 3
			n := nb * QK
			w := laneBlocks(r, nb, f.wBytes, extreme)
			xs := nb*f.xBytes + 3
			x := make([]byte, 4*xs)
			for j := range 4 {
				copy(x[j*xs:], laneActs(r, n, f.q81, extreme && j == 2))
			}
			want := f.generic(n, w, x)
			for name, dot := range forms {
				if got := dot(nb, &w[0], &x[0]); math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("%s %s nb %d: %v, generic %v", f.name, name, nb, got, want)
				}
			}
			if f.tile == nil {
				continue
			}
			for name, tile := range tiles {
				var out [4]float32
				tile(nb, &w[0], &x[0], xs, &out)
				for j := range 4 {
					if want := f.tileDot(n, w, x[j*xs:]); math.Float32bits(out[j]) != math.Float32bits(want) {
						t.Fatalf("%s tile %s nb %d row %d: %v, dot %v", f.name, name, nb, j, out[j], want)
					}
				}
			}
		}
	}
}

// BenchmarkLaneForms times the AVX2 and VNNI forms of each lane-order dot
// and tile at n = 4096.
//
//	go test ./kernel/ -run '^$' -bench LaneForms -benchtime 0.3s
func BenchmarkLaneForms(b *testing.B) {
	const nb = 4096 / QK
	r := rand.New(rand.NewPCG(1, 2))
	for _, f := range laneForms {
		w := laneBlocks(r, nb, f.wBytes, false)
		x := make([]byte, 4*nb*f.xBytes)
		for j := range 4 {
			copy(x[j*nb*f.xBytes:], laneActs(r, nb*QK, f.q81, false))
		}
		forms := map[string]func(nb int, w, x *byte) float32{"avx2": f.avx2}
		tiles := map[string]func(nb int, w, x *byte, xStride int, out *[4]float32){"avx2": f.tile}
		if vnniOK {
			forms["vnni"], tiles["vnni"] = f.vnni, f.tileVNNI
		}
		for name, dot := range forms {
			b.Run(f.name+"/dot-"+name, func(b *testing.B) {
				for b.Loop() {
					dot(nb, &w[0], &x[0])
				}
			})
		}
		if f.tile == nil {
			continue
		}
		for name, tile := range tiles {
			b.Run(f.name+"/tile-"+name, func(b *testing.B) {
				var out [4]float32
				for b.Loop() {
					tile(nb, &w[0], &x[0], nb*f.xBytes, &out)
				}
			})
		}
	}
}
