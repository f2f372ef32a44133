//go:build !purego

package kernel

func init() {
	if !hasAVX2FMA || !f16cOK {
		return
	}
	dotQ4_0x8 = func(nb int, w, x []byte, out *[Q4_0x8Rows]float32) {
		_, _ = w[:nb*q4_0x8Bytes], x[:nb*q8_0Bytes]
		if vnniOK {
			dotQ4_0x8VNNIAsm(nb, &w[0], &x[0], out) // the same bits (legacy_avx512_amd64.s)
		} else {
			dotQ4_0x8Asm(nb, &w[0], &x[0], out)
		}
	}
	useAsm("q4_0x8")
}

// dotQ4_0x8Asm computes, over nb > 0 packed blocks of eight Q4_0 rows (w,
// 144 bytes each) and nb Q8_0 blocks (x), as dotQ4_0x8Generic, bit for bit:
// lane r of one accumulator vector is row r, and each block adds the eight
// rows' exact integer sums, as float32, times their w.d·x.d by one FMA.
//
//go:noescape
func dotQ4_0x8Asm(nb int, w, x *byte, out *[Q4_0x8Rows]float32)
