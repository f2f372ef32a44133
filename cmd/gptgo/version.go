package main

import (
	"context"
	"fmt"
	"github.com/gptgo/gptgo/kernel"
	"runtime"
	"runtime/debug"
)

func init() {
	register(&command{
		name:    "version",
		summary: "print the version of gptgo, the Go toolchain that built it, and the kernels chosen for this CPU",
		run: func(ctx context.Context, e *env, args []string) error {
			v := "(devel)"
			if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
				v = bi.Main.Version
			}
			fmt.Fprintf(e.stdout, "gptgo %s %s %s/%s\nkernels: %s\n", v, runtime.Version(), runtime.GOOS, runtime.GOARCH, kernel.Features())
			return nil
		},
	})
}
