// Reference: ggml/src/ggml-cpu/repack.cpp (ggml_gemm_q4_0_8x8_q8_0: eight packed Q4_0 rows times four
// activation rows per pass); the layout is dot_q4_0x8.go's.

package kernel

// TileQ4_0x8 multiplies one packed group of eight Q4_0 rows (w, n/32·144
// bytes) by four Q8_0 activation rows xStride bytes apart:
//
//	out[j*outStride+r] = DotQ4_0x8Rows(n, w, x[j*xStride:], out[j*outStride:][:8])[r]   (j < 4, r < 8)
//
// bit for bit, as four DotQ4_0x8Rows calls give it (each row's arithmetic
// is DotQ4_0's); where the CPU has AVX512-VNNI one kernel call unpacks each
// block's nibbles once for the four activation rows. This is what a
// prompt's packed Q4_0 matmul runs.
func TileQ4_0x8(n int, w, x []byte, xStride int, out []float32, outStride int) {
	nb := n / QK
	_ = out[3*outStride+Q4_0x8Rows-1]
	if nb == 0 {
		for j := range 4 {
			clear(out[j*outStride : j*outStride+Q4_0x8Rows])
		}
		return
	}
	if xStride < nb*q8_0Bytes {
		panic("kernel: TileQ4_0x8: activation rows overlap")
	}
	_, _ = w[:nb*q4_0x8Bytes], x[:3*xStride+nb*q8_0Bytes]
	tileQ4_0x8(nb, w, x, xStride, out, outStride)
}

var tileQ4_0x8 = tileQ4_0x8Rows

// tileQ4_0x8Rows is the tile as four group dots.
func tileQ4_0x8Rows(nb int, w, x []byte, xStride int, out []float32, outStride int) {
	for j := range 4 {
		dotQ4_0x8(nb, w, x[j*xStride:], (*[Q4_0x8Rows]float32)(out[j*outStride:j*outStride+Q4_0x8Rows]))
	}
}
