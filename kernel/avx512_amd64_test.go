//go:build !purego

package kernel

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// The AVX512-VNNI kernels against their AVX2 twins and the plain Go, bit
// for bit, in one process (the selection at start-up picks one of them; here
// all run). Lengths 0…67 blocks and 129, random blocks and extreme ones
// (every weight byte 0x80 or 0x7F, activations ±127), inputs followed by
// 0xFF guard bytes (a NaN scale poisons any product that reads past the end)
// and checked unchanged.

func skipNoVNNI(t *testing.T) {
	t.Helper()
	if !vnniOK {
		t.Skip("CPU lacks AVX512 F/BW/VL/VNNI (or GODEBUG turned it off)")
	}
}

// vnniLengths are the block counts tried.
func vnniLengths() []int {
	n := make([]int, 0, 69)
	for k := range 68 {
		n = append(n, k)
	}
	return append(n, 129)
}

// vnniWeights returns nb random blocks of size bs whose fp16 fields at the
// offsets in scales hold moderate scales of either sign; extreme sets every
// other byte to fill.
func vnniWeights(r *rand.Rand, nb, bs int, scales []int, extreme bool, fill byte) []byte {
	b := make([]byte, nb*bs)
	for i := range b {
		b[i] = byte(r.Uint32())
		if extreme {
			b[i] = fill
		}
	}
	for i := range nb {
		for _, off := range scales {
			s := float32(0.001 + 0.05*r.Float64())
			if r.IntN(4) == 0 {
				s = -s
			}
			binary.LittleEndian.PutUint16(b[i*bs+off:], FP32ToFP16(s))
		}
	}
	return b
}

// vnniQ8_0 returns n values as Q8_0 activations (extreme: all ±127).
func vnniQ8_0(r *rand.Rand, n int, extreme bool) []byte {
	src := make([]float32, n)
	for i := range src {
		src[i] = float32(r.NormFloat64())
		if extreme {
			src[i] = float32(1 - 2*(i&1))
		}
	}
	b := make([]byte, n/QK*q8_0Bytes)
	quantizeQ8_0Generic(src, b)
	return b
}

// guarded returns b followed by 64 guard bytes of 0xFF, sliced to len(b).
func guarded(b []byte) []byte {
	g := append(append([]byte(nil), b...), bytes.Repeat([]byte{0xFF}, 64)...)
	return g[:len(b)]
}

func TestVNNIDotQ8_0MatchesAVX2(t *testing.T) {
	skipNoVNNI(t)
	r := rand.New(rand.NewPCG(20, 1))
	for _, nb := range vnniLengths() {
		for c := range 3 {
			w := guarded(vnniWeights(r, nb, q8_0Bytes, []int{0}, c > 0, []byte{0, 0x80, 0x7F}[c]))
			x := guarded(vnniQ8_0(r, nb*QK, c > 0))
			want := dotQ8_0Generic(nb*QK, w, x)
			if nb == 0 {
				continue
			}
			a2 := dotQ8_0Asm(nb, &w[0], &x[0])
			v := dotQ8_0VNNIAsm(nb, &w[0], &x[0])
			if !sameBits(a2, want) || !sameBits(v, want) {
				t.Fatalf("%d blocks, case %d: vnni %v, avx2 %v, Go %v", nb, c, v, a2, want)
			}
		}
	}
}

func TestVNNITileQ8_0MatchesDots(t *testing.T) {
	skipNoVNNI(t)
	r := rand.New(rand.NewPCG(20, 2))
	for _, nb := range vnniLengths() {
		if nb == 0 {
			continue
		}
		c := nb % 3
		n := nb * QK
		rowBytes := nb * q8_0Bytes
		xStride := rowBytes + 1 + r.IntN(7)
		x := bytes.Repeat([]byte{0xFF}, 3*xStride+rowBytes+64)
		for j := range 4 {
			copy(x[j*xStride:], vnniQ8_0(r, n, c > 0 && j == 1))
		}
		x0 := append([]byte(nil), x...)
		w := guarded(vnniWeights(r, nb, q8_0Bytes, []int{0}, c > 0, []byte{0, 0x80, 0x7F}[c]))
		xd := make([]float32, 4*nb)
		Q8_0Scales4(nb, x, xStride, xd)
		var v, a2 [4]float32
		tileQ8_0VNNIAsm(nb, &w[0], &x[0], xStride, &xd[0], &v)
		tileQ8_0Asm(nb, &w[0], &x[0], xStride, &xd[0], &a2)
		if !bytes.Equal(x, x0) {
			t.Fatalf("%d blocks: activations changed", nb)
		}
		for j := range 4 {
			want := dotQ8_0Generic(n, w, x[j*xStride:j*xStride+rowBytes])
			if !sameBits(v[j], want) || !sameBits(a2[j], want) {
				t.Fatalf("%d blocks, row %d: vnni %v, avx2 %v, Go %v", nb, j, v[j], a2[j], want)
			}
		}
	}
}

