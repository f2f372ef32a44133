// Package kernel holds gptgo's hot loops on flat slices: dot products of
// every weight type against 8-bit or float activations, half-precision
// conversions, and the vector operations of a Transformer layer. Each kernel
// is single-threaded over the range it is given; callers split rows across
// cores. Assembly (amd64 AVX2+FMA; AVX512-VNNI forms of the Q8_0, packed
// Q4_0 and K-quant tiles where the CPU has them, giving the same bits;
// arm64 NEON for the float, half, legacy-block and K-quant dots, with SDOT
// where the CPU has FEAT_DotProd) sits beside a plain-Go version that is
// its reference and fallback; the `purego` build tag forces plain Go.
package kernel
