//go:build beam

// Reference: data/read.go and data/config.go (FileSource): the same readers,
// one file per element, so that files are read in parallel.

package beampipe

import (
	"encoding/json"
	"fmt"

	"github.com/gptgo/gptgo/data"
)

// fileTask is one input file and its index in the sorted input list.
type fileTask struct {
	Index int
	Path  string
}

// skipRec is a record skipped by read.skip_bad_records; Seq orders skips
// as the local runner meets them (file, then the skip's rank in the file).
type skipRec struct {
	Seq int64
	Msg string
}

// parseConfig decodes the config a DoFn carries. Pipeline construction
// validated it, so an error here means a corrupted pipeline.
func parseConfig(js string) (data.Config, error) {
	var c data.Config
	if err := json.Unmarshal([]byte(js), &c); err != nil {
		return c, fmt.Errorf("data/beampipe: pipeline config: %w", err)
	}
	return c, nil
}

// readFn reads one file with data.ReadFile.
type readFn struct {
	Cfg  string // the data.Config as JSON
	read data.ReadOptions
}

func (f *readFn) Setup() error {
	c, err := parseConfig(f.Cfg)
	f.read = c.Read
	return err
}

func (f *readFn) ProcessElement(t fileTask, emit func(Doc), skip func(skipRec)) error {
	o := f.read
	var n, skipped int64
	o.OnSkip = func(err error) {
		skip(skipRec{Seq: seqOf(t.Index, skipped), Msg: err.Error()})
		skipped++
	}
	return data.ReadFile(t.Path, o, func(x *data.Doc) error {
		if n >= 1<<seqFileBits {
			return fmt.Errorf("data/beampipe: %s: more than 2^%d records in one file", t.Path, seqFileBits)
		}
		emit(Doc{Seq: seqOf(t.Index, n), ID: x.ID, Source: x.Source, URL: x.URL, Text: x.Text, Lang: x.Lang,
			LangScore: x.LangScore, Lens: []int64{int64(len(x.Text))}})
		n++
		return nil
	})
}
