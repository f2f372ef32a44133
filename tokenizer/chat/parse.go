// Parser for the Jinja subset; precedence follows Jinja2's parser (jinja2/parser.py, parse_or … parse_unary).

package chat

import (
	"strconv"
)

// maxDepth bounds statement and expression nesting, so that a hostile
// template cannot overflow the goroutine stack in the parser or evaluator.
const maxDepth = 200

// Statements.
type (
	node interface{}

	textNode   struct{ s string }
	outputNode struct {
		x   expr
		pos int
	}
	ifNode struct {
		conds  []expr
		bodies [][]node
		els    []node
	}
	forNode struct {
		vars      []string
		iter      expr
		cond      expr // optional "if" filter on items
		body, els []node
		pos       int
	}
	setNode struct {
		names []string // one name, or several for tuple unpacking
		attr  string   // set names[0].attr = value (namespace)
		value expr     // nil for a block set, which captures body
		body  []node
		pos   int
	}
	macroNode struct {
		name     string
		params   []string
		defaults []expr // parallel to params; nil where none
		body     []node
	}
	// filterBlock renders body and passes the text through one filter.
	filterBlock struct {
		f    *filterExpr // f.x is unused: the body's text is the input
		body []node
	}
	breakNode    struct{ pos int }
	continueNode struct{ pos int }
)

// Expressions.
type (
	expr interface{}

	literal  struct{ v any }
	nameExpr struct {
		name string
		pos  int
	}
	listExpr struct {
		items []expr
		tuple bool
	}
	dictExpr struct{ keys, vals []expr }
	attrExpr struct {
		x    expr
		name string
		pos  int
	}
	indexExpr struct {
		x, idx expr
		pos    int
	}
	sliceExpr struct {
		x, lo, hi, step expr
		pos             int
	}
	callExpr struct {
		fn      expr
		args    []expr
		kwNames []string
		kwVals  []expr
		pos     int
	}
	filterExpr struct {
		x       expr // nil inside a {% filter %}-less chain start; never nil here
		name    string
		args    []expr
		kwNames []string
		kwVals  []expr
		pos     int
	}
	testExpr struct {
		x      expr
		name   string
		args   []expr
		negate bool
		pos    int
	}
	unaryExpr struct {
		op  string
		x   expr
		pos int
	}
	binaryExpr struct {
		op   string
		l, r expr
		pos  int
	}
	condExpr struct {
		cond, a, b expr // b may be nil: undefined
	}
)

type parser struct {
	src   string
	toks  []token
	i     int
	depth int
}

func parse(src string) ([]node, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	body, end, err := p.body()
	if err != nil {
		return nil, err
	}
	if end != "" {
		return nil, errAt(src, p.tok().pos, "unexpected {%% %s %%}", end)
	}
	return body, nil
}

func (p *parser) tok() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}
func (p *parser) errf(format string, args ...any) error {
	return errAt(p.src, p.tok().pos, format, args...)
}
func (p *parser) isOp(s string) bool   { t := p.tok(); return t.kind == tOp && t.s == s }
func (p *parser) isName(s string) bool { t := p.tok(); return t.kind == tName && t.s == s }

func (p *parser) expectOp(s string) error {
	if !p.isOp(s) {
		return p.errf("expected %q, found %s", s, p.describe())
	}
	p.i++
	return nil
}

func (p *parser) describe() string {
	t := p.tok()
	switch t.kind {
	case tEOF:
		return "end of template"
	case tBlockEnd:
		return "end of tag"
	case tVarEnd:
		return "end of expression"
	case tText:
		return "text"
	case tString:
		return strconv.Quote(t.s)
	}
	return strconv.Quote(t.s)
}

func (p *parser) expectName() (string, error) {
	t := p.tok()
	if t.kind != tName {
		return "", p.errf("expected a name, found %s", p.describe())
	}
	p.i++
	return t.s, nil
}

