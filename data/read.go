// Readers for plain text and JSON/JSONL, with gzip sniffed from the magic
// bytes (RFC 1952 §2.3.1), not trusted to the file name.

package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ReadOptions say how to turn files into documents. The zero value reads by
// file extension with the defaults below.
type ReadOptions struct {
	// Format is "auto" (by extension: .jsonl/.json/.ndjson, .csv/.tsv,
	// .warc/.wet, .html/.htm, anything else text), "text", "jsonl", "json",
	// "csv" (RFC 4180 with a header row; text_field and id_field name
	// columns; .tsv splits on tabs), "warc" or "html".
	Format string `json:"format"`
	// TextUnit splits plain text: "file" (one document per file), "blank"
	// (per blank-line-separated block) or "line" (one per non-empty line).
	TextUnit string `json:"text_unit"`
	// TextField is the JSON field holding the text; an array of strings is
	// joined with newlines (the chinese-poetry layout). IDField and URLField
	// are used when present.
	TextField string `json:"text_field"`
	IDField   string `json:"id_field"`
	URLField  string `json:"url_field"`
	// HTML, for WARC response records and .html files: extract main text.
	HTML HTMLOptions `json:"html"`
	// SkipBadRecords skips (and counts in the report) JSON records that do
	// not parse or lack the text field, and WARC records whose HTTP payload
	// does not parse, instead of stopping the run.
	SkipBadRecords bool `json:"skip_bad_records"`
	// OnSkip, if set, hears of every skipped record.
	OnSkip func(error) `json:"-"`
}

// DefaultReadOptions are the documented defaults.
func DefaultReadOptions() ReadOptions {
	return ReadOptions{Format: "auto", TextUnit: "file", TextField: "text", IDField: "id", URLField: "url",
		HTML: DefaultHTMLOptions()}
}

func (o ReadOptions) withDefaults() ReadOptions {
	d := DefaultReadOptions()
	if o.Format == "" {
		o.Format = d.Format
	}
	if o.TextUnit == "" {
		o.TextUnit = d.TextUnit
	}
	if o.TextField == "" {
		o.TextField = d.TextField
	}
	if o.IDField == "" {
		o.IDField = d.IDField
	}
	if o.URLField == "" {
		o.URLField = d.URLField
	}
	if o.HTML == (HTMLOptions{}) {
		o.HTML = d.HTML
	}
	return o
}

// FormatOf returns the format "auto" resolves to for path.
func FormatOf(path string) string {
	p := strings.ToLower(strings.TrimSuffix(strings.ToLower(path), ".gz"))
	switch filepath.Ext(p) {
	case ".jsonl", ".ndjson":
		return "jsonl"
	case ".json":
		return "json"
	case ".warc", ".wet", ".wat":
		return "warc"
	case ".html", ".htm", ".xhtml":
		return "html"
	case ".csv", ".tsv":
		return "csv"
	}
	return "text"
}

// ReadFile reads every document of path and hands each to emit, in file order.
// Errors name the file and the record.
func ReadFile(path string, o ReadOptions, emit Emit) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := Decompress(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return Read(r, path, o, emit)
}

// Read reads documents from r, which is named path in ids and errors.
func Read(r io.Reader, path string, o ReadOptions, emit Emit) error {
	o = o.withDefaults()
	format := o.Format
	if format == "auto" {
		format = FormatOf(path)
	}
	switch format {
	case "text":
		return readText(r, path, o.TextUnit, emit)
	case "jsonl", "json":
		return readJSON(r, path, o, emit)
	case "warc":
		return readWARC(r, path, o, emit)
	case "csv":
		return readCSV(r, path, o, emit)
	case "html":
		b, err := io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		text, _, err := bodyText(b, "text/html", o)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return emit(&Doc{ID: path, Source: path, Text: text})
	}
	return fmt.Errorf("%s: unknown format %q (want auto, text, jsonl, json, csv, warc or html)", path, format)
}

// Decompress returns r itself, or a gzip reader over it when r starts with the
// gzip magic. Concatenated gzip members (one per WARC record) read as one
// stream, as compress/gzip does by default.
func Decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic, err := br.Peek(2)
	if err == io.EOF || (err == nil && len(magic) < 2) {
		return br, nil
	}
	if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
		if len(magic) < 2 {
			return br, nil
		}
		return nil, err
	}
	if magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nil
	}
	return br, nil
}

func readText(r io.Reader, path, unit string, emit Emit) error {
	switch unit {
	case "file":
		b, err := io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return emit(&Doc{ID: path, Source: path, Text: string(b)})
	case "line", "blank":
	default:
		return fmt.Errorf("%s: unknown text unit %q (want file, blank or line)", path, unit)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 64<<20)
	var block strings.Builder
	n, lineNo := 0, 0
	flush := func() error {
		if strings.TrimSpace(block.String()) == "" {
			block.Reset()
			return nil
		}
		d := &Doc{ID: idAt(path, n), Source: path, Text: block.String()}
		block.Reset()
		n++
		return emit(d)
	}
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if unit == "line" {
			block.WriteString(line)
			if err := flush(); err != nil {
				return err
			}
			continue
		}
		if strings.TrimSpace(line) == "" {
			if err := flush(); err != nil {
				return err
			}
			continue
		}
		block.WriteString(line)
		block.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s:%d: %w", path, lineNo+1, err)
	}
	return flush()
}

