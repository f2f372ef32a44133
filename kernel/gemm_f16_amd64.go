//go:build !purego

// Reference: Intel SDM vol. 2 (VPUNPCKLWD/DQ/QDQ, VCVTPH2PS, VCVTPS2PH, VPMOVZXWD, VPBLENDVB).

package kernel

import (
	"encoding/binary"
	"unsafe"
)

func init() {
	if !hasAVX2FMA {
		return
	}
	if f16cOK {
		roundF16 = roundF16AVX2
		fp32ToFP16Bytes = fp32ToFP16BytesAVX2
		useAsm("round-f16")
	}
	roundBF16 = roundBF16AVX2
	useAsm("round-bf16")
	packHalfPanel = packHalfPanelAVX2
	useAsm("gemm-pack-f16")
	useAsm("lanes8-tile")
}

// packHalfPanelAVX2 picks the assembly routine for the type. The F16 one
// needs F16C; without it every F16 panel goes through the Go loop.
func packHalfPanelAVX2(bf16 bool, k8 int, src *byte, stride int, dst *float32) {
	switch {
	case bf16:
		packBF16PanelAsm(k8/8, src, stride, dst)
	case f16cOK:
		packF16PanelAsm(k8/8, src, stride, dst)
	default:
		packHalfPanelGo(false, k8, src, stride, dst)
	}
}

// packHalfPanelGo is the Go loop packHalfPanelAVX2 falls back to.
func packHalfPanelGo(bf16 bool, k8 int, src *byte, stride int, dst *float32) {
	b := unsafe.Slice(src, (gemmNR-1)*stride+2*k8)
	p := unsafe.Slice(dst, gemmNR*k8)
	widen := FP16ToFP32
	if bf16 {
		widen = BF16ToFP32
	}
	for j := range gemmNR {
		for k := range k8 {
			p[k*gemmNR+j] = widen(binary.LittleEndian.Uint16(b[j*stride+2*k:]))
		}
	}
}

// packF16PanelAsm widens and transposes 16 half rows, stride bytes apart,
// eight values at a time (n8 ≥ 1 groups):
//
//	for k < 8·n8, j < 16: dst[k*16+j] = FP16ToFP32(row j at byte src + j*stride + 2k)
//
//go:noescape
func packF16PanelAsm(n8 int, src *byte, stride int, dst *float32)

// packBF16PanelAsm is packF16PanelAsm for bfloat16 rows (BF16ToFP32).
//
//go:noescape
func packBF16PanelAsm(n8 int, src *byte, stride int, dst *float32)

// roundF16AVX2 runs roundF16Asm over the whole groups of eight, Go over the rest.
func roundF16AVX2(dst, src []float32) {
	n8 := len(src) &^ 7
	if n8 > 0 {
		_ = dst[n8-1]
		roundF16Asm(n8/8, &src[0], &dst[0])
	}
	roundF16Generic(dst[n8:], src[n8:])
}

// fp32ToFP16BytesAVX2 runs toFP16Asm over the whole groups of eight, Go
// over the rest.
func fp32ToFP16BytesAVX2(dst []byte, src []float32) {
	n8 := len(src) &^ 7
	if n8 > 0 {
		_ = dst[2*n8-1]
		toFP16Asm(n8/8, &src[0], &dst[0])
	}
	fp32ToFP16BytesGeneric(dst[2*n8:], src[n8:])
}

// toFP16Asm stores 8·n8 floats from src as halves (VCVTPS2PH, nearest even)
// at dst.
//
//go:noescape
func toFP16Asm(n8 int, src *float32, dst *byte)

// roundBF16AVX2 runs roundBF16Asm over the whole groups of eight, Go over the rest.
func roundBF16AVX2(dst, src []float32) {
	n8 := len(src) &^ 7
	if n8 > 0 {
		_ = dst[n8-1]
		roundBF16Asm(n8/8, &src[0], &dst[0])
	}
	roundBF16Generic(dst[n8:], src[n8:])
}

// roundF16Asm computes, eight at a time (VCVTPS2PH rounding to nearest
// even, then VCVTPH2PS):
//
//	for i < 8·n8: dst[i] = FP16ToFP32(FP32ToFP16(src[i]))
//
// A NaN stays a NaN (its payload may differ from FP32ToFP16's quiet NaN).
//
//go:noescape
func roundF16Asm(n8 int, src, dst *float32)

// roundBF16Asm computes, eight at a time, with FP32ToBF16's integer rounding:
//
//	for i < 8·n8: dst[i] = BF16ToFP32(FP32ToBF16(src[i]))
//
//go:noescape
func roundBF16Asm(n8 int, src, dst *float32)

// lanesAsm: the lanes-of-8 tile may run as assembly (F16 rows also need F16C).
var lanesAsm = hasAVX2FMA

func halfLanes8TileAsm(bf16 bool, k8 int, w0, w1, w2, w3 *byte, x0, x1, x2 *float32, out *[12]float32) bool {
	switch {
	case !lanesAsm || k8 == 0:
		return false
	case bf16:
		lanesBF16TileAsm(k8, w0, w1, w2, w3, x0, x1, x2, out)
	case f16cOK:
		lanesF16TileAsm(k8, w0, w1, w2, w3, x0, x1, x2, out)
	default:
		return false
	}
	return true
}

// lanesF16TileAsm computes (k8 ≥ 1), with one fused multiply-add per product:
//
//	for r < 4, c < 3: l[0:8] = 0
//	                  for q < k8, m < 8: l[m] = fma(FP16ToFP32(wr[8q+m]), xc[8q+m], l[m])
//	                  out[r*3+c] = ((l[0]+l[4]) + (l[2]+l[6])) + ((l[1]+l[5]) + (l[3]+l[7]))
//
//go:noescape
func lanesF16TileAsm(k8 int, w0, w1, w2, w3 *byte, x0, x1, x2 *float32, out *[12]float32)

// lanesBF16TileAsm is lanesF16TileAsm for bfloat16 weight rows.
//
//go:noescape
func lanesBF16TileAsm(k8 int, w0, w1, w2, w3 *byte, x0, x1, x2 *float32, out *[12]float32)

// noLanesAsm turns the lanes tile's assembly off (tests) and returns what
// turns it back on.
func noLanesAsm() func() {
	v := lanesAsm
	lanesAsm = false
	return func() { lanesAsm = v }
}
