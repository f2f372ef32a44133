// Reference: statfs(2) (f_bavail × f_bsize: the space an unprivileged user may still fill).

//go:build linux || darwin

package main

import (
	"path/filepath"

	"golang.org/x/sys/unix"
)

// freeBytes returns the space left to an unprivileged user on the file
// system that would hold path, and whether it could be found.
func freeBytes(path string) (int64, bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(filepath.Dir(path), &st); err != nil {
		return 0, false
	}
	return int64(uint64(st.Bavail) * uint64(st.Bsize)), true
}
