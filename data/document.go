// Document model and stream contract, after datatrove's Document and
// pipeline-step design (huggingface/datatrove, src/datatrove/data.py).

package data

import "strconv"

// Doc is one document flowing through the pipeline. Stages read and rewrite
// Text in place; a stage that rejects a document sets Drop and every later
// stage passes it by.
type Doc struct {
	ID     string // unique within the corpus: "path", "path#3", a JSON "id" or a WARC-Record-ID
	Source string // the file it came from, as given on the command line
	URL    string // WARC-Target-URI or a JSON "url" field, when known
	Text   string // UTF-8 text; lines end in "\n"

	Lang      string  // ISO 639-1 code set by the language stage ("en", "zh"), "" before
	LangScore float64 // the identifier's confidence in Lang, 0…1

	Drop       string // why a stage rejected the document ("gopher_mean_word_length"); "" while kept
	DroppedBy  string // the name of the stage that set Drop
	DropDetail string // the measurement behind Drop ("36 < 50"), for rejected.jsonl

	// scratch is per-document state that a stage's parallel half hands to its
	// serial half (a MinHash signature, line hashes, token ids); it is reset
	// by the stage that reads it.
	scratch map[string]any
	seq     int64 // position in the input stream, for order-keeping
}

// Dropped reports whether a stage has rejected d.
func (d *Doc) Dropped() bool { return d.Drop != "" }

func (d *Doc) put(key string, v any) {
	if d.scratch == nil {
		d.scratch = make(map[string]any, 2)
	}
	d.scratch[key] = v
}

func (d *Doc) take(key string) any {
	v := d.scratch[key]
	delete(d.scratch, key)
	return v
}

// Emit receives documents from a reader. Returning an error stops the reader,
// which returns that error.
type Emit func(*Doc) error

// idAt names the n-th document (0-based) of a multi-document file.
func idAt(path string, n int) string { return path + "#" + strconv.Itoa(n) }
