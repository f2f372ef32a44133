// Reference: JSON Schema 2020-12 Validation §6.2 (minimum, maximum, exclusiveMinimum,
// exclusiveMaximum) and llama.cpp's _generate_min_max_int (decimal ranges as digit rules).

package grammar

import (
	"encoding/json"
	"math/big"
	"strings"
)

// maxIntMagnitude is the largest |value| an integer grammar produces when
// the schema gives no bound on that side (maxIntDigits digits).
var maxIntMagnitude = new(big.Int).Sub(new(big.Int).Exp(big.NewInt(10), big.NewInt(maxIntDigits), nil), big.NewInt(1))

func (c *schemaConv) integerExpr(s *object, ptr string) (Expr, error) {
	lo := new(big.Int).Neg(maxIntMagnitude)
	hi := new(big.Int).Set(maxIntMagnitude)
	bounded := false
	for _, kw := range []string{"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"} {
		v, ok := s.get(kw)
		if !ok {
			continue
		}
		n, isNum := v.(json.Number)
		if !isNum {
			return nil, c.errorf(ptr, kw, "must be a number")
		}
		r, ok := new(big.Rat).SetString(n.String())
		if !ok {
			return nil, c.errorf(ptr, kw, "must be a number")
		}
		// The integers allowed: ≥ ceil(min), > floor(xmin), ≤ floor(max), < ceil(xmax).
		fl := new(big.Int).Quo(r.Num(), r.Denom()) // truncates toward zero
		if r.Sign() < 0 && !r.IsInt() {
			fl.Sub(fl, big.NewInt(1))
		}
		ce := new(big.Int).Set(fl)
		if !r.IsInt() {
			ce.Add(ce, big.NewInt(1))
		}
		var b *big.Int
		switch kw {
		case "minimum":
			b = ce
		case "exclusiveMinimum":
			b = fl.Add(fl, big.NewInt(1))
		case "maximum":
			b = fl
		case "exclusiveMaximum":
			b = ce.Sub(ce, big.NewInt(1))
		}
		if strings.HasPrefix(kw, "min") || strings.HasPrefix(kw, "exclusiveMin") {
			if b.Cmp(lo) > 0 {
				lo = b
			}
		} else if b.Cmp(hi) < 0 {
			hi = b
		}
		bounded = true
	}
	if !bounded {
		return Ref("json-integer"), nil
	}
	if lo.Cmp(hi) > 0 {
		return nil, c.errorf(ptr, "minimum", "no integer lies between the bounds")
	}
	if lo.CmpAbs(maxIntMagnitude) > 0 && lo.Sign() < 0 || hi.CmpAbs(maxIntMagnitude) > 0 && hi.Sign() > 0 {
		lo = maxBig(lo, new(big.Int).Neg(maxIntMagnitude))
		hi = minBig(hi, maxIntMagnitude)
		if lo.Cmp(hi) > 0 {
			return nil, c.errorf(ptr, "minimum", "bounds beyond %d digits are not supported", maxIntDigits)
		}
	}
	var alts Alt
	if lo.Sign() < 0 {
		// Negative values: "-" and a magnitude in [max(1, -hi), -lo].
		mlo := big.NewInt(1)
		if hi.Sign() < 0 {
			mlo = new(big.Int).Neg(hi)
		}
		alts = append(alts, Seq{Lit("-"), decimalRange(mlo, new(big.Int).Neg(lo))})
	}
	if hi.Sign() >= 0 {
		alts = append(alts, decimalRange(maxBig(lo, big.NewInt(0)), hi))
	}
	return c.rule(ptr+"/integer", alts), nil
}

func maxBig(a, b *big.Int) *big.Int {
	if a.Cmp(b) >= 0 {
		return a
	}
	return b
}

func minBig(a, b *big.Int) *big.Int {
	if a.Cmp(b) <= 0 {
		return a
	}
	return b
}

// decimalRange matches the decimals of lo…hi (0 ≤ lo ≤ hi) without leading
// zeros: one alternative per length, each a digit-by-digit range.
func decimalRange(lo, hi *big.Int) Expr {
	ls, hs := lo.String(), hi.String()
	var alts Alt
	for n := len(ls); n <= len(hs); n++ {
		a, b := ls, hs
		if n > len(ls) {
			a = "1" + strings.Repeat("0", n-1)
		}
		if n < len(hs) {
			b = strings.Repeat("9", n)
		}
		alts = append(alts, sameLengthRange(a, b))
	}
	if len(alts) == 1 {
		return alts[0]
	}
	return alts
}

// sameLengthRange matches the digit strings of one length between a and b.
func sameLengthRange(a, b string) Expr {
	if len(a) == 0 {
		return Seq{}
	}
	if strings.Trim(a, "0") == "" && strings.Trim(b, "9") == "" {
		return Repeat{X: digit, Min: len(a), Max: len(a)} // keeps the expansion linear in the length
	}
	if a[0] == b[0] {
		return Seq{Lit(a[:1]), sameLengthRange(a[1:], b[1:])}
	}
	n := len(a) - 1
	var alts Alt
	alts = append(alts, Seq{Lit(a[:1]), sameLengthRange(a[1:], strings.Repeat("9", n))})
	if a[0]+1 <= b[0]-1 {
		alts = append(alts, Seq{Class{Ranges: []Range{{rune(a[0] + 1), rune(b[0] - 1)}}}, Repeat{X: digit, Min: n, Max: n}})
	}
	alts = append(alts, Seq{Lit(b[:1]), sameLengthRange(strings.Repeat("0", n), b[1:])})
	return alts
}
