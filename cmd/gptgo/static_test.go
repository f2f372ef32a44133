// Reference: the ELF specification (PT_INTERP, PT_DYNAMIC, DT_NEEDED) and the go command's CGO_ENABLED.

package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// readmeBuild is the build command the README gives; it must make one
// static binary, as the README says (#16 item 9). A plain `go build` links
// dynamically against libc wherever a C compiler is installed (cgo is on
// by default there, and package net or os/user pulls it in).
const readmeBuild = "CGO_ENABLED=0 go build -o gptgo ./cmd/gptgo"

func TestREADMEBuildIsStatic(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), readmeBuild) {
		t.Fatalf("README.md does not give the build command %q", readmeBuild)
	}
	if testing.Short() {
		t.Skip("links the whole binary (seconds to a minute); skipped in -short mode")
	}
	if runtime.GOOS != "linux" {
		t.Skipf("checks an ELF binary; this is %s", runtime.GOOS)
	}
	out := filepath.Join(t.TempDir(), "gptgo")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", readmeBuild, err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary has a %v program header: it is dynamically linked", p.Type)
		}
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}
}
