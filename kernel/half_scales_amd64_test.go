//go:build !purego

// Reference: Intel SDM vol. 2 (VCVTPH2PS: every half, subnormals, infinities and NaNs included, has
// one float32 value); IEEE 754-2008 §6.2.3 (a NaN operand's payload carries into the result).

package kernel

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// Most legacy-quant kernels convert the weights' fp16 scales (w.d, Q4_1's
// and Q5_1's m) by VCVTPH2PS instead of looking them up in fp16Table; the
// activations' scales, few and kept cached, are still looked up. The tests
// here give scales at the ends of the format (±65504, the smallest normal,
// subnormals) and infinities and NaNs (quiet, signalling, with payloads) to
// each kernel and want the plain-Go bits, NaN payloads included where one
// NaN is in play: whatever the conversion does with a signalling NaN's
// quiet bit, the first multiply quiets it as it quiets the table's value.

// halfExtremes are finite fp16 scales at the ends of the format.
var halfExtremes = []uint16{0x7BFF, 0xFBFF, 0x0400, 0x8400, 0x3C00, 0xBC00, 0x0001, 0x8200, 0x03FF}

// halfSpecials are fp16 infinities and NaNs.
var halfSpecials = []uint16{0x7C00, 0xFC00, 0x7E00, 0x7C01, 0xFE55}

// extremeScales writes an extreme half into the scale field (at off) of each
// of nb blocks of bs bytes, and a special one into the block special (if
// special >= 0).
func extremeScales(r *rand.Rand, b []byte, nb, bs, off, special int) {
	for i := range nb {
		binary.LittleEndian.PutUint16(b[i*bs+off:], halfExtremes[r.IntN(len(halfExtremes))])
	}
	if special >= 0 {
		binary.LittleEndian.PutUint16(b[special*bs+off:], halfSpecials[r.IntN(len(halfSpecials))])
	}
}

// exactBits reports whether a and b are the same float32 bits.
func exactBits(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }

// The packed Q4_0 kernels (w.d converted eight at a time, x.d looked up),
// one-row AVX2 and VNNI and the VNNI tile, extreme w.d, x.d or both.
func TestHalfScalesQ4_0x8Extremes(t *testing.T) {
	skipNoVNNI(t)
	r := rand.New(rand.NewPCG(36, 1))
	for nb := 1; nb <= 20; nb++ {
		for c := range 3 { // c 0: extreme w.d; 1: extreme x.d; 2: both
			special := -1
			if nb%3 == 0 {
				special = r.IntN(nb)
			}
			rows := vnniWeights(r, 8*nb, q4_0Bytes, []int{0}, false, 0)
			if c != 1 {
				extremeScales(r, rows, 8*nb, q4_0Bytes, 0, -1)
				if special >= 0 {
					binary.LittleEndian.PutUint16(rows[(8*special+r.IntN(8))*q4_0Bytes:], halfSpecials[nb%len(halfSpecials)])
				}
			}
			w := make([]byte, nb*q4_0x8Bytes)
			if err := PackQ4_0x8(nb*QK, rows, nb*q4_0Bytes, w); err != nil {
				t.Fatal(err)
			}
			w = guarded(w)
			rowBytes := nb * q8_0Bytes
			x := bytes.Repeat([]byte{0xFF}, 4*rowBytes+64)
			for j := range 4 {
				copy(x[j*rowBytes:], vnniQ8_0(r, nb*QK, false))
				if c != 0 {
					extremeScales(r, x[j*rowBytes:], nb, q8_0Bytes, 0, special)
				}
			}
			var a2, v [Q4_0x8Rows]float32
			dotQ4_0x8Asm(nb, &w[0], &x[0], &a2)
			dotQ4_0x8VNNIAsm(nb, &w[0], &x[0], &v)
			var tile [4 * Q4_0x8Rows]float32
			tileQ4_0x8VNNIAsm(nb, &w[0], &x[0], rowBytes, &tile[0], Q4_0x8Rows)
			for j := range 4 {
				var want [Q4_0x8Rows]float32
				dotQ4_0x8Generic(nb, w, x[j*rowBytes:(j+1)*rowBytes], &want)
				for k := range want {
					if j == 0 && (!exactBits(a2[k], want[k]) || !exactBits(v[k], want[k])) {
						t.Fatalf("%d blocks, case %d, row %d: avx2 %v (%#x), vnni %v (%#x), Go %v (%#x)", nb, c, k,
							a2[k], math.Float32bits(a2[k]), v[k], math.Float32bits(v[k]), want[k], math.Float32bits(want[k]))
					}
					if got := tile[j*Q4_0x8Rows+k]; !exactBits(got, want[k]) {
						t.Fatalf("%d blocks, case %d, activation row %d, row %d: tile %v (%#x), Go %v (%#x)", nb, c, j, k,
							got, math.Float32bits(got), want[k], math.Float32bits(want[k]))
					}
				}
			}
		}
	}
}

