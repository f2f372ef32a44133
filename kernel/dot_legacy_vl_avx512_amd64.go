//go:build !purego

// Reference: Intel SDM vol. 2 (AVX512BW byte masks, AVX512VL, VPDPBUSD); ggml/src/ggml-cpu/ggml-cpu-quants.c
// (the AVX2 lane order of ggml_vec_dot_q4_1_q8_1, _q5_0_q8_0 and _iq4_nl_q8_0, which these keep).

package kernel

// The VL forms of the one-row Q4_1, Q5_0 and IQ4_NL dots: the operations
// of dotQ4_1Asm, dotQ5_0Asm and dotIQ4_NLAsm, bit for bit, with fewer
// vector operations per block (mask registers, broadcast loads,
// embedded-broadcast multiplies on 256-bit registers;
// dot_legacy_vl_avx512_amd64.s). A single-token decode of such a model
// spends most of its time in these dots, and on Zen 4 the one-block forms
// are bound by vector operations and loads rather than by the FMA chain of
// the lanes, so fewer operations is what pays. They need what vnniOK
// promises (AVX-512 F, BW, VL, VNNI); dot_legacy_lanes_amd64.go selects
// them there.

// dotQ5_0VLAsm is dotQ5_0Asm (see there for the loop it computes), bit for
// bit.
//
//go:noescape
func dotQ5_0VLAsm(nb int, w, x *byte) float32

// dotIQ4_NLVLAsm is dotIQ4_NLAsm (even blocks in one set of lanes, odd
// ones in another, a last odd block added alone), bit for bit.
//
//go:noescape
func dotIQ4_NLVLAsm(nb int, w, x *byte) float32

// dotQ4_1VLAsm is dotQ4_1Asm, bit for bit.
//
//go:noescape
func dotQ4_1VLAsm(nb int, w, x *byte) float32
