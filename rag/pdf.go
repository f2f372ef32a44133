// Reference: ISO 32000-1:2008 (PDF 1.7): §7.2-7.3 lexical conventions and objects, §7.4.4
// FlateDecode, §7.5.7 object streams, §7.7.3 page tree, §9.4 text objects and operators (Tj, TJ,
// ', ", Td, TD, T*, Tm, Tf), §9.10.3 ToUnicode CMaps (bfchar, bfrange).

package rag

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
)

// LoadPDF extracts the text of each page, in page-tree order, a section per
// page. It reads the objects by scanning for "N G obj" (so a damaged
// cross-reference table does not matter) and object streams; content
// streams may be uncompressed or FlateDecode; fonts with a ToUnicode CMap
// are decoded through it, others as single bytes (Latin-1). Text comes in
// the order the content stream draws it, which is reading order for the
// PDFs word processors write. Encrypted files and pages whose text is only
// in images are errors that say so.
func LoadPDF(b []byte) ([]Section, error) {
	if !bytes.HasPrefix(bytes.TrimLeft(b[:min(len(b), 1024)], "\x00\r\n\t "), []byte("%PDF-")) {
		return nil, fmt.Errorf("pdf: no %%PDF- header (not a PDF file)")
	}
	d := &pdfDoc{objs: map[int]pdfObj{}, fonts: map[int]*cmap{}}
	d.scan(b)
	if len(d.objs) == 0 {
		return nil, fmt.Errorf("pdf: no objects found (a damaged file)")
	}
	if bytes.Contains(b, []byte("/Encrypt")) {
		return nil, fmt.Errorf("pdf: the file is encrypted, which gptgo does not read")
	}
	pages := d.pages()
	if len(pages) == 0 {
		return nil, fmt.Errorf("pdf: no pages found (a damaged file)")
	}
	var out []Section
	off := 0
	for i, p := range pages {
		text, err := d.pageText(p)
		if err != nil {
			return nil, fmt.Errorf("pdf: page %d: %w", i+1, err)
		}
		text = strings.TrimSpace(text)
		if text != "" {
			out = append(out, Section{Text: text, Page: i + 1, Offset: off})
			off += len(text) + 2
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("pdf: %d pages without a text layer (a scanned PDF? it needs OCR, which gptgo does not do): %w", len(pages), ErrNoText)
	}
	return out, nil
}

// pdfObj is a parsed PDF object: nil, bool, float64, string (a PDF
// string's bytes), pdfName, []pdfObj, pdfDict, pdfRef or *pdfStream.
type pdfObj any
type pdfName string
type pdfDict map[pdfName]pdfObj
type pdfRef struct{ num, gen int }
type pdfStream struct {
	dict pdfDict
	data []byte
}

type pdfDoc struct {
	objs  map[int]pdfObj
	fonts map[int]*cmap // ToUnicode of a font object, by object number
	depth int
}

var objStart = regexp.MustCompile(`(\d+)\s+(\d+)\s+obj\b`)

// scan parses every "N G obj … endobj" of the file (a later definition of
// a number wins, as incremental updates append), then the objects inside
// object streams.
func (d *pdfDoc) scan(b []byte) {
	for _, m := range objStart.FindAllSubmatchIndex(b, -1) {
		num, err := strconv.Atoi(string(b[m[2]:m[3]]))
		if err != nil {
			continue
		}
		l := &pdfLexer{b: b, i: m[1]}
		o, err := l.object()
		if err != nil {
			continue
		}
		if dict, ok := o.(pdfDict); ok {
			if s, ok := l.stream(dict, d); ok {
				o = s
			}
		}
		d.objs[num] = o
	}
	for _, o := range d.objs {
		s, ok := o.(*pdfStream)
		if !ok || s.dict["Type"] != pdfName("ObjStm") {
			continue
		}
		data, err := d.decode(s)
		if err != nil {
			continue
		}
		n, _ := d.resolve(s.dict["N"]).(float64)
		first, _ := d.resolve(s.dict["First"]).(float64)
		if n <= 0 || n > 1e6 || first < 0 || int(first) > len(data) {
			continue
		}
		hl := &pdfLexer{b: data[:int(first)]}
		for range int(n) {
			num, e1 := hl.object()
			off, e2 := hl.object()
			nf, ok1 := num.(float64)
			of, ok2 := off.(float64)
			if e1 != nil || e2 != nil || !ok1 || !ok2 || int(first)+int(of) >= len(data) || of < 0 {
				break
			}
			if _, defined := d.objs[int(nf)]; defined {
				continue
			}
			ol := &pdfLexer{b: data, i: int(first) + int(of)}
			if o, err := ol.object(); err == nil {
				d.objs[int(nf)] = o
			}
		}
	}
}

// resolve follows references (a bounded number of hops: cycles end).
func (d *pdfDoc) resolve(o pdfObj) pdfObj {
	for range 32 {
		r, ok := o.(pdfRef)
		if !ok {
			return o
		}
		o = d.objs[r.num]
	}
	return nil
}

func (d *pdfDoc) dict(o pdfObj) pdfDict {
	switch v := d.resolve(o).(type) {
	case pdfDict:
		return v
	case *pdfStream:
		return v.dict
	}
	return nil
}

// pages walks the page tree from the catalog (or, with no catalog found,
// takes every /Type /Page object in file order).
type pdfPage struct{ dict pdfDict }

func (d *pdfDoc) pages() []pdfPage {
	var root pdfDict
	for _, o := range d.objs {
		if dd := d.dict(o); dd != nil && dd["Type"] == pdfName("Catalog") {
			root = dd
			break
		}
	}
	var out []pdfPage
	seen := map[int]bool{}
	var walk func(o pdfObj, inherited pdfDict, depth int)
	walk = func(o pdfObj, inherited pdfDict, depth int) {
		if r, ok := o.(pdfRef); ok {
			if seen[r.num] {
				return
			}
			seen[r.num] = true
		}
		n := d.dict(o)
		if n == nil || depth > 64 {
			return
		}
		inh := pdfDict{}
		for k, v := range inherited {
			inh[k] = v
		}
		if r, ok := n["Resources"]; ok {
			inh["Resources"] = r
		}
		switch n["Type"] {
		case pdfName("Pages"):
			kids, _ := d.resolve(n["Kids"]).([]pdfObj)
			for _, k := range kids {
				walk(k, inh, depth+1)
			}
		case pdfName("Page"):
			p := pdfDict{}
			for k, v := range n {
				p[k] = v
			}
			if _, ok := p["Resources"]; !ok {
				p["Resources"] = inh["Resources"]
			}
			out = append(out, pdfPage{p})
		}
	}
	if root != nil {
		walk(root["Pages"], nil, 0)
	}
	if len(out) == 0 {
		nums := make([]int, 0, len(d.objs))
		for n := range d.objs {
			nums = append(nums, n)
		}
		sortInts(nums)
		for _, n := range nums {
			if dd := d.dict(d.objs[n]); dd != nil && dd["Type"] == pdfName("Page") {
				out = append(out, pdfPage{dd})
			}
		}
	}
	return out
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// maxStream bounds a decompressed stream (a zip bomb guard).
const maxStream = 64 << 20

// decode returns a stream's data with its filters undone.
func (d *pdfDoc) decode(s *pdfStream) ([]byte, error) {
	var filters []pdfObj
	switch f := d.resolve(s.dict["Filter"]).(type) {
	case nil:
	case pdfName:
		filters = []pdfObj{f}
	case []pdfObj:
		filters = f
	}
	data := s.data
	for _, f := range filters {
		switch d.resolve(f) {
		case pdfName("FlateDecode"), pdfName("Fl"):
			zr, err := zlib.NewReader(bytes.NewReader(data))
			if err != nil {
				return nil, fmt.Errorf("FlateDecode: %w", err)
			}
			out, err := io.ReadAll(io.LimitReader(zr, maxStream+1))
			if len(out) > maxStream {
				return nil, fmt.Errorf("a stream of over %d MiB", maxStream>>20)
			}
			if err != nil && len(out) == 0 {
				return nil, fmt.Errorf("FlateDecode: %w", err)
			}
			data = out // a truncated stream keeps what inflated
		default:
			return nil, fmt.Errorf("stream filter %v is not supported (FlateDecode is)", f)
		}
	}
	return data, nil
}

// pageText runs the page's content streams through the text operators.
func (d *pdfDoc) pageText(p pdfPage) (string, error) {
	var content []byte
	var parts []pdfObj
	switch c := d.resolve(p.dict["Contents"]).(type) {
	case *pdfStream:
		parts = []pdfObj{c}
	case []pdfObj:
		parts = c
	}
	for _, part := range parts {
		s, ok := d.resolve(part).(*pdfStream)
		if !ok {
			continue
		}
		data, err := d.decode(s)
		if err != nil {
			return "", err
		}
		content = append(append(content, data...), '\n')
	}
	fonts := d.dict(d.dict(p.dict["Resources"])["Font"])
	return d.runText(content, fonts), nil
}

// runText interprets a content stream's text operators.
func (d *pdfDoc) runText(content []byte, fonts pdfDict) string {
	var out strings.Builder
	var stack []pdfObj
	var font *cmap
	l := &pdfLexer{b: content}
	newline := func() {
		s := out.String()
		if len(s) > 0 && s[len(s)-1] != '\n' {
			out.WriteByte('\n')
		}
	}
	space := func() {
		s := out.String()
		if len(s) > 0 && s[len(s)-1] != ' ' && s[len(s)-1] != '\n' {
			out.WriteByte(' ')
		}
	}
	show := func(o pdfObj) {
		if s, ok := o.(string); ok {
			out.WriteString(font.decode([]byte(s)))
		}
	}
	for {
		tok, err := l.token()
		if err != nil {
			break
		}
		op, isOp := tok.(pdfOp)
		if !isOp {
			if len(stack) < 64 {
				stack = append(stack, tok)
			}
			continue
		}
		switch op {
		case "Tf":
			font = nil
			if len(stack) >= 2 {
				if name, ok := stack[len(stack)-2].(pdfName); ok {
					font = d.fontCMap(fonts[name])
				}
			}
		case "Tj":
			if len(stack) > 0 {
				show(stack[len(stack)-1])
			}
		case "'", "\"":
			newline()
			if len(stack) > 0 {
				show(stack[len(stack)-1])
			}
		case "TJ":
			if len(stack) > 0 {
				arr, _ := stack[len(stack)-1].([]pdfObj)
				for _, e := range arr {
					if n, ok := e.(float64); ok && n < -200 {
						space() // a wide negative kern is a word space
					}
					show(e)
				}
			}
		case "Td", "TD":
			if len(stack) >= 2 {
				ty, _ := stack[len(stack)-1].(float64)
				tx, _ := stack[len(stack)-2].(float64)
				if ty != 0 {
					newline()
				} else if tx != 0 {
					space()
				}
			}
		case "T*", "ET":
			newline()
		case "Tm":
			newline()
		case "BI": // inline image: skip its data up to EI
			if i := bytes.Index(l.b[l.i:], []byte("EI")); i >= 0 {
				l.i += i + 2
			} else {
				l.i = len(l.b)
			}
		}
		stack = stack[:0]
	}
	return out.String()
}

// fontCMap returns the ToUnicode map of a font, or nil (bytes as Latin-1).
func (d *pdfDoc) fontCMap(ref pdfObj) *cmap {
	if r, ok := ref.(pdfRef); ok {
		if c, ok := d.fonts[r.num]; ok {
			return c
		}
		c := d.loadCMap(d.dict(ref))
		d.fonts[r.num] = c
		return c
	}
	return d.loadCMap(d.dict(ref))
}

func (d *pdfDoc) loadCMap(font pdfDict) *cmap {
	s, ok := d.resolve(font["ToUnicode"]).(*pdfStream)
	if !ok {
		if font["Subtype"] == pdfName("Type0") {
			return &cmap{width: 2, m: map[uint32]string{}} // two-byte codes, no map: nothing readable
		}
		return nil
	}
	data, err := d.decode(s)
	if err != nil {
		return nil
	}
	return parseCMap(data)
}

// cmap maps character codes of width bytes to text.
type cmap struct {
	width int
	m     map[uint32]string
}

func (c *cmap) decode(b []byte) string {
	if c == nil {
		r := make([]rune, len(b))
		for i, x := range b {
			r[i] = rune(x)
		}
		return string(r)
	}
	var out strings.Builder
	for i := 0; i+c.width <= len(b); i += c.width {
		var code uint32
		for _, x := range b[i : i+c.width] {
			code = code<<8 | uint32(x)
		}
		out.WriteString(c.m[code])
	}
	return out.String()
}

// parseCMap reads codespace width and bfchar/bfrange entries.
func parseCMap(data []byte) *cmap {
	c := &cmap{width: 1, m: map[uint32]string{}}
	l := &pdfLexer{b: data}
	var stack []pdfObj
	mode := ""
	for {
		tok, err := l.token()
		if err != nil {
			break
		}
		op, isOp := tok.(pdfOp)
		if !isOp {
			stack = append(stack, tok)
			if len(stack) > 1<<16 {
				break
			}
			switch mode {
			case "bfchar":
				if len(stack) == 2 && len(c.m) < 1<<18 {
					src, _ := stack[0].(string)
					dst, _ := stack[1].(string)
					c.m[codeOf(src)] = utf16BE(dst)
					stack = stack[:0]
				}
			case "bfrange":
				if len(stack) == 3 {
					lo, _ := stack[0].(string)
					hi, _ := stack[1].(string)
					a, b := codeOf(lo), codeOf(hi)
					// bounded: a hostile CMap must not allocate without limit
					if b >= a && b-a < 1<<16 && len(c.m) < 1<<18 {
						switch dst := stack[2].(type) {
						case string:
							base := []rune(utf16BE(dst))
							for k := a; k <= b && len(base) > 0; k++ {
								r := append([]rune(nil), base...)
								r[len(r)-1] += rune(k - a)
								c.m[k] = string(r)
							}
						case []pdfObj:
							for k := a; k <= b && int(k-a) < len(dst); k++ {
								s, _ := dst[k-a].(string)
								c.m[k] = utf16BE(s)
							}
						}
					}
					stack = stack[:0]
				}
			}
			continue
		}
		switch op {
		case "begincodespacerange":
			stack = stack[:0]
		case "endcodespacerange":
			if len(stack) > 0 {
				if s, ok := stack[0].(string); ok && len(s) > 0 && len(s) <= 4 {
					c.width = len(s)
				}
			}
		case "beginbfchar":
			mode = "bfchar"
		case "beginbfrange":
			mode = "bfrange"
		case "endbfchar", "endbfrange":
			mode = ""
		}
		stack = stack[:0]
	}
	return c
}

func codeOf(s string) uint32 {
	var c uint32
	for i := 0; i < len(s) && i < 4; i++ {
		c = c<<8 | uint32(s[i])
	}
	return c
}

func utf16BE(s string) string {
	u := make([]uint16, 0, len(s)/2)
	for i := 0; i+1 < len(s); i += 2 {
		u = append(u, uint16(s[i])<<8|uint16(s[i+1]))
	}
	return string(utf16.Decode(u))
}
