// Exact de-duplication: whole documents by a hash of normalised text
// (Lee et al. 2022, "Deduplicating Training Data Makes Language Models
// Better", §3: exact matches), and repeated lines or paragraphs across the
// corpus, either streaming (Dolma's BFF paragraph dedup: later copies are
// removed) or two-pass (CS336 assignment 4: every copy of a repeated line
// is removed).

package data

import (
	"fmt"
	"strings"
	"unicode"
)

// DedupOptions configure the exact-document stage.
type DedupOptions struct {
	Capacity int64   `json:"capacity"` // expected distinct documents; sizes the Bloom filter
	FP       float64 `json:"false_positive_rate"`
}

// DefaultDedupOptions: 10 M documents at 1e-6 take 36 MiB.
func DefaultDedupOptions() DedupOptions { return DedupOptions{Capacity: 10_000_000, FP: 1e-6} }

// Normalize lowercases text, drops punctuation and collapses whitespace, so
// that copies differing only in case, spacing or punctuation hash alike.
func Normalize(text string) string {
	var b strings.Builder
	b.Grow(len(text))
	space := false
	for _, r := range text {
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
		case unicode.IsPunct(r) || unicode.IsSymbol(r):
		default:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// ExactHash is the key of exact de-duplication: a 64-bit hash of the
// normalised text. The Bloom filter here and a distributed GroupByKey
// (data/beampipe) both key on it.
func ExactHash(text string) uint64 { return hashString(Normalize(text)) }

// ExactDedupStage drops every document whose normalised text was seen before.
func ExactDedupStage(o DedupOptions) (Stage, error) {
	bloom, err := NewBloom(o.Capacity, o.FP)
	if err != nil {
		return Stage{}, err
	}
	return Stage{
		Name: "exact_dedup",
		Map:  func(d *Doc) { d.put("exact", ExactHash(d.Text)) },
		Seq: func(d *Doc) {
			if bloom.TestAndAdd(d.take("exact").(uint64)) {
				d.Drop = "exact_duplicate"
				// The filter keeps no ids: say what matched and how sure it is.
				d.DropDetail = fmt.Sprintf("normalised text seen before (bloom filter, false-positive rate %.0e)", o.FP)
			}
		},
		Finish: func(r *StageReport) error {
			r.Counts = map[string]int64{"bloom_bytes": bloom.Bytes(), "bloom_fp_rate_ppm": int64(bloom.FalsePositiveRate() * 1e6)}
			return nil
		},
	}, nil
}

// LineDedupOptions configure the repeated-line stage.
type LineDedupOptions struct {
	// Unit is "line" (split on "\n", as Dolma's paragraphs) or "paragraph"
	// (split on blank lines).
	Unit string `json:"unit"`
	// Mode is "first" (streaming: keep the first copy, remove later ones) or
	// "all" (two passes: remove every copy of a unit seen more than once).
	Mode string `json:"mode"`
	// SkipEmpty leaves blank units alone.
	SkipEmpty bool    `json:"skip_empty"`
	Capacity  int64   `json:"capacity"` // expected distinct units
	FP        float64 `json:"false_positive_rate"`
}

// DefaultLineDedupOptions: streaming line dedup, 10 M distinct lines at
// 1e-6 in 34 MiB (twice that in "all" mode); raise Capacity with the corpus.
func DefaultLineDedupOptions() LineDedupOptions {
	return LineDedupOptions{Unit: "line", Mode: "first", SkipEmpty: true, Capacity: 10_000_000, FP: 1e-6}
}

// Span is a half-open byte range [Start, End) of a text, with its separator.
type Span struct{ Start, End int }

// units splits text into spans that each include their trailing separator.
func units(text, unit string) []Span {
	sep := "\n"
	if unit == "paragraph" {
		sep = "\n\n"
	}
	var out []Span
	for start := 0; start < len(text); {
		i := strings.Index(text[start:], sep)
		if i < 0 {
			out = append(out, Span{start, len(text)})
			break
		}
		end := start + i + len(sep)
		if unit == "paragraph" { // a run of blank lines belongs to the paragraph before it
			for end < len(text) && text[end] == '\n' {
				end++
			}
		}
		out = append(out, Span{start, end})
		start = end
	}
	return out
}

func unitKey(text string, s Span) string { return strings.TrimRight(text[s.Start:s.End], "\n") }

// LineDeduper finds repeated units across the documents it is shown.
type LineDeduper struct {
	o           LineDedupOptions
	seen, twice *Bloom // seen: units met once or more; twice: more than once ("all" mode)
	removed     int64
}

// NewLineDeduper validates o and allocates the filters.
func NewLineDeduper(o LineDedupOptions) (*LineDeduper, error) {
	if o.Unit != "line" && o.Unit != "paragraph" {
		return nil, fmt.Errorf("data: line dedup unit %q: want line or paragraph", o.Unit)
	}
	if o.Mode != "first" && o.Mode != "all" {
		return nil, fmt.Errorf("data: line dedup mode %q: want first or all", o.Mode)
	}
	ld := &LineDeduper{o: o}
	var err error
	if ld.seen, err = NewBloom(o.Capacity, o.FP); err != nil {
		return nil, err
	}
	if o.Mode == "all" {
		if ld.twice, err = NewBloom(o.Capacity, o.FP); err != nil {
			return nil, err
		}
	}
	return ld, nil
}

// LineUnits returns text's units that line dedup considers (blank ones
// left out when o.SkipEmpty), each with the hash it is compared by. It is
// the per-document half of the stage: the streaming deduper here and a
// distributed GroupByKey over the hashes (data/beampipe) share it.
func LineUnits(text string, o LineDedupOptions) ([]Span, []uint64) {
	var spans []Span
	var hashes []uint64
	for _, s := range units(text, o.Unit) {
		if o.SkipEmpty && strings.TrimSpace(text[s.Start:s.End]) == "" {
			continue
		}
		spans = append(spans, s)
		hashes = append(hashes, hashString(unitKey(text, s)))
	}
	return spans, hashes
}

// RemoveLineDuplicates cuts the repeated units dup (sorted, disjoint) out of
// d and drops d when nothing but whitespace is left.
func RemoveLineDuplicates(d *Doc, dup []Span, unit string) {
	d.Text = removeSpans(d.Text, dup)
	if strings.TrimSpace(d.Text) == "" {
		d.Drop = "all_" + unit + "s_duplicated"
	}
}

// Count records text's units ("all" mode's first pass).
func (ld *LineDeduper) Count(text string) {
	_, hashes := LineUnits(text, ld.o)
	for _, h := range hashes {
		if ld.seen.TestAndAdd(h) {
			ld.twice.TestAndAdd(h)
		}
	}
}

// Duplicates returns the byte spans of text's repeated units. In "first"
// mode it also records the text's units as seen.
func (ld *LineDeduper) Duplicates(text string) []Span {
	var dup []Span
	spans, hashes := LineUnits(text, ld.o)
	for i, s := range spans {
		h := hashes[i]
		var repeated bool
		if ld.o.Mode == "all" {
			repeated = ld.twice.Test(h)
		} else {
			repeated = ld.seen.TestAndAdd(h)
		}
		if repeated {
			dup = append(dup, s)
		}
	}
	return dup
}

// removeSpans cuts sorted, disjoint spans out of text.
func removeSpans(text string, spans []Span) string {
	if len(spans) == 0 {
		return text
	}
	var b strings.Builder
	prev := 0
	for _, s := range spans {
		b.WriteString(text[prev:s.Start])
		prev = s.End
	}
	b.WriteString(text[prev:])
	return b.String()
}

// Stage removes repeated units from each document and drops documents left
// empty. In "all" mode it asks the pipeline for a counting pass.
func (ld *LineDeduper) Stage() Stage {
	st := Stage{
		Name: "line_dedup",
		Seq: func(d *Doc) {
			spans := ld.Duplicates(d.Text)
			ld.removed += int64(len(spans))
			RemoveLineDuplicates(d, spans, ld.o.Unit)
		},
		Finish: func(r *StageReport) error {
			r.Counts = map[string]int64{ld.o.Unit + "s_removed": ld.removed, "bloom_bytes": ld.seen.Bytes()}
			return nil
		},
	}
	if ld.o.Mode == "all" {
		st.Count = func(d *Doc) { ld.Count(d.Text) }
	}
	return st
}
