// Reference: CommonMark 0.31 §4.2 (ATX headings), §4.5 (fenced code blocks); RFC 4180 (CSV);
// JSON Lines (jsonlines.org); the HTML extraction of package data.

package rag

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/gptgo/gptgo/data"
)

// Kinds of file Load reads, by extension.
var codeExts = map[string]bool{
	".go": true, ".py": true, ".js": true, ".ts": true, ".tsx": true, ".jsx": true, ".java": true,
	".c": true, ".h": true, ".cc": true, ".cpp": true, ".hpp": true, ".rs": true, ".rb": true,
	".sh": true, ".sql": true, ".kt": true, ".swift": true, ".cs": true, ".php": true, ".lua": true,
	".scala": true, ".zig": true, ".proto": true,
}

// Supported reports whether Load reads files named like path (by extension;
// files with other extensions are read as text when they are UTF-8).
func Supported(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".txt", ".text", ".md", ".markdown", ".html", ".htm", ".csv", ".tsv", ".jsonl", ".ndjson", ".pdf", ".docx", ".rst", ".org":
		return true
	}
	return codeExts[strings.ToLower(filepath.Ext(path))]
}

// ErrNoText is returned for a file with nothing to index (an empty file, a
// PDF of scanned images).
var ErrNoText = errors.New("no text")

// Load extracts the sections of a file from its bytes; the kind follows
// path's extension. Errors name the path.
func Load(path string, b []byte) ([]Section, error) {
	secs, err := load(path, b)
	if err != nil {
		return nil, fmt.Errorf("rag: %s: %w", path, err)
	}
	var out []Section
	for _, s := range secs {
		if strings.TrimSpace(s.Text) != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("rag: %s: %w to index", path, ErrNoText)
	}
	return out, nil
}

func load(path string, b []byte) ([]Section, error) {
	ext := strings.ToLower(filepath.Ext(path))
	switch {
	case ext == ".pdf":
		return LoadPDF(b)
	case ext == ".docx":
		return LoadDOCX(b)
	}
	if !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
		return nil, fmt.Errorf("not UTF-8 text (a binary file of a kind the knowledge base does not read)")
	}
	s := string(b)
	switch {
	case ext == ".md" || ext == ".markdown":
		return loadMarkdown(s), nil
	case ext == ".html" || ext == ".htm":
		t, err := data.HTMLToText(b, data.DefaultHTMLOptions())
		if err != nil {
			return nil, err
		}
		return []Section{{Text: t}}, nil
	case ext == ".csv" || ext == ".tsv":
		return loadCSV(s, ext == ".tsv")
	case ext == ".jsonl" || ext == ".ndjson":
		return loadJSONL(s)
	case codeExts[ext]:
		return loadCode(s), nil
	}
	return []Section{{Text: s}}, nil
}

// loadMarkdown makes a section per ATX heading; its Heading is the path of
// headings above it ("Install > From source"). Lines in fenced code blocks
// are never headings.
func loadMarkdown(s string) []Section {
	var out []Section
	var path []string // path[i]: the heading of level i+1 in force
	start, fence := 0, ""
	heading := ""
	flush := func(end int) {
		if end > start {
			out = append(out, Section{Text: s[start:end], Heading: heading, Offset: start})
		}
	}
	for off := 0; off < len(s); {
		nl := strings.IndexByte(s[off:], '\n')
		end := len(s)
		if nl >= 0 {
			end = off + nl + 1
		}
		line := strings.TrimRight(s[off:end], "\r\n")
		t := strings.TrimLeft(line, " ")
		switch {
		case fence != "":
			if strings.HasPrefix(t, fence) {
				fence = ""
			}
		case strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~"):
			fence = t[:3]
		case len(line)-len(t) <= 3 && strings.HasPrefix(t, "#"):
			lvl := len(t) - len(strings.TrimLeft(t, "#"))
			rest := t[lvl:]
			if lvl <= 6 && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
				flush(off)
				title := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(rest), "#"))
				for len(path) < lvl {
					path = append(path, "")
				}
				path = append(path[:lvl-1], title)
				var parts []string
				for _, p := range path {
					if p != "" {
						parts = append(parts, p)
					}
				}
				heading = strings.Join(parts, " > ")
				start = off
			}
		}
		off = end
	}
	flush(len(s))
	return out
}

// loadCSV makes a section per row: "column: value" lines under the header
// row's names, the row's number as heading.
func loadCSV(s string, tsv bool) ([]Section, error) {
	r := csv.NewReader(strings.NewReader(s))
	if tsv {
		r.Comma = '\t'
	}
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	header, err := r.Read()
	if err == io.EOF {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("csv header: %w", err)
	}
	var out []Section
	for row := 2; ; row++ {
		off := int(r.InputOffset())
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("csv row %d: %w", row, err)
		}
		var b strings.Builder
		for i, v := range rec {
			name := fmt.Sprintf("column %d", i+1)
			if i < len(header) && header[i] != "" {
				name = header[i]
			}
			fmt.Fprintf(&b, "%s: %s\n", name, v)
		}
		out = append(out, Section{Text: b.String(), Heading: fmt.Sprintf("row %d", row), Offset: off})
	}
}

// loadJSONL makes a section per line: the "text", "content", "body" or
// "document" string member when there is one, else the line itself.
func loadJSONL(s string) ([]Section, error) {
	var out []Section
	for n, off := 1, 0; off < len(s); n++ {
		nl := strings.IndexByte(s[off:], '\n')
		end := len(s)
		if nl >= 0 {
			end = off + nl + 1
		}
		line := strings.TrimSpace(s[off:end])
		if line != "" {
			var obj map[string]any
			if err := json.Unmarshal([]byte(line), &obj); err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			text := line
			for _, k := range []string{"text", "content", "body", "document"} {
				if v, ok := obj[k].(string); ok && v != "" {
					text = v
					break
				}
			}
			heading := fmt.Sprintf("line %d", n)
			for _, k := range []string{"title", "id", "name"} {
				if v, ok := obj[k].(string); ok && v != "" {
					heading = v
					break
				}
			}
			out = append(out, Section{Text: text, Heading: heading, Offset: off})
		}
		off = end
	}
	return out, nil
}

// loadCode makes a section per top-level block: a new one starts at an
// unindented line after a blank line, and is headed by its first line
// that is not a comment (a function's or type's signature, mostly).
func loadCode(s string) []Section {
	var out []Section
	start, blank := 0, false
	flush := func(end int) {
		if end > start {
			out = append(out, Section{Text: s[start:end], Heading: codeHeading(s[start:end]), Offset: start})
		}
	}
	for off := 0; off < len(s); {
		nl := strings.IndexByte(s[off:], '\n')
		end := len(s)
		if nl >= 0 {
			end = off + nl + 1
		}
		line := strings.TrimRight(s[off:end], "\r\n")
		if strings.TrimSpace(line) == "" {
			blank = true
		} else {
			if blank && line[0] != ' ' && line[0] != '\t' && line[0] != '}' && line[0] != ')' {
				flush(off)
				start = off
			}
			blank = false
		}
		off = end
	}
	flush(len(s))
	return out
}

func codeHeading(block string) string {
	for _, l := range strings.Split(block, "\n") {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "//") || strings.HasPrefix(t, "#") || strings.HasPrefix(t, "/*") || strings.HasPrefix(t, "*") || strings.HasPrefix(t, "--") {
			continue
		}
		if len(t) > 80 {
			t = t[:80]
			for !utf8.ValidString(t) {
				t = t[:len(t)-1]
			}
		}
		return strings.TrimRight(t, " {:")
	}
	return ""
}
