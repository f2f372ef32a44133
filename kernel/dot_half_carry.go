// Reference: dot_half.go (the two orders these continue: tinyBLAS's 8 lanes, ggml_vec_dot_f16's 4×8 lanes);
// Kwon et al., PagedAttention (SOSP 2023) §4.1 (a sum over a sequence's KV blocks).

package kernel

import "fmt"

// The carrying half dots serve a paged KV cache, where a sequence's values
// lie in blocks of P positions scattered over a pool. DotHalvesLanes8 and
// DotHalvesVec assign element i of the dot to lane i mod 8 or i mod 32; a
// sum over blocks keeps their bits only if each block's products go into
// the lanes of their positions in the whole dot and the lanes are folded
// once, after the last block. So the caller holds the lanes (8 or 32
// float32s per row, zeroed (+0) before the first block), calls Carry… once per
// block, with pos the position of the block's first element in the whole
// dot, and Fold… at the end:
//
//	clear(acc)
//	for each block, first position t0, m positions:
//		CarryHalvesLanes8Rows(acc, t0, block's rows, stride, x[t0:t0+m])
//	FoldHalvesLanes8Rows(dst, acc)
//
// gives dst[r] == DotHalvesLanes8(row r of the concatenated blocks, x) bit
// for bit, and likewise with the Vec pair. The products are exact (see
// dot_half.go), so an add per product in any grouping of the positions
// equals the contiguous kernels' fused multiply-adds. A call does all rows
// of a block (the D dimensions of a head's transposed V), so the call and
// the block-table lookup are paid once per block, not once per row.

// CarryHalvesLanes8Rows adds one block of DotHalvesLanes8's lanes: for every
// row r < len(acc)/8 and i < len(x), with h the half at byte r*stride+2i of w,
//
//	acc[8*r+(pos+i)%8] += FP16ToFP32(h) * x[i]
//
// pos ≥ 0 is the position of x[0] in the whole dot.
func CarryHalvesLanes8Rows(acc []float32, pos int, w []byte, stride int, x []float32) {
	checkCarry("CarryHalvesLanes8Rows", acc, 8, pos, w, stride, x)
	carryHalvesRows(acc, 8, pos%8, w, stride, x)
}

// CarryHalvesVecRows adds one block of DotHalvesVec's lanes: for every row
// r < len(acc)/32 and i < len(x), with h the half at byte r*stride+2i of w,
//
//	acc[32*r+(pos+i)%32] += FP16ToFP32(h) * x[i]
//
// (lane k of a row is DotHalvesVec's accumulator k/8, lane k%8).
func CarryHalvesVecRows(acc []float32, pos int, w []byte, stride int, x []float32) {
	checkCarry("CarryHalvesVecRows", acc, 32, pos, w, stride, x)
	carryHalvesRows(acc, 32, pos%32, w, stride, x)
}

// FoldHalvesLanes8Rows sets dst[r] to DotHalvesLanes8's fold of the lanes
// acc[8r:8r+8]: (l0+l4 + l2+l6) + (l1+l5 + l3+l7). DotHalvesLanes8 adds a
// tail of n%8 elements as a group padded with +0 products; those change
// nothing here, because a lane that starts at +0 is never −0 (a sum is −0
// only when both terms are, IEEE 754 §6.3) and x + (+0) = x for every other
// x. That holds as long as the lanes were zeroed with +0 (clear).
func FoldHalvesLanes8Rows(dst, acc []float32) {
	if len(acc) != 8*len(dst) {
		panic(fmt.Sprintf("kernel: FoldHalvesLanes8Rows: %d lanes for %d rows (want 8 each)", len(acc), len(dst)))
	}
	foldHalvesLanes8Rows(dst, acc)
}

// FoldHalvesVecRows sets dst[r] to DotHalvesVec's fold of the lanes
// acc[32r:32r+32]: v = (s0+s2)+(s1+s3) over its four 8-lane accumulators,
// then (v0+v4 + v1+v5) + (v2+v6 + v3+v7). Its last step adds only the
// elements it has, so the fold does not depend on the length.
func FoldHalvesVecRows(dst, acc []float32) {
	if len(acc) != 32*len(dst) {
		panic(fmt.Sprintf("kernel: FoldHalvesVecRows: %d lanes for %d rows (want 32 each)", len(acc), len(dst)))
	}
	foldHalvesVecRows(dst, acc)
}

// checkCarry rejects calls no caller can mean (programmer errors): the
// lanes not a whole number of rows, a negative position or stride, rows that run
// past the end of w.
func checkCarry(name string, acc []float32, lanes, pos int, w []byte, stride int, x []float32) {
	rows, m := len(acc)/lanes, len(x)
	switch {
	case len(acc)%lanes != 0:
		panic(fmt.Sprintf("kernel: %s: %d lanes is not a whole number of rows of %d", name, len(acc), lanes))
	case pos < 0 || stride < 0:
		panic(fmt.Sprintf("kernel: %s: position %d or stride %d is negative", name, pos, stride))
	case rows > 0 && m > 0 && (rows-1)*stride+2*m > len(w):
		panic(fmt.Sprintf("kernel: %s: %d rows of %d halves, %d bytes apart, need %d bytes of w, have %d",
			name, rows, m, stride, (rows-1)*stride+2*m, len(w)))
	}
}

var (
	carryHalvesRows      = carryHalvesRowsGeneric
	foldHalvesLanes8Rows = foldHalvesLanes8RowsGeneric
	foldHalvesVecRows    = foldHalvesVecRowsGeneric
)

// carryHalvesRowsGeneric is the plain loop, lane by lane; lane is the lane
// of x[0] (< lanes).
func carryHalvesRowsGeneric(acc []float32, lanes, lane int, w []byte, stride int, x []float32) {
	t := halfTable()
	m := len(x)
	for r := range len(acc) / lanes {
		a := acc[r*lanes : (r+1)*lanes : (r+1)*lanes]
		row := w[r*stride : r*stride+2*m]
		k := lane
		for i, xi := range x {
			a[k] += t[uint16(row[2*i])|uint16(row[2*i+1])<<8] * xi
			if k++; k == lanes {
				k = 0
			}
		}
	}
}

func foldHalvesLanes8RowsGeneric(dst, acc []float32) {
	for r := range dst {
		l := acc[8*r : 8*r+8 : 8*r+8]
		a, b, c, d := l[0]+l[4], l[1]+l[5], l[2]+l[6], l[3]+l[7]
		dst[r] = (a + c) + (b + d)
	}
}

func foldHalvesVecRowsGeneric(dst, acc []float32) {
	for r := range dst {
		s := acc[32*r : 32*r+32 : 32*r+32]
		var v [8]float32
		for k := range 8 {
			v[k] = (s[k] + s[16+k]) + (s[8+k] + s[24+k])
		}
		a, b, c, d := v[0]+v[4], v[1]+v[5], v[2]+v[6], v[3]+v[7]
		dst[r] = (a + b) + (c + d)
	}
}
