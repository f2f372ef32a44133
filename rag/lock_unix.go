// Reference: flock(2) (an advisory lock the kernel releases when the process dies, so a
// crash never leaves a stale lock behind).

//go:build unix

package rag

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDir takes the store's exclusive lock (the file "lock"): a second
// process opening the store would otherwise swap the log under the first.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("rag: store %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("rag: store %s is open in another process (a running gptgo serve --kb or ingest?); one process at a time", dir)
		}
		return nil, fmt.Errorf("rag: store %s: lock: %w", dir, err)
	}
	return f, nil
}
