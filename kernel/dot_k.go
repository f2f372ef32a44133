// Reference: ggml/src/ggml-common.h (block_q2_K … block_q6_K) and ggml/src/ggml-cpu/ggml-cpu-quants.c
// (ggml_vec_dot_q2_K_q8_K … ggml_vec_dot_q6_K_q8_K: the values from the scalar branches, the sum order
// from the __AVX2__ ones).

package kernel

import (
	"encoding/binary"
	"unsafe"
)

// The K-quant weight blocks, each 256 elements, as ggml lays them out. The
// dot products below read them as raw bytes at these offsets; the structs
// are the documentation and the source of the offset constants.

// blockQ2K: 16 sub-blocks of 16; value = d×(sc&15)×q − dmin×(sc>>4), q in 0…3.
type blockQ2K struct {
	scales [QKK / 16]uint8 // low nibble: scale, high nibble: min, per sub-block
	qs     [QKK / 4]uint8  // 2-bit quants; byte l of each 32-byte group holds elements l, l+32, l+64, l+96
	d      uint16          // fp16 super-block scale of the scales
	dmin   uint16          // fp16 super-block scale of the mins
}

// blockQ3K: 16 sub-blocks of 16; value = d×(sc−32)×(q−4), q in 0…7.
type blockQ3K struct {
	hmask  [QKK / 8]uint8 // third bit of each quant: bit k of byte l is element 32k+l
	qs     [QKK / 4]uint8 // low 2 bits, packed as in Q2_K
	scales [12]uint8      // sixteen 6-bit scales: low nibbles in bytes 0…7, top 2 bits in bytes 8…11
	d      uint16         // fp16 super-block scale
}

// blockQ4K: 8 sub-blocks of 32; value = d×sc×q − dmin×m, q in 0…15.
type blockQ4K struct {
	d      uint16         // fp16 scale of the 6-bit scales
	dmin   uint16         // fp16 scale of the 6-bit mins
	scales [12]uint8      // eight 6-bit scales and eight 6-bit mins (see scaleMinK4)
	qs     [QKK / 2]uint8 // 4-bit quants; 32-byte group c: low nibbles elements 64c…, high 64c+32…
}

// blockQ5K: as Q4_K plus a fifth bit per quant, q in 0…31.
type blockQ5K struct {
	d      uint16
	dmin   uint16
	scales [12]uint8
	qh     [QKK / 8]uint8 // fifth bit: bit b of byte l is element 32b+l
	qs     [QKK / 2]uint8 // low 4 bits, packed as in Q4_K
}

// blockQ6K: 16 sub-blocks of 16; value = d×sc×(q−32), q in 0…63.
type blockQ6K struct {
	ql     [QKK / 2]uint8 // low 4 bits
	qh     [QKK / 4]uint8 // high 2 bits
	scales [QKK / 16]int8 // signed 8-bit sub-block scales
	d      uint16         // fp16 super-block scale
}

const (
	blockQ2KBytes = int(unsafe.Sizeof(blockQ2K{}))
	q2KOffScales  = int(unsafe.Offsetof(blockQ2K{}.scales))
	q2KOffQs      = int(unsafe.Offsetof(blockQ2K{}.qs))
	q2KOffD       = int(unsafe.Offsetof(blockQ2K{}.d))
	q2KOffDmin    = int(unsafe.Offsetof(blockQ2K{}.dmin))

	blockQ3KBytes = int(unsafe.Sizeof(blockQ3K{}))
	q3KOffHmask   = int(unsafe.Offsetof(blockQ3K{}.hmask))
	q3KOffQs      = int(unsafe.Offsetof(blockQ3K{}.qs))
	q3KOffScales  = int(unsafe.Offsetof(blockQ3K{}.scales))
	q3KOffD       = int(unsafe.Offsetof(blockQ3K{}.d))

	blockQ4KBytes = int(unsafe.Sizeof(blockQ4K{}))
	q4KOffD       = int(unsafe.Offsetof(blockQ4K{}.d))
	q4KOffDmin    = int(unsafe.Offsetof(blockQ4K{}.dmin))
	q4KOffScales  = int(unsafe.Offsetof(blockQ4K{}.scales))
	q4KOffQs      = int(unsafe.Offsetof(blockQ4K{}.qs))

	blockQ5KBytes = int(unsafe.Sizeof(blockQ5K{}))
	q5KOffD       = int(unsafe.Offsetof(blockQ5K{}.d))
	q5KOffDmin    = int(unsafe.Offsetof(blockQ5K{}.dmin))
	q5KOffScales  = int(unsafe.Offsetof(blockQ5K{}.scales))
	q5KOffQh      = int(unsafe.Offsetof(blockQ5K{}.qh))
	q5KOffQs      = int(unsafe.Offsetof(blockQ5K{}.qs))

	blockQ6KBytes = int(unsafe.Sizeof(blockQ6K{}))
	q6KOffQl      = int(unsafe.Offsetof(blockQ6K{}.ql))
	q6KOffQh      = int(unsafe.Offsetof(blockQ6K{}.qh))
	q6KOffScales  = int(unsafe.Offsetof(blockQ6K{}.scales))
	q6KOffD       = int(unsafe.Offsetof(blockQ6K{}.d))
)

