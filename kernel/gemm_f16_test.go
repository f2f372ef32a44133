package kernel

import (
	"encoding/binary"
	"math"
	"math/rand"
	"testing"
)

// halfRows returns n rows of ld random half (or bfloat16) values, of order 1,
// with a sprinkling of zeros, subnormals, infinities and NaNs when special.
func halfRows(r *rand.Rand, bf16 bool, n, ld int, special bool) []byte {
	b := make([]byte, 2*n*ld)
	for i := 0; i < n*ld; i++ {
		v := r.Float32()*4 - 2
		var h uint16
		if bf16 {
			h = FP32ToBF16(v)
		} else {
			h = FP32ToFP16(v)
		}
		if special && r.Intn(8) == 0 {
			h = []uint16{0, 0x8000, 0x0001, 0x83ff, 0x7c00, 0xfc00, 0x7e00, 0x7c01, 0x7f80, 0xff81}[r.Intn(10)]
		}
		binary.LittleEndian.PutUint16(b[2*i:], h)
	}
	return b
}

// widenRows returns the float32 values of halfRows' output.
func widenRows(bf16 bool, b []byte) []float32 {
	f := make([]float32, len(b)/2)
	for i := range f {
		h := binary.LittleEndian.Uint16(b[2*i:])
		if bf16 {
			f[i] = BF16ToFP32(h)
		} else {
			f[i] = FP16ToFP32(h)
		}
	}
	return f
}

// sameFloat: equal bits, or both NaN (VCVTPH2PS quiets a signalling NaN,
// FP16ToFP32 keeps it as it is).
func sameFloat(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

// The assembly panel packing gives the Go loop's values, for every panel
// width and k count (whole groups of eight through the assembly, the rest
// in Go), and writes nothing past the packed block.
func TestPackBHalfMatchesGo(t *testing.T) {
	if packHalfPanel == nil {
		t.Skip("no assembly packing on this CPU or build")
	}
	r := rand.New(rand.NewSource(7))
	for _, bf16 := range []bool{false, true} {
		for _, kc := range []int{1, 7, 8, 9, 16, 23, 64, 255, 256} {
			for _, nc := range []int{1, 15, 16, 17, 33, 48, 70} {
				const pc, jc = 3, 2
				ldb := pc + kc + 5
				B := halfRows(r, bf16, jc+nc, ldb, true)
				Bcopy := append([]byte(nil), B...)
				panels := (nc + gemmNR - 1) / gemmNR
				const guard = float32(-777.25)
				got := make([]float32, panels*gemmNR*kc+9)
				want := make([]float32, len(got))
				for i := range got {
					got[i], want[i] = guard, guard
				}
				packBHalf(bf16, B, ldb, pc, kc, jc, nc, got)
				pack := packHalfPanel
				packHalfPanel = nil
				packBHalf(bf16, B, ldb, pc, kc, jc, nc, want)
				packHalfPanel = pack
				for i := range got {
					if !sameFloat(got[i], want[i]) {
						t.Fatalf("bf16 %v kc %d nc %d: dst[%d] = %v (%#x), Go gives %v (%#x)", bf16, kc, nc, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
					}
				}
				if got[len(got)-1] != guard {
					t.Fatalf("bf16 %v kc %d nc %d: guard overwritten", bf16, kc, nc)
				}
				if string(B) != string(Bcopy) {
					t.Fatal("B modified")
				}
			}
		}
	}
}

// GemmF16Range and GemmBF16Range give GemmF32Range's bits on the widened
// weights (so its float64 test covers their accuracy too), for every
// micro-kernel, shapes past every block size, any split of C, and touch
// nothing of C outside the block.
func TestGemmHalfMatchesF32(t *testing.T) {
	gemmKernels(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(8))
		sizes := []int{1, 2, 5, 6, 7, 13, 16, 17, 31, 33, 70}
		type shape struct{ M, N, K int }
		var shapes []shape
		for range 30 {
			shapes = append(shapes, shape{sizes[r.Intn(len(sizes))], sizes[r.Intn(len(sizes))], sizes[r.Intn(len(sizes))]})
		}
		shapes = append(shapes, shape{gemmMC + 7, gemmNC + 21, 2*gemmKC + 3}, shape{20, gemmNC + 32, gemmKC + 8}, shape{3, 5, 0})
		for _, bf16 := range []bool{false, true} {
			gemm := GemmF16Range
			if bf16 {
				gemm = GemmBF16Range
			}
			for _, s := range shapes {
				lda, ldb, ldc := s.K+3, s.K+5, s.N+2
				A := make([]float32, s.M*lda)
				for i := range A {
					A[i] = r.Float32()*2 - 1
				}
				B := halfRows(r, bf16, s.N, ldb, false)
				want := make([]float32, s.M*ldc)
				GemmF32Range(false, true, s.M, s.N, s.K, A, lda, widenRows(bf16, B), ldb, want, ldc, false, 0, s.M, 0, s.N)
				for _, bs := range [][2]int{{s.M, s.N}, {7, 40}} {
					const guard = float32(-12345.5)
					got := make([]float32, s.M*ldc)
					for i := range got {
						got[i] = guard
					}
					for m0 := 0; m0 < s.M; m0 += bs[0] {
						for n0 := 0; n0 < s.N; n0 += bs[1] {
							gemm(s.M, s.N, s.K, A, lda, B, ldb, got, ldc, m0, min(m0+bs[0], s.M), n0, min(n0+bs[1], s.N))
						}
					}
					for i := range got {
						if i%ldc >= s.N {
							if got[i] != guard {
								t.Fatalf("bf16 %v %v: guard C[%d] overwritten", bf16, s, i)
							}
							continue
						}
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("bf16 %v %v blocks %v: C[%d] = %v, GemmF32Range gives %v", bf16, s, bs, i, got[i], want[i])
						}
					}
				}
			}
		}
	})
}

