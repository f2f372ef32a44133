package kernel

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

// TileQ4_0x8 (the VNNI kernel where the CPU has it, four group dots
// otherwise) against dotQ4_0x8Generic for each activation row, bit for bit:
// lengths 1…40 blocks and 129, random and extreme blocks, activation rows an
// odd stride apart with 0xFF guards between them (a NaN scale poisons a
// product that reads past its row), output rows a stride apart with guards
// between them that must stay untouched.
func TestTileQ4_0x8MatchesGroupDots(t *testing.T) {
	r := rand.New(rand.NewPCG(20, 48))
	for nb := 0; nb <= 41; nb++ {
		if nb == 41 {
			nb = 129
		}
		extreme := nb%5 == 4
		n := nb * QK
		rows := make([]byte, 8*nb*q4_0Bytes)
		for i := range rows {
			rows[i] = byte(r.Uint32())
			if extreme {
				rows[i] = 0x88
			}
		}
		for i := 0; i < len(rows); i += q4_0Bytes {
			rows[i], rows[i+1] = byte(r.Uint32()), byte(r.IntN(0x30)) // finite, moderate scales
		}
		w := make([]byte, nb*q4_0x8Bytes)
		if err := PackQ4_0x8(n, rows, nb*q4_0Bytes, w); err != nil {
			t.Fatal(err)
		}
		rowBytes := nb * q8_0Bytes
		xStride := rowBytes + 1 + r.IntN(5)
		x := bytes.Repeat([]byte{0xFF}, 3*xStride+rowBytes+64)
		for j := range 4 {
			src := make([]float32, n)
			for i := range src {
				src[i] = float32(r.NormFloat64())
				if extreme && j == 2 {
					src[i] = float32(1 - 2*(i&1))
				}
			}
			quantizeQ8_0Generic(src, x[j*xStride:j*xStride+rowBytes])
		}
		x0 := append([]byte(nil), x...)
		const outStride = 11
		guard := float32(math.Inf(-1))
		out := make([]float32, 3*outStride+8+3)
		for i := range out {
			out[i] = guard
		}
		TileQ4_0x8(n, w, x, xStride, out, outStride)
		if !bytes.Equal(x, x0) {
			t.Fatalf("%d blocks: activations changed", nb)
		}
		for j := range 4 {
			var want [Q4_0x8Rows]float32
			if nb > 0 {
				dotQ4_0x8Generic(nb, w, x[j*xStride:j*xStride+rowBytes], &want)
			}
			for k := range want {
				if got := out[j*outStride+k]; math.Float32bits(got) != math.Float32bits(want[k]) {
					t.Fatalf("%d blocks, activation row %d, weight row %d: tile %v, group dot %v", nb, j, k, got, want[k])
				}
			}
		}
		for i, v := range out {
			if i%outStride >= 8 && v != guard {
				t.Fatalf("%d blocks: out[%d] written", nb, i)
			}
		}
	}
}
