// Expression grammar of the Jinja subset; precedence as in Jinja2's parser (jinja2/parser.py: parse_condexpr, parse_or … parse_unary, parse_postfix, parse_filter_expr).

package chat

import (
	"strconv"
)

// expr is the conditional expression: a if cond else b.
func (p *parser) expr() (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	x, err := p.or()
	if err != nil {
		return nil, err
	}
	for p.isName("if") {
		p.i++
		cond, err := p.or()
		if err != nil {
			return nil, err
		}
		c := &condExpr{cond: cond, a: x}
		if p.isName("else") {
			p.i++
			if c.b, err = p.expr(); err != nil {
				return nil, err
			}
		}
		x = c
	}
	return x, nil
}

func (p *parser) or() (expr, error) {
	x, err := p.and()
	for err == nil && p.isName("or") {
		pos := p.next().pos
		var r expr
		r, err = p.and()
		x = &binaryExpr{"or", x, r, pos}
	}
	return x, err
}

func (p *parser) and() (expr, error) {
	x, err := p.not()
	for err == nil && p.isName("and") {
		pos := p.next().pos
		var r expr
		r, err = p.not()
		x = &binaryExpr{"and", x, r, pos}
	}
	return x, err
}

func (p *parser) not() (expr, error) {
	if p.isName("not") {
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		pos := p.next().pos
		x, err := p.not()
		return &unaryExpr{"not", x, pos}, err
	}
	return p.compare()
}

// compare parses comparison chains; as in Python, a < b < c means
// a < b and b < c (b is evaluated twice; template expressions are pure).
func (p *parser) compare() (expr, error) {
	x, err := p.math1()
	var chain expr // the conjunction built so far, for chains
	var prev expr = x
	for err == nil {
		t := p.tok()
		var op string
		switch {
		case t.kind == tOp && (t.s == "==" || t.s == "!=" || t.s == "<" || t.s == ">" || t.s == "<=" || t.s == ">="):
			op = t.s
			p.i++
		case t.kind == tName && t.s == "in":
			op = "in"
			p.i++
		case t.kind == tName && t.s == "not" && p.toks[p.i+1].kind == tName && p.toks[p.i+1].s == "in":
			op = "not in"
			p.i += 2
		default:
			if chain != nil {
				return chain, nil
			}
			return x, nil
		}
		var r expr
		if r, err = p.math1(); err != nil {
			return nil, err
		}
		c := &binaryExpr{op, prev, r, t.pos}
		if chain == nil {
			chain = c
		} else {
			chain = &binaryExpr{"and", chain, c, t.pos}
		}
		prev = r
	}
	return nil, err
}

func (p *parser) math1() (expr, error) {
	x, err := p.concat()
	for err == nil && (p.isOp("+") || p.isOp("-")) {
		t := p.next()
		var r expr
		r, err = p.concat()
		x = &binaryExpr{t.s, x, r, t.pos}
	}
	return x, err
}

func (p *parser) concat() (expr, error) {
	x, err := p.math2()
	for err == nil && p.isOp("~") {
		t := p.next()
		var r expr
		r, err = p.math2()
		x = &binaryExpr{"~", x, r, t.pos}
	}
	return x, err
}

func (p *parser) math2() (expr, error) {
	x, err := p.pow()
	for err == nil && (p.isOp("*") || p.isOp("/") || p.isOp("//") || p.isOp("%")) {
		t := p.next()
		var r expr
		r, err = p.pow()
		x = &binaryExpr{t.s, x, r, t.pos}
	}
	return x, err
}

func (p *parser) pow() (expr, error) {
	x, err := p.unary()
	for err == nil && p.isOp("**") {
		t := p.next()
		var r expr
		r, err = p.unary()
		x = &binaryExpr{"**", x, r, t.pos}
	}
	return x, err
}

// unary parses a signed operand; as in Jinja2, filters and tests bind to
// the signed value: -3|abs is 3.
func (p *parser) unary() (expr, error) {
	x, err := p.unaryNoFilter()
	if err != nil {
		return nil, err
	}
	return p.filters(x)
}

func (p *parser) unaryNoFilter() (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	if p.isOp("-") || p.isOp("+") {
		t := p.next()
		x, err := p.unaryNoFilter()
		if err != nil {
			return nil, err
		}
		return &unaryExpr{t.s, x, t.pos}, nil
	}
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	return p.postfix(x)
}

func (p *parser) primary() (expr, error) {
	t := p.next()
	switch t.kind {
	case tString:
		s := t.s
		for p.tok().kind == tString { // adjacent literals concatenate
			s += p.next().s
		}
		return &literal{s}, nil
	case tInt:
		v, err := strconv.ParseInt(t.s, 10, 64)
		if err != nil {
			return nil, errAt(p.src, t.pos, "integer %s out of range", t.s)
		}
		return &literal{v}, nil
	case tFloat:
		v, err := strconv.ParseFloat(t.s, 64)
		if err != nil {
			return nil, errAt(p.src, t.pos, "bad number %s", t.s)
		}
		return &literal{v}, nil
	case tName:
		switch t.s {
		case "true", "True":
			return &literal{true}, nil
		case "false", "False":
			return &literal{false}, nil
		case "none", "None":
			return &literal{nil}, nil
		}
		return &nameExpr{t.s, t.pos}, nil
	case tOp:
		switch t.s {
		case "(":
			if p.isOp(")") {
				p.i++
				return &listExpr{tuple: true}, nil
			}
			x, err := p.tupleOrExpr()
			if err != nil {
				return nil, err
			}
			return x, p.expectOp(")")
		case "[":
			l := &listExpr{}
			for !p.isOp("]") {
				x, err := p.expr()
				if err != nil {
					return nil, err
				}
				l.items = append(l.items, x)
				if !p.isOp(",") {
					break
				}
				p.i++
			}
			return l, p.expectOp("]")
		case "{":
			d := &dictExpr{}
			for !p.isOp("}") {
				k, err := p.expr()
				if err != nil {
					return nil, err
				}
				if err := p.expectOp(":"); err != nil {
					return nil, err
				}
				v, err := p.expr()
				if err != nil {
					return nil, err
				}
				d.keys = append(d.keys, k)
				d.vals = append(d.vals, v)
				if !p.isOp(",") {
					break
				}
				p.i++
			}
			return d, p.expectOp("}")
		}
	}
	p.i--
	return nil, p.errf("unexpected %s", p.describe())
}

