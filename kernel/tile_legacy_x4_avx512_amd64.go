//go:build !purego

// Reference: Intel SDM vol. 2 (VPDPBUSD); ggml/src/ggml-cpu/llamafile/sgemm.cpp (tinyBLAS_Q0_AVX's
// register tiles of several weight rows by several activation rows, which llama.cpp's native build runs
// for Q5_0 and IQ4_NL batches).

package kernel

// The 4×4 tiles of Q5_0, IQ4_NL, Q4_1 and Q5_1 are named in Features (and
// so in `gptgo version` and bench output) where this process has them.
func init() {
	if vnniOK {
		useAsm("legacy-x4-tile-vnni")
	}
}

// TilesLegacyX4 reports whether TileQ5_0x4, TileIQ4_NLx4, TileQ4_1x4 and
// TileQ5_1x4 may be called: they are AVX512-VNNI kernels (sixteen
// accumulators need the EVEX registers Y16–Y31), chosen where TilesQ8_0x4 is.
func TilesLegacyX4() bool { return vnniOK }

// TileQ5_0x4 computes a 4×4 tile of Q5_0 × Q8_0 dots: four weight rows rb
// bytes apart (w) by four activation rows xStride bytes apart (x), n a
// multiple of 32:
//
//	out[j*outStride+i] = TileQ5_0's product of w[i*rb:] and x[j*xStride:]   (i, j < 4)
//
// bit for bit for activations the Q8_0 quantizers make (−127…127). Each
// weight block is unpacked once for four activation rows, where the 1×4
// tile unpacks it once per four products; on the 110M shape, whose rows are
// 24 or 64 blocks, the one call in place of four counts too.
func TileQ5_0x4(n int, w []byte, rb int, x []byte, xStride int, out []float32, outStride int) {
	var t [16]float32
	if nb := n / QK; tile4Check(nb, q5_0Bytes, q8_0Bytes, w, rb, x, xStride, out, outStride) {
		tileQ5_0x4VNNIAsm(nb, &w[0], rb, &x[0], xStride, &t)
	}
	scatter4(&t, out, outStride)
}

// TileIQ4_NLx4 is TileQ5_0x4 for IQ4_NL weights, in the order MatMul uses
// for batches (TileIQ4_NL's, DotIQ4_NLTinyBLAS's), bit for bit.
func TileIQ4_NLx4(n int, w []byte, rb int, x []byte, xStride int, out []float32, outStride int) {
	var t [16]float32
	if nb := n / QK; tile4Check(nb, iq4nlBytes, q8_0Bytes, w, rb, x, xStride, out, outStride) {
		tileIQ4_NLx4VNNIAsm(nb, &w[0], rb, &x[0], xStride, &t)
	}
	scatter4(&t, out, outStride)
}

// TileQ4_1x4 is TileQ5_0x4 for Q4_1 weights against Q8_1 activations (rows
// of 36-byte blocks): TileQ4_1's products, bit for bit.
func TileQ4_1x4(n int, w []byte, rb int, x []byte, xStride int, out []float32, outStride int) {
	var t [16]float32
	if nb := n / QK; tile4Check(nb, q4_1Bytes, q8_1Bytes, w, rb, x, xStride, out, outStride) {
		tileQ4_1x4VNNIAsm(nb, &w[0], rb, &x[0], xStride, &t)
	}
	scatter4(&t, out, outStride)
}

// TileQ5_1x4 is TileQ4_1x4 for Q5_1 weights: TileQ5_1's products, bit for
// bit.
func TileQ5_1x4(n int, w []byte, rb int, x []byte, xStride int, out []float32, outStride int) {
	var t [16]float32
	if nb := n / QK; tile4Check(nb, q5_1Bytes, q8_1Bytes, w, rb, x, xStride, out, outStride) {
		tileQ5_1x4VNNIAsm(nb, &w[0], rb, &x[0], xStride, &t)
	}
	scatter4(&t, out, outStride)
}

// tile4Check checks a 4×4 tile's slices before the assembly reads them
// (nb blocks of wb weight and xb activation bytes per row) and reports
// whether there is anything to compute. Overlapping rows are a caller's
// bug, not an input's.
func tile4Check(nb, wb, xb int, w []byte, rb int, x []byte, xStride int, out []float32, outStride int) bool {
	_ = out[3*outStride+3]
	if nb <= 0 {
		return false
	}
	if rb < nb*wb || xStride < nb*xb {
		panic("kernel: 4×4 tile rows overlap")
	}
	_, _ = w[:3*rb+nb*wb], x[:3*xStride+nb*xb]
	return true
}

// scatter4 writes a 4×4 tile's results (t[4i+j], weight row i, activation
// row j) to out[j*outStride+i].
func scatter4(t *[16]float32, out []float32, outStride int) {
	for j := range 4 {
		o := out[j*outStride : j*outStride+4]
		o[0], o[1], o[2], o[3] = t[j], t[4+j], t[8+j], t[12+j]
	}
}

// tileQ5_0x4VNNIAsm computes, with the operations of tileQ5_0VNNIAsm for
// each product (the integer lane sums formed as Σ(q+16)·x − 16·Σx, exact):
//
//	for i, j := 0..3: out[4i+j] = dotQ5_0Generic(32·nb, w + i*rb, x + j*xStride)
//
//go:noescape
func tileQ5_0x4VNNIAsm(nb int, w *byte, rb int, x *byte, xStride int, out *[16]float32)

// tileIQ4_NLx4VNNIAsm is tileQ5_0x4VNNIAsm for IQ4_NL in tinyBLAS's order
// (lane sums Σ(v+128)·x − 128·Σx):
//
//	for i, j := 0..3: out[4i+j] = dotIQ4_NLTinyBLASGeneric(32·nb, w + i*rb, x + j*xStride)
//
//go:noescape
func tileIQ4_NLx4VNNIAsm(nb int, w *byte, rb int, x *byte, xStride int, out *[16]float32)

// tileQ4_1x4VNNIAsm is tileQ5_0x4VNNIAsm for Q4_1 (unsigned nibbles, no
// correction; Σ m·s by one FMA per block and added after hsum8):
//
//	for i, j := 0..3: out[4i+j] = dotQ4_1Generic(32·nb, w + i*rb, x + j*xStride)
//
//go:noescape
func tileQ4_1x4VNNIAsm(nb int, w *byte, rb int, x *byte, xStride int, out *[16]float32)

// tileQ5_1x4VNNIAsm is tileQ4_1x4VNNIAsm for Q5_1:
//
//	for i, j := 0..3: out[4i+j] = dotQ5_1Generic(32·nb, w + i*rb, x + j*xStride)
//
//go:noescape
func tileQ5_1x4VNNIAsm(nb int, w *byte, rb int, x *byte, xStride int, out *[16]float32)
