// JSONL output of surviving documents, in Dolma's document layout
// ({"id", "text", "source", ...}; Soldaini et al. 2024, Appendix: data format).

package data

import (
	"bufio"
	"encoding/json"
	"github.com/gptgo/gptgo/internal/atomicfile"
	"unicode/utf8"
)

// DocWriter writes documents as JSON lines; the file appears on Close.
type DocWriter struct {
	path string
	f    *atomicfile.File
	w    *bufio.Writer
	enc  *json.Encoder
}

type docJSON struct {
	ID        string  `json:"id"`
	Source    string  `json:"source"`
	URL       string  `json:"url,omitempty"`
	Lang      string  `json:"lang,omitempty"`
	LangScore float64 `json:"lang_score,omitempty"`
	Text      string  `json:"text"`
}

type rejectJSON struct {
	ID     string `json:"id"`
	Source string `json:"source"`
	Stage  string `json:"stage"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
	Head   string `json:"head"` // the first 160 bytes of the text as it reached the stage
}

// WriteRejected appends d's rejection record: which stage, why, and how the text began.
func (dw *DocWriter) WriteRejected(d *Doc) error {
	head := d.Text
	if len(head) > 160 {
		cut := 160
		for cut > 0 && !utf8.RuneStart(head[cut]) {
			cut--
		}
		head = head[:cut]
	}
	return dw.enc.Encode(rejectJSON{d.ID, d.Source, d.DroppedBy, d.Drop, d.DropDetail, head})
}

// CreateDocWriter starts path.
func CreateDocWriter(path string) (*DocWriter, error) {
	f, err := atomicfile.Create(path)
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &DocWriter{path: path, f: f, w: w, enc: enc}, nil
}

// Write appends d.
func (dw *DocWriter) Write(d *Doc) error {
	return dw.enc.Encode(docJSON{d.ID, d.Source, d.URL, d.Lang, d.LangScore, d.Text})
}

// Close flushes and renames the file into place.
func (dw *DocWriter) Close() error {
	err := dw.w.Flush()
	if err == nil {
		err = dw.f.Commit()
	}
	dw.f.Abort()
	return err
}

// Abort discards the file.
func (dw *DocWriter) Abort() { dw.f.Abort() }
