package mmap

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A mapped file reads back its bytes, still does after Release of a span
// covering whole pages, and an empty file maps to no bytes.
func TestOpenReleaseKeepsContents(t *testing.T) {
	dir := t.TempDir()
	want := make([]byte, 5*os.Getpagesize()+123)
	for i := range want {
		want[i] = byte(i*7 + i>>8)
	}
	path := filepath.Join(dir, "f.bin")
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
	data, unmap, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, want) {
		t.Fatal("mapped bytes differ from the file")
	}
	Release(data, 1, len(data)-1)
	Release(data, 0, len(data))
	if !bytes.Equal(data, want) {
		t.Fatal("bytes differ after Release")
	}
	if err := unmap(); err != nil {
		t.Fatal(err)
	}

	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	data, unmap, err = Open(empty)
	if err != nil || len(data) != 0 {
		t.Fatalf("empty file: %d bytes, err %v", len(data), err)
	}
	if err := unmap(); err != nil {
		t.Fatal(err)
	}
}

// A missing file is the os error, naming the path.
func TestOpenMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope")
	_, _, err := Open(path)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("got %v, want a not-exist error naming %s", err, path)
	}
}
