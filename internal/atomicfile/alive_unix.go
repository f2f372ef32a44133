// Reference: POSIX kill(2): signal 0 checks for existence; EPERM means the process exists.

//go:build unix

package atomicfile

import (
	"errors"
	"syscall"
)

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
