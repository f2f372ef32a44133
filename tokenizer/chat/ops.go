// Operators, subscripts and slices with Python 3 semantics (Python reference, "Expressions" and "Built-in Types: sequence operations").

package chat

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// getAttr is Jinja's attribute lookup: a dict key, then a method. Missing
// attributes are undefined, never an error, so "x.y is defined" works.
func getAttr(v any, name string) any {
	if l, ok := v.(*loopInfo); ok {
		return l.attr(name)
	}
	if d, ok := v.(*dict); ok {
		if r, ok := d.m[name]; ok {
			return r
		}
	}
	if m := method(v, name); m != nil {
		return m
	}
	return undefined{name}
}

// getItem is subscription: x[i] on lists and strings (negative from the
// end), x[key] on dicts. Out-of-range and missing keys are undefined.
func getItem(v, i any) (any, error) {
	switch x := v.(type) {
	case *dict:
		if s, ok := i.(string); ok {
			if r, ok := x.m[s]; ok {
				return r, nil
			}
			return getAttr(v, s), nil
		}
		return undefined{}, nil
	case *list, string:
		n, ok := i.(int64)
		if !ok {
			if s, ok := i.(string); ok {
				return getAttr(v, s), nil
			}
			return nil, fmt.Errorf("index must be an integer, not %s", typeName(i))
		}
		if l, ok := x.(*list); ok {
			if n < 0 {
				n += int64(len(l.items))
			}
			if n < 0 || n >= int64(len(l.items)) {
				return undefined{}, nil
			}
			return l.items[n], nil
		}
		r := []rune(x.(string))
		if n < 0 {
			n += int64(len(r))
		}
		if n < 0 || n >= int64(len(r)) {
			return undefined{}, nil
		}
		return string(r[n]), nil
	case undefined, nil:
		return undefined{}, nil
	}
	return nil, fmt.Errorf("a %s cannot be indexed", typeName(v))
}

func (e *evaluator) evalSlice(x *sliceExpr, sc *scope) (any, error) {
	v, err := e.eval(x.x, sc)
	if err != nil {
		return nil, err
	}
	var bounds [3]*int64
	for i, b := range []expr{x.lo, x.hi, x.step} {
		if b == nil {
			continue
		}
		bv, err := e.eval(b, sc)
		if err != nil {
			return nil, err
		}
		if bv == nil {
			continue
		}
		n, ok := bv.(int64)
		if !ok {
			return nil, e.errAt(x.pos, "slice bounds must be integers, not %s", typeName(bv))
		}
		bounds[i] = &n
	}
	var n int
	var runes []rune
	isStr := false
	switch s := v.(type) {
	case string:
		isStr = true
		runes = []rune(s)
		n = len(runes)
	case *list:
		n = len(s.items)
	default:
		return nil, e.errAt(x.pos, "cannot slice a %s", typeName(v))
	}
	idx, err := sliceIndices(n, bounds)
	if err != nil {
		return nil, e.errAt(x.pos, "%v", err)
	}
	if isStr {
		out := make([]rune, len(idx))
		for i, j := range idx {
			out[i] = runes[j]
		}
		return string(out), nil
	}
	l := v.(*list)
	out := &list{items: make([]any, len(idx))}
	for i, j := range idx {
		out.items[i] = l.items[j]
	}
	return out, nil
}

// sliceIndices applies Python's slice rules for a sequence of length n.
func sliceIndices(n int, b [3]*int64) ([]int, error) {
	step := int64(1)
	if b[2] != nil {
		step = *b[2]
	}
	if step == 0 {
		return nil, fmt.Errorf("slice step cannot be zero")
	}
	clamp := func(p *int64, def int64, lo, hi int64) int64 {
		if p == nil {
			return def
		}
		v := *p
		if v < 0 {
			v += int64(n)
		}
		return max(lo, min(hi, v))
	}
	var out []int
	if step > 0 {
		lo, hi := clamp(b[0], 0, 0, int64(n)), clamp(b[1], int64(n), 0, int64(n))
		for i := lo; i < hi; i += step {
			out = append(out, int(i))
		}
	} else {
		lo, hi := clamp(b[0], int64(n)-1, -1, int64(n)-1), clamp(b[1], -1, -1, int64(n)-1)
		if b[1] != nil && *b[1] < 0 && *b[1]+int64(n) < 0 {
			hi = -1
		}
		for i := lo; i > hi; i += step {
			out = append(out, int(i))
		}
	}
	return out, nil
}

