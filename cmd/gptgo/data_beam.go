//go:build beam

// Reference: Apache Beam Go SDK, "Running the pipeline" (runner flags) and
// its worker entry point (beam.Init); the pipeline itself is data/beampipe.

package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/gptgo/gptgo/data"
	"github.com/gptgo/gptgo/data/beampipe"
)

// On a cluster, Beam's worker container runs this very binary as its SDK
// harness ("gptgo --worker=true --id=… --control_endpoint=…"). beam.Init
// then serves the work and never returns, so the CLI never starts.
func init() {
	if slices.ContainsFunc(os.Args[1:], func(a string) bool { return a == "--worker" || strings.HasPrefix(a, "--worker=") }) {
		flag.Parse()
		beam.Init()
	}
}

// beamFlags are `data run`'s Beam settings.
type beamFlags struct {
	runner *string
	log    *bool
	opts   []string
}

func addBeamFlags(fs *flag.FlagSet) *beamFlags {
	b := &beamFlags{runner: fs.String("beam-runner", "prism", "Beam runner: prism (in this process), flink, spark, dataflow or universal"),
		log: fs.Bool("beam-log", false, "show Beam's and the runner's own log")}
	fs.Func("beam-opt", "a Beam pipeline option `NAME=VALUE`, repeatable (endpoint=HOST:PORT, environment_type=LOOPBACK, worker_binary=PATH, project=…)", func(s string) error {
		b.opts = append(b.opts, s)
		return nil
	})
	return b
}

// run hands the config to data/beampipe. Beam's options are its own global
// flags (registered by its runner packages), so they are set there.
func (b *beamFlags) run(ctx context.Context, e *env, c data.Config, quiet bool) error {
	for _, o := range b.opts {
		name, val, ok := strings.Cut(o, "=")
		if !ok {
			return fmt.Errorf("--beam-opt %q: want NAME=VALUE", o)
		}
		if flag.CommandLine.Lookup(name) == nil {
			return fmt.Errorf("--beam-opt %q: Beam has no option %q", o, name)
		}
		if err := flag.CommandLine.Set(name, val); err != nil {
			return fmt.Errorf("--beam-opt %q: %w", o, err)
		}
	}
	beampipe.Init(*b.log)
	if !quiet {
		fmt.Fprintf(e.stderr, "running the pipeline on Beam's %s runner\n", *b.runner)
	}
	rep, err := beampipe.Run(ctx, c, beampipe.Options{Runner: *b.runner})
	if err != nil {
		return err
	}
	if err := rep.WriteSummary(e.stdout); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nwrote %s\n", strings.Join(outputs(c), ", "))
	return nil
}
