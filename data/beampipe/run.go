//go:build beam

// Reference: data/run.go (RunConfig, the local runner this one matches) and
// the Beam Go SDK's runner registry (beam.Run; runners prism, flink, spark,
// dataflow, universal).

package beampipe

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/gptgo/gptgo/data"

	// The optimized element runtime and the local file system, as beamx links them.
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/exec/optimized"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
	// Runners, registered by name for beam.Run.
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/flink"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/spark"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/universal"
)

// Options choose where the pipeline runs.
type Options struct {
	// Runner is a Beam runner's name: "prism" (in this process; the default),
	// "flink", "spark", "dataflow" or "universal". Their settings (job
	// endpoint, environment, project …) are Beam's own flags, set with SetFlag.
	Runner string
}

// Init starts Beam's runtime once (beam.Init, which on a cluster's worker
// serves the work and never returns). Beam then logs through slog's default
// logger: a dozen lines a job, and a failed bundle's whole execution plan.
// Unless verbose, the first Init sends slog's default logger to io.Discard;
// the error Run returns says what failed.
func Init(verbose bool) {
	if beam.Initialized() {
		return
	}
	beam.Init()
	if !verbose {
		slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
}

// Run runs c as a Beam pipeline and returns the report it wrote. Its
// outputs are the local runner's (data.RunConfig): OUTPUT/docs.jsonl,
// rejected.jsonl, report.json, summary.txt and the token shards. On a
// cluster, OUTPUT and the inputs must be paths every worker sees.
func Run(ctx context.Context, c data.Config, o Options) (*data.Report, error) {
	start := time.Now()
	if o.Runner == "" {
		o.Runner = "prism"
	}
	p, err := Build(c, start)
	if err != nil {
		return nil, err
	}
	if _, err := beam.Run(ctx, o.Runner, p); err != nil {
		return nil, fmt.Errorf("data/beampipe: %s runner: %w", o.Runner, rootCause(err))
	}
	b, err := os.ReadFile(filepath.Join(c.Output, "report.json"))
	if err != nil {
		return nil, fmt.Errorf("data/beampipe: the pipeline finished but its report is not readable here: %w", err)
	}
	var rep data.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("data/beampipe: %s: %w", filepath.Join(c.Output, "report.json"), err)
	}
	return &rep, nil
}

// Build checks c as data.RunConfig does and constructs the pipeline.
func Build(c data.Config, start time.Time) (*beam.Pipeline, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	files, err := data.ExpandInputs(c.Inputs)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("data: no input files")
	}
	if len(files) >= 1<<(63-seqFileBits) {
		return nil, fmt.Errorf("data/beampipe: %d input files, at most %d", len(files), 1<<(63-seqFileBits)-1)
	}
	if c.Output == "" {
		return nil, fmt.Errorf("data: no output directory")
	}
	if err := os.MkdirAll(c.Output, 0o755); err != nil {
		return nil, err
	}
	for _, s := range c.Stages {
		switch s {
		case data.StageMinHash:
			if c.MinHash.Index == "bloom" {
				return nil, fmt.Errorf("data/beampipe: minhash.index \"bloom\" is the local runner's fixed-memory index; the Beam runner groups band keys instead: use \"exact\"")
			}
		case data.StageTokenize:
			if c.Tokenize.Dir != "" && !filepath.IsAbs(c.Tokenize.Dir) {
				c.Tokenize.Dir = filepath.Join(c.Output, c.Tokenize.Dir)
			}
			if c.Tokenize.MaxShardTokens == 0 {
				c.Tokenize.MaxShardTokens = data.DefaultTokenizeOptions().MaxShardTokens
			}
			if _, err := loadEncoder(c); err != nil { // fail before the job starts, naming the file
				return nil, err
			}
			if err := os.MkdirAll(c.Tokenize.Dir, 0o755); err != nil {
				return nil, err
			}
		}
	}
	cfgJSON, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	cfg := string(cfgJSON)
	Init(true)

	p, s := beam.NewPipelineWithRoot()
	tasks := make([]fileTask, len(files))
	for i, f := range files {
		tasks[i] = fileTask{Index: i, Path: f}
	}
	// Reshuffle spreads the files over workers before the (slow) reading.
	docs, skips := beam.ParDo2(s, &readFn{Cfg: cfg}, beam.Reshuffle(s, beam.CreateList(s, tasks)))
	mhReport := beam.CreateList(s, []string{})
	plan := beam.CreateList(s, []shardPlan{})
	shards := beam.CreateList(s, []int{})
	for _, name := range c.Stages {
		switch name {
		case data.StageLanguage, data.StageQuality, data.StagePII:
			docs = beam.ParDo(s.Scope(name), &mapFn{Cfg: cfg, Stage: name}, docs)
		case data.StageExactDedup:
			docs = exactDedup(s, docs)
		case data.StageLineDedup:
			docs = lineDedup(s, docs, cfg)
		case data.StageMinHash:
			docs, mhReport = minHash(s, docs, cfg)
		case data.StageTokenize:
			docs, plan, shards = tokenize(s, docs, cfg)
		default:
			return nil, fmt.Errorf("data/beampipe: stage %q has no Beam form", name)
		}
	}
	out := s.Scope("output")
	impulse := beam.Impulse(out)
	written := beam.CreateList(out, []int{})
	if c.WriteDocs {
		kept := beam.ParDo(out, keptFn, docs)
		written = beam.ParDo(out, &writeDocsFn{Path: filepath.Join(c.Output, "docs.jsonl")}, impulse, beam.SideInput{Input: kept})
	}
	if c.WriteRejected {
		rej := beam.ParDo(out, rejectedFn, docs)
		w := beam.ParDo(out, &writeDocsFn{Path: filepath.Join(c.Output, "rejected.jsonl"), Rejected: true}, impulse, beam.SideInput{Input: rej})
		written = beam.Flatten(out, written, w)
	}
	tallies := beam.Combine(out, &tallyFn{Stages: len(c.Stages)}, docs)
	beam.ParDo0(out, &reportFn{Cfg: cfg, Start: start.UnixNano()}, impulse,
		beam.SideInput{Input: tallies}, beam.SideInput{Input: skips}, beam.SideInput{Input: mhReport},
		beam.SideInput{Input: plan}, beam.SideInput{Input: written}, beam.SideInput{Input: shards})
	return p, nil
}

func jsonUnmarshal(js string, v any) error {
	if err := json.Unmarshal([]byte(js), v); err != nil {
		return fmt.Errorf("data/beampipe: %w", err)
	}
	return nil
}

// causeError is the user's part of a failed job's error.
type causeError struct {
	msg string
	err error
}

func (e *causeError) Error() string { return e.msg }
func (e *causeError) Unwrap() error { return e.err }

// rootCause cuts a runner's error down to what the failing DoFn returned
// (".../bad.jsonl: line 2: unexpected EOF"): Beam wraps it in the bundle's
// whole execution plan, dozens of lines no user needs. The full error stays
// reachable with errors.Unwrap.
func rootCause(err error) error {
	msg := err.Error()
	i := strings.LastIndex(msg, "] failed:\n")
	if i < 0 {
		return err
	}
	cause := msg[i+len("] failed:\n"):]
	if j := strings.Index(cause, "\n"); j >= 0 {
		cause = cause[:j]
	}
	if cause == "" {
		return err
	}
	return &causeError{msg: "job failed: " + cause, err: err}
}