// readJSON reads a JSON array of objects or a stream of concatenated objects
// with json.Decoder (never holding the whole file), and JSONL line by line,
// so that a bad line can be skipped and the next one read.
func readJSON(r io.Reader, path string, o ReadOptions, emit Emit) error {
	br := bufio.NewReaderSize(r, 1<<16)
	first, _ := peekNonSpace(br)
	if (o.Format == "jsonl" || (o.Format == "auto" && FormatOf(path) == "jsonl")) && first != '[' {
		return readJSONL(br, path, o, emit)
	}
	dec := json.NewDecoder(br)
	dec.UseNumber()
	array := false
	if first == '[' {
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		array = true
	}
	for n := 0; ; n++ {
		if array && !dec.More() {
			return nil
		}
		var rec map[string]any
		err := dec.Decode(&rec)
		if err == io.EOF && !array {
			return nil
		}
		if err != nil { // the decoder cannot resynchronise after a syntax error
			return fmt.Errorf("%s: record %d: %w", path, n+1, err)
		}
		d, err := jsonDoc(rec, path, n, o)
		if err != nil {
			if o.skip(err) {
				continue
			}
			return err
		}
		if err := emit(d); err != nil {
			return err
		}
	}
}

func readJSONL(br *bufio.Reader, path string, o ReadOptions, emit Emit) error {
	n := 0
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var rec map[string]any
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.UseNumber()
			var d *Doc
			derr := dec.Decode(&rec)
			if derr == nil {
				d, derr = jsonDoc(rec, path, n, o)
			} else {
				derr = fmt.Errorf("%s: line %d: %w", path, lineNo, derr)
			}
			switch {
			case derr == nil:
				if err := emit(d); err != nil {
					return err
				}
			case !o.skip(derr):
				return derr
			}
			n++
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: line %d: %w", path, lineNo, err)
		}
	}
}

// jsonDoc makes the n-th record of path a document.
func jsonDoc(rec map[string]any, path string, n int, o ReadOptions) (*Doc, error) {
	text, ok := jsonText(rec[o.TextField])
	if !ok {
		return nil, fmt.Errorf("%s: record %d: field %q is missing or not text", path, n+1, o.TextField)
	}
	d := &Doc{ID: idAt(path, n), Source: path, Text: text}
	if id, ok := jsonScalar(rec[o.IDField]); ok {
		d.ID = id
	}
	if u, ok := rec[o.URLField].(string); ok {
		d.URL = u
	}
	return d, nil
}

// readCSV reads a header row, then one document per record.
func readCSV(r io.Reader, path string, o ReadOptions, emit Emit) error {
	cr := csv.NewReader(r)
	if strings.HasSuffix(strings.TrimSuffix(strings.ToLower(path), ".gz"), ".tsv") {
		cr.Comma = '\t'
	}
	cr.FieldsPerRecord = -1 // checked per record below, so that a short row can be skipped
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%s: header: %w", path, err)
	}
	textCol, idCol := -1, -1
	for i, h := range header {
		switch strings.TrimPrefix(h, "\ufeff") {
		case o.TextField:
			textCol = i
		case o.IDField:
			idCol = i
		}
	}
	if textCol < 0 {
		return fmt.Errorf("%s: no column %q in header %q", path, o.TextField, header)
	}
	for n := 0; ; n++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err == nil && len(rec) <= textCol {
			err = fmt.Errorf("%d fields, no column %d", len(rec), textCol+1)
		}
		if err != nil {
			err = fmt.Errorf("%s: record %d: %w", path, n+1, err)
			if o.skip(err) {
				continue
			}
			return err
		}
		d := &Doc{ID: idAt(path, n), Source: path, Text: rec[textCol]}
		if idCol >= 0 && idCol < len(rec) && rec[idCol] != "" {
			d.ID = rec[idCol]
		}
		if err := emit(d); err != nil {
			return err
		}
	}
}

// skip reports whether a bad record is to be skipped, telling OnSkip.
func (o ReadOptions) skip(err error) bool {
	if !o.SkipBadRecords {
		return false
	}
	if o.OnSkip != nil {
		o.OnSkip(err)
	}
	return true
}

func peekNonSpace(br *bufio.Reader) (byte, error) {
	for i := 1; ; i++ {
		b, err := br.Peek(i)
		if err != nil {
			return 0, err
		}
		switch c := b[i-1]; c {
		case ' ', '\t', '\r', '\n', 0xef, 0xbb, 0xbf: // whitespace and the UTF-8 byte-order mark
		default:
			return c, nil
		}
		if i > 4096 {
			return 0, io.EOF
		}
	}
}

func jsonText(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case []any:
		parts := make([]string, 0, len(t))
		for _, p := range t {
			s, ok := p.(string)
			if !ok {
				return "", false
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, "\n"), true
	}
	return "", false
}

func jsonScalar(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, t != ""
	case json.Number:
		return t.String(), true
	case bool:
		return strconv.FormatBool(t), true
	}
	return "", false
}
