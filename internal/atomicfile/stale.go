// Reference: POSIX kill(2) (signal 0 probes whether a process exists).

package atomicfile

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A temporary file is named ".BASE.tmp-PID-RANDOM": PID is the writer's
// process id, so that the next writer of the same target can tell a
// leftover of a killed process (removed) from the pending file of a live
// one (kept). Without this every SIGKILL or power cut during a write would
// leave a partial file beside the target for ever.

// tempPrefix is the name a temporary file of base starts with.
func tempPrefix(base string) string { return "." + base + ".tmp-" }

// removeStale removes the temporary files of dir/base whose writer process
// is gone. Names without a pid (other writers' conventions) are left alone.
func removeStale(dir, base string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := tempPrefix(base)
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		os.Remove(filepath.Join(dir, e.Name()))
	}
}