func (p *parser) endTag() error {
	if p.tok().kind != tBlockEnd {
		return p.errf("expected end of tag, found %s", p.describe())
	}
	p.i++
	return nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.errf("nested deeper than %d", maxDepth)
	}
	return nil
}

// body parses nodes until EOF or a block tag it does not own (endfor, else…),
// whose keyword it returns with the parser positioned on that keyword.
func (p *parser) body() ([]node, string, error) {
	if err := p.enter(); err != nil {
		return nil, "", err
	}
	defer func() { p.depth-- }()
	var out []node
	for {
		t := p.next()
		switch t.kind {
		case tEOF:
			p.i-- // stay on EOF
			return out, "", nil
		case tText:
			out = append(out, &textNode{t.s})
		case tVarBegin:
			x, err := p.expr()
			if err != nil {
				return nil, "", err
			}
			if p.tok().kind != tVarEnd {
				return nil, "", p.errf("expected end of expression, found %s", p.describe())
			}
			p.i++
			out = append(out, &outputNode{x, t.pos})
		case tBlockBegin:
			kw := p.tok()
			if kw.kind != tName {
				return nil, "", p.errf("expected a tag name, found %s", p.describe())
			}
			switch kw.s {
			case "endif", "elif", "else", "endfor", "endset", "endmacro", "endgeneration", "endfilter":
				return out, kw.s, nil
			}
			p.i++
			n, err := p.stmt(kw)
			if err != nil {
				return nil, "", err
			}
			if n != nil {
				out = append(out, n)
			}
		default:
			return nil, "", errAt(p.src, t.pos, "unexpected %s", p.describe())
		}
	}
}

// closeWith checks that the body ended on one of the wanted tags and
// consumes that tag's name.
// block reads the end of an opening tag, the body after it and the name of
// the tag that ends the body, which must be one of want; that tag's own
// "%}" is left for the caller.
func (p *parser) block(open token, want ...string) ([]node, string, error) {
	if err := p.endTag(); err != nil {
		return nil, "", err
	}
	body, end, err := p.body()
	if err != nil {
		return nil, "", err
	}
	if err := p.closeWith(end, open, want...); err != nil {
		return nil, "", err
	}
	return body, end, nil
}

func (p *parser) closeWith(end string, open token, want ...string) error {
	for _, w := range want {
		if end == w {
			p.i++
			return nil
		}
	}
	if end == "" {
		return errAt(p.src, open.pos, "{%% %s %%} is never closed (expected {%% %s %%})", open.s, want[len(want)-1])
	}
	return p.errf("unexpected {%% %s %%} inside {%% %s %%}", end, open.s)
}

func (p *parser) stmt(kw token) (node, error) {
	switch kw.s {
	case "if":
		return p.ifStmt(kw)
	case "for":
		return p.forStmt(kw)
	case "set":
		return p.setStmt(kw)
	case "macro":
		return p.macroStmt(kw)
	case "break":
		return &breakNode{kw.pos}, p.endTag()
	case "continue":
		return &continueNode{kw.pos}, p.endTag()
	case "filter":
		t := p.tok()
		name, err := p.expectName()
		if err != nil {
			return nil, err
		}
		f := &filterExpr{name: name, pos: t.pos}
		if p.isOp("(") {
			p.i++
			if f.args, f.kwNames, f.kwVals, err = p.args(); err != nil {
				return nil, err
			}
		}
		body, _, err := p.block(kw, "endfilter")
		if err != nil {
			return nil, err
		}
		return &filterBlock{f, body}, p.endTag()
	case "generation":
		// Hugging Face's marker for assistant tokens in training masks:
		// it renders its body unchanged.
		body, _, err := p.block(kw, "endgeneration")
		if err != nil {
			return nil, err
		}
		return &ifNode{conds: []expr{&literal{true}}, bodies: [][]node{body}}, p.endTag()
	}
	return nil, errAt(p.src, kw.pos, "unknown tag %q", kw.s)
}

