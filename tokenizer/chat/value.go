// Values of the Jinja subset, with Python's semantics (Jinja2 docs, "Expressions"; Python reference, "Data model").

package chat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
)

// A template value is one of: undefined, nil (Python None), bool, int64,
// float64, string, *list, *dict, *callable. Python's tuples are lists here:
// templates only read them.
type undefined struct{ name string }

// list is a pointer so that loop variables and namespace attributes share
// one backing array, as Python lists do. Tuples are lists marked for repr.
type list struct {
	items []any
	tuple bool
}

// dict keeps insertion order because tojson and items() must reproduce the
// order of the JSON the caller gave (Python dicts are ordered).
type dict struct {
	keys []string
	m    map[string]any
	ns   bool // a namespace(): attributes may be assigned with set
}

// callable is a global function, a bound method, or a macro.
type callable struct {
	name string
	fn   func(e *evaluator, args []any, kw *dict) (any, error)
}

func newDict() *dict { return &dict{m: map[string]any{}} }

func (d *dict) set(k string, v any) {
	if _, ok := d.m[k]; !ok {
		d.keys = append(d.keys, k)
	}
	d.m[k] = v
}

func (d *dict) get(k string) (any, bool) {
	if d == nil {
		return nil, false
	}
	v, ok := d.m[k]
	return v, ok
}

func isUndef(v any) bool { _, ok := v.(undefined); return ok }

// truthy follows Python: empty containers, 0, "", None and undefined are false.
func truthy(v any) bool {
	switch x := v.(type) {
	case undefined, nil:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case *list:
		return len(x.items) > 0
	case *dict:
		return x.ns || len(x.keys) > 0
	}
	return true
}

// str is Python's str(): what {{ v }} prints.
func str(v any) string {
	switch x := v.(type) {
	case undefined:
		return ""
	case string:
		return x
	}
	return repr(v)
}

// repr is Python's repr(), used for containers printed as text.
func repr(v any) string {
	var b strings.Builder
	writeRepr(&b, v)
	return b.String()
}

// maxBuild bounds any one string that repr, tojson, join, replace, indent
// and % build, before the evaluator's own size checks see the result: a
// list holding a million references to one large string must not be
// expanded in memory first.
const maxBuild = 8 << 20

// writeRepr stops once the text passes maxBuild; the truncated result is
// still over every size limit, so the caller's check reports it.
func writeRepr(b *strings.Builder, v any) {
	if b.Len() > maxBuild {
		return
	}
	switch x := v.(type) {
	case undefined:
		b.WriteString("Undefined") // repr of Jinja2's Undefined, inside containers
	case nil:
		b.WriteString("None")
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		b.WriteString(pyFloat(x))
	case string:
		b.WriteString(pyQuote(x))
	case *list:
		open, end := byte('['), "]"
		if x.tuple {
			open, end = '(', ")"
			if len(x.items) == 1 {
				end = ",)"
			}
		}
		b.WriteByte(open)
		for i, it := range x.items {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, it)
		}
		b.WriteString(end)
	case *dict:
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pyQuote(k))
			b.WriteString(": ")
			writeRepr(b, x.m[k])
		}
		b.WriteByte('}')
	case *callable:
		fmt.Fprintf(b, "<function %s>", x.name)
	case *loopInfo:
		b.WriteString("<loop>")
	}
}

