//go:build unix

// Reference: getrusage(2) (ru_minflt, ru_utime, ru_stime: the process's minor page faults and CPU time).

package train

import "syscall"

// usage returns the process's minor page faults, system seconds and CPU
// seconds (user and system, all threads) so far, for BenchmarkTrainStep's
// per-step figures: on a machine shared with other work, CPU time moves
// far less than wall time.
func usage() (faults int64, sys, cpu float64) {
	var r syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &r) != nil {
		return 0, 0, 0
	}
	sec := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return int64(r.Minflt), sec(r.Stime), sec(r.Utime) + sec(r.Stime)
}