func (e *evaluator) evalCall(x *callExpr, sc *scope) (any, error) {
	if err := e.step(x.pos); err != nil {
		return nil, err
	}
	f, err := e.eval(x.fn, sc)
	if err != nil {
		return nil, err
	}
	c, ok := f.(*callable)
	if !ok {
		what := "value"
		if n, ok := x.fn.(*nameExpr); ok {
			what = fmt.Sprintf("%q", n.name)
		} else if a, ok := x.fn.(*attrExpr); ok {
			what = fmt.Sprintf("%q", a.name)
		}
		return nil, e.errAt(x.pos, "%s is a %s, not a function", what, typeName(f))
	}
	args, err := e.evalList(x.args, sc)
	if err != nil {
		return nil, err
	}
	kw, err := e.evalKw(x.kwNames, x.kwVals, sc)
	if err != nil {
		return nil, err
	}
	r, err := c.fn(e, args, kw)
	if err != nil {
		var te *Error
		if errors.As(err, &te) {
			if te.Raised && te.Line == 0 { // give raise_exception its position
				pe := e.errAt(x.pos, "%s", te.Msg).(*Error)
				pe.Raised = true
				return nil, pe
			}
			return nil, err
		}
		return nil, e.errAt(x.pos, "%v", err)
	}
	return e.checkSize(x.pos, r)
}

func (e *evaluator) evalBinary(x *binaryExpr, sc *scope) (any, error) {
	if err := e.step(x.pos); err != nil {
		return nil, err
	}
	l, err := e.eval(x.l, sc)
	if err != nil {
		return nil, err
	}
	switch x.op { // short-circuit: Python returns the deciding operand
	case "and":
		if !truthy(l) {
			return l, nil
		}
		return e.eval(x.r, sc)
	case "or":
		if truthy(l) {
			return l, nil
		}
		return e.eval(x.r, sc)
	}
	r, err := e.eval(x.r, sc)
	if err != nil {
		return nil, err
	}
	v, err := binaryOp(x.op, l, r, e.lim.maxOutput)
	if err != nil {
		return nil, e.errAt(x.pos, "%v", err)
	}
	return e.checkSize(x.pos, v)
}

func binaryOp(op string, l, r any, maxLen int) (any, error) {
	switch op {
	case "==":
		return equal(l, r), nil
	case "!=":
		return !equal(l, r), nil
	case "<", ">", "<=", ">=":
		c, err := compare(l, r)
		if err != nil {
			return nil, err
		}
		return op == "<" && c < 0 || op == ">" && c > 0 || op == "<=" && c <= 0 || op == ">=" && c >= 0, nil
	case "in", "not in":
		ok, err := contains(r, l)
		return ok == (op == "in"), err
	case "~":
		return str(l) + str(r), nil
	case "+":
		switch a := l.(type) {
		case string:
			if b, ok := r.(string); ok {
				return a + b, nil
			}
		case *list:
			if b, ok := r.(*list); ok {
				out := &list{items: append(append([]any{}, a.items...), b.items...)}
				return out, nil
			}
		}
	case "%":
		if f, ok := l.(string); ok {
			args := []any{r}
			if t, ok := r.(*list); ok && t.tuple {
				args = t.items
			}
			out, err := pyFormat(f, args)
			if err != nil && strings.Contains(err.Error(), "not all arguments") {
				// Python forgives unused arguments when the one argument is
				// a list or mapping (anything indexable but a tuple or str).
				if t, ok := r.(*list); ok && !t.tuple {
					return pyFormat(f, nil)
				}
				switch r.(type) {
				case *dict, undefined:
					return pyFormat(f, nil)
				}
			}
			return out, err
		}
	case "*":
		if _, ok := r.(*list); ok {
			if _, ok := asInt(l); ok {
				l, r = r, l // n * list is list * n
			}
		}
		if lst, ok := l.(*list); ok {
			if n, ok := asInt(r); ok {
				if n > 0 && len(lst.items) > 0 && int64(len(lst.items))*min(n, 1<<40) > 1<<20 {
					return nil, fmt.Errorf("list repetition larger than %d items", 1<<20)
				}
				out := &list{}
				for range max(n, 0) {
					out.items = append(out.items, lst.items...)
				}
				return out, nil
			}
		}
		if s, n, ok := repeatArgs(l, r); ok {
			if n > 0 && len(s)*int(min(n, int64(maxLen)+1)) > maxLen {
				return nil, fmt.Errorf("string repetition larger than %d", maxLen)
			}
			return strings.Repeat(s, int(max(n, 0))), nil
		}
	}
	return arith(op, l, r)
}

func repeatArgs(l, r any) (string, int64, bool) {
	if s, ok := l.(string); ok {
		n, ok := asInt(r)
		return s, n, ok
	}
	if s, ok := r.(string); ok {
		n, ok := asInt(l)
		return s, n, ok
	}
	return "", 0, false
}

