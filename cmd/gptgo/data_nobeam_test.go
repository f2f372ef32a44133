//go:build !beam

package main

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// TestDataRunBeamNotBuilt: the default build knows the Beam flags but says
// how to get a binary that runs them.
func TestDataRunBeamNotBuilt(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	cfg := filepath.Join(dir, "c.json")
	os.WriteFile(in, []byte("a document\n"), 0o644)
	os.WriteFile(cfg, []byte(`{"inputs":["in.txt"],"output":"out"}`), 0o644)
	_, errOut, code := runCLI(t, "", "data", "run", cfg, "--runner", "beam", "--beam-runner", "flink", "--quiet")
	if code != 1 || !strings.Contains(errOut, "gptgo was built without Beam: build with -tags beam") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if _, errOut, code := runCLI(t, "", "data", "run", cfg, "--runner", "spark"); code != 1 || !strings.Contains(errOut, `--runner "spark": want local or beam`) {
		t.Fatalf("unknown runner: exit %d, stderr %q", code, errOut)
	}
}

// TestDefaultBuildLinksNoBeam: the Beam SDK (and its gRPC and cloud
// clients) stays out of the default binary. The test binary links
// everything the gptgo binary does, so its module list is a superset.
func TestDefaultBuildLinksNoBeam(t *testing.T) {
	bi, ok := debug.ReadBuildInfo()
	if !ok || len(bi.Deps) == 0 {
		t.Skip("skipping: this test binary carries no module information")
	}
	text := false
	for _, d := range bi.Deps {
		if strings.HasPrefix(d.Path, "github.com/apache/beam/") {
			t.Fatalf("the default build links %s %s", d.Path, d.Version)
		}
		text = text || d.Path == "golang.org/x/text"
	}
	if !text {
		t.Fatalf("module list lacks golang.org/x/text, which gptgo links: %d modules listed", len(bi.Deps))
	}
}
