//go:build linux

package kernel_test

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// threadCPU returns the CPU time this OS thread has used, in nanoseconds.
func threadCPU() int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// cpuLoop runs fn under b.Loop on a locked OS thread and reports, beside the
// wall-clock ns/op, the thread's CPU time per op: on a shared machine whose
// other tenants steal the core, cpu-ns/op stays close to the unloaded speed
// (rusage ticks are coarse, so run at least ~0.2 s).
func cpuLoop(b *testing.B, fn func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := threadCPU()
	n := 0
	for b.Loop() {
		fn()
		n++
	}
	if n > 0 {
		b.ReportMetric(float64(threadCPU()-start)/float64(n), "cpu-ns/op")
	}
}
