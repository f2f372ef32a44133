//go:build !unix

package tokenizer

// processCPU is unavailable here; benchmarks then omit the CPU-time figure.
func processCPU() float64 { return 0 }
