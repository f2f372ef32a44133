//go:build beam

// Reference: data/run.go and data/output.go (docs.jsonl, rejected.jsonl,
// report.json, summary.txt) and data/pipeline.go (the per-stage tallies):
// the report is a Combine of per-document tallies, and each JSONL file is
// written by one worker in input order, so its bytes match the local run's.

package beampipe

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gptgo/gptgo/data"
	"github.com/gptgo/gptgo/internal/atomicfile"
)

func keptFn(d Doc, emit func(Doc)) {
	if !d.dropped() {
		emit(d)
	}
}

func rejectedFn(d Doc, emit func(Doc)) {
	if d.dropped() {
		emit(d)
	}
}

// writeDocsFn writes docs.jsonl (or, with Rejected, rejected.jsonl) from
// its side input. It holds the documents it writes in memory to order them;
// on a corpus larger than a worker's memory, leave write_docs off and keep
// the shards, which are written in parallel.
type writeDocsFn struct {
	Path     string
	Rejected bool
}

func (f *writeDocsFn) ProcessElement(_ []byte, docs func(*Doc) bool) (int, error) {
	all := collect(docs)
	w, err := data.CreateDocWriter(f.Path)
	if err != nil {
		return 0, err
	}
	for i := range all {
		x := all[i].toData()
		x.DroppedBy = all[i].DroppedBy
		if f.Rejected {
			err = w.WriteRejected(x)
		} else {
			err = w.Write(x)
		}
		if err != nil {
			w.Abort()
			return 0, fmt.Errorf("data/beampipe: %s: %w", f.Path, err)
		}
	}
	return len(all), w.Close()
}

// tally is a Combine accumulator: "docs", "bytes", and per stage i
// "in/i", "out/i", "bin/i", "bout/i", "drop/i/REASON" and "count/STAGE/NAME".
type tally struct {
	N map[string]int64
}

type tallyFn struct {
	Stages int
}

func (f *tallyFn) CreateAccumulator() tally { return tally{N: map[string]int64{}} }

// AddInput reads a document's Lens as data.Pipeline counts: a stage's
// input when the document entered it, its output when it left.
func (f *tallyFn) AddInput(a tally, d Doc) tally {
	if a.N == nil {
		a.N = map[string]int64{}
	}
	a.N["docs"]++
	if len(d.Lens) > 0 {
		a.N["bytes"] += d.Lens[0]
	}
	for i := range f.Stages {
		in, out := 1+2*i, 2+2*i
		if in < len(d.Lens) {
			a.N["in/"+strconv.Itoa(i)]++
			a.N["bin/"+strconv.Itoa(i)] += d.Lens[in]
		}
		if out < len(d.Lens) {
			a.N["out/"+strconv.Itoa(i)]++
			a.N["bout/"+strconv.Itoa(i)] += d.Lens[out]
		}
	}
	if d.dropped() && len(d.Lens) >= 2 {
		a.N["drop/"+strconv.Itoa((len(d.Lens)-2)/2)+"/"+d.Drop]++
	}
	for k, n := range d.Counts {
		a.N["count/"+k] += n
	}
	return a
}

func (f *tallyFn) MergeAccumulators(a, b tally) tally {
	if a.N == nil {
		a.N = map[string]int64{}
	}
	for k, n := range b.N {
		a.N[k] += n
	}
	return a
}

func (f *tallyFn) ExtractOutput(a tally) tally { return a }

// reportFn writes report.json and summary.txt once the other outputs are
// written (its side inputs wait for them).
type reportFn struct {
	Cfg   string
	Start int64 // when the run began, Unix nanoseconds
}

func (f *reportFn) ProcessElement(_ []byte, tallies func(*tally) bool, skips func(*skipRec) bool, minhash func(*string) bool,
	plans func(*shardPlan) bool, docsWritten func(*int) bool, shardsWritten func(*int) bool) error {
	c, err := parseConfig(f.Cfg)
	if err != nil {
		return err
	}
	for n := 0; docsWritten(&n); {
	}
	for n := 0; shardsWritten(&n); {
	}
	n := map[string]int64{}
	var t tally
	for tallies(&t) {
		for k, v := range t.N {
			n[k] += v
		}
		t = tally{}
	}
	rep := &data.Report{DocsIn: n["docs"], BytesIn: n["bytes"]}
	var sk []skipRec
	var r skipRec
	for skips(&r) {
		sk = append(sk, r)
	}
	sort.Slice(sk, func(i, j int) bool { return sk[i].Seq < sk[j].Seq })
	rep.SkippedRecords = int64(len(sk))
	for i := 0; i < len(sk) && i < 10; i++ {
		rep.SkipExamples = append(rep.SkipExamples, sk[i].Msg)
	}
	for i, name := range c.Stages {
		is := strconv.Itoa(i)
		sr := data.StageReport{Name: name, DocsIn: n["in/"+is], DocsOut: n["out/"+is], BytesIn: n["bin/"+is], BytesOut: n["bout/"+is],
			Dropped: map[string]int64{}}
		for k, v := range n {
			if reason, ok := strings.CutPrefix(k, "drop/"+is+"/"); ok {
				sr.Dropped[reason] = v
			}
			if count, ok := strings.CutPrefix(k, "count/"+name+"/"); ok {
				if sr.Counts == nil {
					sr.Counts = map[string]int64{}
				}
				sr.Counts[count] = v
			}
		}
		switch name {
		case data.StageLineDedup:
			key := c.LineDedup.Unit + "s_removed"
			sr.Counts = map[string]int64{key: n["count/"+name+"/"+key]}
		case data.StageMinHash:
			var js string
			for minhash(&js) {
				var mr minHashReport
				if err := jsonUnmarshal(js, &mr); err != nil {
					return err
				}
				sr.Counts, sr.Clusters = mr.Counts, mr.Clusters
			}
		case data.StageTokenize:
			var p shardPlan
			shards := 0
			for plans(&p) {
				shards = len(p.First)
			}
			sr.Counts = map[string]int64{"tokens": n["count/"+name+"/tokens"], "documents": n["count/"+name+"/documents"], "shards": int64(shards)}
		}
		rep.Stages = append(rep.Stages, sr)
	}
	rep.Finish(time.Since(time.Unix(0, f.Start)))
	if err := rep.WriteJSON(filepath.Join(c.Output, "report.json")); err != nil {
		return err
	}
	var sum strings.Builder
	rep.WriteSummary(&sum)
	return atomicfile.WriteBytes(filepath.Join(c.Output, "summary.txt"), []byte(sum.String()))
}
