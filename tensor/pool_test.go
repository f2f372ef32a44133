package tensor

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestPoolForCoversEachIndexOnce(t *testing.T) {
	for _, workers := range []int{1, 2, 3, 8} {
		p := NewPool(workers)
		for _, n := range []int{0, 1, 5, 16, 17, 1000} {
			for _, chunk := range []int{1, 3, 16, 2000} {
				checkCovers(t, p, n, chunk)
			}
		}
		p.Close()
	}
}

// checkCovers runs p.For over [0, n) and fails unless every index was
// visited exactly once.
func checkCovers(t *testing.T, p *Pool, n, chunk int) {
	t.Helper()
	hits := make([]atomic.Int32, n)
	p.For(n, chunk, func(s, e int) {
		for i := s; i < e; i++ {
			hits[i].Add(1)
		}
	})
	for i := range hits {
		if h := hits[i].Load(); h != 1 {
			t.Fatalf("workers %d n %d chunk %d: index %d visited %d times", p.Workers(), n, chunk, i, h)
		}
	}
}

func TestTensorNewValidates(t *testing.T) {
	if _, err := New("w", Q4_0, make([]byte, 18*2), 32, 2); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dt    DType
		n     int
		shape []int
	}{{Q4_0, 18, []int{32, 2}}, {Q4_0, 18, []int{16}}, {F32, 8, []int{0}}, {DType(4), 0, []int{1}}} {
		if _, err := New("w", c.dt, make([]byte, c.n), c.shape...); err == nil {
			t.Errorf("New(%v, %d bytes, %v) accepted", c.dt, c.n, c.shape)
		}
	}
}

// Back-to-back operations (helpers still polling, late helpers leaving the
// previous job while the next is published) and operations after a pause
// long enough for the helpers to park each cover every index exactly once,
// and Close returns whether the helpers are polling or parked.
func TestPoolSpinAndPark(t *testing.T) {
	for _, workers := range []int{2, 3} {
		p := NewPool(workers)
		for round := range 3000 {
			checkCovers(t, p, 1+round%37, 1+round%5)
			if round%1000 == 999 { // idle past spinWait: the helpers park (give a loaded host 2 s)
				for i := range p.helpers {
					for wait := time.Now(); !p.helpers[i].parked.Load(); time.Sleep(time.Millisecond) {
						if time.Since(wait) > 2*time.Second {
							t.Fatalf("workers %d: helper %d still polling after 2 s idle", workers, i)
						}
					}
				}
			}
		}
		p.Close()
	}
	p := NewPool(2)
	p.For(4, 1, func(int, int) {})
	p.Close() // while the helper polls
}

// BenchmarkPoolFor times handing two one-item chunks to a 2-worker pool and
// waiting for both: the fixed cost each MatMul pays to use the second core.
//
//	go test ./tensor/ -run '^$' -bench PoolFor -benchtime 20000x
func BenchmarkPoolFor(b *testing.B) {
	p := NewPool(2)
	defer p.Close()
	var sink atomic.Int64
	fn := func(s, e int) { sink.Add(int64(e - s)) }
	for b.Loop() {
		p.For(2, 1, fn)
	}
}

// BenchmarkPoolForAfterGap is BenchmarkPoolFor with 20 µs of single-threaded
// work between calls, as a decode step has between its matmuls (norms,
// attention of one token): long enough for an idle helper to go to sleep.
// ns/op includes the 20 µs.
func BenchmarkPoolForAfterGap(b *testing.B) {
	p := NewPool(2)
	defer p.Close()
	var sink atomic.Int64
	fn := func(s, e int) { sink.Add(int64(e - s)) }
	for b.Loop() {
		for t := time.Now(); time.Since(t) < 20*time.Microsecond; {
		}
		p.For(2, 1, fn)
	}
}