// halfTestRows returns rows of every length 0…69 mixing random magnitudes
// with the conversions' edge cases (ties, overflow, subnormals, ±Inf, NaNs
// with payloads).
func halfTestRows(seed int64) [][]float32 {
	r := rand.New(rand.NewSource(seed))
	specials := []float32{0, float32(math.Copysign(0, -1)), 65504, 65519.99, 65520, -70000, 1e-8, -3e-5, 6.1e-5, 2.98e-8, 1e-45,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), math.Float32frombits(0x7f800001), math.Float32frombits(0xffc00123),
		1 + 0x1p-11, 1 + 3*0x1p-11, 1 + 0x1p-8, 1 + 3*0x1p-8, math.MaxFloat32, 3.3895e38}
	rows := make([][]float32, 70)
	for n := range rows {
		src := make([]float32, n)
		for i := range src {
			if r.Intn(4) == 0 {
				src[i] = specials[r.Intn(len(specials))]
			} else {
				src[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.Intn(12)-6)))
			}
		}
		rows[n] = src
	}
	return rows
}

// RoundF16Into and RoundBF16Into give the scalar conversions' values, in
// place or not, for every length's tail; NaN stays NaN.
func TestRoundHalfInto(t *testing.T) {
	for _, bf16 := range []bool{false, true} {
		round, scalar := RoundF16Into, func(v float32) float32 { return FP16ToFP32(FP32ToFP16(v)) }
		if bf16 {
			round, scalar = RoundBF16Into, func(v float32) float32 { return BF16ToFP32(FP32ToBF16(v)) }
		}
		for n, src := range halfTestRows(9) {
			dst := make([]float32, n+1)
			dst[n] = 42
			round(dst[:n], src)
			inPlace := append([]float32(nil), src...)
			round(inPlace, inPlace)
			for i, v := range src {
				want := scalar(v)
				if !sameFloat(dst[i], want) || !sameFloat(inPlace[i], want) {
					t.Fatalf("bf16 %v n %d: round(%v = %#x) = %v, in place %v, want %v", bf16, n, v, math.Float32bits(v), dst[i], inPlace[i], want)
				}
			}
			if dst[n] != 42 {
				t.Fatal("wrote past the end")
			}
		}
	}
}

// FP32ToFP16Bytes stores FP32ToFP16 of every value (a NaN as some NaN),
// for every length's tail, and nothing past 2·len(src) bytes.
func TestFP32ToFP16Bytes(t *testing.T) {
	for n, src := range halfTestRows(10) {
		dst := make([]byte, 2*n+1)
		dst[2*n] = 42
		FP32ToFP16Bytes(dst, src)
		for i, v := range src {
			got, want := binary.LittleEndian.Uint16(dst[2*i:]), FP32ToFP16(v)
			if got != want && !(v != v && got&0x7c00 == 0x7c00 && got&0x3ff != 0) {
				t.Fatalf("n %d: FP32ToFP16Bytes(%v = %#x) = %#04x, want %#04x", n, v, math.Float32bits(v), got, want)
			}
		}
		if dst[2*n] != 42 {
			t.Fatal("wrote past the end")
		}
	}
}

