package tensor

import (
	"sync/atomic"
	"testing"
)

func TestPoolForCoversEachIndexOnce(t *testing.T) {
	for _, workers := range []int{1, 2, 3, 8} {
		p := NewPool(workers)
		for _, n := range []int{0, 1, 5, 16, 17, 1000} {
			for _, chunk := range []int{1, 3, 16, 2000} {
				hits := make([]atomic.Int32, n)
				p.For(n, chunk, func(s, e int) {
					for i := s; i < e; i++ {
						hits[i].Add(1)
					}
				})
				for i := range hits {
					if h := hits[i].Load(); h != 1 {
						t.Fatalf("workers %d n %d chunk %d: index %d visited %d times", workers, n, chunk, i, h)
					}
				}
			}
		}
		p.Close()
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
