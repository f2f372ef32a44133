//go:build beam

// Reference: data/minhash.go (MinHashStage, LSH) and docs/data.md, "Design:
// stages as functions", item 4: band keys → GroupByKey → verify.

package beampipe

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/gptgo/gptgo/data"
)

// bandMember is a document in an LSH bucket.
type bandMember struct {
	Seq int64
	ID  string
	Sig []uint32
}

// verdict drops a document as a near duplicate of DupOf.
type verdict struct {
	DupOf string
	Sim   float64
}

// minHashReport is the stage's counts and clusters, as JSON.
type minHashReport struct {
	Counts   map[string]int64 `json:"counts"`
	Clusters []data.Cluster   `json:"clusters"`
}

// minHash drops near duplicates by the local stage's rule: in input order, a
// document is dropped when, in some band, the first kept document of its
// bucket is similar enough (data.LSH.Add). That rule depends on which
// earlier documents were kept, so it cannot be decided per bucket. But a
// document that shares no bucket with another is kept and changes nothing,
// so only members of buckets of two or more (the candidates, a small part
// of a corpus) go to one resolver, which feeds them to data.LSH in input
// order. Its verdicts are then joined back to the documents by Seq.
//
// The resolver holds the candidates' signatures (4 bytes × permutations
// each) on one worker; that, not the corpus, bounds the stage's memory.
func minHash(s beam.Scope, docs beam.PCollection, cfg string) (out, report beam.PCollection) {
	s = s.Scope(data.StageMinHash)
	bands, bySeq, done := beam.ParDo3(s, &minHashKeyFn{Cfg: cfg}, docs)
	cands := beam.ParDo(s, bucketFn, beam.GroupByKey(s, bands))
	verdicts, report := beam.ParDo2(s, &resolveFn{Cfg: cfg}, beam.Impulse(s), beam.SideInput{Input: cands})
	judged := beam.ParDo(s, &minHashApplyFn{Cfg: cfg}, beam.CoGroupByKey(s, bySeq, verdicts))
	return beam.Flatten(s, judged, done), report
}

type minHashKeyFn struct {
	Cfg string
	o   data.MinHashOptions
	mh  *data.MinHasher
}

func (f *minHashKeyFn) Setup() error {
	c, err := parseConfig(f.Cfg)
	if err != nil {
		return err
	}
	f.o = c.MinHash
	f.mh, err = data.NewMinHasher(c.MinHash)
	return err
}

// ProcessElement signs a document and files it under each band's bucket.
// The key is the band and its data.MinHashOptions.BandKey: buckets are per
// band, as in data.LSH.
func (f *minHashKeyFn) ProcessElement(d Doc, bands func(string, bandMember), bySeq func(int64, Doc), done func(Doc)) {
	if d.dropped() {
		done(d)
		return
	}
	d.enter()
	if sig := f.mh.Signature(d.Text); sig != nil { // a document without tokens is kept, unindexed
		m := bandMember{Seq: d.Seq, ID: d.ID, Sig: sig}
		for b := range f.o.Bands {
			bands(strconv.Itoa(b)+":"+strconv.FormatUint(f.o.BandKey(sig, b), 16), m)
		}
	}
	bySeq(d.Seq, d)
}

// bucketFn passes on the members of buckets that hold two or more documents.
func bucketFn(_ string, group func(*bandMember) bool, emit func(bandMember)) {
	var first, m bandMember
	n := 0
	for group(&m) {
		switch n {
		case 0:
			first = m
		case 1:
			emit(first)
			emit(m)
		default:
			emit(m)
		}
		n++
		m = bandMember{}
	}
}

type resolveFn struct {
	Cfg string
	o   data.MinHashOptions
}

func (f *resolveFn) Setup() error {
	c, err := parseConfig(f.Cfg)
	f.o = c.MinHash
	return err
}

func (f *resolveFn) ProcessElement(_ []byte, cands func(*bandMember) bool, drop func(int64, verdict), report func(string)) error {
	bySeq := map[int64]bandMember{}
	var m bandMember
	for cands(&m) {
		bySeq[m.Seq] = m
		m = bandMember{}
	}
	order := make([]int64, 0, len(bySeq))
	for seq := range bySeq {
		order = append(order, seq)
	}
	sort.Slice(order, func(i, j int) bool { return order[i] < order[j] })
	lsh, err := data.NewLSH(f.o)
	if err != nil {
		return err
	}
	for _, seq := range order {
		m := bySeq[seq]
		if dup, sim := lsh.Add(m.ID, m.Sig); dup != "" {
			drop(seq, verdict{DupOf: dup, Sim: sim})
		}
	}
	var r data.StageReport
	lsh.Report(&r)
	js, err := json.Marshal(minHashReport{Counts: r.Counts, Clusters: r.Clusters})
	if err != nil {
		return fmt.Errorf("data/beampipe: minhash report: %w", err)
	}
	report(string(js))
	return nil
}

type minHashApplyFn struct {
	Cfg    string
	verify bool
}

func (f *minHashApplyFn) Setup() error {
	c, err := parseConfig(f.Cfg)
	f.verify = c.MinHash.Verify
	return err
}

func (f *minHashApplyFn) ProcessElement(_ int64, docs func(*Doc) bool, verdicts func(*verdict) bool, emit func(Doc)) {
	var d Doc
	if !docs(&d) {
		return
	}
	var v verdict
	if verdicts(&v) {
		d.reject(data.StageMinHash, "near_duplicate", data.NearDetail(v.DupOf, v.Sim, f.verify))
	} else {
		d.leave()
	}
	emit(d)
}
