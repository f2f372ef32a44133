//go:build unix

// Reference: getrusage(2) (POSIX): user and system CPU time of the process.

package tokenizer

import "syscall"

// processCPU returns the CPU seconds (user + system) the process has used.
// Benchmarks report throughput per CPU second beside wall-clock MB/s, since
// on a shared machine wall time also counts time spent waiting for a core.
func processCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