func (p *parser) postfix(x expr) (expr, error) {
	for {
		t := p.tok()
		switch {
		case t.kind == tOp && t.s == ".":
			p.i++
			nt := p.next()
			if nt.kind != tName && nt.kind != tInt {
				p.i--
				return nil, p.errf("expected an attribute name, found %s", p.describe())
			}
			x = &attrExpr{x, nt.s, nt.pos}
		case t.kind == tOp && t.s == "[":
			p.i++
			var err error
			if x, err = p.subscript(x, t.pos); err != nil {
				return nil, err
			}
		case t.kind == tOp && t.s == "(":
			p.i++
			pos := t.pos // errors point at the callee's name when there is one
			switch f := x.(type) {
			case *nameExpr:
				pos = f.pos
			case *attrExpr:
				pos = f.pos
			}
			c := &callExpr{fn: x, pos: pos}
			var err error
			if c.args, c.kwNames, c.kwVals, err = p.args(); err != nil {
				return nil, err
			}
			x = c
		default:
			return x, nil
		}
	}
}

// subscript parses what follows "[": an index or a slice a:b:c.
func (p *parser) subscript(x expr, pos int) (expr, error) {
	var parts [3]expr
	colons := 0
	for {
		if p.isOp("]") {
			p.i++
			break
		}
		if p.isOp(":") {
			colons++
			if colons > 2 {
				return nil, p.errf("too many ':' in slice")
			}
			p.i++
			continue
		}
		if parts[colons] != nil {
			return nil, p.errf("expected ':' or ']', found %s", p.describe())
		}
		v, err := p.expr()
		if err != nil {
			return nil, err
		}
		parts[colons] = v
	}
	if colons == 0 {
		if parts[0] == nil {
			return nil, errAt(p.src, pos, "empty subscript")
		}
		return &indexExpr{x, parts[0], pos}, nil
	}
	return &sliceExpr{x, parts[0], parts[1], parts[2], pos}, nil
}

// args parses call arguments after "(" up to and including ")".
func (p *parser) args() (args []expr, kwNames []string, kwVals []expr, err error) {
	for !p.isOp(")") {
		if p.tok().kind == tName && p.toks[p.i+1].kind == tOp && p.toks[p.i+1].s == "=" {
			kwNames = append(kwNames, p.next().s)
			p.i++
			v, err := p.expr()
			if err != nil {
				return nil, nil, nil, err
			}
			kwVals = append(kwVals, v)
		} else {
			if len(kwNames) > 0 {
				return nil, nil, nil, p.errf("positional argument after keyword argument")
			}
			v, err := p.expr()
			if err != nil {
				return nil, nil, nil, err
			}
			args = append(args, v)
		}
		if !p.isOp(",") {
			break
		}
		p.i++
	}
	return args, kwNames, kwVals, p.expectOp(")")
}

// filters parses "| name(args)" chains and "is [not] test" after a unary.
func (p *parser) filters(x expr) (expr, error) {
	for {
		switch {
		case p.isOp("|"):
			p.i++
			t := p.tok()
			name, err := p.expectName()
			if err != nil {
				return nil, err
			}
			f := &filterExpr{x: x, name: name, pos: t.pos}
			if p.isOp("(") {
				p.i++
				if f.args, f.kwNames, f.kwVals, err = p.args(); err != nil {
					return nil, err
				}
			}
			x = f
		case p.isName("is"):
			p.i++
			te := &testExpr{x: x}
			if p.isName("not") {
				p.i++
				te.negate = true
			}
			t := p.tok()
			te.pos = t.pos
			// Tests may be named like keywords ("is none", "is true").
			if t.kind != tName {
				return nil, p.errf("expected a test name, found %s", p.describe())
			}
			p.i++
			te.name = t.s
			if p.isOp("(") {
				p.i++
				args, _, _, err := p.args()
				if err != nil {
					return nil, err
				}
				te.args = args
			} else if a := p.tok(); a.kind == tString || a.kind == tInt || a.kind == tFloat ||
				a.kind == tOp && (a.s == "[" || a.s == "{") ||
				a.kind == tName && a.s != "and" && a.s != "or" && a.s != "else" && a.s != "if" && a.s != "is" && a.s != "not" && a.s != "in" {
				arg, err := p.unary()
				if err != nil {
					return nil, err
				}
				te.args = []expr{arg}
			}
			x = te
		default:
			return x, nil
		}
	}
}
