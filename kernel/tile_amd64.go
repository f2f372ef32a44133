//go:build !purego

// Reference: ggml/src/ggml-cpu/llamafile/sgemm.cpp (tinyBLAS: register tiles that reuse each loaded
// vector across several dot products).

package kernel

// Tiles reports whether the TileF32/F16/BF16/Q8_0/Q4_0/Q4_K/Q5_K/Q6_K kernels may be
// called: they are assembly, for AVX2+FMA+F16C machines only. The plain-Go
// equivalent of a tile is four calls of the matching Dot function.
func Tiles() bool { return hasAVX2FMA && f16cOK }

func init() {
	if Tiles() {
		useAsm("tiles")
	}
}

// TileF32 computes four dot products of one weight row with four activation
// rows xStride bytes apart, loading each weight vector once for all four:
//
//	out[j*outStride] = DotF32(n, w, x[j*xStride:])   (j < 4)
//
// (outStride is the distance of MatMul's output rows). Each product is
// computed in exactly the order DotF32's assembly uses, so the results are
// bit for bit those of four DotF32 calls: a prompt gives the logits that
// token-by-token decoding gives.
func TileF32(n int, w, x []byte, xStride int, out []float32, outStride int) {
	var t [4]float32
	if tileCheck(n, 4*n, 4*n, w, x, xStride, out, outStride) {
		tileF32Asm(n, &w[0], &x[0], xStride, &t)
	}
	scatter(&t, out, outStride)
}

// TileF16 is TileF32 for half-precision weights:
// out[j*outStride] = DotF16(n, w, x[j*xStride:]).
func TileF16(n int, w, x []byte, xStride int, out []float32, outStride int) {
	var t [4]float32
	if tileCheck(n, 2*n, 4*n, w, x, xStride, out, outStride) {
		tileF16Asm(n, &w[0], &x[0], xStride, &t)
	}
	scatter(&t, out, outStride)
}

// TileBF16 is TileF32 for bfloat16 weights:
// out[j*outStride] = DotBF16(n, w, x[j*xStride:]).
func TileBF16(n int, w, x []byte, xStride int, out []float32, outStride int) {
	var t [4]float32
	if tileCheck(n, 2*n, 4*n, w, x, xStride, out, outStride) {
		tileBF16Asm(n, &w[0], &x[0], xStride, &t)
	}
	scatter(&t, out, outStride)
}

// TileQ4_K is TileF32 for Q4_K weights against Q8_K activations (n a
// multiple of 256, rows of 292-byte blocks xStride bytes apart):
// out[j*outStride] = DotQ4_K(n, w, x[j*xStride:]), bit for bit.
func TileQ4_K(n int, w, x []byte, xStride int, out []float32, outStride int) {
	var t [4]float32
	if nb := n / QKK; tileCheck(nb, nb*blockQ4KBytes, nb*BlockQ8KBytes, w, x, xStride, out, outStride) {
		if vnniTiles {
			tileQ4_KVNNIAsm(nb, &w[0], &x[0], xStride, &t)
		} else {
			tileQ4_KAsm(nb, &w[0], &x[0], xStride, &t)
		}
	}
	scatter(&t, out, outStride)
}

// TileQ5_K is TileQ4_K for Q5_K weights:
// out[j*outStride] = DotQ5_K(n, w, x[j*xStride:]), bit for bit.
func TileQ5_K(n int, w, x []byte, xStride int, out []float32, outStride int) {
	var t [4]float32
	if nb := n / QKK; tileCheck(nb, nb*blockQ5KBytes, nb*BlockQ8KBytes, w, x, xStride, out, outStride) {
		if vnniTiles {
			tileQ5_KVNNIAsm(nb, &w[0], &x[0], xStride, &t)
		} else {
			tileQ5_KAsm(nb, &w[0], &x[0], xStride, &t)
		}
	}
	scatter(&t, out, outStride)
}

// TileQ6_K is TileQ4_K for Q6_K weights:
// out[j*outStride] = DotQ6_K(n, w, x[j*xStride:]), bit for bit.
func TileQ6_K(n int, w, x []byte, xStride int, out []float32, outStride int) {
	var t [4]float32
	if nb := n / QKK; tileCheck(nb, nb*blockQ6KBytes, nb*BlockQ8KBytes, w, x, xStride, out, outStride) {
		if vnniTiles {
			tileQ6_KVNNIAsm(nb, &w[0], &x[0], xStride, &t)
		} else {
			tileQ6_KAsm(nb, &w[0], &x[0], xStride, &t)
		}
	}
	scatter(&t, out, outStride)
}

// TileQ8_0 is TileF32 for Q8_0 weights against Q8_0 activations (n a
// multiple of 32, rows of 34-byte blocks xStride bytes apart):
// out[j*outStride] = DotQ8_0(n, w, x[j*xStride:]), bit for bit. xd holds
// the four rows' block scales as float32, as Q8_0Scales4 makes them: the
// tile reads them from there rather than converting four halves from four
// rows for every block, which was about 40 % of its time (timed by leaving
// that work out).
func TileQ8_0(n int, w, x []byte, xStride int, xd, out []float32, outStride int) {
	var t [4]float32
	if nb := n / QK; tileCheck(nb, nb*q8_0Bytes, nb*q8_0Bytes, w, x, xStride, out, outStride) {
		_ = xd[4*nb-1]
		if vnniTiles {
			tileQ8_0VNNIAsm(nb, &w[0], &x[0], xStride, &xd[0], &t)
		} else {
			tileQ8_0Asm(nb, &w[0], &x[0], xStride, &xd[0], &t)
		}
	}
	scatter(&t, out, outStride)
}