// The VNNI Q8_0 tiles (1×4 and 4×4), extreme w.d.
func TestHalfScalesQ8_0TilesExtremes(t *testing.T) {
	skipNoVNNI(t)
	r := rand.New(rand.NewPCG(36, 2))
	for nb := 1; nb <= 20; nb++ {
		n, rowBytes := nb*QK, nb*q8_0Bytes
		special := -1
		if nb%3 == 0 {
			special = r.IntN(nb)
		}
		w := bytes.Repeat([]byte{0xFF}, 4*rowBytes+64)
		for i := range 4 {
			copy(w[i*rowBytes:], vnniWeights(r, nb, q8_0Bytes, []int{0}, false, 0))
			sp := -1
			if i == nb%4 {
				sp = special
			}
			extremeScales(r, w[i*rowBytes:], nb, q8_0Bytes, 0, sp)
		}
		x := bytes.Repeat([]byte{0xFF}, 4*rowBytes+64)
		for j := range 4 {
			copy(x[j*rowBytes:], vnniQ8_0(r, n, false))
		}
		xd := make([]float32, 4*nb)
		Q8_0Scales4(nb, x, rowBytes, xd)
		var out [16]float32
		tileQ8_0x4VNNIAsm(nb, &w[0], rowBytes, &x[0], rowBytes, &xd[0], &out)
		for i := range 4 {
			var one [4]float32
			tileQ8_0VNNIAsm(nb, &w[i*rowBytes], &x[0], rowBytes, &xd[0], &one)
			for j := range 4 {
				want := dotQ8_0Generic(n, w[i*rowBytes:(i+1)*rowBytes], x[j*rowBytes:(j+1)*rowBytes])
				if got := out[4*i+j]; !exactBits(got, want) {
					t.Fatalf("%d blocks, weight row %d, activation row %d: x4 tile %v (%#x), Go %v (%#x)", nb, i, j,
						got, math.Float32bits(got), want, math.Float32bits(want))
				}
				if !exactBits(one[j], want) {
					t.Fatalf("%d blocks, weight row %d, activation row %d: tile %v (%#x), Go %v (%#x)", nb, i, j,
						one[j], math.Float32bits(one[j]), want, math.Float32bits(want))
				}
			}
		}
	}
}

// The 4×4 tiles of Q5_0, IQ4_NL, Q4_1 and Q5_1 (tile_legacy_x4_avx512_amd64.s,
// which still look w.d and m up: converted, a prompt measured slower), each
// product against the plain-Go dot.
func TestHalfScalesLegacyX4Extremes(t *testing.T) {
	skipNoVNNI(t)
	for _, c := range legacyX4Cases {
		r := rand.New(rand.NewPCG(36, uint64(c.wb)))
		for nb := 1; nb <= 20; nb++ {
			n, rowW, rowX := nb*QK, nb*c.wb, nb*c.xb
			w := bytes.Repeat([]byte{0xFF}, 4*rowW+64)
			for i := range 4 {
				copy(w[i*rowW:], vnniWeights(r, nb, c.wb, c.scales, false, 0))
				for _, off := range c.scales {
					sp := -1
					if nb%3 == 0 && i == nb%4 {
						sp = r.IntN(nb)
					}
					extremeScales(r, w[i*rowW:], nb, c.wb, off, sp)
				}
			}
			x := bytes.Repeat([]byte{0xFF}, 4*rowX+64)
			for j := range 4 {
				copy(x[j*rowX:], legacyX4Acts(r, n, c.q8_1, false))
			}
			var out [16]float32
			c.tile4(n, w, rowW, x, rowX, out[:], 4)
			for i := range 4 {
				for j := range 4 {
					want := c.dot(n, w[i*rowW:(i+1)*rowW], x[j*rowX:(j+1)*rowX])
					same := exactBits
					if c.q8_1 {
						// With d and m both in play an infinite one can make a
						// fresh NaN (∞·0, ∞−∞) beside one carried from a NaN
						// half, and the 4×4 tile and plain Go keep different
						// ones (with the table too): any NaN for any NaN.
						same = sameBits
					}
					if got := out[j*4+i]; !same(got, want) {
						t.Fatalf("%s, %d blocks, weight row %d, activation row %d: 4×4 %v (%#x), Go %v (%#x)", c.name, nb, i, j,
							got, math.Float32bits(got), want, math.Float32bits(want))
					}
				}
			}
		}
	}
}

