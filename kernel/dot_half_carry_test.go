// Reference: dot_half_carry.go (lanes carried across blocks, folded as DotHalvesLanes8 and DotHalvesVec
// fold); STYLE.md habit 1 (lengths, offsets, guards).

package kernel_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/gptgo/gptgo/kernel"
)

// carryOrder is one of the two summation orders with its carrying kernel
// (selected and plain Go) and its contiguous dot.
type carryOrder struct {
	name          string
	lanes         int
	dot           func([]byte, []float32) float32
	carry         func(acc []float32, pos int, w []byte, stride int, x []float32)
	fold, foldRef func(dst, acc []float32)
}

var carryOrders = []carryOrder{
	{name: "lanes8", lanes: 8, dot: kernel.DotHalvesLanes8, carry: kernel.CarryHalvesLanes8Rows,
		fold: kernel.FoldHalvesLanes8Rows, foldRef: kernel.RefFoldHalvesLanes8Rows},
	{name: "vec", lanes: 32, dot: kernel.DotHalvesVec, carry: kernel.CarryHalvesVecRows,
		fold: kernel.FoldHalvesVecRows, foldRef: kernel.RefFoldHalvesVecRows},
}

// splits cuts n positions into blocks: fixed sizes 16 and 32 (the paged
// cache's usual P), a random size 1…40 (lanes start anywhere, also inside
// a group of 8), and random cuts of 1…40 positions each.
func splits(r *rand.Rand, n int) map[string][]int {
	fixed := func(P int) []int {
		var s []int
		for t := 0; t < n; t += P {
			s = append(s, min(P, n-t))
		}
		return s
	}
	var cuts []int
	for t := 0; t < n; {
		m := min(1+r.IntN(40), n-t)
		cuts = append(cuts, m)
		t += m
	}
	P := 1 + r.IntN(40)
	return map[string][]int{"P16": fixed(16), "P32": fixed(32), "P" + strconv.Itoa(P): fixed(P), "cuts": cuts}
}

func bitsEqual(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(p, q float32) bool { return math.Float32bits(p) == math.Float32bits(q) })
}

// Carrying the lanes over any split of the positions into blocks, then
// folding, gives the contiguous dot's bits row by row, in both orders, for
// lengths 0…200 and a long one; the selected kernel's lanes equal plain
// Go's after every block; each block's rows lie in a buffer of their own,
// wider than the block, between guards that must stay as they are, as must
// the guard lanes around acc. Modes: random halves (zeros, subnormals and
// extremes mixed in), every product −0 (lanes that start at +0 stay +0,
// so DotHalvesLanes8's +0-padded tail changes nothing), and products of ±0. Against float64 the sums are within the bound of a float32 sum of
// n terms: |got − exact| ≤ (n+1)·2⁻²³·Σ|products|.
func TestCarryHalvesMatchDots(t *testing.T) {
	r := rand.New(rand.NewPCG(24, 29))
	const guard = 8
	guardNaN := float32(math.NaN())
	for _, n := range append(seqInts(201), 1001) {
		mode := n % 3
		rows := 1 + r.IntN(6)
		cw := make([]byte, 2*n*rows) // the rows contiguous, as the State's cache holds them
		x := make([]float32, n)
		for i := range x {
			switch mode {
			case 0:
				x[i] = kernel.FP16ToFP32(randHalf(r))
			case 1:
				x[i] = float32(math.Abs(float64(kernel.FP16ToFP32(randHalf(r)))))
			default:
				x[i] = float32(math.Copysign(0, float64(r.IntN(2)*2-1)))
			}
		}
		for i := 0; i < len(cw); i += 2 {
			h := randHalf(r)
			switch mode {
			case 1:
				h = 0x8000
			case 2:
				h = uint16(r.IntN(2)) << 15
			}
			cw[i], cw[i+1] = byte(h), byte(h>>8)
		}
		for _, o := range carryOrders {
			want := make([]float32, rows)
			for j := range rows {
				row := cw[2*n*j : 2*n*(j+1)]
				want[j] = o.dot(row, x)
				var exact, abs float64
				for i := range x {
					p := float64(kernel.FP16ToFP32(uint16(row[2*i])|uint16(row[2*i+1])<<8)) * float64(x[i])
					exact += p
					abs += math.Abs(p)
				}
				if d := math.Abs(float64(want[j]) - exact); d > float64(n+1)*math.Exp2(-23)*abs {
					t.Fatalf("%s n %d row %d: contiguous dot %v, exact %v", o.name, n, j, want[j], exact)
				}
			}
			for split, sizes := range splits(r, n) {
				L := o.lanes
				sel := make([]float32, guard+rows*L+guard)
				gen := make([]float32, len(sel))
				for _, a := range [][]float32{sel, gen} {
					for i := range a {
						a[i] = guardNaN
					}
					clear(a[guard : guard+rows*L])
				}
				t0 := 0
				for _, m := range sizes {
					stride := 2*m + 2*r.IntN(3)
					off := r.IntN(4) // byte offset: halves need not be aligned
					blk := make([]byte, guard+off+(rows-1)*stride+2*m+guard)
					for i := range blk {
						blk[i] = 0xfe
					}
					w := blk[guard+off:]
					for j := range rows {
						copy(w[j*stride:j*stride+2*m], cw[2*n*j+2*t0:2*n*j+2*(t0+m)])
					}
					w = w[:(rows-1)*stride+2*m]
					blk0, x0 := slices.Clone(blk), slices.Clone(x)
					o.carry(sel[guard:guard+rows*L], t0, w, stride, x[t0:t0+m])
					kernel.RefCarryHalvesRows(gen[guard:guard+rows*L], L, t0%L, w, stride, x[t0:t0+m])
					if !bitsEqual(sel, gen) {
						t.Fatalf("%s n %d %s block at %d (%d positions): lanes %v, plain Go %v", o.name, n, split, t0, m, sel, gen)
					}
					if !bytes.Equal(blk, blk0) || !bitsEqual(x, x0) {
						t.Fatalf("%s n %d %s block at %d: inputs or guards changed", o.name, n, split, t0)
					}
					t0 += m
				}
				for _, a := range [][]float32{sel[:guard], sel[guard+rows*L:]} {
					for _, v := range a {
						if !math.IsNaN(float64(v)) {
							t.Fatalf("%s n %d %s: a guard lane changed to %v", o.name, n, split, v)
						}
					}
				}
				got := make([]float32, rows+1)
				got[rows] = 42
				o.fold(got[:rows], sel[guard:guard+rows*L])
				ref := make([]float32, rows)
				o.foldRef(ref, gen[guard:guard+rows*L])
				if !bitsEqual(got[:rows], want) || !bitsEqual(ref, want) {
					t.Fatalf("%s n %d mode %d %s %v: folded %v, plain Go %v, contiguous dot %v", o.name, n, mode, split, sizes, got[:rows], ref, want)
				}
				if got[rows] != 42 {
					t.Fatalf("%s n %d: fold wrote past dst", o.name, n)
				}
			}
		}
	}
}

