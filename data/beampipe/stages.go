//go:build beam

// Reference: data/langid.go, data/quality.go, data/pii.go: the stages that
// need no cross-document state run as one ParDo each, calling the data
// package's per-document functions.

package beampipe

import (
	"fmt"

	"github.com/gptgo/gptgo/data"
)

// mapFn runs one per-document stage.
type mapFn struct {
	Cfg   string // the data.Config as JSON
	Stage string // data.StageLanguage, data.StageQuality or data.StagePII

	fn  func(*data.Doc)
	pii data.PIIOptions
}

func (f *mapFn) Setup() error {
	c, err := parseConfig(f.Cfg)
	if err != nil {
		return err
	}
	switch f.Stage {
	case data.StageLanguage:
		f.fn = data.LangStage(c.Language).Map
	case data.StageQuality:
		f.fn = data.QualityStage(c.Quality).Map
	case data.StagePII:
		f.pii = c.PII
	default:
		return fmt.Errorf("data/beampipe: %q is not a per-document stage", f.Stage)
	}
	return nil
}

func (f *mapFn) ProcessElement(d Doc) Doc {
	if d.dropped() {
		return d
	}
	d.enter()
	x := d.toData()
	if f.fn != nil {
		f.fn(x)
	} else {
		for k, n := range f.pii.Scrub(x) {
			d.count(f.Stage+"/"+k, n)
		}
	}
	d.fromData(x)
	if d.dropped() {
		d.reject(f.Stage, d.Drop, d.Detail)
		return d
	}
	d.leave()
	return d
}
