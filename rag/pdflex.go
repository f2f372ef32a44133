// Reference: ISO 32000-1:2008 §7.2 (lexical conventions: white space, delimiters, comments),
// §7.3 (objects: numbers, literal and hexadecimal strings, names with #xx escapes, arrays,
// dictionaries, indirect references "N G R", streams).

package rag

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// pdfLexer reads PDF objects and content-stream operators from b at i.
type pdfLexer struct {
	b     []byte
	i     int
	depth int // nesting of arrays and dictionaries, bounded
}

// pdfOp is a bare keyword: a content-stream operator, or obj/endobj/R…
type pdfOp string

var errPDFEnd = errors.New("pdf: end of data")

func isPDFSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isPDFDelim(c byte) bool {
	return bytes.IndexByte([]byte("()<>[]{}/%"), c) >= 0
}

func (l *pdfLexer) skip() {
	for l.i < len(l.b) {
		c := l.b[l.i]
		if isPDFSpace(c) {
			l.i++
		} else if c == '%' {
			for l.i < len(l.b) && l.b[l.i] != '\n' && l.b[l.i] != '\r' {
				l.i++
			}
		} else {
			return
		}
	}
}

// token reads one token; arrays and dictionaries come whole.
func (l *pdfLexer) token() (pdfObj, error) {
	l.skip()
	if l.i >= len(l.b) {
		return nil, errPDFEnd
	}
	c := l.b[l.i]
	switch {
	case c == '(':
		return l.literal()
	case c == '<' && l.i+1 < len(l.b) && l.b[l.i+1] == '<':
		return l.dictionary()
	case c == '<':
		return l.hex()
	case c == '[':
		return l.array()
	case c == '/':
		l.i++
		return pdfName(l.name()), nil
	case c == ']' || c == '>' || c == ')' || c == '{' || c == '}':
		l.i++
		return pdfOp(string(c)), nil
	}
	start := l.i
	for l.i < len(l.b) && !isPDFSpace(l.b[l.i]) && !isPDFDelim(l.b[l.i]) {
		l.i++
	}
	w := string(l.b[start:l.i])
	if f, err := strconv.ParseFloat(w, 64); err == nil {
		return f, nil
	}
	switch w {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "null":
		return nil, nil
	}
	return pdfOp(w), nil
}

// object reads an object, folding "N G R" into a reference.
func (l *pdfLexer) object() (pdfObj, error) {
	o, err := l.token()
	if err != nil {
		return nil, err
	}
	if n, ok := o.(float64); ok {
		save := l.i
		g, err := l.token()
		if gn, ok := g.(float64); err == nil && ok {
			if r, err := l.token(); err == nil && r == pdfOp("R") {
				return pdfRef{int(n), int(gn)}, nil
			}
		}
		l.i = save
	}
	return o, nil
}

func (l *pdfLexer) name() string {
	var out []byte
	for l.i < len(l.b) && !isPDFSpace(l.b[l.i]) && !isPDFDelim(l.b[l.i]) {
		c := l.b[l.i]
		if c == '#' && l.i+2 < len(l.b) {
			if v, err := strconv.ParseUint(string(l.b[l.i+1:l.i+3]), 16, 8); err == nil {
				out = append(out, byte(v))
				l.i += 3
				continue
			}
		}
		out = append(out, c)
		l.i++
	}
	return string(out)
}

func (l *pdfLexer) literal() (pdfObj, error) {
	l.i++ // (
	var out []byte
	depth := 1
	for l.i < len(l.b) {
		c := l.b[l.i]
		l.i++
		switch c {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return string(out), nil
			}
		case '\\':
			if l.i >= len(l.b) {
				return string(out), nil
			}
			e := l.b[l.i]
			l.i++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r', '\n': // a line continuation
				if e == '\r' && l.i < len(l.b) && l.b[l.i] == '\n' {
					l.i++
				}
				continue
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && l.i < len(l.b) && l.b[l.i] >= '0' && l.b[l.i] <= '7'; k++ {
						v = v*8 + int(l.b[l.i]-'0')
						l.i++
					}
					c = byte(v)
				} else {
					c = e
				}
			}
		}
		out = append(out, c)
	}
	return string(out), nil
}

func (l *pdfLexer) hex() (pdfObj, error) {
	l.i++ // <
	var out []byte
	var hi byte
	half := false
	for l.i < len(l.b) {
		c := l.b[l.i]
		l.i++
		if c == '>' {
			break
		}
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			continue
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	if half {
		out = append(out, hi<<4)
	}
	return string(out), nil
}

func (l *pdfLexer) array() (pdfObj, error) {
	l.i++ // [
	if l.depth++; l.depth > 64 {
		return nil, fmt.Errorf("pdf: arrays nested too deep")
	}
	defer func() { l.depth-- }()
	var out []pdfObj
	for {
		o, err := l.object()
		if err != nil {
			return out, nil
		}
		if o == pdfOp("]") {
			return out, nil
		}
		out = append(out, o)
	}
}

func (l *pdfLexer) dictionary() (pdfObj, error) {
	l.i += 2 // <<
	if l.depth++; l.depth > 64 {
		return nil, fmt.Errorf("pdf: dictionaries nested too deep")
	}
	defer func() { l.depth-- }()
	out := pdfDict{}
	for {
		l.skip()
		if l.i+1 < len(l.b) && l.b[l.i] == '>' && l.b[l.i+1] == '>' {
			l.i += 2
			return out, nil
		}
		k, err := l.token()
		if err != nil {
			return out, nil
		}
		name, ok := k.(pdfName)
		if !ok {
			continue // junk between entries: skip it
		}
		v, err := l.object()
		if err != nil {
			return out, nil
		}
		out[name] = v
	}
}

// stream reads the stream that follows a dictionary, if one does: Length
// bytes after the "stream" line, or up to "endstream" when Length is
// missing or wrong.
func (l *pdfLexer) stream(dict pdfDict, d *pdfDoc) (*pdfStream, bool) {
	l.skip()
	if !bytes.HasPrefix(l.b[l.i:], []byte("stream")) {
		return nil, false
	}
	i := l.i + len("stream")
	if i < len(l.b) && l.b[i] == '\r' {
		i++
	}
	if i < len(l.b) && l.b[i] == '\n' {
		i++
	}
	n := -1
	switch v := dict["Length"].(type) {
	case float64:
		n = int(v)
	case pdfRef:
		// the length object may come later in the file: look for it by text
		if o, ok := d.objs[v.num].(float64); ok {
			n = int(o)
		}
	}
	if n >= 0 && i+n <= len(l.b) && bytes.HasPrefix(bytes.TrimLeft(l.b[i+n:], "\r\n \t"), []byte("endstream")) {
		l.i = i + n
		return &pdfStream{dict: dict, data: l.b[i : i+n]}, true
	}
	end := bytes.Index(l.b[i:], []byte("endstream"))
	if end < 0 {
		return &pdfStream{dict: dict, data: l.b[i:]}, true
	}
	data := bytes.TrimRight(l.b[i:i+end], "\r\n")
	l.i = i + end
	return &pdfStream{dict: dict, data: data}, true
}