// No rows, or an empty block, changes nothing; calls no caller can mean
// panic with the function's name.
func TestCarryHalvesEdges(t *testing.T) {
	for _, o := range carryOrders {
		o.carry(nil, 5, nil, 0, []float32{1, 2})
		acc := make([]float32, o.lanes)
		o.carry(acc, 3, []byte{1, 2}, 2, nil)
		if !bitsEqual(acc, make([]float32, o.lanes)) {
			t.Errorf("%s: an empty block changed the lanes: %v", o.name, acc)
		}
		for name, f := range map[string]func(){
			"odd lanes":     func() { o.carry(make([]float32, o.lanes+1), 0, make([]byte, 64), 4, []float32{1}) },
			"negative pos":  func() { o.carry(acc, -1, make([]byte, 4), 4, []float32{1}) },
			"short w":       func() { o.carry(make([]float32, 2*o.lanes), 0, make([]byte, 5), 4, []float32{1, 2}) },
			"fold mismatch": func() { o.fold(make([]float32, 2), acc) },
		} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%s %s: no panic", o.name, name)
					}
				}()
				f()
			}()
		}
	}
}

// BenchmarkCarryHalves is the weighted sum of V of one head (D = 64 rows)
// over n positions: carried over blocks of 16 then folded, against the
// contiguous rows kernel over the same data in one piece.
func BenchmarkCarryHalves(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const D, P = 64, 16
	for _, n := range []int{64, 512} {
		cw := make([]byte, 2*n*D)
		for i := 0; i < len(cw); i += 2 {
			h := randHalf(r)
			cw[i], cw[i+1] = byte(h), byte(h>>8)
		}
		x := make([]float32, n)
		for i := range x {
			x[i] = kernel.FP16ToFP32(randHalf(r))
		}
		var blocks [][]byte // [D][P] halves each, as the paged cache stores V
		for t0 := 0; t0 < n; t0 += P {
			blk := make([]byte, 2*P*D)
			for j := range D {
				copy(blk[2*P*j:2*P*(j+1)], cw[2*n*j+2*t0:])
			}
			blocks = append(blocks, blk)
		}
		dst := make([]float32, D)
		for _, o := range carryOrders {
			acc := make([]float32, D*o.lanes)
			b.Run(o.name+"/carry/n="+strconv.Itoa(n), func(b *testing.B) {
				for b.Loop() {
					clear(acc)
					for k, blk := range blocks {
						o.carry(acc, k*P, blk, 2*P, x[k*P:k*P+P])
					}
					o.fold(dst, acc)
				}
			})
			b.Run(o.name+"/contiguous/n="+strconv.Itoa(n), func(b *testing.B) {
				for b.Loop() {
					for j := range D {
						dst[j] = o.dot(cw[2*n*j:2*n*(j+1)], x)
					}
				}
			})
		}
	}
}
