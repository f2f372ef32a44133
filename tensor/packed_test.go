package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// A packed Q4_0 matrix gives MatMul's unpacked results bit for bit, with 1,
// 2 or 3 workers, for one activation row and for batches, with the
// activation rows in one tile or in tiles of one; and MatMul allocates
// nothing for it after the first call.
func TestMatMulPackedMatchesUnpacked(t *testing.T) {
	pools := []*Pool{NewPool(1), NewPool(2), NewPool(3)}
	defer func() {
		for _, p := range pools {
			p.Close()
		}
	}()
	r := rand.New(rand.NewPCG(4, 0))
	for _, shape := range [][2]int{{3 * QK, 8}, {3 * QK, 40}, {64 * QK, 24}} {
		C, R := shape[0], shape[1]
		w := randomMatrix(t, r, Q4_0, C, R)
		pw := *w
		if ok, err := pw.Pack(); !ok || err != nil {
			t.Fatalf("%d×%d: Pack = %v, %v", R, C, ok, err)
		}
		if w.Packed() || !pw.Packed() {
			t.Fatal("Pack changed the copy it was not called on, or did not mark its own")
		}
		for _, nb := range []int{1, 4, 33} {
			x := make([]float32, nb*C)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			want := make([]float32, nb*R)
			if err := pools[0].MatMul(w, x, nb, want); err != nil {
				t.Fatal(err)
			}
			check := func(what string, got []float32) {
				t.Helper()
				for j := range got {
					if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
						t.Fatalf("%d×%d nb %d %s: out[%d] = %v, unpacked %v", R, C, nb, what, j, got[j], want[j])
					}
				}
			}
			for _, p := range pools {
				got := make([]float32, nb*R)
				if err := p.MatMul(&pw, x, nb, got); err != nil {
					t.Fatal(err)
				}
				check("packed", got)
				if a := testing.AllocsPerRun(5, func() { _ = p.MatMul(&pw, x, nb, got) }); a != 0 {
					t.Errorf("%d×%d nb %d: %v allocations per packed MatMul", R, C, nb, a)
				}
			}
			xb, _, err := pools[1].activations(Q8_0, x, nb, C, false)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, nb*R)
			m := matmulTask{packed: true, w: pw.packed, rb: pw.RowBytes(), x: xb, xRow: len(xb) / nb, xTile: 1, C: C, R: R, nb: nb, out: got}
			pools[1].forTask(R, 8, &m)
			check("tiles of one row", got)
		}
	}
}

// Pack leaves alone what it cannot pack: other types, row counts that are
// not a multiple of eight.
func TestPackDeclines(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 1))
	for _, w := range []*Tensor{randomMatrix(t, r, Q4_0, QK, 12), randomMatrix(t, r, Q8_0, QK, 16)} {
		if ok, err := w.Pack(); ok || err != nil || w.Packed() {
			t.Errorf("%v %v: Pack = %v, %v", w.DType, w.Shape, ok, err)
		}
	}
}
