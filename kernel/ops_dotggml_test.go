package kernel

import (
	"encoding/binary"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// fmaRef is a·b+c rounded once to float32 (ties to even), with math/big.
func fmaRef(a, b, c float32) float32 {
	p := new(big.Float).SetPrec(200).Mul(big.NewFloat(float64(a)).SetPrec(200), big.NewFloat(float64(b)).SetPrec(200))
	p.Add(p, big.NewFloat(float64(c)).SetPrec(200))
	f, _ := p.Float32()
	return f
}

func TestFMA32xRoundsOnce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	// Double-rounding ties: a·b = 1 + 2⁻²⁴ + 2⁻⁶⁰-ish cases come from
	// products whose low bits sit just past a float32 half-way point.
	cases := [][3]float32{
		{1 + 0x1p-23, 1 + 0x1p-23, -1},
		{1 + 0x1p-12, 1 + 0x1p-12, 0x1p-48},
		{1 + 0x1p-12, 1 + 0x1p-12, -0x1p-48},
		{3, 1 + 0x1p-23, 0x1p-60},
	}
	for range 200000 {
		a, b := float32(r.NormFloat64()), float32(r.NormFloat64())
		c := float32(r.NormFloat64() * math.Ldexp(1, r.IntN(60)-30))
		cases = append(cases, [3]float32{a, b, c})
		// Near-tie construction: c cancels a·b's high part.
		hi := float32(float64(a) * float64(b))
		cases = append(cases, [3]float32{a, b, -hi + float32(math.Ldexp(1, -30))*hi})
	}
	for _, c := range cases {
		if got, want := fma32x(c[0], c[1], c[2]), fmaRef(c[0], c[1], c[2]); got != want {
			t.Fatalf("fma32x(%g, %g, %g) = %g, want %g", c[0], c[1], c[2], got, want)
		}
	}
}

func TestDotF32Orders(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{8, 32, 64, 256, 264, 1000} {
		w, x := make([]float32, n), make([]float32, n)
		for i := range w {
			w[i], x[i] = float32(r.NormFloat64()), float32(r.NormFloat64()*100)
		}
		var ref float64
		for i := range w {
			ref += float64(w[i]) * float64(x[i])
		}
		// tinyBLAS: eight single-FMA lanes, folded as hsum(__m256).
		if n%8 == 0 {
			var l [8]float32
			for i := 0; i < n; i += 8 {
				for m := range 8 {
					l[m] = fmaRef(w[i+m], x[i+m], l[m])
				}
			}
			want := ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]))
			if got := DotF32TinyBLAS(w, x); got != want {
				t.Errorf("n=%d: DotF32TinyBLAS = %g, want %g", n, got, want)
			}
		}
		// ggml_vec_dot_f32: four accumulators, GGML_F32x8_REDUCE, float64 tail.
		var acc [4][8]float32
		np := n / 32 * 32
		for i := 0; i < np; i += 32 {
			for j := range 4 {
				for m := range 8 {
					acc[j][m] = fmaRef(w[i+8*j+m], x[i+8*j+m], acc[j][m])
				}
			}
		}
		var l [8]float32
		for m := range 8 {
			l[m] = (acc[0][m] + acc[2][m]) + (acc[1][m] + acc[3][m])
		}
		s := float64(((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7])))
		for i := np; i < n; i++ {
			s += float64(w[i] * x[i])
		}
		if got := DotF32GGML(w, x); got != float32(s) {
			t.Errorf("n=%d: DotF32GGML = %g, want %g", n, got, float32(s))
		}
		if got := DotF32GGML(w, x); math.Abs(float64(got)-ref) > 1e-4*math.Sqrt(float64(n))*100 {
			t.Errorf("n=%d: DotF32GGML = %g, float64 sum %g", n, got, ref)
		}
	}
}

// TestGELUF16Table: llama.cpp's half-precision GELU table, built by C with
// 1 + a·x·x fused into an FMA, differs from the unfused float32 formula in
// exactly one entry over (-10, 10); GELUF16 has llama.cpp's value there.
// (Compared exhaustively with the table from glibc 2.36's tanhf, gcc -O3
// -march=native: all 65536 entries agree.)
func TestGELUF16Table(t *testing.T) {
	var diff []float32
	for i := range 1 << 16 {
		x := FP16ToFP32(uint16(i))
		if !(x > -10 && x < 10) {
			continue
		}
		if FP32ToFP16(geluTanh(x)) != FP32ToFP16(geluTanhGGML(x)) {
			diff = append(diff, x)
		}
	}
	if len(diff) != 1 || diff[0] != -1.9990234375 {
		t.Fatalf("entries where the fused formula differs: %v, want [-1.9990234375]", diff)
	}
	out := []float32{0}
	GELUF16(out, []float32{-1.9990234375})
	if FP32ToFP16(out[0]) != FP32ToFP16(-0.04550171) {
		t.Fatalf("GELUF16(-1.9990234) = %g, want llama.cpp's -0.04550171", out[0])
	}
}