// DotQ2_K returns Σ w[i]·x[i] over n elements (a multiple of 256): w holds
// Q2_K blocks, x holds Q8_K blocks.
func DotQ2_K(n int, w, x []byte) float32 { return dotQ2_K(n, w, x) }

// DotQ3_K is DotQ2_K for Q3_K weights.
func DotQ3_K(n int, w, x []byte) float32 { return dotQ3_K(n, w, x) }

// DotQ4_K is DotQ2_K for Q4_K weights.
func DotQ4_K(n int, w, x []byte) float32 { return dotQ4_K(n, w, x) }

// DotQ5_K is DotQ2_K for Q5_K weights.
func DotQ5_K(n int, w, x []byte) float32 { return dotQ5_K(n, w, x) }

// DotQ6_K is DotQ2_K for Q6_K weights.
func DotQ6_K(n int, w, x []byte) float32 { return dotQ6_K(n, w, x) }

// The implementations in use; an amd64 init replaces them with assembly when
// the CPU has AVX2 and FMA.
var (
	dotQ2_K = dotQ2_KGeneric
	dotQ3_K = dotQ3_KGeneric
	dotQ4_K = dotQ4_KGeneric
	dotQ5_K = dotQ5_KGeneric
	dotQ6_K = dotQ6_KGeneric

	dotQ4_KRows = rowsOf(DotQ4_K)
	dotQ5_KRows = rowsOf(DotQ5_K)
	dotQ6_KRows = rowsOf(DotQ6_K)
)

// DotQ4_KRows is DotQ4_K over rows (DotRows).
func DotQ4_KRows(n int, w []byte, rb int, x []byte, out []float32) { dotQ4_KRows(n, w, rb, x, out) }

// DotQ5_KRows is DotQ5_K over rows (DotRows).
func DotQ5_KRows(n int, w []byte, rb int, x []byte, out []float32) { dotQ5_KRows(n, w, rb, x, out) }

// DotQ6_KRows is DotQ6_K over rows (DotRows).
func DotQ6_KRows(n int, w []byte, rb int, x []byte, out []float32) { dotQ6_KRows(n, w, rb, x, out) }

// All five dots share one shape: per super-block, integer products of the
// weight quants with the 8-bit activations are summed per sub-block and
// weighted by the integer sub-block scale, all exactly in int32; the
// constant offset of each sub-block (the min, or the −4/−32 bias folded in
// directly) is Σ x over the sub-block, which Q8_K carries as bsums. In exact
// arithmetic a super-block gives d_w·d_x·isum − dmin_w·d_x·summs.
// Bounds: |isum| ≤ 256·63·31·127 for Q2_K…Q5_K (scale·quant·activation) and
// 256·127·32·127 for Q6_K, both far below 2^31.
//
// Every one of them keeps llama.cpp's AVX2 float order instead of one float
// per super-block: eight lanes of integer sums (lane m takes elements
// 4m…4m+3 of every 32-element run), one FMA per super-block into eight
// float32 accumulators, hsum8 at the end. Q2_K adds its mins first, by their
// own FMA (lane m: sub-blocks 2m and 2m+1); Q4_K, Q5_K and Q6_K are in
// dot_k_lanes.go. MatMul's results for these types are llama.cpp's, bit for
// bit (tensor's TestLaneMatMulsMatchLlamaCpp).

