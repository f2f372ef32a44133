// Reference: gemm_amd64.s (gemmKernelPairAsm, the AVX-512 6×32 tile).

// The AVX-512 pair tile's pieces, shared by gemm_amd64.s and the forms that
// read A or B where they lie (gemm_tri, gemm_rows, gemm_bplace, gemm_gen):
// Z0..Z11 hold a 6×32 tile of C, row i in Z(2i) (columns 0-15) and Z(2i+1)
// (columns 16-31); Z12, Z13 = B's 32 values at k; Z14, Z15 = A's value of a
// row at k, broadcast. Every form adds the products in the same order, one
// FMA per k, so each gives the packed kernel's bits.

// PAIRZERO clears the tile.
#define PAIRZERO \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; \
	VPXORD Z5, Z5, Z5; \
	VPXORD Z6, Z6, Z6; \
	VPXORD Z7, Z7, Z7; \
	VPXORD Z8, Z8, Z8; \
	VPXORD Z9, Z9, Z9; \
	VPXORD Z10, Z10, Z10; \
	VPXORD Z11, Z11, Z11

// PAIRROW adds A's value at addr (broadcast in Za) times B's 32 values to
// the row in lo, hi.
#define PAIRROW(addr, Za, lo, hi) VBROADCASTSS addr, Za; VFMADD231PS Z12, Za, lo; VFMADD231PS Z13, Za, hi

// PAIRROWSPACKED does the six rows from a packed micro-panel of A at SI
// (six floats per k).
#define PAIRROWSPACKED \
	PAIRROW(0(SI), Z14, Z0, Z1); \
	PAIRROW(4(SI), Z15, Z2, Z3); \
	PAIRROW(8(SI), Z14, Z4, Z5); \
	PAIRROW(12(SI), Z15, Z6, Z7); \
	PAIRROW(16(SI), Z14, Z8, Z9); \
	PAIRROW(20(SI), Z15, Z10, Z11)

// PAIRROWSAT does the six rows from A's rows where they lie: row 0 at SI,
// the others R11 (one row), 2·R11, R12 (3 rows), 4·R11 and R13 (5 rows)
// bytes on.
#define PAIRROWSAT \
	PAIRROW((SI), Z14, Z0, Z1); \
	PAIRROW((SI)(R11*1), Z15, Z2, Z3); \
	PAIRROW((SI)(R11*2), Z14, Z4, Z5); \
	PAIRROW((SI)(R12*1), Z15, Z6, Z7); \
	PAIRROW((SI)(R11*4), Z14, Z8, Z9); \
	PAIRROW((SI)(R13*1), Z15, Z10, Z11)

// PAIRSTORE writes one row of the tile to C at DX (adding C's values first
// when R9 ≠ 0) and moves DX on by R8 (ldc in bytes).
#define PAIRSTORE(lo, hi) \
	TESTQ R9, R9; JEQ 3(PC); VADDPS (DX), lo, lo; VADDPS 64(DX), hi, hi; \
	VMOVUPS lo, (DX); VMOVUPS hi, 64(DX); ADDQ R8, DX

// PAIRSTOREALL writes the six rows.
#define PAIRSTOREALL \
	PAIRSTORE(Z0, Z1); \
	PAIRSTORE(Z2, Z3); \
	PAIRSTORE(Z4, Z5); \
	PAIRSTORE(Z6, Z7); \
	PAIRSTORE(Z8, Z9); \
	PAIRSTORE(Z10, Z11)
