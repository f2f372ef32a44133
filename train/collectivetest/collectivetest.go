// Reference: MPI-3.1 §5.9–5.12 (what each operation computes); the Collective contract in train/collective.go
// (sums added in rank order, buf₀ + buf₁ + … left to right, in float32). Like net/http/httptest and
// testing/fstest, this package is for tests: one conformance check that every transport passes.

// Package collectivetest checks an implementation of train.Collective
// against the naive reference, bit for bit. Every rank of a group calls
// Check at the same time, whatever runs the ranks: goroutines of one test,
// child processes, mpirun. Each rank makes every rank's input itself (they
// are a function of rank, length and index), so each can compute the
// reference sums alone.
package collectivetest

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gptgo/gptgo/train"
)

// Lengths are the buffer lengths Check tries: empty, one element, fewer
// elements than ranks, lengths not divisible by the rank count, and one
// large odd length.
func Lengths(size int) []int {
	return []int{0, 1, 2, max(size-1, 1), size, size + 1, 3*size + 2, 1000, 100_003}
}

// Input is rank's i-th element of an n-element test buffer: a sign and a
// magnitude between 1e-4 and 1e4, so that adding in another order would
// round differently.
func Input(rank, n, i int) float32 {
	x := uint64(rank)*0x9E3779B97F4A7C15 ^ uint64(n)*0xBF58476D1CE4E5B9 ^ uint64(i)*0x94D049BB133111EB
	x ^= x >> 31
	x *= 0xD6E8FEB86693A6D5
	x ^= x >> 29
	m := 1 + float64(x&0xFFFFFF)/float64(1<<24) // [1, 2)
	e := int(x>>24&0xFF)%9 - 4                  // 10^-4 … 10^4
	v := m * math.Pow(10, float64(e))
	if x>>40&1 == 1 {
		v = -v
	}
	return float32(v)
}

// RankOrderSum is Σ_r Input(r, n, i) over size ranks, added 0, 1, … left to
// right with each add rounded to float32: the contract's result.
func RankOrderSum(size, n, i int) float32 {
	s := Input(0, n, i)
	for r := 1; r < size; r++ {
		s += Input(r, n, i)
	}
	return s
}

// guard surrounds every buffer Check passes, to catch writes outside it.
const guard = float32(-7.25e-33)

// guarded returns a buffer of n elements with one guard value on each side.
func guarded(n int) (all, buf []float32) {
	all = make([]float32, n+2)
	all[0], all[n+1] = guard, guard
	return all, all[1 : n+1 : n+1]
}

// failures collects at most a few mismatches per check, so that a broken
// transport gives a readable error.
type failures struct {
	errs []error
	more int
}

func (f *failures) addf(format string, args ...any) {
	if len(f.errs) < 8 {
		f.errs = append(f.errs, fmt.Errorf(format, args...))
	} else {
		f.more++
	}
}

func (f *failures) err() error {
	if f.more > 0 {
		f.errs = append(f.errs, fmt.Errorf("… and %d more", f.more))
	}
	return errors.Join(f.errs...)
}

// same compares bits: -0 and +0 differ, and so does any rounding.
func same(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }

