//go:build amd64 && !purego

// Reference: Intel SDM vol. 2 (PREFETCHh); hnswlib's hnswalg.h, which prefetches each
// neighbour's vector before computing its distance.

package rag

// prefetchRow asks the CPU to start loading row's first cache lines (up
// to four, the rest the hardware's stream prefetcher fetches once the dot
// product walks the row); it changes no result. The plain-Go build does
// nothing.
func prefetchRow(row []float32) {
	if len(row) > 0 {
		prefetch4(&row[0], min(4, (len(row)+15)/16))
	}
}

// prefetch4 issues PREFETCHT0 for lines cache lines from p on:
//
//	for i := 0; i < lines; i++ {
//		prefetch(uintptr(unsafe.Pointer(p)) + 64*i)
//	}
//
//go:noescape
func prefetch4(p *float32, lines int)
