// Reference: chromem-go query.go (top-n kept in a bounded min-heap rather than sorting every score).

package rag

import (
	"container/heap"
	"sort"
)

// hit is an index's answer: a slot of the store and its score.
type hit struct {
	slot  int32
	score float32
}

// better orders hits best first, ties by slot so that results never depend
// on map iteration or goroutine order.
func better(a, b hit) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.slot < b.slot
}

// topK keeps the k best hits seen: a min-heap whose root is the worst kept.
type topK struct {
	k int
	h hitHeap
}

type hitHeap []hit

func (h hitHeap) Len() int           { return len(h) }
func (h hitHeap) Less(i, j int) bool { return better(h[j], h[i]) }
func (h hitHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hitHeap) Push(x any)        { *h = append(*h, x.(hit)) }
func (h *hitHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (t *topK) push(x hit) {
	if t.k <= 0 {
		return
	}
	if len(t.h) < t.k {
		heap.Push(&t.h, x)
		return
	}
	if better(x, t.h[0]) {
		t.h[0] = x
		heap.Fix(&t.h, 0)
	}
}

// sorted returns the kept hits best first.
func (t *topK) sorted() []hit {
	out := append([]hit(nil), t.h...)
	sort.Slice(out, func(i, j int) bool { return better(out[i], out[j]) })
	return out
}