// Check runs every operation of c at every length of Lengths, and
// broadcasts from the first and the last rank, and compares each result
// with the reference bit for bit; then checks that a rank passing another
// length makes every rank fail, and that the group still works afterwards.
// It returns nil on success; every rank must call it.
func Check(c train.Collective) error {
	var f failures
	N, me := c.Size(), c.Rank()
	for _, n := range Lengths(N) {
		lo, hi := train.ShardRange(n, N, me)
		in := make([][]float32, N) // every rank's input
		for r := range in {
			in[r] = make([]float32, n)
			for i := range n {
				in[r][i] = Input(r, n, i)
			}
		}
		sum := make([]float32, n) // the rank-order sum
		for i := range sum {
			sum[i] = in[0][i]
			for r := 1; r < N; r++ {
				sum[i] += in[r][i]
			}
		}
		fill := func(buf []float32, rank int) { copy(buf, in[rank]) }
		checkGuards := func(op string, all []float32) {
			if !same(all[0], guard) || !same(all[n+1], guard) {
				f.addf("rank %d: %s of %d elements wrote outside the buffer", me, op, n)
			}
		}

		all, buf := guarded(n)
		fill(buf, me)
		if err := c.AllReduce(buf); err != nil {
			return fmt.Errorf("collectivetest: rank %d: all-reduce of %d elements: %w", me, n, err)
		}
		checkGuards("all-reduce", all)
		for i, x := range buf {
			if want := sum[i]; !same(x, want) {
				f.addf("rank %d: all-reduce of %d elements: [%d] = %v, want %v (the rank-order sum)", me, n, i, x, want)
			}
			if err := sum64Bound(in, i, x); err != nil {
				f.addf("rank %d: all-reduce of %d elements: %v", me, n, err)
			}
		}

		all, buf = guarded(n)
		fill(buf, me)
		if err := c.ReduceScatter(buf); err != nil {
			return fmt.Errorf("collectivetest: rank %d: reduce-scatter of %d elements: %w", me, n, err)
		}
		checkGuards("reduce-scatter", all)
		for i, x := range buf {
			want := in[me][i]
			if i >= lo && i < hi {
				want = sum[i]
			}
			if !same(x, want) {
				f.addf("rank %d: reduce-scatter of %d elements (shard [%d, %d)): [%d] = %v, want %v", me, n, lo, hi, i, x, want)
			}
		}

		all, buf = guarded(n)
		for i := range buf {
			buf[i] = float32(math.NaN()) // only the own shard is read
		}
		for i := lo; i < hi; i++ {
			buf[i] = Input(me, n, i)
		}
		if err := c.AllGather(buf); err != nil {
			return fmt.Errorf("collectivetest: rank %d: all-gather of %d elements: %w", me, n, err)
		}
		checkGuards("all-gather", all)
		for q := range N {
			l, h := train.ShardRange(n, N, q)
			for i := l; i < h; i++ {
				if want := in[q][i]; !same(buf[i], want) {
					f.addf("rank %d: all-gather of %d elements: [%d] = %v, want rank %d's %v", me, n, i, buf[i], q, want)
				}
			}
		}

		for _, root := range []int{0, N - 1} {
			all, buf = guarded(n)
			fill(buf, me)
			if err := c.Broadcast(buf, root); err != nil {
				return fmt.Errorf("collectivetest: rank %d: broadcast of %d elements from rank %d: %w", me, n, root, err)
			}
			checkGuards("broadcast", all)
			for i, x := range buf {
				if want := in[root][i]; !same(x, want) {
					f.addf("rank %d: broadcast of %d elements from rank %d: [%d] = %v, want %v", me, n, root, i, x, want)
				}
			}
		}
		if err := c.Barrier(); err != nil {
			return fmt.Errorf("collectivetest: rank %d: barrier: %w", me, err)
		}
	}
	if err := f.err(); err != nil {
		return fmt.Errorf("collectivetest: rank %d of %d: %w", me, N, err)
	}
	if N > 1 {
		if err := CheckMismatch(c); err != nil {
			return err
		}
	}
	return nil
}

// sum64Bound checks x against the float64 sum: rank order or not, a
// float32 sum of N terms is within (N−1)·2⁻²⁴·Σ|x| of the exact one
// (each add rounds by at most half an ulp of a partial sum ≤ Σ|x|). It
// catches a reference and an implementation that are wrong alike.
func sum64Bound(in [][]float32, i int, x float32) error {
	var s, abs float64
	N := len(in)
	for r := range N {
		v := float64(in[r][i])
		s += v
		abs += math.Abs(v)
	}
	if bound := float64(N-1) * 0x1p-24 * abs; math.Abs(float64(x)-s) > bound {
		return fmt.Errorf("[%d] = %v is %g from the float64 sum %v (bound %g)", i, x, math.Abs(float64(x)-s), s, bound)
	}
	return nil
}

// CheckMismatch has every rank call each operation with a length of its
// own (5 + rank) and wants an error from every rank; then one all-reduce
// with equal lengths must succeed and be right.
func CheckMismatch(c train.Collective) error {
	me := c.Rank()
	ops := []struct {
		name string
		do   func([]float32) error
	}{
		{"all-reduce", c.AllReduce},
		{"reduce-scatter", c.ReduceScatter},
		{"all-gather", c.AllGather},
		{"broadcast", func(b []float32) error { return c.Broadcast(b, 0) }},
	}
	for _, op := range ops {
		if err := op.do(make([]float32, 5+me)); err == nil {
			return fmt.Errorf("collectivetest: rank %d: %s with %d elements while each rank passed another length returned no error", me, op.name, 5+me)
		}
	}
	const n = 7
	buf := make([]float32, n)
	for i := range buf {
		buf[i] = Input(me, n, i)
	}
	if err := c.AllReduce(buf); err != nil {
		return fmt.Errorf("collectivetest: rank %d: the all-reduce after the mismatches: %w", me, err)
	}
	for i, x := range buf {
		if want := RankOrderSum(c.Size(), n, i); !same(x, want) {
			return fmt.Errorf("collectivetest: rank %d: the all-reduce after the mismatches: [%d] = %v, want %v", me, i, x, want)
		}
	}
	return nil
}

// Time all-reduces an n-float buffer reps times, after one untimed call,
// with a barrier before each so that the ranks start together, and
// returns each call's duration as this rank saw it. It is what the
// transport adds to a data-parallel step that all-reduces (or
// reduce-scatters and all-gathers) n gradients.
func Time(c train.Collective, n, reps int) ([]time.Duration, error) {
	buf := make([]float32, n)
	for i := range buf {
		buf[i] = float32(i%7) * 0.25
	}
	ds := make([]time.Duration, 0, reps)
	for i := -1; i < reps; i++ {
		if err := c.Barrier(); err != nil {
			return nil, err
		}
		t0 := time.Now()
		if err := c.AllReduce(buf); err != nil {
			return nil, err
		}
		if i >= 0 {
			ds = append(ds, time.Since(t0))
		}
	}
	return ds, nil
}