func dotQ2_KGeneric(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockQ2KBytes]
	x = x[:nb*BlockQ8KBytes]
	var acc [8]float32
	for i := 0; i < nb; i++ {
		b := (*blockBytesQ2K)(w[i*blockQ2KBytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		sc := (*[16]byte)(b[q2KOffScales:])
		q8 := (*[QKK]byte)(y[q8KOffQs:])
		dy := kF32(y[q8KOffD:])
		// The mins first, lane m taking sub-blocks 2m and 2m+1 (VPMADDWD of
		// the sixteen mins with the sixteen bsums), then the quants.
		var mins, s [8]int32
		for m := range mins {
			mins[m] = int32(sc[2*m]>>4)*q8KBsum(y, 2*m) + int32(sc[2*m+1]>>4)*q8KBsum(y, 2*m+1)
		}
		fmaLanes(&acc, -dy*kHalf(b[q2KOffDmin:]), &mins)
		for k := 0; k < 2; k++ { // two halves of 128 elements
			q2 := (*[32]byte)(b[q2KOffQs+32*k:])
			for j := 0; j < 4; j++ { // bits 2j hold elements 128k+32j…
				shift := uint(2 * j)
				a := (*[32]byte)(q8[128*k+32*j:])
				s0, s1 := int32(sc[8*k+2*j]&0xF), int32(sc[8*k+2*j+1]&0xF)
				for m := 0; m < 4; m++ {
					l := 4 * m
					p0 := int32(int8(a[l]))*int32((q2[l]>>shift)&3) + int32(int8(a[l+1]))*int32((q2[l+1]>>shift)&3) +
						int32(int8(a[l+2]))*int32((q2[l+2]>>shift)&3) + int32(int8(a[l+3]))*int32((q2[l+3]>>shift)&3)
					p1 := int32(int8(a[l+16]))*int32((q2[l+16]>>shift)&3) + int32(int8(a[l+17]))*int32((q2[l+17]>>shift)&3) +
						int32(int8(a[l+18]))*int32((q2[l+18]>>shift)&3) + int32(int8(a[l+19]))*int32((q2[l+19]>>shift)&3)
					s[m] += s0 * p0
					s[m+4] += s1 * p1
				}
			}
		}
		fmaLanes(&acc, dy*kHalf(b[q2KOffD:]), &s)
	}
	return hsum8(&acc)
}

// Fixed-size views of one block, so that indexing with constant-bounded
// loop variables needs no bounds checks.
type (
	blockBytesQ2K [blockQ2KBytes]byte
	blockBytesQ3K [blockQ3KBytes]byte
	blockBytesQ4K [blockQ4KBytes]byte
	blockBytesQ5K [blockQ5KBytes]byte
	blockBytesQ6K [blockQ6KBytes]byte
	blockBytesQ8K [BlockQ8KBytes]byte
)

// q8KBsum returns the j-th 16-element sum of a Q8_K block.
func q8KBsum(y *blockBytesQ8K, j int) int32 {
	return int32(int16(binary.LittleEndian.Uint16(y[q8KOffBsums+2*j:])))
}

// q3KScales unpacks the sixteen 6-bit scales of a Q3_K block, biased by −32.
func q3KScales(s *[12]byte, out *[16]int32) {
	for j := 0; j < 16; j++ {
		var lo byte
		if j < 8 {
			lo = s[j] & 0xF
		} else {
			lo = s[j-8] >> 4
		}
		hi := (s[8+j%4] >> (2 * (j / 4))) & 3
		out[j] = int32(lo|hi<<4) - 32
	}
}

func dotQ3_KGeneric(n int, w, x []byte) float32 {
	nb := n / QKK
	w = w[:nb*blockQ3KBytes]
	x = x[:nb*BlockQ8KBytes]
	var acc [8]float32
	var scales [16]int32
	for i := 0; i < nb; i++ {
		b := (*blockBytesQ3K)(w[i*blockQ3KBytes:])
		y := (*blockBytesQ8K)(x[i*BlockQ8KBytes:])
		hm := (*[32]byte)(b[q3KOffHmask:])
		q8 := (*[QKK]byte)(y[q8KOffQs:])
		q3KScales((*[12]byte)(b[q3KOffScales:]), &scales)

		var s [8]int32
		for k := 0; k < 2; k++ {
			q3 := (*[32]byte)(b[q3KOffQs+32*k:])
			for j := 0; j < 4; j++ {
				shift := uint(2 * j)
				hbit := uint(4*k + j) // hmask bit of elements 128k+32j…
				a := (*[32]byte)(q8[128*k+32*j:])
				s0, s1 := scales[8*k+2*j], scales[8*k+2*j+1]
				for m := 0; m < 4; m++ {
					// q = low2 − 4 + 4·hbit, without a data-dependent branch.
					var p0, p1 int32
					for l := 4 * m; l < 4*m+4; l++ {
						v0 := int32((q3[l]>>shift)&3) - 4 + int32((hm[l]>>hbit)&1)<<2
						v1 := int32((q3[l+16]>>shift)&3) - 4 + int32((hm[l+16]>>hbit)&1)<<2
						p0 += int32(int8(a[l])) * v0
						p1 += int32(int8(a[l+16])) * v1
					}
					s[m] += s0 * p0
					s[m+4] += s1 * p1
				}
			}
		}
		fmaLanes(&acc, kF32(y[q8KOffD:])*kHalf(b[q3KOffD:]), &s)
	}
	return hsum8(&acc)
}

// scaleMinK4 unpacks the j-th 6-bit scale and min of a Q4_K/Q5_K block:
// j < 4 sit in the low 6 bits of bytes j and j+4; j ≥ 4 take their low
// nibbles from byte j+4 and their top 2 bits from the spare bits of bytes
// j−4 and j (get_scale_min_k4).
func scaleMinK4(j int, q *[12]byte) (sc, m int32) {
	if j < 4 {
		return int32(q[j] & 63), int32(q[j+4] & 63)
	}
	return int32(q[j+4]&0xF | (q[j-4]>>6)<<4), int32(q[j+4]>>4 | (q[j]>>6)<<4)
}
