// Reference: the summation orders of llama.cpp's tinyBLAS (sgemm.cpp) and ggml_vec_dot_f16 (AVX2), written
// as plain index arithmetic; STYLE.md habit 1 (lengths, offsets, guards).

package kernel_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/gptgo/gptgo/kernel"
)

type halfDot struct {
	name          string
	selected, ref func([]byte, []float32) float32
}

var halfDots = []halfDot{
	{"lanes8", kernel.DotHalvesLanes8, kernel.RefDotHalvesLanes8},
	{"vec", kernel.DotHalvesVec, kernel.RefDotHalvesVec},
}

// refLanes accumulates w[i]·x[i] into lane i mod lanes.
func refLanes(w []byte, x []float32, lanes int) []float32 {
	acc := make([]float32, lanes)
	for i := range x {
		acc[i%lanes] += kernel.FP16ToFP32(uint16(w[2*i])|uint16(w[2*i+1])<<8) * x[i]
	}
	return acc
}

// The dots, selected and plain Go, must give exactly the sums of these
// direct statements of the two orders, for every length (full steps, tails,
// empty).
func TestDotHalvesOrders(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for n := 0; n < 200; n++ {
		w := make([]byte, 2*n)
		x := make([]float32, n)
		var exact float64
		for i := range x {
			h := kernel.FP32ToFP16(float32(r.NormFloat64()))
			w[2*i], w[2*i+1] = byte(h), byte(h>>8)
			x[i] = kernel.FP16ToFP32(kernel.FP32ToFP16(float32(r.NormFloat64())))
			exact += float64(kernel.FP16ToFP32(h)) * float64(x[i])
		}
		l := refLanes(w, x, 8)
		a, b, c, d := l[0]+l[4], l[1]+l[5], l[2]+l[6], l[3]+l[7]
		want8 := (a + c) + (b + d)
		acc := refLanes(w, x, 32)
		var v [8]float32
		for m := range 8 {
			v[m] = (acc[m] + acc[16+m]) + (acc[8+m] + acc[24+m])
		}
		a, b, c, d = v[0]+v[4], v[1]+v[5], v[2]+v[6], v[3]+v[7]
		wantVec := (a + b) + (c + d)
		for _, f := range halfDots {
			want := want8
			if f.name == "vec" {
				want = wantVec
			}
			for kind, dot := range map[string]func([]byte, []float32) float32{"selected": f.selected, "generic": f.ref} {
				got := dot(w, x)
				if math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("%s %s, n %d: %v, want %v", f.name, kind, n, got, want)
				}
				// The dot product, to float32 rounding of n terms.
				if math.Abs(float64(got)-exact) > 1e-6*float64(n+1)*math.Max(1, math.Abs(exact)) {
					t.Fatalf("%s %s, n %d: %v, exact %v", f.name, kind, n, got, exact)
				}
			}
		}
	}
}

// randHalf draws a finite half: mostly normal values of either sign, with
// zeros of both signs, subnormals and the extremes mixed in.
func randHalf(r *rand.Rand) uint16 {
	switch r.IntN(16) {
	case 0:
		return uint16(r.IntN(2)) << 15 // ±0
	case 1:
		return uint16(r.IntN(2))<<15 | uint16(1+r.IntN(0x3ff)) // subnormal
	case 2:
		return uint16(r.IntN(2))<<15 | 0x7bff - uint16(r.IntN(4)) // near ±65504
	default:
		return kernel.FP32ToFP16(float32(r.NormFloat64() * math.Exp2(float64(r.IntN(16)-8))))
	}
}

