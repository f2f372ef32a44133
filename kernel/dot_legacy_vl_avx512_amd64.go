//go:build !purego

// Reference: Intel SDM vol. 2 (AVX512BW byte masks, AVX512VL, VPDPBUSD, VCVTPH2PS); ggml/src/ggml-cpu/ggml-cpu-quants.c
// (the AVX2 lane order of ggml_vec_dot_q4_1_q8_1, _q5_0_q8_0, _q5_1_q8_1, _iq4_nl_q8_0 and _q8_0_q8_0, which these keep).

package kernel

// The VL forms of the one-row Q4_1, Q5_0, Q5_1, IQ4_NL and Q8_0 dots: the
// operations of dotQ4_1Asm, dotQ5_0Asm, dotQ5_1Asm, dotIQ4_NLAsm and
// dotQ8_0Asm, bit for bit, with fewer vector operations per block (mask registers,
// broadcast loads, embedded-broadcast multiplies on 256-bit registers) and
// the weight blocks' fp16 scales converted by VCVTPH2PS rather than looked
// up in fp16Table (dot_legacy_vl_avx512_amd64.s). A single-token decode of
// such a model spends most of its time in these dots. On Zen 4 the
// one-block forms are not bound by the FMA chain of the lanes but by
// operations and loads, and in a decode step the weights streaming
// through the caches evict the 256 KiB table, so each scale lookup tends
// to miss: the conversion is what gave most of the decode's gain. They
// need what vnniOK promises (AVX-512 F, BW, VL, VNNI);
// dot_legacy_lanes_amd64.go and dot_legacy_amd64.go select them there.

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

// dotQ8_0VLAsm is dotQ8_0Asm (see there for the loop it computes), bit for
// bit.
//
//go:noescape
func dotQ8_0VLAsm(nb int, w, x *byte) float32

// dotQ5_1VLAsm is dotQ5_1Asm, bit for bit.
//
//go:noescape
func dotQ5_1VLAsm(nb int, w, x *byte) float32