// TestDotF32OrdersMatchGeneric: the selected DotF32TinyBLAS, DotF32GGML
// and TileF32TinyBLAS (AVX2 assembly where the CPU allows) give the plain-Go
// loops' bits for every length up to 300, with values over a wide range of
// magnitudes so that the FMAs' roundings matter; a tile gives four dots.
func TestDotF32OrdersMatchGeneric(t *testing.T) {
	skipUnlessAsm(t, "f32-llama.cpp-order")
	r := rand.New(rand.NewPCG(11, 12))
	for n := range 301 {
		stride := n + r.IntN(9)
		w, x := make([]float32, n), make([]float32, 3*stride+n)
		for i := range w {
			w[i] = float32(r.NormFloat64() * math.Ldexp(1, r.IntN(20)-10))
		}
		for i := range x {
			x[i] = float32(r.NormFloat64() * math.Ldexp(1, r.IntN(20)-10))
		}
		n8 := n &^ 7
		if got, want := DotF32TinyBLAS(w[:n8], x), dotF32TinyBLASGeneric(w[:n8], x[:n8]); got != want {
			t.Fatalf("n=%d: DotF32TinyBLAS = %g, plain Go %g", n8, got, want)
		}
		np := n &^ 31
		want := float64(dotF32GGMLVecGeneric(w, x, np))
		for i := np; i < n; i++ {
			want += float64(w[i] * x[i])
		}
		if got := DotF32GGML(w, x[:n]); got != float32(want) {
			t.Fatalf("n=%d: DotF32GGML = %g, plain Go %g", n, got, float32(want))
		}
		var tile [4]float32
		TileF32TinyBLAS(w[:n8], x, stride, &tile)
		for j := range tile {
			if d := dotF32TinyBLASGeneric(w[:n8], x[j*stride:j*stride+n8]); tile[j] != d {
				t.Fatalf("n=%d, row %d: TileF32TinyBLAS = %g, dot %g", n8, j, tile[j], d)
			}
		}
	}
}

// TestDotF16GGMLIsF32GGMLWidened: DotF16GGML (assembly where the CPU
// allows) and its plain-Go vector part give DotF32GGML's bits for the
// widened weights, for every length up to 300, at odd byte offsets, with
// F16 values over a wide range of magnitudes; DotF16GGMLRows gives each
// row's dot.
func TestDotF16GGMLIsF32GGMLWidened(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	half := func() uint16 { return FP32ToFP16(float32(r.NormFloat64() * math.Ldexp(1, r.IntN(12)-6))) }
	for n := range 301 {
		const rows = 3
		off := n % 3
		wb, xb := make([]byte, off+2*n*rows), make([]byte, off+4*n)
		w, x := make([][]float32, rows), make([]float32, n)
		for i := range x {
			x[i] = FP16ToFP32(half())
			binary.LittleEndian.PutUint32(xb[off+4*i:], math.Float32bits(x[i]))
		}
		for k := range rows {
			w[k] = make([]float32, n)
			for i := range w[k] {
				h := half()
				w[k][i] = FP16ToFP32(h)
				binary.LittleEndian.PutUint16(wb[off+2*(k*n+i):], h)
			}
		}
		out := make([]float32, rows)
		DotF16GGMLRows(n, wb[off:], 2*n, xb[off:], out)
		for k := range rows {
			want := DotF32GGML(w[k], x)
			got := DotF16GGML(n, wb[off+2*k*n:], xb[off:])
			if math.Float32bits(got) != math.Float32bits(want) || math.Float32bits(out[k]) != math.Float32bits(want) {
				t.Fatalf("n=%d row %d: DotF16GGML = %g, rows %g, DotF32GGML %g", n, k, got, out[k], want)
			}
			np := n &^ 31
			if g, v := dotF16GGMLVecGeneric(np, wb[off+2*k*n:], xb[off:]), dotF32GGMLVecGeneric(w[k], x, np); math.Float32bits(g) != math.Float32bits(v) {
				t.Fatalf("n=%d row %d: plain-Go vector part %g, F32's %g", n, k, g, v)
			}
		}
	}
}
