//go:build !purego

// Reference: Intel SDM vol. 2 (VPDPBUSD); ggml/src/ggml-cpu/llamafile/sgemm.cpp (tinyBLAS_Q0_AVX's
// register tiles of several weight rows by several activation rows).

package kernel

// TilesQ8_0x4 reports whether TileQ8_0x4 may be called: it is an
// AVX512-VNNI kernel (sixteen accumulators need the EVEX registers
// Y16–Y31).
func TilesQ8_0x4() bool { return vnniOK }

// TileQ8_0x4 computes a 4×4 tile of Q8_0 × Q8_0 dots: four weight rows rb
// bytes apart (w) by four activation rows xStride bytes apart (x), n a
// multiple of 32, xd the activation rows' scales as Q8_0Scales4 makes them:
//
//	out[j*outStride+i] = DotQ8_0(n, w[i*rb:], x[j*xStride:])   (i, j < 4)
//
// bit for bit for activations the Q8_0 quantizers make (−127…127), as a
// prompt's Q8_0 matmul needs so that its rows agree with decoding. What
// four 1×4 tiles do with sixteen call-and-check overheads and four loads of
// every activation block, this does with one: on the 110M shape, whose rows
// are only 24 or 64 blocks, the per-call work is a good part of a tile.
func TileQ8_0x4(n int, w []byte, rb int, x []byte, xStride int, xd, out []float32, outStride int) {
	var t [16]float32
	nb := n / QK
	_ = out[3*outStride+3]
	if nb > 0 {
		if rb < nb*q8_0Bytes || xStride < nb*q8_0Bytes {
			panic("kernel: TileQ8_0x4: rows overlap")
		}
		_, _, _ = w[:3*rb+nb*q8_0Bytes], x[:3*xStride+nb*q8_0Bytes], xd[4*nb-1]
		tileQ8_0x4VNNIAsm(nb, &w[0], rb, &x[0], xStride, &xd[0], &t)
	}
	for j := range 4 {
		o := out[j*outStride : j*outStride+4]
		o[0], o[1], o[2], o[3] = t[j], t[4+j], t[8+j], t[12+j]
	}
}

// tileQ8_0x4VNNIAsm computes a 4×4 tile of Q8_0 dots (nb > 0 blocks):
//
//	for i, j := 0..3: out[4i+j] = dotQ8_0Generic(32·nb, w + i*rb, x + j*xStride)
//
// bit for bit: each product's eight lanes are its exact integer sums and
// each block adds them by one FMA with w.d·x.d, blocks in order, folded as
// hsum8. The integer sums are formed as Σ(w+128)·x − 128·Σx, VPDPBUSD
// taking the weights with their sign bits flipped (unsigned, flipped once
// per block for the four activation rows) and the activations (signed,
// loaded once per block for the four weight rows); −128·Σx is formed once
// per block for the four weight rows. Unlike the sign trick of the 1×4
// tiles this is exact for an activation of −128 as well, which no quantizer
// makes. The sixteen w.d·x.d of a block are each rounded once, as the
// dot's, by a pre-pass over every 64 blocks, so the main loop spends no
// multiply on them.
//
//go:noescape
func tileQ8_0x4VNNIAsm(nb int, w *byte, rb int, x *byte, xStride int, xd *float32, out *[16]float32)
