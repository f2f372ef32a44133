//go:build unix

package data

import "syscall"

// processCPU returns the CPU seconds (user + system) the process has used:
// on a shared machine wall time also counts waiting for a core, so the
// benchmarks report MB per CPU second beside wall-clock MB/s.
func processCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