// The one-row dots of dot_legacy_amd64.s (Q4_0, Q8_0) and
// dot_legacy_lanes_amd64.s (AVX2 and VNNI forms) convert w.d (and m) by
// VCVTPH2PS and look x.d (and s) up: each against the plain Go, extreme
// scales in the weights, the activations or both.
func TestHalfScalesOneRowDotsExtremes(t *testing.T) {
	if !hasAVX2FMA || !f16cOK {
		t.Skip("no AVX2+FMA+F16C")
	}
	r := rand.New(rand.NewPCG(36, 3))
	for _, c := range []struct {
		name   string
		wb     int
		scales []int // the weight block's fp16 fields
		q81    bool  // Q8_1 activations (d and s) rather than Q8_0
		vnni   bool
		asm    func(nb int, w, x *byte) float32
		gen    func(n int, w, x []byte) float32
	}{
		{"q4_0", q4_0Bytes, []int{0}, false, false, dotQ4_0Asm, dotQ4_0Generic},
		{"q8_0", q8_0Bytes, []int{0}, false, false, dotQ8_0Asm, dotQ8_0Generic},
		{"q4_1", q4_1Bytes, []int{0, 2}, true, false, dotQ4_1Asm, dotQ4_1Generic},
		{"q5_0", q5_0Bytes, []int{0}, false, false, dotQ5_0Asm, dotQ5_0Generic},
		{"q5_1", q5_1Bytes, []int{0, 2}, true, false, dotQ5_1Asm, dotQ5_1Generic},
		{"iq4_nl", iq4nlBytes, []int{0}, false, false, dotIQ4_NLAsm, dotIQ4_NLGeneric},
		{"iq4_nl-tb", iq4nlBytes, []int{0}, false, false, dotIQ4_NLTBAsm, dotIQ4_NLTinyBLASGeneric},
		{"q4_1-vnni", q4_1Bytes, []int{0, 2}, true, true, dotQ4_1VNNIAsm, dotQ4_1Generic},
		{"q5_0-vnni", q5_0Bytes, []int{0}, false, true, dotQ5_0VNNIAsm, dotQ5_0Generic},
		{"q5_1-vnni", q5_1Bytes, []int{0, 2}, true, true, dotQ5_1VNNIAsm, dotQ5_1Generic},
		{"iq4_nl-vnni", iq4nlBytes, []int{0}, false, true, dotIQ4_NLVNNIAsm, dotIQ4_NLGeneric},
		{"iq4_nl-tb-vnni", iq4nlBytes, []int{0}, false, true, dotIQ4_NLTBVNNIAsm, dotIQ4_NLTinyBLASGeneric},
	} {
		if c.vnni && !vnniOK {
			continue
		}
		xb, xScales := q8_0Bytes, []int{0}
		if c.q81 {
			xb, xScales = q8_1Bytes, []int{0, 2}
		}
		for nb := 1; nb <= 33; nb++ {
			for k := range 3 { // k 0: extreme weight scales; 1: activation scales; 2: both
				special := -1
				if nb%3 == 0 {
					special = r.IntN(nb)
				}
				w := guarded(vnniWeights(r, nb, c.wb, c.scales, false, 0))
				x := guarded(legacyX4Acts(r, nb*QK, c.q81, false))
				if k != 1 {
					for _, off := range c.scales {
						extremeScales(r, w, nb, c.wb, off, special)
					}
				}
				if k != 0 {
					for _, off := range xScales {
						extremeScales(r, x, nb, xb, off, special)
					}
				}
				same := exactBits
				if len(c.scales) > 1 || k == 2 {
					// Two NaNs can meet (a weight's and an activation's, or
					// one made by ∞·0 beside one carried), and the assembly
					// and plain Go keep different ones, with the table as
					// without: any NaN for any NaN there.
					same = sameBits
				}
				got, want := c.asm(nb, &w[0], &x[0]), c.gen(nb*QK, w, x)
				if !same(got, want) {
					t.Fatalf("%s, %d blocks, case %d: asm %v (%#x), Go %v (%#x)", c.name, nb, k,
						got, math.Float32bits(got), want, math.Float32bits(want))
				}
			}
		}
	}
}

