// RunConfig: read → stages → docs.jsonl + report.json + summary.txt, the
// whole of `gptgo data run`.

package data

import (
	"context"
	"fmt"
	"github.com/gptgo/gptgo/internal/atomicfile"
	"os"
	"path/filepath"
	"strings"
)

// RunConfig runs c end to end. progress may be nil.
func RunConfig(ctx context.Context, c Config, enc Encoder, progress func(Progress)) (*Report, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	files, err := ExpandInputs(c.Inputs)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("data: no input files")
	}
	if c.Output == "" {
		return nil, fmt.Errorf("data: no output directory")
	}
	if err := os.MkdirAll(c.Output, 0o755); err != nil {
		return nil, err
	}
	if c.Tokenize.Dir != "" && !filepath.IsAbs(c.Tokenize.Dir) {
		c.Tokenize.Dir = filepath.Join(c.Output, c.Tokenize.Dir)
	}
	var dw *DocWriter
	var sink func(*Doc) error
	if c.WriteDocs {
		if dw, err = CreateDocWriter(filepath.Join(c.Output, "docs.jsonl")); err != nil {
			return nil, err
		}
		sink = dw.Write
	}
	p := &Pipeline{Build: c.Build(enc), Workers: c.Workers, Progress: progress}
	var rw *DocWriter
	if c.WriteRejected {
		if rw, err = CreateDocWriter(filepath.Join(c.Output, "rejected.jsonl")); err != nil {
			if dw != nil {
				dw.Abort()
			}
			return nil, err
		}
		p.Rejected = rw.WriteRejected
	}
	var skipped int64
	var skipExamples []string
	c.Read.OnSkip = func(err error) { // called from the one reading goroutine
		skipped++
		if len(skipExamples) < 10 {
			skipExamples = append(skipExamples, err.Error())
		}
	}
	read := FileSource(files, c.Read)
	// A counting pre-pass reads the input twice; the report counts the
	// main pass's skips only, so a bad record is counted once.
	src := func(ctx context.Context, emit Emit) error {
		skipped, skipExamples = 0, nil
		return read(ctx, emit)
	}
	rep, err := p.Run(ctx, src, sink)
	for _, w := range []*DocWriter{dw, rw} {
		if w == nil {
			continue
		}
		if err != nil {
			w.Abort()
		} else if cerr := w.Close(); cerr != nil {
			err = cerr
		}
	}
	if err != nil {
		return nil, err
	}
	rep.SkippedRecords, rep.SkipExamples = skipped, skipExamples
	if err := rep.WriteJSON(filepath.Join(c.Output, "report.json")); err != nil {
		return nil, err
	}
	var sum strings.Builder
	rep.WriteSummary(&sum)
	if err := atomicfile.WriteBytes(filepath.Join(c.Output, "summary.txt"), []byte(sum.String())); err != nil {
		return nil, err
	}
	return rep, nil
}
