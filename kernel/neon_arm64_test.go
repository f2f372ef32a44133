//go:build !purego

// Reference: STYLE.md habit 1 (each fast kernel beside its plain Go); cpu_arm64.go (SDOT and its fallback).

package kernel

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// neonVariants lists, per integer kernel, its two arm64 forms, so that both
// run against the plain Go in one process whatever the CPU: the SDOT form
// only where the CPU (or qemu's -cpu) has FEAT_DotProd, the SMULL form
// always. The dispatched kernels are checked by the package's other tests.
type neonVariant struct {
	name    string
	wBytes  int // weight bytes per block of bs values
	xBytes  int // activation bytes per block
	bs      int
	sdot    func(nb int, w, x *byte) float32
	mull    func(nb int, w, x *byte) float32
	generic func(n int, w, x []byte) float32
	fix     func(r *rand.Rand, w, x []byte) // makes the scales finite
}

func neonVariants() []neonVariant {
	legacy := func(r *rand.Rand, w, x []byte, wb int) {
		for b := 0; b < len(x)/q8_0Bytes; b++ {
			binary.LittleEndian.PutUint16(x[b*q8_0Bytes:], FP32ToFP16(float32(r.NormFloat64())))
			binary.LittleEndian.PutUint16(w[b*wb:], FP32ToFP16(float32(r.NormFloat64()*1e-2)))
		}
	}
	v := []neonVariant{
		{"q8_0", q8_0Bytes, q8_0Bytes, QK, dotQ8_0SDOT, dotQ8_0MULL, dotQ8_0Generic,
			func(r *rand.Rand, w, x []byte) { legacy(r, w, x, q8_0Bytes) }},
		{"q4_0", q4_0Bytes, q8_0Bytes, QK, dotQ4_0SDOT, dotQ4_0MULL, dotQ4_0Generic,
			func(r *rand.Rand, w, x []byte) { legacy(r, w, x, q4_0Bytes) }},
	}
	for k := range Q4_0x8Rows { // every row of a packed group
		v = append(v, neonVariant{fmt.Sprintf("q4_0x8 row %d", k), q4_0x8Bytes, q8_0Bytes, QK,
			func(nb int, w, x *byte) float32 { var o [8]float32; dotQ4_0x8SDOT(nb, w, x, &o); return o[k] },
			func(nb int, w, x *byte) float32 { var o [8]float32; dotQ4_0x8MULL(nb, w, x, &o); return o[k] },
			func(n int, w, x []byte) float32 { var o [8]float32; dotQ4_0x8Generic(n/QK, w, x, &o); return o[k] },
			func(r *rand.Rand, w, x []byte) {
				legacy(r, make([]byte, len(x)), x, q8_0Bytes)
				for b := 0; b < len(w)/q4_0x8Bytes; b++ {
					for k := range 8 {
						binary.LittleEndian.PutUint16(w[b*q4_0x8Bytes+2*k:], FP32ToFP16(float32(r.NormFloat64()*1e-2)))
					}
				}
			}})
	}
	// The lane-order dots (dot_legacy_lanes.go): fp16 scales at the given
	// offsets of each weight and activation block.
	scales := func(wb, xb int, woffs, xoffs []int) func(r *rand.Rand, w, x []byte) {
		return func(r *rand.Rand, w, x []byte) {
			for b := 0; b < len(x)/xb; b++ {
				for _, o := range woffs {
					binary.LittleEndian.PutUint16(w[b*wb+o:], FP32ToFP16(float32(r.NormFloat64()*1e-2)))
				}
				for _, o := range xoffs {
					binary.LittleEndian.PutUint16(x[b*xb+o:], FP32ToFP16(float32(r.NormFloat64())))
				}
			}
		}
	}
	v = append(v,
		neonVariant{"q4_1", q4_1Bytes, q8_1Bytes, QK, dotQ4_1SDOT, dotQ4_1MULL, dotQ4_1Generic, scales(q4_1Bytes, q8_1Bytes, []int{0, 2}, []int{0, 2})},
		neonVariant{"q5_0", q5_0Bytes, q8_0Bytes, QK, dotQ5_0SDOT, dotQ5_0MULL, dotQ5_0Generic, scales(q5_0Bytes, q8_0Bytes, []int{0}, []int{0})},
		neonVariant{"q5_1", q5_1Bytes, q8_1Bytes, QK, dotQ5_1SDOT, dotQ5_1MULL, dotQ5_1Generic, scales(q5_1Bytes, q8_1Bytes, []int{0, 2}, []int{0, 2})},
		neonVariant{"iq4_nl", iq4nlBytes, q8_0Bytes, QK, dotIQ4_NLSDOT, dotIQ4_NLMULL, dotIQ4_NLGeneric, scales(iq4nlBytes, q8_0Bytes, []int{0}, []int{0})},
		neonVariant{"iq4_nl tinyBLAS", iq4nlBytes, q8_0Bytes, QK, dotIQ4_NLTBSDOT, dotIQ4_NLTBMULL, dotIQ4_NLTinyBLASGeneric, scales(iq4nlBytes, q8_0Bytes, []int{0}, []int{0})},
	)
	return append(v, neonKVariants()...)
}

// TestNEONVariantsMatchGeneric: both forms of each integer kernel give the
// plain Go's bits over 1…40 blocks and 67, on random codes and on every
// code at its extreme (0xFF bytes, −1 or 15 or 63; activations ±127).
func TestNEONVariantsMatchGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, c := range neonVariants() {
		t.Run(c.name, func(t *testing.T) {
			for _, nb := range append(seqN(41)[1:], 67) {
				for try := range 3 {
					w, x := make([]byte, nb*c.wBytes), make([]byte, nb*c.xBytes)
					for i := range w {
						w[i] = byte(r.Uint32())
						if try == 2 {
							w[i] = 0xFF
						}
					}
					for i := range x {
						x[i] = byte(int8(r.IntN(255) - 127))
						if try == 2 {
							x[i] = 127
						}
					}
					c.fix(r, w, x)
					want := c.generic(nb*c.bs, w, x)
					forms := []struct {
						name string
						f    func(nb int, w, x *byte) float32
					}{{"smull", c.mull}}
					if dotprodOK {
						forms = append(forms, struct {
							name string
							f    func(nb int, w, x *byte) float32
						}{"sdot", c.sdot})
					}
					for _, f := range forms {
						if got := f.f(nb, &w[0], &x[0]); math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("%s, %d blocks, try %d: %v (%#x), plain Go %v (%#x)", f.name, nb, try,
								got, math.Float32bits(got), want, math.Float32bits(want))
						}
					}
				}
			}
			if !dotprodOK {
				t.Logf("no FEAT_DotProd here: the SDOT form was not run")
			}
		})
	}
}
