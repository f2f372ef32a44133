//go:build !amd64 || purego

// Reference: the plain-Go side of rag/hnsw_amd64.s.

package rag

// prefetchRow asks the CPU to start loading row's first cache lines; it
// changes no result. Without the assembly it does nothing.
func prefetchRow(row []float32) {}
