// Filters, tests, globals and Python methods that chat templates use (Jinja2 docs, "List of Builtin Filters/Tests"; Python str and dict methods).

package chat

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// globals are the functions every template can call.
func (e *evaluator) globals() map[string]any {
	return map[string]any{
		"range": &callable{"range", func(e *evaluator, args []any, _ *dict) (any, error) {
			var b [3]int64
			b[2] = 1
			for i, a := range args {
				n, ok := a.(int64)
				if !ok || i > 2 {
					return nil, fmt.Errorf("range takes up to 3 integers")
				}
				b[i] = n
			}
			lo, hi, st := b[0], b[1], b[2]
			switch len(args) {
			case 0:
				return nil, fmt.Errorf("range needs an argument")
			case 1:
				lo, hi = 0, b[0]
			}
			if st == 0 {
				return nil, fmt.Errorf("range step cannot be zero")
			}
			count := (hi - lo + st - sign(st)) / st
			if count > int64(e.lim.maxItems) {
				return nil, fmt.Errorf("range of %d items is too large", count)
			}
			l := &list{}
			for i := lo; st > 0 && i < hi || st < 0 && i > hi; i += st {
				l.items = append(l.items, i)
			}
			return l, nil
		}},
		"namespace": &callable{"namespace", func(_ *evaluator, args []any, kw *dict) (any, error) {
			d := newDict()
			d.ns = true
			for _, a := range args {
				if m, ok := a.(*dict); ok {
					for _, k := range m.keys {
						d.set(k, m.m[k])
					}
				}
			}
			for _, k := range kw.keys {
				d.set(k, kw.m[k])
			}
			return d, nil
		}},
		"dict": &callable{"dict", func(_ *evaluator, args []any, kw *dict) (any, error) {
			d := newDict()
			for _, k := range kw.keys {
				d.set(k, kw.m[k])
			}
			return d, nil
		}},
		"raise_exception": &callable{"raise_exception", func(_ *evaluator, args []any, _ *dict) (any, error) {
			msg := "raise_exception called"
			if len(args) > 0 {
				msg = str(args[0])
			}
			return nil, &Error{Msg: msg, Raised: true}
		}},
		"strftime_now": &callable{"strftime_now", func(e *evaluator, args []any, _ *dict) (any, error) {
			if len(args) != 1 {
				return nil, fmt.Errorf("strftime_now takes one format string")
			}
			return strftime(e.now, str(args[0])), nil
		}},
	}
}

func sign(n int64) int64 {
	if n < 0 {
		return -1
	}
	return 1
}

// strftime implements the C/Python directives that templates use for dates.
func strftime(t time.Time, f string) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case '-':
			if i+1 < len(f) && f[i+1] == 'd' {
				i++
				fmt.Fprintf(&b, "%d", t.Day())
			}
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'b', 'h':
			b.WriteString(t.Month().String()[:3])
		case 'B':
			b.WriteString(t.Month().String())
		case 'a':
			b.WriteString(t.Weekday().String()[:3])
		case 'A':
			b.WriteString(t.Weekday().String())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'I':
			fmt.Fprintf(&b, "%02d", (t.Hour()+11)%12+1)
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'p':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(f[i])
		}
	}
	return b.String()
}

func (e *evaluator) evalFilter(x *filterExpr, sc *scope) (any, error) {
	if err := e.step(x.pos); err != nil {
		return nil, err
	}
	v, err := e.eval(x.x, sc)
	if err != nil {
		return nil, err
	}
	args, err := e.evalList(x.args, sc)
	if err != nil {
		return nil, err
	}
	kw, err := e.evalKw(x.kwNames, x.kwVals, sc)
	if err != nil {
		return nil, err
	}
	r, err := e.filter(x.name, v, args, kw)
	if err != nil {
		return nil, e.errAt(x.pos, "filter %s: %v", x.name, err)
	}
	return e.checkSize(x.pos, r)
}

// arg returns positional argument i, else keyword name, else def.
func arg(args []any, kw *dict, i int, name string, def any) any {
	if i < len(args) {
		return args[i]
	}
	if v, ok := kw.get(name); ok {
		return v
	}
	return def
}