// TileQ4_0 is TileQ8_0 for Q4_0 weights:
// out[j*outStride] = DotQ4_0(n, w, x[j*xStride:]), bit for bit.
func TileQ4_0(n int, w, x []byte, xStride int, xd, out []float32, outStride int) {
	var t [4]float32
	if nb := n / QK; tileCheck(nb, nb*q4_0Bytes, nb*q8_0Bytes, w, x, xStride, out, outStride) {
		_ = xd[4*nb-1]
		tileQ4_0Asm(nb, &w[0], &x[0], xStride, &xd[0], &t)
	}
	scatter(&t, out, outStride)
}

// tileF32Asm computes, in the order of dotF32Asm for each product:
//
//	for j := 0; j < 4; j++ {
//		var s float32
//		for k := 0; k < n; k++ {
//			s += w[4k] * x[j*xStride+4k] // float32 at those byte offsets
//		}
//		out[j] = s
//	}
//
//go:noescape
func tileF32Asm(n int, w, x *byte, xStride int, out *[4]float32)

// tileF16Asm is tileF32Asm with half-precision weights (w[2k] widened by F16C),
// in the order of dotF16Asm.
//
//go:noescape
func tileF16Asm(n int, w, x *byte, xStride int, out *[4]float32)

// tileBF16Asm is tileF32Asm with bfloat16 weights (w[2k] widened by a 16-bit
// shift), in the order of dotBF16Asm.
//
//go:noescape
func tileBF16Asm(n int, w, x *byte, xStride int, out *[4]float32)

// tileQ4_KAsm computes, with the operations of dotQ4_KAsm for each product:
//
//	for j := 0; j < 4; j++ {
//		out[j] = dotQ4_KAsm(nb, w, x + j*xStride)
//	}
//
// sharing between the four rows the unpacking of each super-block's scales,
// mins and nibbles and the conversion of its d and dmin.
//
//go:noescape
func tileQ4_KAsm(nb int, w, x *byte, xStride int, out *[4]float32)

// tileQ6_KAsm computes, with the operations of dotQ6_KAsm for each product:
//
//	for j := 0; j < 4; j++ {
//		out[j] = dotQ6_KAsm(nb, w, x + j*xStride)
//	}
//
// building each run of 32 quants from its low and high bits once for the
// four rows.
//
//go:noescape
func tileQ6_KAsm(nb int, w, x *byte, xStride int, out *[4]float32)

// tileQ8_0Asm computes, with the operations of dotQ8_0Asm for each product:
//
//	for j := 0; j < 4; j++ {
//		out[j] = dotQ8_0Asm(nb, w, x + j*xStride)
//	}
//
// loading each weight block, its |w| and its scale once for the four rows,
// and the rows' scales as four float32 (xd[4i..4i+3]) per block.
//
//go:noescape
func tileQ8_0Asm(nb int, w, x *byte, xStride int, xd *float32, out *[4]float32)

// tileQ4_0Asm computes, with the operations of dotQ4_0Asm for each product:
//
//	for j := 0; j < 4; j++ {
//		out[j] = dotQ4_0Asm(nb, w, x + j*xStride)
//	}
//
// splitting each weight block into q−8 and |q−8| once for the four rows and
// accumulating the four products in the lanes of one vector; the rows'
// scales are read as float32 from xd, as in tileQ8_0Asm.
//
//go:noescape
func tileQ4_0Asm(nb int, w, x *byte, xStride int, xd *float32, out *[4]float32)

// tileQ5_KAsm is tileQ4_KAsm for Q5_K, with the operations of dotQ5_KAsm:
//
//	for j := 0; j < 4; j++ {
//		out[j] = dotQ5_KAsm(nb, w, x + j*xStride)
//	}
//
//go:noescape
func tileQ5_KAsm(nb int, w, x *byte, xStride int, out *[4]float32)

// tileCheck checks that w holds wBytes, that x holds four rows of xBytes
// xStride apart without overlap, and that out has the four slots; it panics
// (a programmer error) otherwise, and reports whether there is any work.
// The callers keep the result array on their stack and hand it straight to
// the assembly (go:noescape), so a tile allocates nothing.
func tileCheck(units, wBytes, xBytes int, w, x []byte, xStride int, out []float32, outStride int) bool {
	_ = out[3*outStride]
	if units <= 0 {
		return false
	}
	if xStride < xBytes {
		panic("kernel: tile activation rows overlap")
	}
	_, _ = w[:wBytes], x[:3*xStride+xBytes]
	return true
}

// scatter writes a tile's four results to their output rows.
func scatter(t *[4]float32, out []float32, outStride int) {
	for j, v := range t {
		out[j*outStride] = v
	}
}