func TestVNNIDotQ4_0x8MatchesAVX2(t *testing.T) {
	skipNoVNNI(t)
	r := rand.New(rand.NewPCG(20, 3))
	for _, nb := range vnniLengths() {
		if nb == 0 {
			continue
		}
		for c := range 3 {
			rows := vnniWeights(r, 8*nb, q4_0Bytes, []int{0}, c > 0, []byte{0, 0x88, 0xFF}[c])
			w := make([]byte, nb*q4_0x8Bytes)
			if err := PackQ4_0x8(nb*QK, rows, nb*q4_0Bytes, w); err != nil {
				t.Fatal(err)
			}
			w = guarded(w)
			x := guarded(vnniQ8_0(r, nb*QK, c > 0))
			var want, a2, v [Q4_0x8Rows]float32
			dotQ4_0x8Generic(nb, w, x, &want)
			dotQ4_0x8Asm(nb, &w[0], &x[0], &a2)
			dotQ4_0x8VNNIAsm(nb, &w[0], &x[0], &v)
			for k := range want {
				if !sameBits(a2[k], want[k]) || !sameBits(v[k], want[k]) {
					t.Fatalf("%d blocks, case %d, row %d: vnni %v, avx2 %v, Go %v", nb, c, k, v[k], a2[k], want[k])
				}
			}
		}
	}
}

// The K-quant tiles: VNNI and AVX2 against the selected dot of each row
// (the plain-Go lanes order, which the AVX2 dots give bit for bit).
func TestVNNITilesKMatchDots(t *testing.T) {
	skipNoVNNI(t)
	for _, c := range []struct {
		name       string
		bs         int
		scales     []int
		vnni, avx2 func(nb int, w, x *byte, xStride int, out *[4]float32)
		dot        func(n int, w, x []byte) float32
	}{
		{"q4_K", blockQ4KBytes, []int{q4KOffD, q4KOffDmin}, tileQ4_KVNNIAsm, tileQ4_KAsm, dotQ4_KGeneric},
		{"q5_K", blockQ5KBytes, []int{q5KOffD, q5KOffDmin}, tileQ5_KVNNIAsm, tileQ5_KAsm, dotQ5_KGeneric},
		{"q6_K", blockQ6KBytes, []int{q6KOffD}, tileQ6_KVNNIAsm, tileQ6_KAsm, dotQ6_KGeneric},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(20, uint64(c.bs)))
			for _, nb := range []int{1, 2, 3, 5, 8, 16, 17} {
				for ex := range 2 {
					n := nb * QKK
					rowBytes := nb * BlockQ8KBytes
					xStride := rowBytes + r.IntN(9)
					x := bytes.Repeat([]byte{0xFF}, 3*xStride+rowBytes+64)
					for j := range 4 {
						src := make([]float32, n)
						for i := range src {
							src[i] = float32(r.NormFloat64())
							if ex == 1 && j == 1 {
								src[i] = float32(1 - 2*(i&1))
							}
						}
						quantizeQ8_KGeneric(src, x[j*xStride:j*xStride+rowBytes])
					}
					x0 := append([]byte(nil), x...)
					w := guarded(vnniWeights(r, nb, c.bs, c.scales, ex == 1, 0xFF))
					var v, a2 [4]float32
					c.vnni(nb, &w[0], &x[0], xStride, &v)
					c.avx2(nb, &w[0], &x[0], xStride, &a2)
					if !bytes.Equal(x, x0) {
						t.Fatalf("%d blocks: activations changed", nb)
					}
					for j := range 4 {
						want := c.dot(n, w, x[j*xStride:j*xStride+rowBytes])
						if !sameBits(v[j], want) || !sameBits(a2[j], want) {
							t.Fatalf("%d blocks, extreme %d, row %d: vnni %v, avx2 %v, dot %v", nb, ex, j, v[j], a2[j], want)
						}
					}
				}
			}
		})
	}
}
