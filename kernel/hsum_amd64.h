// Reference: ggml's hsum_float_8 (ggml-cpu/arch/x86/quants.c), the order every
// dot's final sum keeps for llama.cpp's bits.

// HSUM8 leaves the sum of Y0's eight lanes in X0's low lane as hsum_float_8:
// ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)); clobbers X1.
#define HSUM8 \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0; \
	VMOVHLPS X0, X0, X1; \
	VADDPS X1, X0, X0; \
	VMOVSHDUP X0, X1; \
	VADDSS X1, X0, X0