func (e *evaluator) filter(name string, v any, args []any, kw *dict) (any, error) {
	switch name {
	case "trim":
		s, err := asString(v)
		if chars, ok := arg(args, kw, 0, "chars", nil).(string); ok {
			return strings.Trim(s, chars), err
		}
		return strings.TrimSpace(s), err
	case "upper":
		return strings.ToUpper(str(v)), nil
	case "lower":
		return strings.ToLower(str(v)), nil
	case "capitalize":
		return capitalize(str(v)), nil
	case "title":
		return jinjaTitle(str(v)), nil
	case "string":
		return str(v), nil
	case "length", "count":
		return length(v)
	case "default", "d":
		def := arg(args, kw, 0, "default_value", "")
		if isUndef(v) || truthy(arg(args, kw, 1, "boolean", false)) && !truthy(v) {
			return def, nil
		}
		return v, nil
	case "tojson":
		// Hugging Face's signature: tojson(ensure_ascii=False, indent=None,
		// separators=None, sort_keys=False).
		var b bytes.Buffer
		ind := ""
		switch n := arg(args, kw, 1, "indent", nil).(type) {
		case int64:
			ind = strings.Repeat(" ", int(min(max(n, 0), 64)))
		case string:
			ind = n
		}
		st := defaultJSONStyle(ind)
		if seps, ok := arg(args, kw, 2, "separators", nil).(*list); ok && len(seps.items) == 2 {
			st.itemSep, st.keySep = str(seps.items[0]), str(seps.items[1])
		}
		st.sortKeys = truthy(arg(args, kw, 3, "sort_keys", false))
		st.ascii = truthy(arg(args, kw, 0, "ensure_ascii", false))
		if err := toJSON(&b, v, st, 0); err != nil {
			return nil, err
		}
		return b.String(), nil
	case "items":
		d, ok := v.(*dict)
		if !ok {
			if isUndef(v) || v == nil {
				return &list{}, nil
			}
			return nil, fmt.Errorf("needs a mapping, not %s", typeName(v))
		}
		return dictItems(d), nil
	case "list":
		items, ok := iterate(v)
		if !ok {
			return nil, iterErr(v)
		}
		return &list{items: append([]any{}, items...)}, nil
	case "join":
		items, ok := iterate(v)
		if !ok {
			return nil, iterErr(v)
		}
		attr, _ := arg(args, kw, 1, "attribute", nil).(string)
		sep := str(arg(args, kw, 0, "d", ""))
		var b strings.Builder
		for i, it := range items {
			if attr != "" {
				it = getAttr(it, attr)
			}
			if i > 0 {
				b.WriteString(sep)
			}
			b.WriteString(str(it))
			if b.Len() > maxBuild {
				return nil, fmt.Errorf("result larger than %d bytes", maxBuild)
			}
		}
		return b.String(), nil
	case "replace":
		if len(args) < 2 {
			return nil, fmt.Errorf("needs old and new strings")
		}
		n := -1
		if c, ok := arg(args, kw, 2, "count", nil).(int64); ok {
			n = int(c)
		}
		return safeReplace(str(v), str(args[0]), str(args[1]), n)
	case "first", "last":
		items, ok := iterate(v)
		if !ok {
			return nil, iterErr(v)
		}
		if len(items) == 0 {
			return undefined{}, nil
		}
		if name == "first" {
			return items[0], nil
		}
		return items[len(items)-1], nil
	case "reverse":
		if s, ok := v.(string); ok {
			r := []rune(s)
			for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
				r[i], r[j] = r[j], r[i]
			}
			return string(r), nil
		}
		items, ok := iterate(v)
		if !ok {
			return nil, iterErr(v)
		}
		out := &list{items: make([]any, len(items))}
		for i, it := range items {
			out.items[len(items)-1-i] = it
		}
		return out, nil
	case "int":
		return toInt(v, arg(args, kw, 0, "default", int64(0))), nil
	case "float":
		if b, ok := v.(bool); ok {
			v, _ = asInt(b)
		}
		switch x := v.(type) {
		case int64:
			return float64(x), nil
		case float64:
			return x, nil
		case string:
			if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
				return f, nil
			}
		}
		return arg(args, kw, 0, "default", 0.0), nil
	case "abs":
		if b, ok := v.(bool); ok { // Python: abs(False) == 0
			v, _ = asInt(b)
		}
		switch x := v.(type) {
		case int64:
			return max(x, -x), nil
		case float64:
			return math.Abs(x), nil
		}
		return nil, fmt.Errorf("needs a number, not %s", typeName(v))
	case "round":
		if b, ok := v.(bool); ok {
			v, _ = asInt(b)
		}
		f, ok := toFloat(v)
		if !ok {
			return nil, fmt.Errorf("needs a number, not %s", typeName(v))
		}
		p, _ := arg(args, kw, 0, "precision", int64(0)).(int64)
		if i, isInt := v.(int64); isInt && p >= 0 {
			return i, nil // Python's round keeps an int an int
		}
		m := math.Pow(10, float64(p))
		return math.RoundToEven(f*m) / m, nil
	case "safe", "e", "escape", "forceescape":
		if name == "safe" {
			return v, nil
		}
		return html.EscapeString(str(v)), nil
	case "indent":
		return indent(str(v), args, kw)
	case "format":
		return pyFormat(str(v), args)
	case "wordcount": // Jinja2 counts runs of word characters
		n, in := int64(0), false
		for _, r := range str(v) {
			w := r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
			if w && !in {
				n++
			}
			in = w
		}
		return n, nil
	case "sum", "min", "max", "sort", "unique", "map", "select", "reject", "selectattr", "rejectattr", "dictsort", "batch":
		return e.seqFilter(name, v, args, kw)
	}
	return nil, fmt.Errorf("unknown filter")
}