func (p *parser) ifStmt(kw token) (node, error) {
	n := &ifNode{}
	for {
		cond, err := p.expr()
		if err != nil {
			return nil, err
		}
		body, end, err := p.block(kw, "elif", "else", "endif")
		if err != nil {
			return nil, err
		}
		n.conds = append(n.conds, cond)
		n.bodies = append(n.bodies, body)
		switch end {
		case "elif":
			continue
		case "else":
			if n.els, _, err = p.block(kw, "endif"); err != nil {
				return nil, err
			}
		}
		return n, p.endTag()
	}
}

func (p *parser) forStmt(kw token) (node, error) {
	n := &forNode{pos: kw.pos}
	for {
		name, err := p.expectName()
		if err != nil {
			return nil, err
		}
		n.vars = append(n.vars, name)
		if !p.isOp(",") {
			break
		}
		p.i++
	}
	if !p.isName("in") {
		return nil, p.errf("expected 'in', found %s", p.describe())
	}
	p.i++
	var err error
	// The iterable may not contain a bare conditional: "if" starts the filter.
	if n.iter, err = p.or(); err != nil {
		return nil, err
	}
	if p.isName("if") {
		p.i++
		if n.cond, err = p.or(); err != nil {
			return nil, err
		}
	}
	if p.isName("recursive") {
		return nil, p.errf("recursive loops are not supported")
	}
	body, end, err := p.block(kw, "else", "endfor")
	if err != nil {
		return nil, err
	}
	n.body = body
	if end == "else" {
		if n.els, _, err = p.block(kw, "endfor"); err != nil {
			return nil, err
		}
	}
	return n, p.endTag()
}

func (p *parser) setStmt(kw token) (node, error) {
	n := &setNode{pos: kw.pos}
	name, err := p.expectName()
	if err != nil {
		return nil, err
	}
	n.names = []string{name}
	if p.isOp(".") {
		p.i++
		if n.attr, err = p.expectName(); err != nil {
			return nil, err
		}
	}
	for n.attr == "" && p.isOp(",") {
		p.i++
		name, err := p.expectName()
		if err != nil {
			return nil, err
		}
		n.names = append(n.names, name)
	}
	if p.tok().kind == tBlockEnd && n.attr == "" && len(n.names) == 1 {
		p.i++
		body, end, err := p.body()
		if err != nil {
			return nil, err
		}
		if err := p.closeWith(end, kw, "endset"); err != nil {
			return nil, err
		}
		n.body = body
		return n, p.endTag()
	}
	if err := p.expectOp("="); err != nil {
		return nil, err
	}
	if n.value, err = p.tupleOrExpr(); err != nil {
		return nil, err
	}
	return n, p.endTag()
}

func (p *parser) macroStmt(kw token) (node, error) {
	n := &macroNode{}
	var err error
	if n.name, err = p.expectName(); err != nil {
		return nil, err
	}
	if err := p.expectOp("("); err != nil {
		return nil, err
	}
	for !p.isOp(")") {
		name, err := p.expectName()
		if err != nil {
			return nil, err
		}
		var def expr
		if p.isOp("=") {
			p.i++
			if def, err = p.expr(); err != nil {
				return nil, err
			}
		}
		n.params = append(n.params, name)
		n.defaults = append(n.defaults, def)
		if !p.isOp(",") {
			break
		}
		p.i++
	}
	if err := p.expectOp(")"); err != nil {
		return nil, err
	}
	body, _, err := p.block(kw, "endmacro")
	if err != nil {
		return nil, err
	}
	n.body = body
	return n, p.endTag()
}

// tupleOrExpr parses "a, b" as a list (set x = 1, 2).
func (p *parser) tupleOrExpr() (expr, error) {
	x, err := p.expr()
	if err != nil || !p.isOp(",") {
		return x, err
	}
	l := &listExpr{items: []expr{x}, tuple: true}
	for p.isOp(",") {
		p.i++
		y, err := p.expr()
		if err != nil {
			return nil, err
		}
		l.items = append(l.items, y)
	}
	return l, nil
}
