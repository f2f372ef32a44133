// The run report: documents and bytes in and out per stage, why documents
// were dropped, what was replaced, and the duplicate clusters found
// (the shape of datatrove's stats.json, flattened for reading).

package data

import (
	"encoding/json"
	"fmt"
	"github.com/gptgo/gptgo/internal/atomicfile"
	"io"
	"strings"
	"time"
)

// Report describes one pipeline run; it is written as report.json.
type Report struct {
	DocsIn   int64   `json:"docs_in"`
	BytesIn  int64   `json:"bytes_in"`
	DocsOut  int64   `json:"docs_out"`
	BytesOut int64   `json:"bytes_out"`
	Seconds  float64 `json:"seconds"`
	DocsPS   float64 `json:"docs_per_second"`
	MBPS     float64 `json:"mb_per_second"`
	// Records skipped by read.skip_bad_records, with the first few errors.
	SkippedRecords int64         `json:"skipped_records"`
	SkipExamples   []string      `json:"skip_examples,omitempty"`
	Stages         []StageReport `json:"stages"`
}

// StageReport is one stage's tally.
type StageReport struct {
	Name     string           `json:"name"`
	DocsIn   int64            `json:"docs_in"`
	DocsOut  int64            `json:"docs_out"`
	BytesIn  int64            `json:"bytes_in"`
	BytesOut int64            `json:"bytes_out"`
	Dropped  map[string]int64 `json:"dropped,omitempty"`  // reason → documents
	Counts   map[string]int64 `json:"counts,omitempty"`   // stage-specific: PII replaced per type, lines removed, tokens
	Clusters []Cluster        `json:"clusters,omitempty"` // near-duplicate clusters (first few)
}

// Cluster is a set of near-duplicate documents: Kept survived, the others were dropped.
type Cluster struct {
	Kept    string   `json:"kept"`
	Dropped []string `json:"dropped"`
}

// ReasonCount is one bar of a reasons histogram.
type ReasonCount struct {
	Reason string
	N      int64
}

// Finish sets the totals (the last stage's output) and the rates for a
// run that took el.
func (r *Report) Finish(el time.Duration) {
	r.Seconds = el.Seconds()
	if n := len(r.Stages); n > 0 {
		r.DocsOut, r.BytesOut = r.Stages[n-1].DocsOut, r.Stages[n-1].BytesOut
	} else {
		r.DocsOut, r.BytesOut = r.DocsIn, r.BytesIn
	}
	if r.Seconds > 0 {
		r.DocsPS = float64(r.DocsIn) / r.Seconds
		r.MBPS = float64(r.BytesIn) / r.Seconds / 1e6
	}
}

// WriteJSON writes the report to path atomically.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, append(b, '\n'))
}

// WriteSummary writes the human-readable account of the run.
func (r *Report) WriteSummary(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "read %s (%s) in %.2fs: %.0f docs/s, %.2f MB/s\n", count(r.DocsIn, "document"), human(r.BytesIn), r.Seconds, r.DocsPS, r.MBPS)
	fmt.Fprintf(&b, "kept %s (%s), %.1f%% of documents, %.1f%% of bytes\n", count(r.DocsOut, "document"), human(r.BytesOut),
		pct(r.DocsOut, r.DocsIn), pct(r.BytesOut, r.BytesIn))
	if r.SkippedRecords > 0 {
		fmt.Fprintf(&b, "skipped %s, e.g. %s\n", count(r.SkippedRecords, "bad record"), r.SkipExamples[0])
	}
	b.WriteByte('\n')
	fmt.Fprintf(&b, "%-14s %10s %10s %10s %10s\n", "stage", "docs in", "docs out", "bytes in", "bytes out")
	for _, s := range r.Stages {
		fmt.Fprintf(&b, "%-14s %10d %10d %10s %10s\n", s.Name, s.DocsIn, s.DocsOut, human(s.BytesIn), human(s.BytesOut))
	}
	for _, s := range r.Stages {
		if len(s.Dropped) == 0 && len(s.Counts) == 0 && len(s.Clusters) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s:\n", s.Name)
		for _, rc := range sortedReasons(s.Dropped) {
			fmt.Fprintf(&b, "  dropped %-34s %8d\n", rc.Reason, rc.N)
		}
		for _, rc := range sortedReasons(s.Counts) {
			fmt.Fprintf(&b, "  %-42s %8d\n", rc.Reason, rc.N)
		}
		for i, c := range s.Clusters {
			if i == 5 {
				fmt.Fprintf(&b, "  … %s more in report.json\n", count(int64(len(s.Clusters)-5), "cluster"))
				break
			}
			fmt.Fprintf(&b, "  cluster: kept %s, dropped %s\n", c.Kept, strings.Join(c.Dropped, ", "))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// count writes n and the noun, plural unless n is 1 ("1 document").
func count(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func pct(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
