package atomicfile

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

// TestCreateRemovesLeftoversOfDeadWriters: the temporary file of a process
// that is gone is removed by the next Create of the same target; those of
// live processes, of other targets and without a pid stay.
func TestCreateRemovesLeftoversOfDeadWriters(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("skipping: leftovers are kept where kill(2) cannot probe a pid")
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	if err := child.Run(); err != nil {
		t.Fatal(err)
	}
	dead := strconv.Itoa(child.Process.Pid) // reaped: no such process now
	live := strconv.Itoa(os.Getppid())
	dir := t.TempDir()
	for _, n := range []string{".x.bin.tmp-" + dead + "-1", ".x.bin.tmp-" + live + "-2", ".x.bin.tmp-nopid", ".y.bin.tmp-" + dead + "-3"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteBytes(filepath.Join(dir, "x.bin"), []byte("new")); err != nil {
		t.Fatal(err)
	}
	assertOnly(t, dir, ".x.bin.tmp-"+live+"-2", ".x.bin.tmp-nopid", ".y.bin.tmp-"+dead+"-3", "x.bin")
}