func BenchmarkGemmF16(b *testing.B) {
	for _, s := range []struct {
		name    string
		M, N, K int
	}{
		{"prefill_512x2048x768", 512, 2048, 768},
		{"prefill_32x2048x768", 32, 2048, 768},
	} {
		b.Run(s.name, func(b *testing.B) {
			A := make([]float32, s.M*s.K)
			for i := range A {
				A[i] = float32(i%7) - 3
			}
			B := halfRows(rand.New(rand.NewSource(1)), false, s.N, s.K, false)
			C := make([]float32, s.M*s.N)
			for b.Loop() {
				GemmF16Range(s.M, s.N, s.K, A, s.K, B, s.K, C, s.N, 0, s.M, 0, s.N)
			}
			b.ReportMetric(2*float64(s.M)*float64(s.N)*float64(s.K)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// GemmHalfLanes8Range gives, element by element, DotF32TinyBLAS of the
// widened weight row and the activation row (llama.cpp's tinyBLAS order),
// bit for bit, in assembly and in Go, for edge tiles on both sides and any
// split of C; nothing outside the block is written.
func TestGemmHalfLanes8(t *testing.T) {
	r := rand.New(rand.NewSource(10))
	type shape struct{ M, N, K int }
	shapes := []shape{{1, 1, 8}, {2, 3, 16}, {3, 4, 8}, {4, 5, 24}, {7, 9, 64}, {13, 67, 264}, {5, 130, 512}, {6, 8, 0}}
	for _, asm := range []bool{true, false} {
		if !asm {
			restore := noLanesAsm()
			defer restore()
		}
		for _, bf16 := range []bool{false, true} {
			for _, s := range shapes {
				lda, ldb, ldc := s.K+3, s.K+5, s.N+2
				A := make([]float32, s.M*lda)
				for i := range A {
					A[i] = r.Float32()*2 - 1 // not rounded to half: the FMAs must still agree
				}
				B := halfRows(r, bf16, s.N, ldb, false)
				Bf := widenRows(bf16, B)
				for _, bs := range [][2]int{{s.M, s.N}, {2, 5}} {
					const guard = float32(-12345.5)
					got := make([]float32, s.M*ldc)
					for i := range got {
						got[i] = guard
					}
					for m0 := 0; m0 < s.M; m0 += bs[0] {
						for n0 := 0; n0 < s.N; n0 += bs[1] {
							GemmHalfLanes8Range(bf16, s.K, A, lda, B, ldb, got, ldc, m0, min(m0+bs[0], s.M), n0, min(n0+bs[1], s.N))
						}
					}
					for i := range s.M {
						for j := range ldc {
							g := got[i*ldc+j]
							if j >= s.N {
								if g != guard {
									t.Fatalf("asm %v bf16 %v %v: guard C[%d,%d] overwritten", asm, bf16, s, i, j)
								}
								continue
							}
							want := DotF32TinyBLAS(Bf[j*ldb:j*ldb+s.K], A[i*lda:i*lda+s.K])
							if math.Float32bits(g) != math.Float32bits(want) {
								t.Fatalf("asm %v bf16 %v %v blocks %v: C[%d,%d] = %v, want %v", asm, bf16, s, bs, i, j, g, want)
							}
						}
					}
				}
			}
		}
	}
}

func BenchmarkGemmHalfLanes8(b *testing.B) {
	for _, s := range []struct {
		name    string
		M, N, K int
	}{
		{"prefill_512x2048x768", 512, 2048, 768},
		{"prefill_32x2048x768", 32, 2048, 768},
	} {
		b.Run(s.name, func(b *testing.B) {
			A := make([]float32, s.M*s.K)
			for i := range A {
				A[i] = float32(i%7) - 3
			}
			B := halfRows(rand.New(rand.NewSource(1)), false, s.N, s.K, false)
			C := make([]float32, s.M*s.N)
			for b.Loop() {
				GemmHalfLanes8Range(false, s.K, A, s.K, B, s.K, C, s.N, 0, s.M, 0, s.N)
			}
			b.ReportMetric(2*float64(s.M)*float64(s.N)*float64(s.K)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
