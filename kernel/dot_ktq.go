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

// The ternary dots build llama.cpp's AVX2 lanes (ggml_vec_dot_tq1_0_q8_K,
// _tq2_0_q8_K): lane m sums code·y over the elements 4m…4m+3 of every
// 32-element run (codes 0…2 for −1…+1), minus, for the −1 offset, the two
// bsums 2m and 2m+1 (the activations 32m…32m+31); then one FMA per block
// with d = y.d·fp16(w.d) into eight float32 lanes, folded by hsum8.

// tqOffset starts the lanes at −(bsum 2m + bsum 2m+1).
func tqOffset(s *[8]int32, y *blockBytesQ8K) {
	for m := range s {
		s[m] = -(q8KBsum(y, 2*m) + q8KBsum(y, 2*m+1))
	}
}

// trit returns trit n (0…2) of packed byte b, given pow3 = 3^n.
func trit(b, pow3 byte) int32 { return int32((uint32(b*pow3) * 3) >> 8) }

func dotTQ1_0Generic(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockTQ1_0Bytes]
	x = x[:nb*BlockQ8KBytes]
	pow3 := [5]byte{1, 3, 9, 27, 81}
	var acc [8]float32
	var s [8]int32
	for i := 0; i < nb; i++ {
		b := (*[blockTQ1_0Bytes]byte)(w[i*blockTQ1_0Bytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		q8 := (*[QKK]byte)(y[q8KOffQs:])
		tqOffset(&s, y)
		for t := 0; t < 5; t++ {
			p := pow3[t]
			a := (*[32]byte)(q8[32*t:])
			for m := 0; m < 32; m++ { // values 32t+m: lane m/4
				s[m>>2] += trit(b[m], p) * int32(int8(a[m]))
			}
			c := (*[16]byte)(q8[160+16*t:])
			h := 4 * (t & 1) // values 160+16t+m sit at 16(t&1)+m in their run
			for m := 0; m < 16; m++ {
				s[h+m>>2] += trit(b[32+m], p) * int32(int8(c[m]))
			}
		}
		for t := 0; t < 4; t++ {
			for j := 0; j < 4; j++ { // values 240+4t+j: lane 4+t
				s[4+t] += trit(b[tq1OffQh+j], pow3[t]) * int32(int8(q8[240+4*t+j]))
			}
		}
		fmaLanes(&acc, kF32(y[q8KOffD:])*kHalf(b[tq1OffD:]), &s)
	}
	return hsum8(&acc)
}

func dotTQ2_0Generic(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockTQ2_0Bytes]
	x = x[:nb*BlockQ8KBytes]
	var acc [8]float32
	var s [8]int32
	for i := 0; i < nb; i++ {
		b := (*[blockTQ2_0Bytes]byte)(w[i*blockTQ2_0Bytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		q8 := (*[QKK]byte)(y[q8KOffQs:])
		tqOffset(&s, y)
		for j := 0; j < 2; j++ {
			qs := (*[32]byte)(b[32*j:])
			for l := 0; l < 4; l++ {
				shift := uint(2 * l)
				a := (*[32]byte)(q8[128*j+32*l:])
				for m := 0; m < 8; m++ { // values 128j+32l+4m…: lane m
					k := 4 * m
					s[m] += int32(qs[k]>>shift&3)*int32(int8(a[k])) + int32(qs[k+1]>>shift&3)*int32(int8(a[k+1])) +
						int32(qs[k+2]>>shift&3)*int32(int8(a[k+2])) + int32(qs[k+3]>>shift&3)*int32(int8(a[k+3]))
				}
			}
		}
		fmaLanes(&acc, kF32(y[q8KOffD:])*kHalf(b[tq2OffD:]), &s)
	}
	return hsum8(&acc)
}
