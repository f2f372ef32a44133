package kernel_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/kernel"
	"github.com/gptgo/gptgo/tensor"
)

// BenchmarkKernelDot times one 4096-element dot of each weight type, with
// the selected kernel ("asm" where the CPU allows) and the plain-Go one.
// SetBytes counts the weight bytes, so MB/s is the weight streaming rate of
// one core on data that sits in L1/L2 (an upper bound for a matvec);
// cpu-ns/op is the thread's CPU time per dot, steadier on a busy machine.
//
//	go test ./kernel/ -run '^$' -bench KernelDot -benchtime 0.3s
func BenchmarkKernelDot(b *testing.B) {
	b.Log(kernel.Features())
	const n = 4096
	for _, c := range asmCases {
		r := rand.New(rand.NewPCG(7, uint64(c.wt)))
		w := asmWeights(r, c.wt, n/c.wt.BlockSize(), false)
		x, _ := asmActivations(r, c.xt, n, false)
		for _, impl := range []struct {
			name string
			dot  func(n int, w, x []byte) float32
		}{{"asm", c.fast}, {"generic", c.generic}} {
			b.Run(fmt.Sprintf("%s/%s", c.name, impl.name), func(b *testing.B) {
				b.SetBytes(int64(len(w)))
				var s float32
				cpuLoop(b, func() { s += impl.dot(n, w, x) })
				sink = s
			})
		}
	}
}

var sink float32

// BenchmarkKernelQuantize times the activation quantizers on one row of 4096
// (selected: what QuantizeQ8_0/QuantizeQ8_K run on this machine).
func BenchmarkKernelQuantize(b *testing.B) {
	const n = 4096
	r := rand.New(rand.NewPCG(3, 4))
	src := make([]float32, n)
	for i := range src {
		src[i] = float32(r.NormFloat64())
	}
	for _, q := range []struct {
		name string
		t    tensor.DType
		fn   func([]float32, []byte)
	}{
		{"q8_0/selected", tensor.Q8_0, kernel.QuantizeQ8_0},
		{"q8_0/generic", tensor.Q8_0, kernel.RefQuantizeQ8_0},
		{"q8_K/selected", tensor.Q8_K, kernel.QuantizeQ8_K},
		{"q8_K/generic", tensor.Q8_K, kernel.RefQuantizeQ8_K},
	} {
		dst := make([]byte, n/q.t.BlockSize()*q.t.TypeSize())
		b.Run(q.name, func(b *testing.B) {
			b.SetBytes(4 * n)
			cpuLoop(b, func() { q.fn(src, dst) })
		})
	}
}
