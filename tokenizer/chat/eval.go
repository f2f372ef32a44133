// Evaluator for the Jinja subset: Jinja2's scoping (loop bodies are scopes, namespace() escapes them) and Python operator semantics.

package chat

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Limits that keep a hostile template from running forever or eating the
// machine. Real chat templates stay orders of magnitude below them.
type limits struct {
	maxSteps  int // statements and expressions evaluated per render
	maxOutput int // bytes of output, and of any one string built
	maxItems  int // elements of any one list built
	maxCalls  int // macro call depth
}

var defaultLimits = limits{maxSteps: 5_000_000, maxOutput: 8 << 20, maxItems: 1 << 20, maxCalls: 64}

// probeLimits bound the trial render New makes of a two-turn conversation.
var probeLimits = limits{maxSteps: 200_000, maxOutput: 1 << 20, maxItems: 1 << 16, maxCalls: 64}

var (
	errBreak    = errors.New("break")
	errContinue = errors.New("continue")
)

type scope struct {
	vars   map[string]any
	parent *scope
}

func (s *scope) lookup(name string) (any, bool) {
	for ; s != nil; s = s.parent {
		if v, ok := s.vars[name]; ok {
			return v, true
		}
	}
	return nil, false
}

type evaluator struct {
	src   string
	out   strings.Builder
	lim   limits
	steps int
	calls int
	now   time.Time
}

func (e *evaluator) errAt(pos int, format string, args ...any) error {
	return errAt(e.src, pos, format, args...)
}

func (e *evaluator) step(pos int) error {
	e.steps++
	if e.steps > e.lim.maxSteps {
		return e.errAt(pos, "template exceeded %d evaluation steps", e.lim.maxSteps)
	}
	return nil
}

// checkSize bounds every string or list a template builds, so that doubling
// in a loop fails fast instead of exhausting memory.
func (e *evaluator) checkSize(pos int, v any) (any, error) {
	// Building a value costs in proportion to its size: charge steps for it,
	// so that loops that copy growing strings or lists end early.
	switch x := v.(type) {
	case string:
		e.steps += len(x) >> 8
		if len(x) > e.lim.maxOutput {
			return nil, e.errAt(pos, "string larger than %d bytes", e.lim.maxOutput)
		}
	case *list:
		e.steps += len(x.items) >> 2
		if len(x.items) > e.lim.maxItems {
			return nil, e.errAt(pos, "list larger than %d items", e.lim.maxItems)
		}
	}
	return v, nil
}

func (e *evaluator) write(pos int, s string) error {
	if e.out.Len()+len(s) > e.lim.maxOutput {
		return e.errAt(pos, "output larger than %d bytes", e.lim.maxOutput)
	}
	e.out.WriteString(s)
	return nil
}

func (e *evaluator) exec(nodes []node, sc *scope) error {
	for _, n := range nodes {
		if err := e.execOne(n, sc); err != nil {
			return err
		}
	}
	return nil
}

func (e *evaluator) execOne(n node, sc *scope) error {
	switch n := n.(type) {
	case *textNode:
		return e.write(0, n.s)
	case *outputNode:
		v, err := e.eval(n.x, sc)
		if err != nil {
			return err
		}
		return e.write(n.pos, str(v))
	case *ifNode:
		for i, c := range n.conds {
			v, err := e.eval(c, sc)
			if err != nil {
				return err
			}
			if truthy(v) {
				return e.exec(n.bodies[i], sc)
			}
		}
		return e.exec(n.els, sc)
	case *forNode:
		return e.execFor(n, sc)
	case *setNode:
		return e.execSet(n, sc)
	case *macroNode:
		sc.vars[n.name] = e.macro(n, sc)
		return nil
	case *filterBlock:
		saved := e.out
		e.out = strings.Builder{}
		err := e.exec(n.body, sc)
		text := e.out.String()
		e.out = saved
		if err != nil {
			return err
		}
		f := *n.f
		f.x = &literal{text}
		v, err := e.evalFilter(&f, sc)
		if err != nil {
			return err
		}
		return e.write(n.f.pos, str(v))
	case *breakNode:
		return errBreak
	case *continueNode:
		return errContinue
	}
	return fmt.Errorf("chat: internal error: unknown node %T", n)
}

// iterate lists what a for loop walks: list items, dict keys, string runes.
// Undefined iterates as empty, as llama.cpp's minja does, so templates that
// loop over optional variables (tools, documents) render without them.
func iterate(v any) ([]any, bool) {
	switch x := v.(type) {
	case undefined, nil:
		return nil, true
	case *list:
		return x.items, true
	case *dict:
		out := make([]any, len(x.keys))
		for i, k := range x.keys {
			out[i] = k
		}
		return out, true
	case string:
		if len(x) > maxIterString {
			return nil, false
		}
		var out []any
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, true
	}
	return nil, false
}

