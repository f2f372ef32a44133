// Reference: ggml/src/ggml-common.h (block_tq1_0, block_tq2_0) and ggml/src/ggml-cpu/ggml-cpu-quants.c
// (scalar branches of ggml_vec_dot_tq1_0_q8_K and ggml_vec_dot_tq2_0_q8_K).

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

func dotTQ1_0Generic(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockTQ1_0Bytes]
	x = x[:nb*BlockQ8KBytes]
	pow3 := [5]byte{1, 3, 9, 27, 81}
	var sum float32
	for i := 0; i < nb; i++ {
		b := (*[blockTQ1_0Bytes]byte)(w[i*blockTQ1_0Bytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		q8 := (*[QKK]byte)(y[q8KOffQs:])
		var isum int32
		for t := 0; t < 5; t++ {
			p := pow3[t]
			for m := 0; m < 32; m++ { // values 32t+m
				isum += tritAt(b[m], p) * int32(int8(q8[32*t+m]))
			}
			for m := 0; m < 16; m++ { // values 160+16t+m
				isum += tritAt(b[32+m], p) * int32(int8(q8[160+16*t+m]))
			}
		}
		for t := 0; t < 4; t++ {
			for j := 0; j < 4; j++ { // values 240+4t+j
				isum += tritAt(b[tq1OffQh+j], pow3[t]) * int32(int8(q8[240+4*t+j]))
			}
		}
		sum += float32(float32(isum) * (kHalf(b[tq1OffD:]) * kF32(y[q8KOffD:])))
	}
	return sum
}

func dotTQ2_0Generic(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockTQ2_0Bytes]
	x = x[:nb*BlockQ8KBytes]
	var sum float32
	for i := 0; i < nb; i++ {
		b := (*[blockTQ2_0Bytes]byte)(w[i*blockTQ2_0Bytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		q8 := (*[QKK]byte)(y[q8KOffQs:])
		var isum int32
		for j := 0; j < 2; j++ {
			for l := 0; l < 4; l++ {
				shift := uint(2 * l)
				for k := 0; k < 32; k++ { // values 128j+32l+k
					isum += (int32(b[32*j+k]>>shift&3) - 1) * int32(int8(q8[128*j+32*l+k]))
				}
			}
		}
		sum += float32(float32(isum) * (kF32(y[q8KOffD:]) * kHalf(b[tq2OffD:])))
	}
	return sum
}