// The 1×4 tiles (tile_legacy_amd64.s's Q4_0, tile_legacy_lanes_amd64.s's
// AVX2 and VNNI forms) convert w.d (and m) by VCVTPH2PS: each product
// against the plain-Go dot, extreme weight scales.
func TestHalfScalesTiles1x4Extremes(t *testing.T) {
	if !hasAVX2FMA || !f16cOK {
		t.Skip("no AVX2+FMA+F16C")
	}
	q4_0 := func(nb int, w, x *byte, xStride int, out *[4]float32) {
		xs := unsafe.Slice(x, 3*xStride+nb*q8_0Bytes)
		xd := make([]float32, 4*nb)
		Q8_0Scales4(nb, xs, xStride, xd)
		tileQ4_0Asm(nb, w, x, xStride, &xd[0], out)
	}
	r := rand.New(rand.NewPCG(36, 4))
	for _, c := range []struct {
		name   string
		wb     int
		scales []int
		q81    bool
		vnni   bool
		tile   func(nb int, w, x *byte, xStride int, out *[4]float32)
		gen    func(n int, w, x []byte) float32
	}{
		{"q4_0", q4_0Bytes, []int{0}, false, false, q4_0, dotQ4_0Generic},
		{"q4_1", q4_1Bytes, []int{0, 2}, true, false, tileQ4_1Asm, dotQ4_1Generic},
		{"q5_0", q5_0Bytes, []int{0}, false, false, tileQ5_0Asm, dotQ5_0Generic},
		{"q5_1", q5_1Bytes, []int{0, 2}, true, false, tileQ5_1Asm, dotQ5_1Generic},
		{"iq4_nl", iq4nlBytes, []int{0}, false, false, tileIQ4_NLAsm, dotIQ4_NLTinyBLASGeneric},
		{"q4_1-vnni", q4_1Bytes, []int{0, 2}, true, true, tileQ4_1VNNIAsm, dotQ4_1Generic},
		{"q5_0-vnni", q5_0Bytes, []int{0}, false, true, tileQ5_0VNNIAsm, dotQ5_0Generic},
		{"q5_1-vnni", q5_1Bytes, []int{0, 2}, true, true, tileQ5_1VNNIAsm, dotQ5_1Generic},
		{"iq4_nl-vnni", iq4nlBytes, []int{0}, false, true, tileIQ4_NLVNNIAsm, dotIQ4_NLTinyBLASGeneric},
	} {
		if c.vnni && !vnniOK {
			continue
		}
		xb := q8_0Bytes
		if c.q81 {
			xb = q8_1Bytes
		}
		for nb := 1; nb <= 20; nb++ {
			n, rowX := nb*QK, nb*xb
			special := -1
			if nb%3 == 0 {
				special = r.IntN(nb)
			}
			w := guarded(vnniWeights(r, nb, c.wb, c.scales, false, 0))
			for _, off := range c.scales {
				extremeScales(r, w, nb, c.wb, off, special)
			}
			x := bytes.Repeat([]byte{0xFF}, 4*rowX+64)
			for j := range 4 {
				copy(x[j*rowX:], legacyX4Acts(r, n, c.q81, false))
			}
			var out [4]float32
			c.tile(nb, &w[0], &x[0], rowX, &out)
			for j := range 4 {
				want := c.gen(n, w, x[j*rowX:(j+1)*rowX])
				same := exactBits
				if len(c.scales) > 1 {
					same = sameBits // as in TestHalfScalesLegacyX4Extremes
				}
				if !same(out[j], want) {
					t.Fatalf("%s, %d blocks, activation row %d: tile %v (%#x), Go %v (%#x)", c.name, nb, j,
						out[j], math.Float32bits(out[j]), want, math.Float32bits(want))
				}
			}
		}
	}
}
