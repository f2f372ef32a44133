// Reference: the go command's `go version` (toolchain, GOOS/GOARCH) and `go env -json` (one JSON object for scripts).

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/gptgo/gptgo/kernel"
)

func init() {
	register(&command{
		name:    "version",
		summary: "print the version of gptgo, the Go toolchain that built it, and the kernels chosen for this CPU",
		usage:   "[--json]",
		run:     runVersion,
	})
}

func runVersion(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "version", "[--json]")
	asJSON := fs.Bool("json", false, "print one JSON object {version, go, os, arch, kernels}")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return errUsage
	}
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(struct {
			Version string `json:"version"`
			Go      string `json:"go"`
			OS      string `json:"os"`
			Arch    string `json:"arch"`
			Kernels string `json:"kernels"`
		}{v, runtime.Version(), runtime.GOOS, runtime.GOARCH, kernel.Features()})
	}
	fmt.Fprintf(e.stdout, "gptgo %s %s %s/%s\nkernels: %s\n", v, runtime.Version(), runtime.GOOS, runtime.GOARCH, kernel.Features())
	return nil
}
