// Reference: issue #23 "Tools" (calculator: exact rational arithmetic, not float eval); math/big.Rat;
// the grammar is the usual precedence-climbing one (expr = term {(+|-) term}, term = unary {(*|/) unary},
// unary = [+|-] power, power = atom [^ unary], right-associative).

package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
)

// Bounds that keep a call cheap whatever the model writes.
const (
	calcMaxInput    = 1000  // bytes of expression
	calcMaxExponent = 4096  // |n| in a^n
	calcMaxBits     = 65536 // bits of a numerator or denominator
)

// Calculator is the calculator tool: + - * / ^ and parentheses over exact
// rationals, so 0.1+0.2 is exactly 3/10 and 2^100 is exact.
func Calculator() Tool {
	return &FuncTool{
		ToolSpec: ToolSpec{
			Name:        "calculator",
			Description: "Exact arithmetic: + - * / ^ (integer powers), parentheses, decimals like 1.5 or 2e-3.",
			Parameters:  schema(map[string]map[string]any{"expression": prop("string", "e.g. (1/3 + 0.5) * 2^10")}, "expression"),
		},
		Fn: func(_ context.Context, args json.RawMessage) (string, error) {
			var a struct{ Expression string }
			if err := decodeArgs("calculator", args, &a); err != nil {
				return "", err
			}
			v, err := Calc(a.Expression)
			if err != nil {
				return "", err
			}
			return FormatRat(v), nil
		},
	}
}

// FormatRat writes an exact value: an integer as itself, else the fraction
// and a decimal to 12 places ("1/3 ≈ 0.333333333333"), or the exact
// decimal when it terminates within them ("3/10 = 0.3").
func FormatRat(v *big.Rat) string {
	if v.IsInt() {
		return v.Num().String()
	}
	d := strings.TrimRight(v.FloatString(12), "0")
	back, ok := new(big.Rat).SetString(d)
	if ok && back.Cmp(v) == 0 {
		return v.RatString() + " = " + d
	}
	return v.RatString() + " ≈ " + v.FloatString(12)
}

// Calc evaluates expr exactly.
func Calc(expr string) (*big.Rat, error) {
	if len(expr) > calcMaxInput {
		return nil, fmt.Errorf("calculator: expression of %d bytes (at most %d)", len(expr), calcMaxInput)
	}
	p := &calcParser{s: expr}
	v, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i < len(p.s) {
		return nil, p.errorf("unexpected %q", p.s[p.i:])
	}
	return v, nil
}

type calcParser struct {
	s string
	i int
}

func (p *calcParser) errorf(format string, a ...any) error {
	return fmt.Errorf("calculator: %q at byte %d: %s", p.s, p.i, fmt.Sprintf(format, a...))
}

func (p *calcParser) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\n\r", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *calcParser) peek() byte {
	p.space()
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// depth bounds nesting, so "((((…" cannot exhaust the stack.
const calcMaxDepth = 200

func (p *calcParser) expr(depth int) (*big.Rat, error) {
	if depth > calcMaxDepth {
		return nil, p.errorf("nested too deeply")
	}
	v, err := p.term(depth)
	if err != nil {
		return nil, err
	}
	for {
		switch p.peek() {
		case '+', '-':
			op := p.s[p.i]
			p.i++
			w, err := p.term(depth)
			if err != nil {
				return nil, err
			}
			if op == '+' {
				v.Add(v, w)
			} else {
				v.Sub(v, w)
			}
			if err := p.checkSize(v); err != nil {
				return nil, err
			}
		default:
			return v, nil
		}
	}
}

func (p *calcParser) term(depth int) (*big.Rat, error) {
	v, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for {
		switch p.peek() {
		case '*', '/':
			op := p.s[p.i]
			p.i++
			w, err := p.unary(depth)
			if err != nil {
				return nil, err
			}
			if op == '*' {
				v.Mul(v, w)
			} else {
				if w.Sign() == 0 {
					return nil, p.errorf("division by zero")
				}
				v.Quo(v, w)
			}
			if err := p.checkSize(v); err != nil {
				return nil, err
			}
		default:
			return v, nil
		}
	}
}

func (p *calcParser) unary(depth int) (*big.Rat, error) {
	switch p.peek() {
	case '-':
		p.i++
		v, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return v.Neg(v), nil
	case '+':
		p.i++
		return p.unary(depth + 1)
	}
	return p.power(depth)
}

func (p *calcParser) power(depth int) (*big.Rat, error) {
	base, err := p.atom(depth)
	if err != nil {
		return nil, err
	}
	if p.peek() != '^' {
		return base, nil
	}
	p.i++
	e, err := p.unary(depth + 1)
	if err != nil {
		return nil, err
	}
	if !e.IsInt() || e.Num().CmpAbs(big.NewInt(calcMaxExponent)) > 0 {
		return nil, p.errorf("exponent %s: only integers up to %d in size", e.RatString(), calcMaxExponent)
	}
	n := e.Num().Int64()
	if n < 0 && base.Sign() == 0 {
		return nil, p.errorf("division by zero (0 to a negative power)")
	}
	// Bound the result before computing it: bits grow n-fold.
	if bits := max(base.Num().BitLen(), base.Denom().BitLen()) * int(max(n, -n)); bits > calcMaxBits {
		return nil, p.errorf("result too large (about %d bits; at most %d)", bits, calcMaxBits)
	}
	abs := big.NewInt(max(n, -n))
	num := new(big.Int).Exp(base.Num(), abs, nil)
	den := new(big.Int).Exp(base.Denom(), abs, nil)
	if n < 0 {
		num, den = den, num
	}
	return new(big.Rat).SetFrac(num, den), nil
}

func (p *calcParser) atom(depth int) (*big.Rat, error) {
	c := p.peek()
	switch {
	case c == '(':
		p.i++
		v, err := p.expr(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.peek() != ')' {
			return nil, p.errorf("missing )")
		}
		p.i++
		return v, nil
	case c >= '0' && c <= '9' || c == '.':
		start := p.i
		for p.i < len(p.s) && (p.s[p.i] >= '0' && p.s[p.i] <= '9' || p.s[p.i] == '.' || p.s[p.i] == '_') {
			p.i++
		}
		if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
			j := p.i + 1
			if j < len(p.s) && (p.s[j] == '+' || p.s[j] == '-') {
				j++
			}
			if j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
				for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
					j++
				}
				p.i = j
			}
		}
		lit := strings.ReplaceAll(p.s[start:p.i], "_", "")
		if len(lit) > 200 {
			return nil, p.errorf("number too long")
		}
		if k := strings.IndexAny(lit, "eE"); k >= 0 {
			var exp int
			if _, err := fmt.Sscan(lit[k+1:], &exp); err != nil || exp > calcMaxExponent || exp < -calcMaxExponent {
				return nil, p.errorf("exponent of %q out of range", lit)
			}
		}
		v, ok := new(big.Rat).SetString(lit)
		if !ok {
			p.i = start
			return nil, p.errorf("bad number %q", lit)
		}
		return v, nil
	case c == 0:
		return nil, p.errorf("expression ends early")
	}
	return nil, p.errorf("unexpected %q", string(c))
}

func (p *calcParser) checkSize(v *big.Rat) error {
	if v.Num().BitLen() > calcMaxBits || v.Denom().BitLen() > calcMaxBits {
		return p.errorf("result too large (more than %d bits)", calcMaxBits)
	}
	return nil
}
