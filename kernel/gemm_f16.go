// Reference: ggml/src/ggml-cpu/llamafile/sgemm.cpp (tinyBLAS on F16 weights: halves widened to float32 as
// they are loaded); BLIS (Van Zee & van de Geijn, ACM TOMS 41(3), 2015): packing converts the operand's type.

package kernel

import (
	"encoding/binary"
	"unsafe"
)

// GemmF16Range is GemmF32Range for half-precision weights: it computes the
// block of C with rows [m0, m1) and columns [n0, n1) of
//
//	C[i*ldc+j] = Σ_k A[i*lda+k] · FP16ToFP32(B[j*ldb+k])   (i < M, j < N, k < K)
//
// where B holds N rows of K IEEE half values (little-endian, 2 bytes each,
// row j starting at byte 2·j·ldb), as a weight matrix is stored: it is
// GemmF32(false, true, …) with B widened to float32, which happens while B is
// packed, so no float32 copy of the weights is ever made. Every element is
// summed in GemmF32Range's order (the fixed K blocks, each from zero in k
// order by the same micro-kernels), so the result does not depend on the
// split, and equals GemmF32Range on the widened B bit for bit.
//
// A is used as given: callers that want llama.cpp's F16 activations round
// them first (RoundF16Into).
func GemmF16Range(M, N, K int, A []float32, lda int, B []byte, ldb int, C []float32, ldc int, m0, m1, n0, n1 int) {
	gemmHalfRange(false, M, N, K, A, lda, B, ldb, C, ldc, m0, m1, n0, n1)
}

// GemmBF16Range is GemmF16Range with B in bfloat16 (BF16ToFP32 widens it).
func GemmBF16Range(M, N, K int, A []float32, lda int, B []byte, ldb int, C []float32, ldc int, m0, m1, n0, n1 int) {
	gemmHalfRange(true, M, N, K, A, lda, B, ldb, C, ldc, m0, m1, n0, n1)
}

func gemmHalfRange(bf16 bool, M, N, K int, A []float32, lda int, B []byte, ldb int, C []float32, ldc int, m0, m1, n0, n1 int) {
	if m0 < 0 || n0 < 0 || m1 > M || n1 > N || K < 0 || ldc < N || ldb < K {
		panic("kernel: GemmF16Range: block or sizes out of range")
	}
	gemmBlocks(false, K, A, lda, C, ldc, false, m0, m1, n0, n1, func(pc, kc, jc, nc int, dst []float32) {
		packBHalf(bf16, B, ldb, pc, kc, jc, nc, dst)
	})
}

// packBHalf is packB(true, …) for half rows: it widens B[j*ldb+pc+k] (row
// jc+j) to float32 into dst[(j/NR)*NR*kc + k*NR + j%NR], columns past nc
// zero. Whole panels of gemmNR rows go through packHalfPanel (eight k at a
// time) where the CPU allows; the rest, and the k left over, in plain Go.
func packBHalf(bf16 bool, B []byte, ldb, pc, kc, jc, nc int, dst []float32) {
	widen := FP16ToFP32
	if bf16 {
		widen = BF16ToFP32
	}
	for jr := 0; jr < nc; jr += gemmNR {
		p := dst[jr*kc : jr*kc+gemmNR*kc]
		nr := min(gemmNR, nc-jr)
		row := jc + jr
		k0 := 0
		if nr == gemmNR && packHalfPanel != nil && kc >= 8 {
			k0 = kc &^ 7
			_ = B[2*((row+gemmNR-1)*ldb+pc+k0)-1] // the last byte the assembly reads
			packHalfPanel(bf16, k0, &B[2*(row*ldb+pc)], 2*ldb, &p[0])
		} else if nr < gemmNR {
			clear(p)
		}
		for j := range nr {
			b := B[2*((row+j)*ldb+pc) : 2*((row+j)*ldb+pc+kc)]
			for k := k0; k < kc; k++ {
				p[k*gemmNR+j] = widen(binary.LittleEndian.Uint16(b[2*k:]))
			}
		}
	}
}

// packHalfPanel, where the CPU has it, packs k8 (a multiple of 8) columns of
// gemmNR half rows, stride bytes apart from src, into the panel dst as
// packBHalf does: dst[k*gemmNR+j] = widen(row j, value k).
var packHalfPanel func(bf16 bool, k8 int, src *byte, stride int, dst *float32)

// RoundF16Into sets dst[i] to src[i] rounded to the nearest half-precision value
// (ties to even, overflow to ±Inf), as float32: FP16ToFP32(FP32ToFP16(src[i])).
// This is what llama.cpp's conversion of the activations to F16 (the
// vec_dot_type of F16 weights) keeps of them. dst may be src.
func RoundF16Into(dst, src []float32) { roundF16(dst[:len(src)], src) }

// RoundBF16Into is RoundF16Into for bfloat16: BF16ToFP32(FP32ToBF16(src[i])).
func RoundBF16Into(dst, src []float32) { roundBF16(dst[:len(src)], src) }

// FP32ToFP16Bytes stores src as little-endian half-precision values in dst
// (2·len(src) bytes): FP32ToFP16 of each, but that a NaN may keep its
// payload where the F16C conversion is used.
func FP32ToFP16Bytes(dst []byte, src []float32) { fp32ToFP16Bytes(dst[:2*len(src)], src) }

