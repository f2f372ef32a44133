//go:build beam

// Reference: data/dedup.go (LineDeduper) and docs/data.md, "Design: stages
// as functions", item 3: emit (unit hash, position) pairs, group by hash,
// and join the repeated units back to their documents.

package beampipe

import (
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/gptgo/gptgo/data"
)

// unitAt is one occurrence of a unit: the document and the unit's index
// among data.LineUnits of that document's text.
type unitAt struct {
	Seq  int64
	Unit int32
}

// before orders occurrences as the local, streaming deduper meets them.
func (a unitAt) before(b unitAt) bool { return a.Seq < b.Seq || a.Seq == b.Seq && a.Unit < b.Unit }

// lineDedup removes repeated units: mode "first" keeps each unit's first
// occurrence in input order, mode "all" removes every copy of a unit that
// occurs twice or more, as the local stage does (there with Bloom filters,
// here exactly).
func lineDedup(s beam.Scope, docs beam.PCollection, cfg string) beam.PCollection {
	s = s.Scope(data.StageLineDedup)
	units, bySeq, done := beam.ParDo3(s, &lineKeyFn{Cfg: cfg}, docs)
	repeats := beam.ParDo(s, &lineRepeatFn{Cfg: cfg}, beam.GroupByKey(s, units))
	cut := beam.ParDo(s, &lineCutFn{Cfg: cfg}, beam.CoGroupByKey(s, bySeq, repeats))
	return beam.Flatten(s, cut, done)
}

type lineKeyFn struct {
	Cfg string
	o   data.LineDedupOptions
}

func (f *lineKeyFn) Setup() error {
	c, err := parseConfig(f.Cfg)
	f.o = c.LineDedup
	return err
}

func (f *lineKeyFn) ProcessElement(d Doc, units func(uint64, unitAt), bySeq func(int64, Doc), done func(Doc)) {
	if d.dropped() {
		done(d)
		return
	}
	d.enter()
	_, hashes := data.LineUnits(d.Text, f.o)
	for i, h := range hashes {
		units(h, unitAt{d.Seq, int32(i)})
	}
	bySeq(d.Seq, d)
}

type lineRepeatFn struct {
	Cfg  string
	mode string
}

func (f *lineRepeatFn) Setup() error {
	c, err := parseConfig(f.Cfg)
	f.mode = c.LineDedup.Mode
	return err
}

// ProcessElement emits the occurrences of one unit that are to be removed.
func (f *lineRepeatFn) ProcessElement(_ uint64, group func(*unitAt) bool, remove func(int64, int32)) {
	var all []unitAt
	var u unitAt
	for group(&u) {
		all = append(all, u)
	}
	if len(all) < 2 {
		return
	}
	if f.mode == "all" {
		for _, u := range all {
			remove(u.Seq, u.Unit)
		}
		return
	}
	first := 0
	for i, u := range all {
		if u.before(all[first]) {
			first = i
		}
	}
	for i, u := range all {
		if i != first {
			remove(u.Seq, u.Unit)
		}
	}
}

type lineCutFn struct {
	Cfg string
	o   data.LineDedupOptions
}

func (f *lineCutFn) Setup() error {
	c, err := parseConfig(f.Cfg)
	f.o = c.LineDedup
	return err
}

func (f *lineCutFn) ProcessElement(_ int64, docs func(*Doc) bool, removed func(*int32) bool, emit func(Doc)) {
	var d Doc
	if !docs(&d) {
		return
	}
	gone := map[int32]bool{}
	var u int32
	for removed(&u) {
		gone[u] = true
	}
	if len(gone) > 0 {
		spans, _ := data.LineUnits(d.Text, f.o)
		var dup []data.Span
		for i, sp := range spans {
			if gone[int32(i)] {
				dup = append(dup, sp)
			}
		}
		x := d.toData()
		data.RemoveLineDuplicates(x, dup, f.o.Unit)
		d.fromData(x)
		d.count(data.StageLineDedup+"/"+f.o.Unit+"s_removed", int64(len(dup)))
	}
	if d.dropped() {
		d.reject(data.StageLineDedup, d.Drop, d.Detail)
	} else {
		d.leave()
	}
	emit(d)
}
