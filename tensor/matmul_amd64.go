//go:build !purego

// Reference: ggml/src/ggml-cpu/llamafile/sgemm.cpp (register tiles chosen by CPU feature at start-up).

package tensor

import "github.com/gptgo/gptgo/kernel"

func init() {
	if !kernel.Tiles() {
		return
	}
	tileKernels[F32] = kernel.TileF32
	tileKernels[F16] = kernel.TileF16
	tileKernels[BF16] = kernel.TileBF16
	scaledTiles[Q8_0] = kernel.TileQ8_0
	scaledTiles[Q4_0] = kernel.TileQ4_0
	if kernel.TilesQ8_0x4() {
		scaledTiles4[Q8_0] = kernel.TileQ8_0x4
	}
	tileKernels[Q4_K] = kernel.TileQ4_K
	tileKernels[Q5_K] = kernel.TileQ5_K
	tileKernels[Q6_K] = kernel.TileQ6_K
	tileKernels[Q4_1] = kernel.TileQ4_1
	tileKernels[Q5_0] = kernel.TileQ5_0
	tileKernels[Q5_1] = kernel.TileQ5_1
	tileKernels[IQ4_NL] = kernel.TileIQ4_NL // batchDots' order, as MatMul's batches
	if kernel.TilesLegacyX4() {
		tiles4[Q4_1] = kernel.TileQ4_1x4
		tiles4[Q5_0] = kernel.TileQ5_0x4
		tiles4[Q5_1] = kernel.TileQ5_1x4
		tiles4[IQ4_NL] = kernel.TileIQ4_NLx4
	}
}