func arith(op string, l, r any) (any, error) {
	bad := fmt.Errorf("unsupported operand types for %s: %s and %s", op, typeName(l), typeName(r))
	if isUndef(l) || isUndef(r) {
		bad = fmt.Errorf("undefined value in %s (%s %s %s)", op, typeName(l), op, typeName(r))
	}
	a, aok := asInt(l)
	b, bok := asInt(r)
	if aok && bok {
		switch op {
		case "+":
			return a + b, nil
		case "-":
			return a - b, nil
		case "*":
			return a * b, nil
		case "//", "%":
			if b == 0 {
				return nil, fmt.Errorf("integer division by zero")
			}
			q, m := a/b, a%b
			if m != 0 && (m < 0) != (b < 0) { // Python floors toward -inf
				q--
				m += b
			}
			if op == "//" {
				return q, nil
			}
			return m, nil
		case "**":
			if b >= 0 {
				return int64(math.Pow(float64(a), float64(b))), nil
			}
		}
	}
	fa, aok := toFloat(l)
	fb, bok := toFloat(r)
	if !aok || !bok {
		return nil, bad
	}
	switch op {
	case "+":
		return fa + fb, nil
	case "-":
		return fa - fb, nil
	case "*":
		return fa * fb, nil
	case "/":
		if fb == 0 {
			return nil, fmt.Errorf("division by zero")
		}
		return fa / fb, nil
	case "//":
		if fb == 0 {
			return nil, fmt.Errorf("division by zero")
		}
		return math.Floor(fa / fb), nil
	case "%":
		if fb == 0 {
			return nil, fmt.Errorf("modulo by zero")
		}
		m := math.Mod(fa, fb)
		if m != 0 && (m < 0) != (fb < 0) {
			m += fb
		}
		return m, nil
	case "**":
		return math.Pow(fa, fb), nil
	}
	return nil, bad
}

// contains is Python's "needle in haystack".
func contains(haystack, needle any) (bool, error) {
	switch h := haystack.(type) {
	case string:
		n, ok := needle.(string)
		if !ok {
			return false, fmt.Errorf("'in <string>' needs a string, not %s", typeName(needle))
		}
		return strings.Contains(h, n), nil
	case *list:
		for _, it := range h.items {
			if equal(it, needle) {
				return true, nil
			}
		}
		return false, nil
	case *dict:
		k, ok := needle.(string)
		if !ok {
			return false, nil
		}
		_, has := h.m[k]
		return has, nil
	case undefined, nil:
		return false, nil
	}
	return false, fmt.Errorf("'in' needs a container, not %s", typeName(haystack))
}

// runeLen is len() of a string in Python: code points, not bytes.
func runeLen(s string) int64 { return int64(utf8.RuneCountInString(s)) }

// pyFormat is Python's printf-style "fmt % args" for the conversions
// templates use: s r d i f F e E g G x X o c and %%.
func pyFormat(f string, args []any) (string, error) {
	var b strings.Builder
	next := 0
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		j := i + 1
		for j < len(f) && strings.IndexByte("-+ #0123456789.", f[j]) >= 0 {
			j++
		}
		if j >= len(f) {
			return "", fmt.Errorf("incomplete format")
		}
		spec, conv := f[i+1:j], f[j]
		i = j
		width := 0
		for _, c := range spec {
			if c >= '0' && c <= '9' {
				width = width*10 + int(c-'0')
				if width > 4096 { // width or precision: Go would allocate it
					return "", fmt.Errorf("format width over 4096")
				}
			} else {
				width = 0
			}
		}
		if conv == '%' {
			b.WriteByte('%')
			continue
		}
		if next >= len(args) {
			return "", fmt.Errorf("not enough arguments for format string")
		}
		a := args[next]
		next++
		var v any
		verb := conv
		switch conv {
		case 's':
			v = str(a)
		case 'r':
			v, verb = repr(a), 's'
		case 'd', 'i', 'x', 'X', 'o':
			n, ok := toInt(a, nil).(int64)
			if !ok {
				return "", fmt.Errorf("%%%c needs a number, not %s", conv, typeName(a))
			}
			v = n
			if conv == 'i' {
				verb = 'd'
			}
		case 'f', 'F', 'e', 'E', 'g', 'G':
			x, ok := toFloat(a)
			if !ok {
				return "", fmt.Errorf("%%%c needs a number, not %s", conv, typeName(a))
			}
			v = x
		case 'c':
			switch c := a.(type) {
			case string:
				v = c
			case int64:
				v = string(rune(c))
			}
			verb = 's'
		default:
			return "", fmt.Errorf("unsupported format character %q", conv)
		}
		fmt.Fprintf(&b, "%"+spec+string(verb), v)
		if b.Len() > maxBuild {
			return "", fmt.Errorf("result larger than %d bytes", maxBuild)
		}
	}
	if next < len(args) {
		return "", fmt.Errorf("not all arguments converted during string formatting")
	}
	return b.String(), nil
}

// asInt reads ints and bools as ints: in Python, True + 1 == 2.
func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}
