// Reference: POSIX rename(2) (atomic replacement within one file system).

package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// Mode is the permission of committed files, as a plain os.Create under the
// usual umask 022 would give (os.CreateTemp makes 0600 files).
const Mode = 0o644

// File is a pending file. Write to it (it is an *os.File), then Commit, or
// Abort to discard it. Abort after Commit does nothing, so
// `defer f.Abort()` is the idiom.
type File struct {
	*os.File
	path string
	done bool
}

// Create starts a pending file that will replace path on Commit. It first
// removes what killed writers of path left behind (stale.go).
func Create(path string) (*File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	removeStale(dir, base)
	f, err := os.CreateTemp(dir, tempPrefix(base)+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return nil, err
	}
	return &File{File: f, path: path}, nil
}

// Path is the final path the file will have.
func (f *File) Path() string { return f.path }

// Commit syncs the data, closes the file and renames it over the target,
// then syncs the directory so the rename itself survives a crash (where the
// system allows syncing a directory). On error the temporary file is gone.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("atomicfile: %s committed or aborted already", f.path)
	}
	f.done = true
	err := f.Sync()
	if err == nil {
		err = f.Chmod(Mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), f.path)
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	if d, derr := os.Open(filepath.Dir(f.path)); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Abort discards the pending file; after Commit it does nothing.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.Close()
	os.Remove(f.Name())
}

// Write creates path atomically with what write writes.
func Write(path string, write func(io.Writer) error) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := write(f); err != nil {
		return err
	}
	return f.Commit()
}

// WriteBytes creates path atomically holding b.
func WriteBytes(path string, b []byte) error {
	return Write(path, func(w io.Writer) error { _, err := w.Write(b); return err })
}
