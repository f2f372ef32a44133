//go:build !linux

// Reference: madvise(2) MADV_POPULATE_WRITE is Linux's; elsewhere a write per page does the same.

package autograd

// populate maps b's pages by writing to each.
func populate(b []float32) { touch(pages(b)) }