var (
	roundF16        = roundF16Generic
	roundBF16       = roundBF16Generic
	fp32ToFP16Bytes = fp32ToFP16BytesGeneric
)

func fp32ToFP16BytesGeneric(dst []byte, src []float32) {
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], FP32ToFP16(v))
	}
}

func roundF16Generic(dst, src []float32) {
	for i, v := range src {
		dst[i] = FP16ToFP32(FP32ToFP16(v))
	}
}

func roundBF16Generic(dst, src []float32) {
	for i, v := range src {
		dst[i] = BF16ToFP32(FP32ToBF16(v))
	}
}

// GemmHalfLanes8Range computes the same block of C = A·Bᵀ as GemmF16Range
// (bf16: GemmBF16Range), but every element in the order of llama.cpp's AVX2
// tinyBLAS for F16 and BF16 weights (tinyBLAS<8, __m256, …>), which it uses
// for a batch of tokens: as DotF32TinyBLAS of the widened weight row and the
// activation row, lane m the fused multiply-adds of the k ≡ m (mod 8) in k
// order, the lanes folded ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)). K must be
// a multiple of 8 (tinyBLAS declines the others).
//
// Where the time goes: a tile of 4 weight rows by 3 activation rows keeps
// its 12 eight-lane sums in registers, loading 7 vectors for 12 FMAs
// (tinyBLAS's 4×3 tile on 16 registers). Weight rows are taken
// lanesBlockRows at a time, so a block stays in L2 while every activation
// row of the range passes.
func GemmHalfLanes8Range(bf16 bool, K int, A []float32, lda int, B []byte, ldb int, C []float32, ldc int, m0, m1, n0, n1 int) {
	if m0 < 0 || n0 < 0 || K < 0 || K%8 != 0 || ldb < K || lda < K || ldc < n1 {
		panic("kernel: GemmHalfLanes8Range: block or sizes out of range")
	}
	if m0 >= m1 || n0 >= n1 {
		return
	}
	if K == 0 {
		for i := m0; i < m1; i++ {
			clear(C[i*ldc+n0 : i*ldc+n1])
		}
		return
	}
	_, _, _ = A[(m1-1)*lda+K-1], B[2*((n1-1)*ldb+K)-1], C[(m1-1)*ldc+n1-1]
	for jb := n0; jb < n1; jb += lanesBlockRows {
		je := min(jb+lanesBlockRows, n1)
		for i := m0; i < m1; i += 3 {
			// Rows past the end repeat the last one: the tile computes
			// them again, identically, and they are not stored.
			x0, x1, x2 := i, min(i+1, m1-1), min(i+2, m1-1)
			for j := jb; j < je; j += 4 {
				j1, j2, j3 := min(j+1, je-1), min(j+2, je-1), min(j+3, je-1)
				var out [12]float32
				halfLanes8Tile(bf16, K/8,
					&B[2*j*ldb], &B[2*j1*ldb], &B[2*j2*ldb], &B[2*j3*ldb],
					&A[x0*lda], &A[x1*lda], &A[x2*lda], &out)
				for r := range min(4, je-j) {
					for c := range min(3, m1-i) {
						C[(i+c)*ldc+j+r] = out[r*3+c]
					}
				}
			}
		}
	}
}

// lanesBlockRows weight rows (64 KiB of F16 at K = 512, 256 KiB at 2048)
// stay in L2 while the activation rows stream past them.
const lanesBlockRows = 64

// halfLanes8Tile computes, for 4 weight rows w0…w3 (8·k8 halves each) and 3
// activation rows x0…x2 (8·k8 float32 each), out[r*3+c] = the lanes-of-8
// dot of wr and xc (GemmHalfLanes8Range's order). k8 may be 0. The caller
// has checked that every row is in range. It runs the assembly where the
// CPU allows (halfLanes8TileAsm, false where none ran); calling it directly
// rather than through a function variable keeps out on the caller's stack.
func halfLanes8Tile(bf16 bool, k8 int, w0, w1, w2, w3 *byte, x0, x1, x2 *float32, out *[12]float32) {
	if !halfLanes8TileAsm(bf16, k8, w0, w1, w2, w3, x0, x1, x2, out) {
		halfLanes8TileGeneric(bf16, k8, w0, w1, w2, w3, x0, x1, x2, out)
	}
}

func halfLanes8TileGeneric(bf16 bool, k8 int, w0, w1, w2, w3 *byte, x0, x1, x2 *float32, out *[12]float32) {
	widen := FP16ToFP32
	if bf16 {
		widen = BF16ToFP32
	}
	n := 8 * k8
	ws := [4]*byte{w0, w1, w2, w3}
	xs := [3]*float32{x0, x1, x2}
	for r, wp := range ws {
		w := unsafe.Slice(wp, 2*n)
		for c, xp := range xs {
			x := unsafe.Slice(xp, n)
			var l [8]float32
			for q := 0; q < n; q += 8 {
				for m := range l {
					l[m] = fma32x(widen(binary.LittleEndian.Uint16(w[2*(q+m):])), x[q+m], l[m])
				}
			}
			out[r*3+c] = ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]))
		}
	}
}
