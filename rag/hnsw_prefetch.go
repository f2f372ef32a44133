//go:build !amd64 || purego

// Reference: the plain-Go side of rag/hnsw_amd64.s.

package rag

// dotRow is the graph's similarity (dot: the kernel package's F32 dot).
func dotRow(a, b []float32) float32 { return dot(a, b) }

// prefetchRow asks the CPU to start loading row's first cache lines; it
// changes no result. Without the assembly it does nothing.
func prefetchRow(row []float32) {}
