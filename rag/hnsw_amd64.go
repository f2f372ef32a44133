//go:build amd64 && !purego

// Reference: Intel SDM vol. 2 (PREFETCHh, VFMADD231PS); hnswlib's hnswalg.h, which prefetches
// each neighbour's vector before computing its distance, and space_ip.h (its AVX inner product).

package rag

import "golang.org/x/sys/cpu"

// hasAVX2FMA picks the assembly dot once, from the CPU's features.
var hasAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// dotRow is the graph's similarity: dotGeneric's sum, computed by
// dotAVX2 where the CPU has AVX2 and FMA. It is called directly (no
// function value, no byte-slice conversion) with four accumulators, since
// a search spends most of its time here.
func dotRow(a, b []float32) float32 {
	n := min(len(a), len(b))
	if n == 0 {
		return 0
	}
	if hasAVX2FMA {
		return dotAVX2(n, &a[0], &b[0])
	}
	return dotGeneric(a[:n], b[:n])
}

// dotAVX2 computes, with four 8-lane accumulators of fused multiply-adds
// over 32 elements a step, then one over 8, then the rest one by one:
//
//	for i := 0; i < n; i++ {
//		s += a[i] * b[i]
//	}
//	return s
//
//go:noescape
func dotAVX2(n int, a, b *float32) float32

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
