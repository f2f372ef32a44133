//go:build !unix

// Reference: getrusage(2) (POSIX): user and system CPU time of the process.

package tokenizer

// processCPU is unavailable here; benchmarks then omit the CPU-time figure.
func processCPU() float64 { return 0 }