// maxIterString bounds the strings a template may split into characters:
// each character becomes a value, so an 8 MiB string would cost gigabytes.
const maxIterString = 1 << 20

// iterErr says why iterate refused v.
func iterErr(v any) error {
	if s, ok := v.(string); ok {
		return fmt.Errorf("a string of %d bytes is too long to iterate (limit %d)", len(s), maxIterString)
	}
	return fmt.Errorf("cannot iterate over a %s", typeName(v))
}

func (e *evaluator) execFor(n *forNode, sc *scope) error {
	v, err := e.eval(n.iter, sc)
	if err != nil {
		return err
	}
	items, ok := iterate(v)
	if !ok {
		return e.errAt(n.pos, "%v", iterErr(v))
	}
	bind := func(s *scope, item any) error {
		if len(n.vars) == 1 {
			s.vars[n.vars[0]] = item
			return nil
		}
		l, ok := item.(*list)
		if !ok || len(l.items) != len(n.vars) {
			return e.errAt(n.pos, "cannot unpack %s into %d names", typeName(item), len(n.vars))
		}
		for i, name := range n.vars {
			s.vars[name] = l.items[i]
		}
		return nil
	}
	if n.cond != nil { // the "if" filter runs before loop.* is computed
		var kept []any
		for _, it := range items {
			s := &scope{vars: map[string]any{}, parent: sc}
			if err := bind(s, it); err != nil {
				return err
			}
			c, err := e.eval(n.cond, s)
			if err != nil {
				return err
			}
			if truthy(c) {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	if len(items) == 0 {
		return e.exec(n.els, sc)
	}
	// One scope map and one loop object serve every iteration: cleared and
	// advanced, not reallocated, since loops dominate render time.
	s := &scope{vars: map[string]any{}, parent: sc}
	loop := &loopInfo{items: items}
	for i, it := range items {
		if err := e.step(n.pos); err != nil {
			return err
		}
		clear(s.vars)
		if err := bind(s, it); err != nil {
			return err
		}
		loop.i = i
		s.vars["loop"] = loop
		err := e.exec(n.body, s)
		if err == errBreak {
			break
		}
		if err != nil && err != errContinue {
			return err
		}
	}
	return nil
}

// loopInfo is the `loop` variable of a for loop.
type loopInfo struct {
	items []any
	i     int
}

func (l *loopInfo) attr(name string) any {
	i, n := int64(l.i), int64(len(l.items))
	switch name {
	case "index0":
		return i
	case "index":
		return i + 1
	case "revindex":
		return n - i
	case "revindex0":
		return n - i - 1
	case "first":
		return i == 0
	case "last":
		return i == n-1
	case "length":
		return n
	case "depth":
		return int64(1)
	case "depth0":
		return int64(0)
	case "previtem":
		if i > 0 {
			return l.items[i-1]
		}
	case "nextitem":
		if i+1 < n {
			return l.items[i+1]
		}
	case "cycle":
		at := l.i
		return &callable{"loop.cycle", func(_ *evaluator, args []any, _ *dict) (any, error) {
			if len(args) == 0 {
				return nil, fmt.Errorf("loop.cycle needs arguments")
			}
			return args[at%len(args)], nil
		}}
	}
	return undefined{name}
}

func (e *evaluator) execSet(n *setNode, sc *scope) error {
	var v any
	if n.value == nil {
		saved := e.out
		e.out = strings.Builder{}
		err := e.exec(n.body, sc)
		v = e.out.String()
		e.out = saved
		if err != nil {
			return err
		}
	} else {
		var err error
		if v, err = e.eval(n.value, sc); err != nil {
			return err
		}
	}
	if n.attr != "" {
		target, _ := sc.lookup(n.names[0])
		d, ok := target.(*dict)
		if !ok || !d.ns {
			return e.errAt(n.pos, "cannot set attribute %q on a %s (only on a namespace)", n.attr, typeName(target))
		}
		d.set(n.attr, v)
		return nil
	}
	if len(n.names) == 1 {
		sc.vars[n.names[0]] = v
		return nil
	}
	l, ok := v.(*list)
	if !ok || len(l.items) != len(n.names) {
		return e.errAt(n.pos, "cannot unpack %s into %d names", typeName(v), len(n.names))
	}
	for i, name := range n.names {
		sc.vars[name] = l.items[i]
	}
	return nil
}

// macro returns a callable that renders the macro body into a string.
func (e *evaluator) macro(n *macroNode, def *scope) *callable {
	return &callable{n.name, func(e *evaluator, args []any, kw *dict) (any, error) {
		if len(args) > len(n.params) {
			return nil, fmt.Errorf("macro %s takes %d arguments, got %d", n.name, len(n.params), len(args))
		}
		e.calls++
		defer func() { e.calls-- }()
		if e.calls > e.lim.maxCalls {
			return nil, fmt.Errorf("macro calls nested deeper than %d", e.lim.maxCalls)
		}
		s := &scope{vars: map[string]any{}, parent: def}
		for i, p := range n.params {
			switch v, ok := kw.get(p); {
			case i < len(args):
				s.vars[p] = args[i]
			case ok:
				s.vars[p] = v
			case n.defaults[i] != nil:
				d, err := e.eval(n.defaults[i], s)
				if err != nil {
					return nil, err
				}
				s.vars[p] = d
			default:
				s.vars[p] = undefined{p}
			}
		}
		saved := e.out
		e.out = strings.Builder{}
		err := e.exec(n.body, s)
		res := e.out.String()
		e.out = saved
		return res, err
	}}
}

func (e *evaluator) eval(x expr, sc *scope) (any, error) {
	switch x := x.(type) {
	case *literal:
		return x.v, nil
	case *nameExpr:
		if err := e.step(x.pos); err != nil {
			return nil, err
		}
		if v, ok := sc.lookup(x.name); ok {
			return v, nil
		}
		return undefined{x.name}, nil
	case *listExpr:
		l := &list{items: make([]any, len(x.items)), tuple: x.tuple}
		for i, it := range x.items {
			v, err := e.eval(it, sc)
			if err != nil {
				return nil, err
			}
			l.items[i] = v
		}
		return l, nil
	case *dictExpr:
		d := newDict()
		for i := range x.keys {
			k, err := e.eval(x.keys[i], sc)
			if err != nil {
				return nil, err
			}
			v, err := e.eval(x.vals[i], sc)
			if err != nil {
				return nil, err
			}
			d.set(str(k), v)
		}
		return d, nil
	case *attrExpr:
		v, err := e.eval(x.x, sc)
		if err != nil {
			return nil, err
		}
		return getAttr(v, x.name), nil
	case *indexExpr:
		v, err := e.eval(x.x, sc)
		if err != nil {
			return nil, err
		}
		i, err := e.eval(x.idx, sc)
		if err != nil {
			return nil, err
		}
		r, err := getItem(v, i)
		if err != nil {
			return nil, e.errAt(x.pos, "%v", err)
		}
		return r, nil
	case *sliceExpr:
		return e.evalSlice(x, sc)
	case *callExpr:
		return e.evalCall(x, sc)
	case *filterExpr:
		return e.evalFilter(x, sc)
	case *testExpr:
		v, err := e.eval(x.x, sc)
		if err != nil {
			return nil, err
		}
		args, err := e.evalList(x.args, sc)
		if err != nil {
			return nil, err
		}
		ok, err := runTest(x.name, v, args)
		if err != nil {
			return nil, e.errAt(x.pos, "%v", err)
		}
		return ok != x.negate, nil
	case *unaryExpr:
		v, err := e.eval(x.x, sc)
		if err != nil {
			return nil, err
		}
		switch x.op {
		case "not":
			return !truthy(v), nil
		case "-":
			switch n := v.(type) {
			case int64:
				return -n, nil
			case float64:
				return -n, nil
			}
		case "+":
			if _, ok := toFloat(v); ok {
				return v, nil
			}
		}
		return nil, e.errAt(x.pos, "bad operand %s for unary %s", typeName(v), x.op)
	case *binaryExpr:
		return e.evalBinary(x, sc)
	case *condExpr:
		c, err := e.eval(x.cond, sc)
		if err != nil {
			return nil, err
		}
		if truthy(c) {
			return e.eval(x.a, sc)
		}
		if x.b == nil {
			return undefined{}, nil
		}
		return e.eval(x.b, sc)
	}
	return nil, fmt.Errorf("chat: internal error: unknown expression %T", x)
}

func (e *evaluator) evalList(xs []expr, sc *scope) ([]any, error) {
	out := make([]any, len(xs))
	for i, x := range xs {
		v, err := e.eval(x, sc)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (e *evaluator) evalKw(names []string, vals []expr, sc *scope) (*dict, error) {
	kw := newDict()
	for i, n := range names {
		v, err := e.eval(vals[i], sc)
		if err != nil {
			return nil, err
		}
		kw.set(n, v)
	}
	return kw, nil
}
