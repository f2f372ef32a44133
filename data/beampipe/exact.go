//go:build beam

// Reference: data/dedup.go (ExactDedupStage) and docs/data.md, "Design:
// stages as functions": exact dedup becomes GroupByKey(hash of normalised
// text), keeping one element per key.

package beampipe

import (
	"fmt"
	"sort"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/gptgo/gptgo/data"
)

// exactDedup keeps, of each set of documents with the same data.ExactHash,
// the first in input order: the local stage's rule, without its Bloom
// filter's false positives (1e-6 by default).
func exactDedup(s beam.Scope, docs beam.PCollection) beam.PCollection {
	s = s.Scope(data.StageExactDedup)
	keyed, done := beam.ParDo2(s, exactKeyFn, docs)
	kept := beam.ParDo(s, exactKeepFn, beam.GroupByKey(s, keyed))
	return beam.Flatten(s, kept, done)
}

func exactKeyFn(d Doc, live func(uint64, Doc), done func(Doc)) {
	if d.dropped() {
		done(d)
		return
	}
	d.enter()
	live(data.ExactHash(d.Text), d)
}

func exactKeepFn(_ uint64, group func(*Doc) bool, emit func(Doc)) {
	all := collect(group)
	first := all[0]
	first.leave()
	emit(first)
	for _, d := range all[1:] {
		d.reject(data.StageExactDedup, "exact_duplicate", fmt.Sprintf("normalised text the same as %s's (grouped by its hash)", first.ID))
		emit(d)
	}
}

// collect reads a group into memory in input order.
func collect(group func(*Doc) bool) []Doc {
	var all []Doc
	var d Doc
	for group(&d) {
		all = append(all, d)
		d = Doc{}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Seq < all[j].Seq })
	return all
}
