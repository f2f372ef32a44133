//go:build !purego

// Reference: dot_half_carry.go (the plain Go these give bit for bit); Intel SDM vol. 2 (VCVTPH2PS,
// VFMADD231PS).

package kernel

func init() {
	if !hasAVX2FMA || !f16cOK {
		return
	}
	carryHalvesRows = carryHalvesRowsAVX2
	foldHalvesLanes8Rows = foldHalvesLanes8RowsAVX2
	foldHalvesVecRows = foldHalvesVecRowsAVX2
	useAsm("f16-paged-attention")
}

// carryHalvesRowsAVX2 adds the elements before the first lane that is a
// multiple of 8 in plain Go (only blocks whose size is not a multiple of 8
// have them), then runs the assembly over whole groups of 8 and a tail.
func carryHalvesRowsAVX2(acc []float32, lanes, lane int, w []byte, stride int, x []float32) {
	m, rows := len(x), len(acc)/lanes
	if m == 0 || rows == 0 {
		return
	}
	_ = w[(rows-1)*stride+2*m-1] // the last row's end, before the assembly reads it
	if h := -lane & 7; h > 0 {
		h = min(h, m)
		carryHalvesRowsGeneric(acc, lanes, lane, w, stride, x[:h])
		lane, w, x, m = (lane+h)%lanes, w[2*h:], x[h:], m-h
		if m == 0 {
			return
		}
	}
	full := m &^ 7
	var xt [8]float32 // x's tail, padded with +0
	copy(xt[:], x[full:])
	carryHalvesAsm(rows, 2*full, m-full, lane/2, lanes/2-4, &w[0], stride, &x[0], &xt, &acc[0])
}

// carryHalvesAsm computes, for r < rows, with a = acc + r·(mask+4)·8 bytes
// (the row's lanes), v = vec (lane/2: the byte offset of the first group's
// lanes over 4, so that (a)(v*8) addresses them) and the row's halves at
// w + r·stride:
//
//	for g := 0; g < groupBytes/16; g++ { // whole groups of 8
//		for j := range 8 {
//			a[v*2+j] += FP16ToFP32(half g*8+j) * x[g*8+j]
//		}
//		v = (v + 4) & mask // the next 8 lanes, wrapping (mask 0: always the same 8)
//	}
//	// then the tail's halves, padded with −0, times xt (padded with +0):
//	// the padding's −0 products leave the lanes as they are
//
//go:noescape
func carryHalvesAsm(rows, groupBytes, tail, vec, mask int, w *byte, stride int, x *float32, xt *[8]float32, acc *float32)

func foldHalvesLanes8RowsAVX2(dst, acc []float32) {
	if len(dst) == 0 {
		return
	}
	foldLanes8Asm(len(dst), &acc[0], &dst[0])
}

func foldHalvesVecRowsAVX2(dst, acc []float32) {
	if len(dst) == 0 {
		return
	}
	foldVecAsm(len(dst), &acc[0], &dst[0])
}

// foldLanes8Asm computes, for r < rows, with l = acc[8r:8r+8]:
// a, b, c, d := l[0]+l[4], l[1]+l[5], l[2]+l[6], l[3]+l[7];
// dst[r] = (a + c) + (b + d).
//
//go:noescape
func foldLanes8Asm(rows int, acc *float32, dst *float32)

// foldVecAsm computes foldHalvesVecRowsGeneric's dst[r] for r < rows.
//
//go:noescape
func foldVecAsm(rows int, acc *float32, dst *float32)
