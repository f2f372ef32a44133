// Reference: ggml/src/ggml-cpu/repack.cpp (llama.cpp repacks Q4_0 weights into blocks of eight rows,
// block_q4_0x8, and multiplies them eight rows at a time); the layout here is our own.

package kernel

import "fmt"

// Packed Q4_0 ("Q4_0x8") holds eight weight rows block by block: for each
// block index b, 144 bytes, the eight rows' fp16 scales d in row order, then
// their 16 bytes of packed nibbles in the row order q4_0x8Order:
//
//	d[0..7] (16 bytes) | qs r0 | qs r4 | qs r1 | qs r5 | qs r2 | qs r6 | qs r3 | qs r7
//
// Its size is the eight rows' size. One 32-byte load then gives two rows'
// nibbles, [rᵢ | rᵢ₊₄], and the integer sums of four such pairs reduce to
// the eight rows in order with three VPHADDDs, so a block of eight rows
// ends in one vector of eight sums, one conversion of eight scales and one
// FMA. The eight rows come from one memory stream, where eight GGUF rows
// would be eight.
//
// DotQ4_0x8 keeps DotQ4_0's float order for each row (an exact integer sum
// per block, added by one FMA with w.d·x.d, blocks in order), so a packed
// matrix gives each row's result bit for bit.
const (
	// Q4_0x8Rows is the number of rows a packed group holds.
	Q4_0x8Rows  = 8
	q4_0x8Bytes = Q4_0x8Rows * q4_0Bytes // one packed block of the eight rows
)

// q4_0x8Order[k] is the row whose quants come k-th after a packed block's scales.
var q4_0x8Order = [Q4_0x8Rows]int{0, 4, 1, 5, 2, 6, 3, 7}

// PackQ4_0x8 packs eight Q4_0 rows of n values, rb bytes apart in rows,
// into dst (8·n/32·18 bytes) in the Q4_0x8 layout.
func PackQ4_0x8(n int, rows []byte, rb int, dst []byte) error {
	nb := n / QK
	if n%QK != 0 || rb < nb*q4_0Bytes || len(rows) < 7*rb+nb*q4_0Bytes || len(dst) != nb*q4_0x8Bytes {
		return fmt.Errorf("kernel: pack Q4_0x8: %d values, rows %d bytes (%d apart), dst %d bytes", n, len(rows), rb, len(dst))
	}
	for b := range nb {
		g := dst[b*q4_0x8Bytes : (b+1)*q4_0x8Bytes]
		for r := range Q4_0x8Rows {
			src := rows[r*rb+b*q4_0Bytes:]
			copy(g[2*r:2*r+2], src[:2])
		}
		for k, r := range q4_0x8Order {
			src := rows[r*rb+b*q4_0Bytes:]
			copy(g[16+16*k:32+16*k], src[2:q4_0Bytes])
		}
	}
	return nil
}

// DotQ4_0x8Rows computes the dots of len(out) packed Q4_0 rows (a multiple
// of eight: len(out)/8 groups of n/32·144 bytes in w) with one Q8_0
// activation row x of n values: out[r] is DotQ4_0 of the r-th row before
// packing, bit for bit.
func DotQ4_0x8Rows(n int, w, x []byte, out []float32) {
	nb := n / QK
	if len(out)%Q4_0x8Rows != 0 {
		panic("kernel: DotQ4_0x8Rows: rows not a multiple of 8")
	}
	gb := nb * q4_0x8Bytes
	_, _ = w[:len(out)/Q4_0x8Rows*gb], x[:nb*q8_0Bytes]
	for g := 0; g < len(out); g += Q4_0x8Rows {
		o := (*[Q4_0x8Rows]float32)(out[g : g+Q4_0x8Rows])
		if nb == 0 {
			*o = [Q4_0x8Rows]float32{}
			continue
		}
		dotQ4_0x8(nb, w[g/Q4_0x8Rows*gb:], x, o)
	}
}

var dotQ4_0x8 = dotQ4_0x8Generic

// dotQ4_0x8Generic is dotQ4_0Generic for the eight rows of one packed group
// (nb > 0 blocks).
func dotQ4_0x8Generic(nb int, w, x []byte, out *[Q4_0x8Rows]float32) {
	w, x = w[:nb*q4_0x8Bytes], x[:nb*q8_0Bytes]
	var acc [Q4_0x8Rows]float32
	for range nb {
		ys := (*[QK]byte)(x[q8_0QS : q8_0QS+QK])
		xd := half(x)
		for k, r := range q4_0x8Order {
			qs := (*[legacyHalfQ]byte)(w[16+16*k : 32+16*k])
			var sumi int32
			for j, q := range qs {
				sumi += (int32(q&15)-8)*int32(int8(ys[j])) + (int32(q>>4)-8)*int32(int8(ys[j+legacyHalfQ]))
			}
			acc[r] = fma32i(half(w[2*r:])*xd, sumi, acc[r])
		}
		w, x = w[q4_0x8Bytes:], x[q8_0Bytes:]
	}
	*out = acc
}
