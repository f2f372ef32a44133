// Reference: ZeRO: Rajbhandari et al. 2020, §5.1 (P_os): data parallelism with partitioned optimizer states
// computes the same update as plain data parallelism.

package train

import (
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// onRanks runs f on every rank of an in-process group of n, one goroutine
// each, and returns their errors.
func onRanks(t *testing.T, n int, f func(c Collective) error) []error {
	t.Helper()
	cs, err := NewLocalGroup(n)
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for r, c := range cs {
		wg.Go(func() { errs[r] = f(c) })
	}
	wg.Wait()
	return errs
}

// TestLocalCollective: 3 ranks over 10 elements (shards of 4, 3, 3). The
// sums are exactly buf₀+buf₁+buf₂ added left to right in float32;
// reduce-scatter fills only the own shard; all-gather assembles the shards;
// a rank passing another length makes every rank return an error.
func TestLocalCollective(t *testing.T) {
	const n, size = 10, 3
	if lo, hi := ShardRange(n, size, 0); lo != 0 || hi != 4 {
		t.Fatalf("shard 0 is [%d, %d)", lo, hi)
	}
	if lo, hi := ShardRange(n, size, 2); lo != 7 || hi != 10 {
		t.Fatalf("shard 2 is [%d, %d)", lo, hi)
	}
	in := make([][]float32, size)
	rng := rand.New(rand.NewPCG(1, 2))
	for r := range in {
		in[r] = make([]float32, n)
		for i := range in[r] {
			in[r][i] = float32(rng.NormFloat64()) * float32(math.Pow(10, float64(rng.IntN(8)-4)))
		}
	}
	sum := make([]float32, n)
	for i := range sum {
		sum[i] = in[0][i] + in[1][i] + in[2][i] // Go evaluates left to right, rounding each add to float32
	}
	got := make([][3][]float32, size)
	errs := onRanks(t, size, func(c Collective) error {
		r := c.Rank()
		a := append([]float32(nil), in[r]...)
		if err := c.AllReduce(a); err != nil {
			return err
		}
		s := append([]float32(nil), in[r]...)
		if err := c.ReduceScatter(s); err != nil {
			return err
		}
		g := make([]float32, n)
		lo, hi := ShardRange(n, c.Size(), r)
		for i := lo; i < hi; i++ {
			g[i] = float32(100*r + i)
		}
		if err := c.AllGather(g); err != nil {
			return err
		}
		if err := c.Barrier(); err != nil {
			return err
		}
		got[r] = [3][]float32{a, s, g}
		return nil
	})
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	for r := range size {
		a, s, g := got[r][0], got[r][1], got[r][2]
		lo, hi := ShardRange(n, size, r)
		for i := range n {
			if math.Float32bits(a[i]) != math.Float32bits(sum[i]) {
				t.Errorf("rank %d all-reduce[%d] = %v, want %v", r, i, a[i], sum[i])
			}
			want := in[r][i]
			if i >= lo && i < hi {
				want = sum[i]
			}
			if math.Float32bits(s[i]) != math.Float32bits(want) {
				t.Errorf("rank %d reduce-scatter[%d] = %v, want %v", r, i, s[i], want)
			}
			owner := 0
			for q := range size {
				if l, h := ShardRange(n, size, q); i >= l && i < h {
					owner = q
				}
			}
			if g[i] != float32(100*owner+i) {
				t.Errorf("rank %d all-gather[%d] = %v, want %v", r, i, g[i], 100*owner+i)
			}
		}
	}
	errs = onRanks(t, 2, func(c Collective) error { return c.AllReduce(make([]float32, 5+c.Rank())) })
	for r, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "elements") {
			t.Errorf("rank %d: mismatched lengths gave %v", r, err)
		}
	}
	if _, err := NewLocalGroup(0); err == nil {
		t.Error("a group of 0 ranks was accepted")
	}
}
