package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestWriteReplacesWholeFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.bin")
	if err := WriteBytes(p, []byte("old")); err != nil {
		t.Fatal(err)
	}
	if err := WriteBytes(p, []byte("new contents")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "new contents" {
		t.Fatalf("read %q, %v", b, err)
	}
	if st, _ := os.Stat(p); runtime.GOOS != "windows" && st.Mode().Perm() != Mode {
		t.Fatalf("mode %v, want %v", st.Mode().Perm(), os.FileMode(Mode))
	}
	assertOnly(t, dir, "x.bin")
}

func TestFailedWriteLeavesOldFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.bin")
	if err := WriteBytes(p, []byte("old")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Fatalf("old file became %q", b)
	}
	assertOnly(t, dir, "x.bin")
}

func TestAbortAndDoubleCommit(t *testing.T) {
	dir := t.TempDir()
	f, err := Create(filepath.Join(dir, "y"))
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("z"))
	f.Abort()
	f.Abort()
	if err := f.Commit(); err == nil {
		t.Fatal("Commit after Abort succeeded")
	}
	assertOnly(t, dir)
}

func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	if len(ents) != len(names) {
		t.Fatalf("directory holds %d entries, want %v", len(ents), names)
	}
	for i, e := range ents {
		if e.Name() != names[i] {
			t.Fatalf("entry %q, want %q", e.Name(), names[i])
		}
	}
}