func asString(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	return str(v), nil
}

func length(v any) (any, error) {
	switch x := v.(type) {
	case string:
		return runeLen(x), nil
	case *list:
		return int64(len(x.items)), nil
	case *dict:
		return int64(len(x.keys)), nil
	case undefined:
		return int64(0), nil
	}
	return nil, fmt.Errorf("a %s has no length", typeName(v))
}

func toInt(v, def any) any {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	case bool:
		if x {
			return int64(1)
		}
		return int64(0)
	case string:
		if n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
			return n
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
			return int64(f)
		}
	}
	return def
}

func capitalize(s string) string {
	r := []rune(strings.ToLower(s))
	if len(r) > 0 {
		r[0] = unicode.ToUpper(r[0])
	}
	return string(r)
}

// foldCase lower-cases strings for the filters whose case_sensitive
// argument defaults to false (sort, unique, min, max).
func foldCase(v any, fold bool) any {
	if s, ok := v.(string); ok && fold {
		return strings.ToLower(s)
	}
	return v
}

// uniqueKey identifies a value as Python's hash and == would: 1, 1.0 and
// True are one key.
func uniqueKey(v any) string {
	if f, ok := toFloat(v); ok {
		return "n" + strconv.FormatFloat(f, 'g', -1, 64)
	}
	if s, ok := v.(string); ok {
		return "s" + s
	}
	return "r" + repr(v)
}

// jinjaTitle is Jinja2's title filter: a word starts after whitespace or
// one of - ( { [ <, and is capitalised (unlike Python's str.title).
func jinjaTitle(s string) string {
	r := []rune(s)
	start := true
	for i, c := range r {
		if unicode.IsSpace(c) || strings.ContainsRune("-({[<", c) {
			start = true
			continue
		}
		if start {
			r[i] = unicode.ToUpper(c)
		} else {
			r[i] = unicode.ToLower(c)
		}
		start = false
	}
	return string(r)
}

// title upper-cases the first letter of each run of letters, as Python's str.title.
func title(s string) string {
	r := []rune(s)
	prev := false
	for i, c := range r {
		if unicode.IsLetter(c) {
			if prev {
				r[i] = unicode.ToLower(c)
			} else {
				r[i] = unicode.ToUpper(c)
			}
			prev = true
		} else {
			prev = false
		}
	}
	return string(r)
}

