//go:build beam

// Reference: data/document.go (the local pipeline's Doc) and data/pipeline.go
// (how it tallies documents and bytes in and out of each stage).

package beampipe

import (
	"github.com/gptgo/gptgo/data"
)

// Doc is the element that flows between transforms: data.Doc's exported
// fields, its position in the input, and what the report needs.
type Doc struct {
	// Seq orders documents as the local runner reads them: the file's index
	// in the sorted input list in the high bits, the record's in the low.
	Seq       int64
	ID        string
	Source    string
	URL       string
	Text      string
	Lang      string
	LangScore float64
	Drop      string
	DroppedBy string
	Detail    string
	// Lens holds the text's length when read, then, per stage the document
	// reached, on entering and (unless the stage dropped it) on leaving:
	// [read, in0, out0, in1, out1, …]. The report is summed from it.
	Lens []int64
	// Counts are the stages' per-document counters ("pii/EMAIL",
	// "line_dedup/lines_removed", "tokenize/tokens"), summed into the report.
	Counts map[string]int64
}

// seqFileBits leaves 2^40 records per file and 2^23 files.
const seqFileBits = 40

func seqOf(file int, record int64) int64 { return int64(file)<<seqFileBits | record }

func (d *Doc) dropped() bool { return d.Drop != "" }

// enter records the length of the text a stage starts from.
func (d *Doc) enter() { d.Lens = append(d.Lens, int64(len(d.Text))) }

// leave records the length of the text a stage passes on.
func (d *Doc) leave() { d.Lens = append(d.Lens, int64(len(d.Text))) }

// rejectHead is more than data.DocWriter.WriteRejected quotes of a dropped
// document (160 bytes, cut at a rune start): later transforms need no more
// of its text.
const rejectHead = 200

// reject marks d dropped by stage and sheds the text rejected.jsonl does not quote.
func (d *Doc) reject(stage, reason, detail string) {
	d.Drop, d.DroppedBy, d.Detail = reason, stage, detail
	d.trim()
}

func (d *Doc) trim() {
	if len(d.Text) > rejectHead {
		d.Text = d.Text[:rejectHead]
	}
}

func (d *Doc) count(key string, n int64) {
	if n == 0 {
		return
	}
	if d.Counts == nil {
		d.Counts = map[string]int64{}
	}
	d.Counts[key] += n
}

// toData is the document as the data package's functions see it.
func (d *Doc) toData() *data.Doc {
	return &data.Doc{ID: d.ID, Source: d.Source, URL: d.URL, Text: d.Text, Lang: d.Lang, LangScore: d.LangScore,
		Drop: d.Drop, DroppedBy: d.DroppedBy, DropDetail: d.Detail}
}

// fromData takes back what a data function changed.
func (d *Doc) fromData(x *data.Doc) {
	d.Text, d.Lang, d.LangScore, d.Drop, d.Detail = x.Text, x.Lang, x.LangScore, x.Drop, x.DropDetail
}
