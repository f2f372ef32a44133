// Reference: ECMA-376 Part 1 (Office Open XML), §17.3.1 paragraphs (w:p, w:pPr/w:pStyle),
// §17.3.3 runs (w:r, w:t, w:tab, w:br); the main part is word/document.xml of the ZIP package.

package rag

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxDOCXPart bounds the document part's uncompressed size (a zip bomb
// guard; real documents' text is far smaller).
const maxDOCXPart = 64 << 20

// LoadDOCX extracts a DOCX file's paragraphs, a section per heading
// (paragraph styles "Title" and "Heading1"…"Heading9", or any style with
// an outline level), the heading path as in Markdown.
func LoadDOCX(b []byte) ([]Section, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("docx: not a ZIP package: %w", err)
	}
	var part *zip.File
	for _, f := range zr.File {
		if f.Name == "word/document.xml" {
			part = f
		}
	}
	if part == nil {
		return nil, fmt.Errorf("docx: no word/document.xml in the package")
	}
	rc, err := part.Open()
	if err != nil {
		return nil, fmt.Errorf("docx: word/document.xml: %w", err)
	}
	defer rc.Close()
	x, err := io.ReadAll(io.LimitReader(rc, maxDOCXPart+1))
	if err != nil {
		return nil, fmt.Errorf("docx: word/document.xml: %w", err)
	}
	if len(x) > maxDOCXPart {
		return nil, fmt.Errorf("docx: word/document.xml is over %d MiB uncompressed", maxDOCXPart>>20)
	}
	return docxSections(x)
}

func docxSections(x []byte) ([]Section, error) {
	dec := xml.NewDecoder(bytes.NewReader(x))
	var out []Section
	var path []string
	var cur, para strings.Builder
	heading := ""
	level := 0 // outline level of the paragraph being read (1-based), 0 for body text
	inText := false
	offset, secStart := 0, 0
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, Section{Text: cur.String(), Heading: heading, Offset: secStart})
			cur.Reset()
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("docx: word/document.xml: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "p":
				para.Reset()
				level = 0
			case "pStyle":
				level = max(level, styleLevel(attr(t, "val")))
			case "outlineLvl":
				if n, err := strconv.Atoi(attr(t, "val")); err == nil && n >= 0 && n < 9 {
					level = n + 1
				}
			case "t":
				inText = true
			case "tab":
				para.WriteByte('\t')
			case "br", "cr":
				para.WriteByte('\n')
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "t":
				inText = false
			case "p":
				text := strings.TrimSpace(para.String())
				if level > 0 && text != "" {
					flush()
					secStart = offset
					for len(path) < level {
						path = append(path, "")
					}
					path = append(path[:level-1], text)
					var parts []string
					for _, p := range path {
						if p != "" {
							parts = append(parts, p)
						}
					}
					heading = strings.Join(parts, " > ")
				}
				if text != "" {
					cur.WriteString(para.String())
					cur.WriteString("\n\n")
					offset += para.Len() + 2
				}
			}
		case xml.CharData:
			if inText {
				para.Write(t)
			}
		}
	}
	flush()
	return out, nil
}

func attr(e xml.StartElement, local string) string {
	for _, a := range e.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// styleLevel maps Word's built-in heading style ids to outline levels.
func styleLevel(style string) int {
	s := strings.ToLower(strings.ReplaceAll(style, " ", ""))
	if s == "title" {
		return 1
	}
	if rest, ok := strings.CutPrefix(s, "heading"); ok {
		if n, err := strconv.Atoi(rest); err == nil && n >= 1 && n <= 9 {
			return n
		}
	}
	return 0
}
