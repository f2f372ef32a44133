// Reference: ggml/src/ggml-common.h (block_tq1_0, block_tq2_0) and ggml/src/ggml-cpu/ggml-cpu-quants.c
// (ggml_vec_dot_tq1_0_q8_K and ggml_vec_dot_tq2_0_q8_K: the values from their scalar branches, the
// sum order from their __AVX2__ ones).

package kernel

// Ternary blocks (values −1, 0, +1 times an fp16 scale, 256 per block):
//
//	TQ1_0 (54 bytes): qs[48] | qh[4] | d   five trits per qs byte, four per qh byte
//	TQ2_0 (66 bytes): qs[64] | d           2-bit codes 0…2 for −1…+1
//
// A TQ1_0 byte holds a base-3 number of five trits scaled to ceil(q·256/243);
// multiplying it by 3^n (mod 256) brings trit n to the top, where ×3 >> 8
// reads it out.
const (
	blockTQ1_0Bytes = 54
	tq1OffQh        = 48
	tq1OffD         = 52
	blockTQ2_0Bytes = 66
	tq2OffD         = 64
)

// DotTQ1_0 is DotQ2_K for TQ1_0 weights (Q8_K activations).
func DotTQ1_0(n int, w, x []byte) float32 { return dotTQ1_0(n, w, x) }

// DotTQ2_0 is DotQ2_K for TQ2_0 weights (Q8_K activations).
func DotTQ2_0(n int, w, x []byte) float32 { return dotTQ2_0(n, w, x) }

var (
	dotTQ1_0 = dotTQ1_0Generic
	dotTQ2_0 = dotTQ2_0Generic
)

// tritAt returns trit n of packed byte b as −1, 0 or 1, given pow3 = 3^n.
func tritAt(b, pow3 byte) int32 { return int32((uint32(b*pow3)*3)>>8) - 1 }

// tqLanes folds the 256 trit codes c (0…2 for −1…+1) of a ternary block
// with its Q8_K activations into eight int32 lanes as llama.cpp's AVX2
// ggml_vec_dot_tq1_0_q8_K and _tq2_0_q8_K do: lane m sums c·y over the
// elements 4m…4m+3 of every 32-element run, minus (for the −1 offset) the
// two bsums 2m and 2m+1, i.e. the activations 32m…32m+31.
func tqLanes(s *[8]int32, c *[QKK]int32, y *blockBytesQ8K) {
	q8 := (*[QKK]byte)(y[q8KOffQs:])
	for m := range s {
		s[m] = -(q8KBsum(y, 2*m) + q8KBsum(y, 2*m+1))
	}
	for p, v := range c {
		s[p%32/4] += v * int32(int8(q8[p]))
	}
}

// dotTQ1_0Generic and dotTQ2_0Generic sum in llama.cpp's AVX2 order
// (tqLanes, then one FMA per block with d = y.d·fp16(w.d) into eight float32
// lanes, folded by hsum8).
func dotTQ1_0Generic(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockTQ1_0Bytes]
	x = x[:nb*BlockQ8KBytes]
	pow3 := [5]byte{1, 3, 9, 27, 81}
	var acc [8]float32
	var c [QKK]int32
	var s [8]int32
	for i := 0; i < nb; i++ {
		b := (*[blockTQ1_0Bytes]byte)(w[i*blockTQ1_0Bytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		for t := 0; t < 5; t++ {
			p := pow3[t]
			for m := 0; m < 32; m++ { // values 32t+m
				c[32*t+m] = tritAt(b[m], p) + 1
			}
			for m := 0; m < 16; m++ { // values 160+16t+m
				c[160+16*t+m] = tritAt(b[32+m], p) + 1
			}
		}
		for t := 0; t < 4; t++ {
			for j := 0; j < 4; j++ { // values 240+4t+j
				c[240+4*t+j] = tritAt(b[tq1OffQh+j], pow3[t]) + 1
			}
		}
		tqLanes(&s, &c, y)
		fmaLanes(&acc, kF32(y[q8KOffD:])*kHalf(b[tq1OffD:]), &s)
	}
	return hsum8(&acc)
}

func dotTQ2_0Generic(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockTQ2_0Bytes]
	x = x[:nb*BlockQ8KBytes]
	var acc [8]float32
	var c [QKK]int32
	var s [8]int32
	for i := 0; i < nb; i++ {
		b := (*[blockTQ2_0Bytes]byte)(w[i*blockTQ2_0Bytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		for j := 0; j < 2; j++ {
			for l := 0; l < 4; l++ {
				shift := uint(2 * l)
				for k := 0; k < 32; k++ { // values 128j+32l+k
					c[128*j+32*l+k] = int32(b[32*j+k] >> shift & 3)
				}
			}
		}
		tqLanes(&s, &c, y)
		fmaLanes(&acc, kF32(y[q8KOffD:])*kHalf(b[tq2OffD:]), &s)
	}
	return hsum8(&acc)
}
