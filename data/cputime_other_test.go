//go:build !unix

package data

// processCPU is unavailable here; the benchmarks then report wall-clock MB/s only.
func processCPU() float64 { return 0 }