// The selected half dots are bit-identical to the plain-Go ones over every
// length 0…67 and a large odd one, at byte offsets 0…3 of the halves and
// element offsets 0…2 of x, read only their inputs (guards intact, inputs
// unchanged); also on rows whose every product is a zero of either sign.
func TestDotHalvesMatchGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	const guard = 64
	lengths := make([]int, 0, 70)
	for n := 0; n <= 67; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 1001)
	for _, n := range lengths {
		for mode := range 3 { // 0 random, 1 all products −0, 2 products ±0
			for wo := range 4 {
				xo := wo % 3
				wbuf := make([]byte, guard+wo+2*n+guard)
				xbuf := make([]float32, guard+xo+n+guard)
				for i := range wbuf {
					wbuf[i] = 0xfe // a NaN half in every aligned pair
				}
				for i := range xbuf {
					xbuf[i] = float32(math.NaN())
				}
				w := wbuf[guard+wo : guard+wo+2*n]
				x := xbuf[guard+xo : guard+xo+n]
				for i := range n {
					var h uint16
					var xv float32
					switch mode {
					case 0:
						h = randHalf(r)
						xv = kernel.FP16ToFP32(randHalf(r))
					case 1:
						h, xv = 0x8000, kernel.FP16ToFP32(randHalf(r))
						if xv < 0 || (xv == 0 && math.Signbit(float64(xv))) {
							xv = -xv
						}
					default:
						h = uint16(r.IntN(2)) << 15
						xv = float32(math.Copysign(0, float64(r.IntN(2)*2-1)))
					}
					w[2*i], w[2*i+1] = byte(h), byte(h>>8)
					x[i] = xv
				}
				w0, x0 := slices.Clone(wbuf), slices.Clone(xbuf)
				for _, f := range halfDots {
					got, want := f.selected(w, x), f.ref(w, x)
					if math.Float32bits(got) != math.Float32bits(want) {
						t.Fatalf("%s n %d mode %d offsets %d/%d: %v (%#08x), generic %v (%#08x)",
							f.name, n, mode, wo, xo, got, math.Float32bits(got), want, math.Float32bits(want))
					}
					if !bytes.Equal(wbuf, w0) || !slices.EqualFunc(xbuf, x0, func(a, b float32) bool {
						return math.Float32bits(a) == math.Float32bits(b)
					}) {
						t.Fatalf("%s n %d: inputs or guards changed", f.name, n)
					}
				}
			}
		}
	}
}

// DotHalvesLanes8Rows gives DotHalvesLanes8 of every row, bit for bit, for
// row counts 0…9 (whole groups of four and the rest), lengths 0…67 and a
// large odd one (every tail), strides wider than a row, and stops at its
// last row (a NaN guard after it would poison nothing, but a read past the
// slice would panic).
func TestDotHalvesLanes8Rows(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 12))
	for _, n := range append(seqInts(68), 1001) {
		for rows := range 10 {
			stride := 2*n + 2*r.IntN(5)
			w := make([]byte, max(0, (rows-1)*stride+2*n))
			for i := 0; i+1 < len(w); i += 2 {
				h := randHalf(r)
				w[i], w[i+1] = byte(h), byte(h>>8)
			}
			x := make([]float32, n)
			for i := range x {
				x[i] = kernel.FP16ToFP32(randHalf(r))
			}
			got := make([]float32, rows+1)
			got[rows] = 42
			kernel.DotHalvesLanes8Rows(got[:rows], w, stride, x)
			for j := range rows {
				want := kernel.DotHalvesLanes8(w[j*stride:], x)
				if math.Float32bits(got[j]) != math.Float32bits(want) {
					t.Fatalf("n %d rows %d stride %d: row %d = %v, DotHalvesLanes8 %v", n, rows, stride, j, got[j], want)
				}
			}
			if got[rows] != 42 {
				t.Fatal("wrote past dst")
			}
		}
	}
}

func seqInts(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func BenchmarkDotHalves(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{64, 511} {
		w := make([]byte, 2*n)
		x := make([]float32, n)
		for i := range x {
			h := randHalf(r)
			w[2*i], w[2*i+1] = byte(h), byte(h>>8)
			x[i] = kernel.FP16ToFP32(randHalf(r))
		}
		for _, f := range halfDots {
			for kind, dot := range map[string]func([]byte, []float32) float32{"selected": f.selected, "generic": f.ref} {
				b.Run(f.name+"/"+kind+"/n="+strconv.Itoa(n), func(b *testing.B) {
					var s float32
					for b.Loop() {
						s += dot(w, x)
					}
					_ = s
				})
			}
		}
	}
}
