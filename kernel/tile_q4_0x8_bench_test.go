package kernel_test

import (
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/kernel"
	"github.com/gptgo/gptgo/tensor"
)

// BenchmarkKernelTileQ4_0x8 times one packed group of eight 4096-element
// Q4_0 rows against four activation rows: as one TileQ4_0x8 call (the VNNI
// kernel where the CPU has it) and as four DotQ4_0x8Rows calls, which is
// what a prompt's packed matmul ran before the tile.
//
//	go test ./kernel/ -run '^$' -bench KernelTileQ4_0x8 -benchtime 0.3s
func BenchmarkKernelTileQ4_0x8(b *testing.B) {
	const n = 4096
	r := rand.New(rand.NewPCG(1, 48))
	rows := asmWeights(r, tensor.Q4_0, 8*n/kernel.QK, false)
	w := make([]byte, len(rows))
	if err := kernel.PackQ4_0x8(n, rows, len(rows)/8, w); err != nil {
		b.Fatal(err)
	}
	x, _ := asmActivations(r, tensor.Q8_0, 4*n, false)
	xs := len(x) / 4
	out := make([]float32, 4*8)
	b.Run("tile", func(b *testing.B) {
		b.SetBytes(int64(len(w)))
		cpuLoop(b, func() { kernel.TileQ4_0x8(n, w, x, xs, out, 8) })
	})
	b.Run("dots", func(b *testing.B) {
		b.SetBytes(int64(len(w)))
		cpuLoop(b, func() {
			for j := range 4 {
				kernel.DotQ4_0x8Rows(n, w, x[j*xs:], out[8*j:8*j+8])
			}
		})
	})
}
