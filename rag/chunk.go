// Reference: docs/rag.md "On-disk format" (the record layout below is the log's and the
// snapshot's payload).

package rag

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Section is a piece of a loaded file that a chunk never crosses: a page of
// a PDF, a Markdown or DOCX section under one heading path, a CSV row.
type Section struct {
	Text    string
	Page    int    // 1-based page for paged formats, else 0
	Heading string // heading path, "Title > Part > Subpart", or a row label
	Offset  int    // byte offset of Text in the file's extracted text
}

// Chunk is the unit of retrieval: a span of a section, sized in tokens.
type Chunk struct {
	ID      string    `json:"id"`     // "<doc id>:<ordinal>"
	Source  string    `json:"source"` // the path it was loaded from
	Page    int       `json:"page,omitempty"`
	Heading string    `json:"heading,omitempty"`
	Start   int       `json:"start"` // byte offsets in the file's extracted text
	End     int       `json:"end"`
	Text    string    `json:"text"`
	Hash    string    `json:"hash"` // SHA-256 of Text, first 16 hex digits
	Time    time.Time `json:"time"` // ingest time
	Vec     []float32 `json:"-"`    // unit-length embedding; empty when the store has no embedder
}

// Document is what one ingested file became: its chunks, replaced as a
// whole when the file changes.
type Document struct {
	ID     string    `json:"id"`     // SHA-256 of Source, first 16 hex digits
	Source string    `json:"source"` // path as given to Ingest (made absolute by the CLI)
	Hash   string    `json:"hash"`   // SHA-256 of the file's bytes: an unchanged file is not ingested again
	Time   time.Time `json:"time"`
	Chunks []Chunk   `json:"chunks"`
}

// DocID is the id of the document loaded from source.
func DocID(source string) string { return shortHash([]byte(source)) }

func shortHash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:8])
}

// FileHash is the content hash Document.Hash holds.
func FileHash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// record is one log entry: a whole document put (replacing any earlier one
// with its id) or a removal. Both are idempotent, which is what lets a
// snapshot and the log it supersedes overlap after a crash.
type record struct {
	Op  string    `json:"op"` // "put" or "rm"
	Doc *Document `json:"doc,omitempty"`
	ID  string    `json:"id,omitempty"` // rm: document id
	// Vecs holds the chunks' vectors, little-endian float32, dim each,
	// in chunk order (JSON carries it as base64).
	Vecs []byte `json:"vecs,omitempty"`
	Dim  int    `json:"dim,omitempty"`
}

func encodeRecord(r record) ([]byte, error) {
	if r.Doc != nil && r.Dim > 0 {
		r.Vecs = make([]byte, 0, 4*r.Dim*len(r.Doc.Chunks))
		for _, c := range r.Doc.Chunks {
			if len(c.Vec) != r.Dim {
				return nil, fmt.Errorf("rag: chunk %s has a vector of %d, want %d", c.ID, len(c.Vec), r.Dim)
			}
			for _, v := range c.Vec {
				r.Vecs = binary.LittleEndian.AppendUint32(r.Vecs, math.Float32bits(v))
			}
		}
	}
	return json.Marshal(r)
}

// decodeRecord parses a payload and checks what the rest of the store
// relies on, so that a record written by a bug or another program is an
// error rather than a panic later.
func decodeRecord(p []byte) (record, error) {
	var r record
	if err := json.Unmarshal(p, &r); err != nil {
		return r, fmt.Errorf("record: %w", err)
	}
	switch r.Op {
	case "rm":
		if r.ID == "" {
			return r, fmt.Errorf("record: rm without id")
		}
	case "put":
		d := r.Doc
		if d == nil || d.ID == "" || d.ID != DocID(d.Source) {
			return r, fmt.Errorf("record: put without a document or with an id that is not its source's")
		}
		if r.Dim < 0 || r.Dim > 1<<16 {
			return r, fmt.Errorf("record: dim %d", r.Dim)
		}
		if len(r.Vecs) != 4*r.Dim*len(d.Chunks) {
			return r, fmt.Errorf("record: %d vector bytes for %d chunks of dim %d", len(r.Vecs), len(d.Chunks), r.Dim)
		}
		for i := range d.Chunks {
			c := &d.Chunks[i]
			if c.ID != fmt.Sprintf("%s:%d", d.ID, i) {
				return r, fmt.Errorf("record: chunk %d has id %q", i, c.ID)
			}
			if r.Dim > 0 {
				c.Vec = make([]float32, r.Dim)
				b := r.Vecs[4*r.Dim*i:]
				for j := range c.Vec {
					c.Vec[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
				}
			}
		}
		r.Vecs = nil
	default:
		return r, fmt.Errorf("record: unknown op %q", r.Op)
	}
	return r, nil
}
