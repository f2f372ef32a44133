//go:build !unix

package rag

import "time"

var cpuStart = time.Now()

// cpuTime falls back on wall time where getrusage does not exist.
func cpuTime() time.Duration { return time.Since(cpuStart) }