func indent(s string, args []any, kw *dict) (string, error) {
	pad := "    "
	switch w := arg(args, kw, 0, "width", int64(4)).(type) {
	case int64:
		pad = strings.Repeat(" ", int(min(max(w, 0), 256)))
	case string:
		pad = w
	}
	first := truthy(arg(args, kw, 1, "first", false))
	blank := truthy(arg(args, kw, 2, "blank", false))
	if len(s)+len(pad)*(strings.Count(s, "\n")+1) > maxBuild {
		return "", fmt.Errorf("result larger than %d bytes", maxBuild)
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if (i > 0 || first) && (blank || l != "") {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "\n"), nil
}

// safeReplace is strings.Replace that refuses results over maxBuild before
// building them.
func safeReplace(s, old, new string, n int) (string, error) {
	count := strings.Count(s, old)
	if n >= 0 && n < count {
		count = n
	}
	if len(s)+count*(len(new)-len(old)) > maxBuild {
		return "", fmt.Errorf("result larger than %d bytes", maxBuild)
	}
	return strings.Replace(s, old, new, n), nil
}

func dictItems(d *dict) *list {
	out := &list{items: make([]any, len(d.keys))}
	for i, k := range d.keys {
		out.items[i] = &list{items: []any{k, d.m[k]}, tuple: true}
	}
	return out
}

// seqFilter holds the filters that walk a sequence.
func (e *evaluator) seqFilter(name string, v any, args []any, kw *dict) (any, error) {
	if d, ok := v.(*dict); ok && name == "dictsort" {
		items := dictItems(d)
		sort.SliceStable(items.items, func(i, j int) bool {
			return items.items[i].(*list).items[0].(string) < items.items[j].(*list).items[0].(string)
		})
		return items, nil
	}
	items, ok := iterate(v)
	if !ok {
		return nil, iterErr(v)
	}
	attrOf := func(it any, a any) any {
		if s, ok := a.(string); ok && s != "" {
			for _, part := range strings.Split(s, ".") {
				it = getAttr(it, part)
			}
		}
		return it
	}
	switch name {
	case "sum":
		var acc any = arg(args, kw, 1, "start", int64(0))
		for _, it := range items {
			r, err := arith("+", acc, attrOf(it, arg(args, kw, 0, "attribute", nil)))
			if err != nil {
				return nil, err
			}
			acc = r
		}
		return acc, nil
	case "min", "max":
		if len(items) == 0 {
			return undefined{}, nil
		}
		fold := !truthy(arg(args, kw, 0, "case_sensitive", false))
		best := items[0]
		for _, it := range items[1:] {
			c, err := compare(foldCase(it, fold), foldCase(best, fold))
			if err != nil {
				return nil, err
			}
			if name == "min" && c < 0 || name == "max" && c > 0 {
				best = it
			}
		}
		return best, nil
	case "sort":
		out := append([]any{}, items...)
		rev := truthy(arg(args, kw, 0, "reverse", false))
		fold := !truthy(arg(args, kw, 1, "case_sensitive", false))
		attr := arg(args, kw, 2, "attribute", nil)
		var err error
		sort.SliceStable(out, func(i, j int) bool {
			c, cerr := compare(foldCase(attrOf(out[i], attr), fold), foldCase(attrOf(out[j], attr), fold))
			if cerr != nil {
				err = cerr
			}
			if rev {
				return c > 0
			}
			return c < 0
		})
		return &list{items: out}, err
	case "unique":
		// A set of canonical keys: linear, where pairwise equality would
		// be quadratic on a hostile million-item list.
		fold := !truthy(arg(args, kw, 0, "case_sensitive", false))
		attr := arg(args, kw, 1, "attribute", nil)
		out := &list{}
		seen := map[string]bool{}
		for _, it := range items {
			k := uniqueKey(foldCase(attrOf(it, attr), fold))
			if !seen[k] {
				seen[k] = true
				out.items = append(out.items, it)
			}
		}
		return out, nil
	case "batch":
		n, ok := arg(args, kw, 0, "linecount", nil).(int64)
		if !ok || n <= 0 {
			return nil, fmt.Errorf("needs a positive size")
		}
		out := &list{}
		for i := 0; i < len(items); i += int(n) {
			out.items = append(out.items, &list{items: append([]any{}, items[i:min(len(items), i+int(n))]...)})
		}
		return out, nil
	case "map":
		out := &list{}
		if a, ok := kw.get("attribute"); ok {
			def, hasDef := kw.get("default")
			for _, it := range items {
				r := attrOf(it, a)
				if isUndef(r) && hasDef {
					r = def
				}
				out.items = append(out.items, r)
			}
			return out, nil
		}
		if len(args) == 0 {
			return nil, fmt.Errorf("needs a filter name or attribute=")
		}
		for _, it := range items {
			r, err := e.filter(str(args[0]), it, args[1:], newDict())
			if err != nil {
				return nil, err
			}
			out.items = append(out.items, r)
		}
		return out, nil
	}
	// select, reject, selectattr, rejectattr
	out := &list{}
	byAttr := strings.HasSuffix(name, "attr")
	keep := strings.HasPrefix(name, "select")
	rest := args
	var attr any
	if byAttr {
		if len(args) == 0 {
			return nil, fmt.Errorf("needs an attribute name")
		}
		attr, rest = args[0], args[1:]
	}
	for _, it := range items {
		x := it
		if byAttr {
			x = attrOf(it, attr)
		}
		var ok bool
		if len(rest) == 0 {
			ok = truthy(x)
		} else {
			var err error
			if ok, err = runTest(str(rest[0]), x, rest[1:]); err != nil {
				return nil, err
			}
		}
		if ok == keep {
			out.items = append(out.items, it)
		}
	}
	return out, nil
}
