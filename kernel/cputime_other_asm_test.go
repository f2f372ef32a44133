//go:build !linux

package kernel_test

import "testing"

// cpuLoop runs fn under b.Loop; only Linux reports thread CPU time.
func cpuLoop(b *testing.B, fn func()) {
	for b.Loop() {
		fn()
	}
}
