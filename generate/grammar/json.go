// Reference: RFC 8259 §§2-7 (JSON text, values, objects, arrays, numbers, strings) and llama.cpp
// common/json-schema-to-grammar.cpp (bounded whitespace and digit runs, so that output ends).

package grammar

// JSON's building blocks as rules. Whitespace and the digits of a number
// are bounded, as llama.cpp's JSON grammars bound them: an unbounded run
// is valid JSON, but a model (or a random sampler) can spend its whole
// token budget on one and never close the value.
const (
	maxSpace      = 20 // indentation after a newline between two tokens of JSON
	maxIntDigits  = 16 // integer part of a number (beyond, float64 loses digits)
	maxFracDigits = 16
	maxExpDigits  = 2
)

var (
	hexDigit = Class{Ranges: []Range{{'0', '9'}, {'a', 'f'}, {'A', 'F'}}}
	digit    = Class{Ranges: []Range{{'0', '9'}}}
	digit19  = Class{Ranges: []Range{{'1', '9'}}}
)

// addJSONBasics defines ws, json-string, json-char, json-number,
// json-integer, json-bool, json-null, json-value, json-object and
// json-array in r (each once).
func addJSONBasics(r *Rules) {
	if r.Has("json-value") {
		return
	}
	// ws is llama.cpp's: nothing, one space, or a newline and indentation
	// (unless the caller defined a ws of its own first).
	if !r.Has("ws") {
		r.Define("ws", Opt(Alt{Lit(" "), Seq{Lit("\n"), Repeat{X: Chars(" \t"), Max: maxSpace}}}))
	}
	r.Define("json-char", jsonChar(Class{Negated: true}))
	r.Define("json-string", Seq{Lit(`"`), Star(Ref("json-char")), Lit(`"`)})
	r.Define("json-integer", Seq{Opt(Lit("-")), Alt{Lit("0"), Seq{digit19, Repeat{X: digit, Max: maxIntDigits - 1}}}})
	r.Define("json-number", Seq{Ref("json-integer"),
		Opt(Seq{Lit("."), Repeat{X: digit, Min: 1, Max: maxFracDigits}}),
		Opt(Seq{Chars("eE"), Opt(Chars("+-")), Repeat{X: digit, Min: 1, Max: maxExpDigits}})})
	r.Define("json-bool", Alt{Lit("true"), Lit("false")})
	r.Define("json-null", Lit("null"))
	r.Define("json-value", Alt{Ref("json-object"), Ref("json-array"), Ref("json-string"), Ref("json-number"), Ref("json-bool"), Ref("json-null")})
	member := Seq{Ref("json-string"), Ref("ws"), Lit(":"), Ref("ws"), Ref("json-value"), Ref("ws")}
	r.Define("json-object", Seq{Lit("{"), Ref("ws"), Opt(Seq{member, Star(Seq{Lit(","), Ref("ws"), member})}), Lit("}")})
	elem := Seq{Ref("json-value"), Ref("ws")}
	r.Define("json-array", Seq{Lit("["), Ref("ws"), Opt(Seq{elem, Star(Seq{Lit(","), Ref("ws"), elem})}), Lit("]")})
}

// JSONObject is the grammar of OpenAI's response_format json_object and
// Ollama's format "json": one JSON object, any members.
func JSONObject() *Rules {
	r := &Rules{}
	r.Define("root", Seq{Ref("json-object")})
	addJSONBasics(r)
	return r
}

// JSONValue is the grammar of any one JSON value.
func JSONValue() *Rules {
	r := &Rules{}
	r.Define("root", Seq{Ref("json-value")})
	addJSONBasics(r)
	return r
}

// jsonEscapes maps the characters JSON must escape to their short escape.
var jsonEscapes = map[rune]string{'"': `\"`, '\\': `\\`, '\b': `\b`, '\f': `\f`, '\n': `\n`, '\r': `\r`, '\t': `\t`}

// jsonChar matches the JSON string encoding of one code point of c: the
// character itself when JSON allows it raw, else its escape (a short one,
// \uXXXX for other control characters). For the class of every code
// point it also takes \uXXXX escapes of any character but a surrogate, so
// that a model may write escapes, while a decoded string still has one
// code point per matched character (which minLength and maxLength count).
func jsonChar(c Class) Expr {
	rs := normRanges(c.Ranges)
	if c.Negated {
		rs = complement(rs)
	}
	special := Class{Ranges: []Range{{0, 0x1F}, {'"', '"'}, {'\\', '\\'}}}
	plain := Class{Ranges: subtract(rs, normRanges(special.Ranges))}
	// Every escape starts with a backslash; one "\\" element followed by
	// the alternatives keeps a single parse stack for all of them.
	var alts, escapes Alt
	if len(plain.Ranges) > 0 {
		alts = append(alts, plain)
	}
	for _, r := range intersect(rs, normRanges(special.Ranges)) {
		for x := r.Lo; x <= r.Hi; x++ {
			if e, ok := jsonEscapes[x]; ok {
				escapes = append(escapes, Lit(e[1:]))
			} else {
				escapes = append(escapes, Lit(`u00`+string("0123456789abcdef"[x>>4])+string("0123456789abcdef"[x&15])))
			}
		}
	}
	if c.Negated && len(c.Ranges) == 0 {
		// Any non-surrogate code point as \uXXXX: 0000-D7FF and E000-FFFF,
		// and \/ for the solidus.
		h3 := Repeat{X: hexDigit, Min: 3, Max: 3}
		escapes = Alt{Chars("\"\\/bfnrt"), Seq{Chars("u"), Alt{
			Seq{Class{Ranges: []Range{{'0', '9'}, {'a', 'c'}, {'A', 'C'}}}, h3},
			Seq{Chars("dD"), Class{Ranges: []Range{{'0', '7'}}}, Repeat{X: hexDigit, Min: 2, Max: 2}},
			Seq{Class{Ranges: []Range{{'e', 'f'}, {'E', 'F'}}}, h3},
		}}}
	}
	if len(escapes) > 0 {
		alts = append(alts, Seq{Lit(`\`), escapes})
	}
	if len(alts) == 1 {
		return alts[0]
	}
	return alts
}

// subtract returns a minus b (both normalised).
func subtract(a, b []Range) []Range { return intersect(a, complement(b)) }

// intersect returns the code points in both a and b (both normalised).
func intersect(a, b []Range) []Range {
	var out []Range
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		lo, hi := max(a[i].Lo, b[j].Lo), min(a[i].Hi, b[j].Hi)
		if lo <= hi {
			out = append(out, Range{lo, hi})
		}
		if a[i].Hi < b[j].Hi {
			i++
		} else {
			j++
		}
	}
	return out
}
