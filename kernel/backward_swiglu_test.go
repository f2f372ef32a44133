// Reference: backward.go (SwiGLUBackward and swigluBackwardGeneric, the loop the vector form must match bit for bit).

package kernel

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// swigluGates is a mix of gate values: normal ones at many scales, both
// signs of zero, subnormals, the edges of the vector form's range (−g in
// [−87, 88]) and of float32's exp, infinities and NaN.
func swigluGates(r *rand.Rand, n int) []float32 {
	special := []float32{0, float32(math.Copysign(0, -1)), 1e-45, -1e-45, 1e-38, 87, -88, 87.0001, -88.0001,
		88.72, -88.72, 103.9, -103.9, 200, -200, math.MaxFloat32, -math.MaxFloat32,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1, -1, 0.5}
	g := make([]float32, n)
	for i := range g {
		if r.IntN(8) == 0 {
			g[i] = special[r.IntN(len(special))]
			continue
		}
		g[i] = float32(r.NormFloat64() * math.Ldexp(1, r.IntN(14)-6))
	}
	return g
}

// TestSwiGLUBackwardSameBits: SwiGLUBackward (the vector form where the CPU
// has it, handing back groups it cannot promise) gives swigluBackwardGeneric's
// bits on every element, over lengths 0…67 and a long odd one, from several
// start offsets, with guard values after the outputs, the inputs unchanged.
func TestSwiGLUBackwardSameBits(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 9))
	const guard = float32(-7777.25)
	lengths := make([]int, 0, 70)
	for n := range 68 {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 4099)
	for _, n := range lengths {
		for off := range 3 {
			gate := swigluGates(r, off+n)[off:]
			up, dy := randF32(r, off+n, 2)[off:], randF32(r, off+n, 1)[off:]
			dg0, du0 := randF32(r, n, 1), randF32(r, n, 1)
			gate0, up0, dy0 := append([]float32(nil), gate...), append([]float32(nil), up...), append([]float32(nil), dy...)
			wantG, wantU := append([]float32(nil), dg0...), append([]float32(nil), du0...)
			swigluBackwardGeneric(wantG, wantU, dy, gate, up)
			gotG, gotU := append(append([]float32(nil), dg0...), guard, guard), append(append([]float32(nil), du0...), guard, guard)
			SwiGLUBackward(gotG[:n], gotU[:n], dy, gate, up)
			for i := range n {
				if math.Float32bits(gotG[i]) != math.Float32bits(wantG[i]) || math.Float32bits(gotU[i]) != math.Float32bits(wantU[i]) {
					t.Fatalf("n=%d off=%d: element %d (gate %v): dgate %v dup %v, the loop gives %v %v", n, off, i, gate[i], gotG[i], gotU[i], wantG[i], wantU[i])
				}
			}
			if gotG[n] != guard || gotG[n+1] != guard || gotU[n] != guard || gotU[n+1] != guard {
				t.Fatalf("n=%d off=%d: guard overwritten", n, off)
			}
			for i := range n {
				if math.Float32bits(gate[i]) != math.Float32bits(gate0[i]) || up[i] != up0[i] || dy[i] != dy0[i] {
					t.Fatalf("n=%d off=%d: an input changed at %d", n, off, i)
				}
			}
		}
	}
}

// TestSwiGLUBackwardVecTakesOrdinaryGates: the vector form, where there is
// one, does ordinary gates itself (it hands back only the rare groups near a
// rounding midpoint, none of these), so the test above checks its bits.
func TestSwiGLUBackwardVecTakesOrdinaryGates(t *testing.T) {
	if swigluBackwardVec == nil {
		t.Skip("no vector SwiGLUBackward on this CPU or build")
	}
	r := rand.New(rand.NewPCG(5, 5))
	const n = 1024
	gate, up, dy := randF32(r, n, 3), randF32(r, n, 1), randF32(r, n, 1)
	if got := swigluBackwardVec(make([]float32, n), make([]float32, n), dy, gate, up); got != n {
		t.Fatalf("the vector form did %d of %d ordinary gates", got, n)
	}
	gate[13] = float32(math.NaN())
	if got := swigluBackwardVec(make([]float32, n), make([]float32, n), dy, gate, up); got != 8 {
		t.Fatalf("with a NaN at 13 the vector form did %d, want 8 (it stops before the group holding it)", got)
	}
}

// TestSwiGLUBackwardAllGates runs every float32 gate value (2³² of them,
// about two minutes) through SwiGLUBackward and the loop, with dy = up = 1, and
// wants the same bits everywhere. Too long for every run: it runs when
// GPTGO_EXHAUSTIVE=1.
func TestSwiGLUBackwardAllGates(t *testing.T) {
	if os.Getenv("GPTGO_EXHAUSTIVE") != "1" {
		t.Skip("set GPTGO_EXHAUSTIVE=1 to check all 2³² gate values (about two minutes)")
	}
	const chunk = 1 << 16
	gate, ones := make([]float32, chunk), make([]float32, chunk)
	gotG, gotU, wantG, wantU := make([]float32, chunk), make([]float32, chunk), make([]float32, chunk), make([]float32, chunk)
	for i := range ones {
		ones[i] = 1
	}
	for base := uint64(0); base < 1<<32; base += chunk {
		for i := range gate {
			gate[i] = math.Float32frombits(uint32(base) + uint32(i))
		}
		clear(gotG)
		clear(gotU)
		clear(wantG)
		clear(wantU)
		SwiGLUBackward(gotG, gotU, ones, gate, ones)
		swigluBackwardGeneric(wantG, wantU, ones, gate, ones)
		for i := range gate {
			if math.Float32bits(gotG[i]) != math.Float32bits(wantG[i]) || math.Float32bits(gotU[i]) != math.Float32bits(wantU[i]) {
				t.Fatalf("gate %#x (%v): dgate %v dup %v, the loop gives %v %v", math.Float32bits(gate[i]), gate[i], gotG[i], gotU[i], wantG[i], wantU[i])
			}
		}
	}
}

// BenchmarkSwiGLUBackward is one 0.9M training layer's SwiGLU backward
// (4,096 tokens × F 352) on one thread, the loop against SwiGLUBackward.
func BenchmarkSwiGLUBackward(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	const n = 4096 * 352
	gate, up, dy := randF32(r, n, 1), randF32(r, n, 1), randF32(r, n, 1)
	dg, du := make([]float32, n), make([]float32, n)
	b.Run("loop", func(b *testing.B) {
		for b.Loop() {
			swigluBackwardGeneric(dg, du, dy, gate, up)
		}
	})
	b.Run("selected", func(b *testing.B) {
		for b.Loop() {
			SwiGLUBackward(dg, du, dy, gate, up)
		}
	})
}