// pyQuote quotes like Python's repr of a str: single quotes unless the
// string holds a single quote and no double quote.
func pyQuote(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// pyFloat prints a float as Python does: always with a point or exponent.
func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	if a := math.Abs(f); a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.FormatFloat(f, 'e', -1, 64) // two-digit exponent, as Python
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

func typeName(v any) string {
	switch v.(type) {
	case undefined:
		return "undefined"
	case nil:
		return "none"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "string"
	case *list:
		return "list"
	case *dict:
		return "dict"
	case *callable:
		return "function"
	case *loopInfo:
		return "loop"
	}
	return fmt.Sprintf("%T", v)
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// equal is Python's ==: numbers compare across int/float, containers deeply.
func equal(a, b any) bool {
	if fa, ok := toFloat(a); ok {
		if fb, ok := toFloat(b); ok {
			return fa == fb // Python: True == 1 and 1 == 1.0
		}
		return false
	}
	switch x := a.(type) {
	case undefined:
		return isUndef(b)
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case *list:
		y, ok := b.(*list)
		if !ok || len(x.items) != len(y.items) {
			return false
		}
		for i := range x.items {
			if !equal(x.items[i], y.items[i]) {
				return false
			}
		}
		return true
	case *dict:
		y, ok := b.(*dict)
		if !ok || len(x.keys) != len(y.keys) {
			return false
		}
		for _, k := range x.keys {
			w, ok := y.m[k]
			if !ok || !equal(x.m[k], w) {
				return false
			}
		}
		return true
	}
	return a == b
}

// compare orders numbers with numbers and strings with strings, as Python 3.
func compare(a, b any) (int, error) {
	if fa, ok := toFloat(a); ok {
		if fb, ok := toFloat(b); ok {
			switch {
			case fa < fb:
				return -1, nil
			case fa > fb:
				return 1, nil
			}
			return 0, nil
		}
	}
	if sa, ok := a.(string); ok {
		if sb, ok := b.(string); ok {
			return strings.Compare(sa, sb), nil
		}
	}
	if la, ok := a.(*list); ok {
		if lb, ok := b.(*list); ok {
			for i := 0; i < len(la.items) && i < len(lb.items); i++ {
				c, err := compare(la.items[i], lb.items[i])
				if err != nil || c != 0 {
					return c, err
				}
			}
			return len(la.items) - len(lb.items), nil
		}
	}
	return 0, fmt.Errorf("cannot order %s and %s", typeName(a), typeName(b))
}

// jsonStyle is json.dumps's layout: indent (none when empty), separators,
// sort_keys. Hugging Face's tojson defaults to ", " and ": ", or "," and
// ": " when indenting, and never escapes non-ASCII.
type jsonStyle struct {
	indent          string
	itemSep, keySep string
	sortKeys        bool
	ascii           bool // ensure_ascii: non-ASCII as \uXXXX (UTF-16 pairs)
}

func defaultJSONStyle(indent string) jsonStyle {
	st := jsonStyle{indent: indent, itemSep: ", ", keySep: ": "}
	if indent != "" {
		st.itemSep = ","
	}
	return st
}

// toJSON writes v as Python's json.dumps does with the given style.
func toJSON(b *bytes.Buffer, v any, st jsonStyle, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("tojson: value nested deeper than %d", maxDepth)
	}
	if b.Len() > maxBuild {
		return fmt.Errorf("tojson: output larger than %d bytes", maxBuild)
	}
	nl := func(d int) {
		if st.indent != "" {
			b.WriteByte('\n')
			for range d {
				b.WriteString(st.indent)
			}
		}
	}
	switch x := v.(type) {
	case undefined, nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		switch {
		case math.IsNaN(x):
			b.WriteString("NaN")
		case math.IsInf(x, 1):
			b.WriteString("Infinity")
		case math.IsInf(x, -1):
			b.WriteString("-Infinity")
		default:
			b.WriteString(pyFloat(x))
		}
	case string:
		writeJSONString(b, x, st.ascii)
	case *list:
		if len(x.items) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteByte('[')
		for i, it := range x.items {
			if i > 0 {
				b.WriteString(st.itemSep)
			}
			nl(depth + 1)
			if err := toJSON(b, it, st, depth+1); err != nil {
				return err
			}
		}
		nl(depth)
		b.WriteByte(']')
	case *dict:
		if len(x.keys) == 0 {
			b.WriteString("{}")
			return nil
		}
		keys := x.keys
		if st.sortKeys {
			keys = append([]string{}, keys...)
			sort.Strings(keys)
		}
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(st.itemSep)
			}
			nl(depth + 1)
			writeJSONString(b, k, st.ascii)
			b.WriteString(st.keySep)
			if err := toJSON(b, x.m[k], st, depth+1); err != nil {
				return err
			}
		}
		nl(depth)
		b.WriteByte('}')
	default:
		return fmt.Errorf("tojson: cannot serialise a %s", typeName(v))
	}
	return nil
}

// writeJSONString escapes as Python's json: quotes, backslashes and control
// characters, and with ascii (ensure_ascii=True) everything past '~'.
func writeJSONString(b *bytes.Buffer, s string, ascii bool) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20 || ascii && r >= 0x7f && r < 0x10000:
				fmt.Fprintf(b, `\u%04x`, r)
			case ascii && r >= 0x10000:
				r1, r2 := utf16.EncodeRune(r)
				fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// fromJSON decodes JSON text keeping object key order and integer-ness.
func fromJSON(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	v, err := decodeJSON(d, 0)
	if err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("trailing data after JSON value")
	}
	return v, nil
}

func decodeJSON(d *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("JSON nested deeper than %d", maxDepth)
	}
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch x := t.(type) {
	case json.Delim:
		switch x {
		case '{':
			o := newDict()
			for d.More() {
				k, err := d.Token()
				if err != nil {
					return nil, err
				}
				v, err := decodeJSON(d, depth+1)
				if err != nil {
					return nil, err
				}
				o.set(k.(string), v)
			}
			_, err := d.Token()
			return o, err
		case '[':
			l := &list{}
			for d.More() {
				v, err := decodeJSON(d, depth+1)
				if err != nil {
					return nil, err
				}
				l.items = append(l.items, v)
			}
			_, err := d.Token()
			return l, err
		}
		return nil, fmt.Errorf("unexpected %v", x)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		return f, err
	}
	return t, nil // string, bool or nil
}

// fromGo converts caller-supplied Go values (Options.Extra). Maps are
// ordered by key, the only order a Go map offers; JSON keeps its own order.
func fromGo(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, int64, float64, string:
		return x, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case float32:
		return float64(x), nil
	case json.RawMessage:
		return fromJSON(x)
	case []string:
		l := &list{}
		for _, s := range x {
			l.items = append(l.items, s)
		}
		return l, nil
	case []any:
		l := &list{}
		for _, it := range x {
			c, err := fromGo(it)
			if err != nil {
				return nil, err
			}
			l.items = append(l.items, c)
		}
		return l, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := newDict()
		for _, k := range keys {
			c, err := fromGo(x[k])
			if err != nil {
				return nil, err
			}
			d.set(k, c)
		}
		return d, nil
	}
	return nil, fmt.Errorf("unsupported Go type %T", v)
}
