//go:build !purego

package kernel

import (
	"bytes"
	"math/rand/v2"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// threadNanos is this OS thread's CPU time (the external tests' cpuLoop
// measure, for an internal benchmark).
func threadNanos() int64 {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_THREAD, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// cpuNanosLoop runs fn under b.Loop on a locked thread and reports its CPU
// time per op (steadier than wall time on a shared machine).
func cpuNanosLoop(b *testing.B, fn func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0, n := threadNanos(), 0
	for b.Loop() {
		fn()
		n++
	}
	b.ReportMetric(float64(threadNanos()-t0)/float64(max(n, 1)), "cpu-ns/op")
}

// The 4×4 Q8_0 tile against dotQ8_0Generic for each of its sixteen
// products, bit for bit: lengths 1…67 and 129 blocks, weight rows and
// activation rows odd strides apart with 0xFF guards between them, random
// and extreme blocks (weight bytes 0x80 or 0x7F, activations ±127).
func TestVNNITileQ8_0x4MatchesDots(t *testing.T) {
	skipNoVNNI(t)
	r := rand.New(rand.NewPCG(20, 84))
	for _, nb := range vnniLengths() {
		if nb == 0 {
			continue
		}
		c := nb % 3
		n, rowBytes := nb*QK, nb*q8_0Bytes
		rb := rowBytes + r.IntN(5)
		w := bytes.Repeat([]byte{0xFF}, 3*rb+rowBytes+64)
		for i := range 4 {
			copy(w[i*rb:], vnniWeights(r, nb, q8_0Bytes, []int{0}, c > 0, []byte{0, 0x80, 0x7F}[c]))
		}
		xStride := rowBytes + 1 + r.IntN(7)
		x := bytes.Repeat([]byte{0xFF}, 3*xStride+rowBytes+64)
		for j := range 4 {
			copy(x[j*xStride:], vnniQ8_0(r, n, c > 0 && j == 1))
		}
		w0, x0 := append([]byte(nil), w...), append([]byte(nil), x...)
		xd := make([]float32, 4*nb)
		Q8_0Scales4(nb, x, xStride, xd)
		var out [16]float32
		tileQ8_0x4VNNIAsm(nb, &w[0], rb, &x[0], xStride, &xd[0], &out)
		if !bytes.Equal(w, w0) || !bytes.Equal(x, x0) {
			t.Fatalf("%d blocks: inputs changed", nb)
		}
		for i := range 4 {
			for j := range 4 {
				want := dotQ8_0Generic(n, w[i*rb:i*rb+rowBytes], x[j*xStride:j*xStride+rowBytes])
				if got := out[4*i+j]; !sameBits(got, want) {
					t.Fatalf("%d blocks, weight row %d, activation row %d: tile %v, Go %v", nb, i, j, got, want)
				}
			}
		}
	}
}

func BenchmarkTileQ8_0x4(b *testing.B) {
	if !vnniOK {
		b.Skip("no AVX512-VNNI")
	}
	const nb = 128
	r := rand.New(rand.NewPCG(1, 84))
	rowBytes := nb * q8_0Bytes
	w := vnniWeights(r, 4*nb, q8_0Bytes, []int{0}, false, 0)
	x := vnniQ8_0(r, 4*nb*QK, false)
	xd := make([]float32, 4*nb)
	Q8_0Scales4(nb, x, rowBytes, xd)
	var out [16]float32
	var t [4]float32
	b.Run("4x4", func(b *testing.B) {
		cpuNanosLoop(b, func() { tileQ8_0x4VNNIAsm(nb, &w[0], rowBytes, &x[0], rowBytes, &xd[0], &out) })
	})
	b.Run("4x1x4", func(b *testing.B) {
		cpuNanosLoop(b, func() {
			for i := range 4 {
				tileQ8_0VNNIAsm(nb, &w[i*rowBytes], &x[0], rowBytes, &xd[0], &t)
			}
		})
	})
}
