//go:build unix

package rag

import (
	"syscall"
	"time"
)

// cpuTime is the process's user + system CPU time: single-threaded work
// measured this way does not depend on what else the machine runs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
