//go:build !beam

// Reference: data_beam.go, which this stands in for when gptgo is built
// without the beam tag (the default: Beam's SDK is large and needs gRPC).

package main

import (
	"context"
	"errors"
	"flag"

	"github.com/gptgo/gptgo/data"
)

// errNoBeam answers --runner beam in the default build.
var errNoBeam = errors.New("gptgo was built without Beam: build with -tags beam (go build -tags beam ./cmd/gptgo)")

type beamFlags struct{}

// addBeamFlags declares the Beam flags anyway, so that the usage is the
// same in both builds and a Beam command line fails with errNoBeam.
func addBeamFlags(fs *flag.FlagSet) *beamFlags {
	fs.String("beam-runner", "prism", "Beam runner: prism (in this process), flink, spark, dataflow or universal (needs -tags beam)")
	fs.Func("beam-opt", "a Beam pipeline option `NAME=VALUE`, repeatable (needs -tags beam)", func(string) error { return nil })
	fs.Bool("beam-log", false, "show Beam's and the runner's own log (needs -tags beam)")
	return &beamFlags{}
}

func (*beamFlags) run(context.Context, *env, data.Config, bool) error { return errNoBeam }
