// Reference: JSON Schema 2020-12 Core and Validation (type, properties, required,
// additionalProperties, enum, const, items, prefixItems, anyOf, oneOf, $ref/$defs, min/maxItems,
// min/maxLength, minimum/maximum, pattern, format) and OpenAI's structured outputs guide (strict
// mode's subset). The translation to rules follows llama.cpp's json-schema-to-grammar in spirit.

package grammar

import (
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// Limits on schemas, beyond Compile's.
const (
	MaxSchemaBytes = 1 << 20 // schema document size
	MaxEnum        = 10000   // values of one enum
)

// SchemaError is a schema that cannot be enforced: an unsupported keyword
// or a value that cannot mean anything. Pointer is its JSON pointer.
type SchemaError struct {
	Pointer string // "/properties/date" ("" is the root)
	Keyword string // the offending keyword, when there is one
	Msg     string
}

func (e *SchemaError) Error() string {
	p := e.Pointer
	if p == "" {
		p = "/"
	}
	if e.Keyword != "" {
		return fmt.Sprintf("json schema: %s at %s: %s", e.Keyword, p, e.Msg)
	}
	return fmt.Sprintf("json schema: at %s: %s", p, e.Msg)
}

// annotations are keywords that do not constrain values.
var annotations = map[string]bool{
	"$schema": true, "$id": true, "$comment": true, "$anchor": true, "title": true, "description": true,
	"default": true, "examples": true, "readOnly": true, "writeOnly": true, "deprecated": true,
	"$defs": true, "definitions": true, "contentMediaType": true, "contentEncoding": true,
}

// handled lists the keywords the converter enforces.
var handled = map[string]bool{
	"type": true, "properties": true, "required": true, "additionalProperties": true, "enum": true,
	"const": true, "items": true, "prefixItems": true, "anyOf": true, "oneOf": true, "allOf": true, "$ref": true,
	"minItems": true, "maxItems": true, "minLength": true, "maxLength": true, "minimum": true, "maximum": true,
	"exclusiveMinimum": true, "exclusiveMaximum": true, "pattern": true, "format": true, "uniqueItems": true,
}

// SchemaOptions change how a schema is read.
type SchemaOptions struct {
	// ClosedObjects treats an object schema without additionalProperties
	// as if it said false (llama.cpp's reading). Outputs still conform to
	// the schema, but carry only declared members: what function
	// arguments want, and what keeps a random model from wandering.
	ClosedObjects bool
	// MaxStringLength, when > 0, bounds strings whose schema sets no
	// maxLength (nor a pattern or format) to that many characters: a
	// model that never closes a string then cannot spend its whole token
	// budget inside one. Outputs still conform to the schema.
	MaxStringLength int
}

// FromJSONSchema builds the rules of the JSON texts that conform to schema
// (a JSON Schema document). A keyword it cannot enforce is a *SchemaError
// naming it and its pointer, never silently dropped. oneOf is enforced as
// anyOf: an output satisfies at least one branch, and exactly one when
// the branches are disjoint (different types, consts or required enums).
func FromJSONSchema(schema []byte) (*Rules, error) {
	return FromJSONSchemaOptions(schema, SchemaOptions{})
}

// FromJSONSchemaOptions is FromJSONSchema with options.
func FromJSONSchemaOptions(schema []byte, o SchemaOptions) (*Rules, error) {
	r := &Rules{}
	r.Define("root", nil) // first, so that it is rule 0
	e, err := addSchema(r, "", schema, o)
	if err != nil {
		return nil, err
	}
	r.Define("root", Seq{Ref("ws"), e, Ref("ws")})
	return r, nil
}

// addSchema defines in r the rules of schema's values, their names
// starting with prefix, and returns the expression for one value.
func addSchema(r *Rules, prefix string, schema []byte, o SchemaOptions) (Expr, error) {
	if len(schema) > MaxSchemaBytes {
		return nil, &SchemaError{Msg: fmt.Sprintf("schema of %d bytes is over the limit of %d", len(schema), MaxSchemaBytes)}
	}
	doc, err := decodeOrdered(schema)
	if err != nil {
		return nil, &SchemaError{Msg: "not a JSON document: " + err.Error()}
	}
	c := &schemaConv{doc: doc, rules: r, prefix: prefix, opts: o, refs: map[string]string{}, seq: map[string]int{}}
	e, err := c.convert(doc, "")
	if err != nil {
		return nil, err
	}
	addJSONBasics(r)
	return e, nil
}

// CompileJSONSchema converts and compiles schema.
func CompileJSONSchema(schema []byte) (*Grammar, error) {
	r, err := FromJSONSchema(schema)
	if err != nil {
		return nil, err
	}
	return Compile(r, "root")
}

type schemaConv struct {
	doc    any
	rules  *Rules
	prefix string // of every rule name, so that several schemas share one Rules
	opts   SchemaOptions
	refs   map[string]string // $ref target pointer → rule name
	seq    map[string]int    // names made from each base so far
	steps  int
}

func (c *schemaConv) errorf(ptr, kw, format string, args ...any) error {
	return &SchemaError{Pointer: ptr, Keyword: kw, Msg: fmt.Sprintf(format, args...)}
}

// name returns a fresh rule name derived from ptr, and reserves it.
func (c *schemaConv) name(ptr string) string {
	var b strings.Builder
	b.WriteString(c.prefix)
	b.WriteString("s")
	for _, r := range ptr {
		if r < 128 && isWordChar(byte(r)) {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	base := b.String()
	n := base
	for c.rules.Has(n) {
		c.seq[base]++ // per base, so that many names from one base cost O(1) each
		n = base + "-" + strconv.Itoa(c.seq[base]+1)
	}
	c.rules.Define(n, nil)
	return n
}

func escapePtr(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}

// convert returns an expression for the values s allows.
func (c *schemaConv) convert(s any, ptr string) (Expr, error) {
	c.steps++
	if c.steps > MaxRules {
		return nil, c.errorf(ptr, "", "schema too large (more than %d subschemas)", MaxRules)
	}
	switch s := s.(type) {
	case bool:
		if s {
			return Ref("json-value"), nil
		}
		return nil, c.errorf(ptr, "", "the schema false allows no value")
	case *object:
		return c.convertObject(s, ptr)
	}
	return nil, c.errorf(ptr, "", "a schema must be an object or a boolean")
}

func (c *schemaConv) convertObject(s *object, ptr string) (Expr, error) {
	for _, k := range s.keys {
		if !annotations[k] && !handled[k] {
			return nil, c.errorf(ptr, k, "keyword not supported")
		}
	}
	if ref, ok := s.get("$ref"); ok {
		for _, k := range s.keys {
			if k != "$ref" && handled[k] {
				return nil, c.errorf(ptr, k, "not supported beside $ref")
			}
		}
		return c.ref(ref, ptr)
	}
	if v, ok := s.get("allOf"); ok {
		a, isArr := v.([]any)
		if !isArr || len(a) != 1 {
			return nil, c.errorf(ptr, "allOf", "only an allOf of one schema is supported")
		}
		if len(s.keys) > 1 && hasOtherConstraints(s, "allOf") {
			return nil, c.errorf(ptr, "allOf", "not supported beside other constraining keywords")
		}
		return c.convert(a[0], ptr+"/allOf/0")
	}
	if v, ok := s.get("uniqueItems"); ok && v != false {
		return nil, c.errorf(ptr, "uniqueItems", "only uniqueItems false is supported")
	}
	for _, kw := range []string{"anyOf", "oneOf"} {
		v, ok := s.get(kw)
		if !ok {
			continue
		}
		if hasOtherConstraints(s, kw) {
			return nil, c.errorf(ptr, kw, "not supported beside other constraining keywords (move them into each branch)")
		}
		a, isArr := v.([]any)
		if !isArr || len(a) == 0 {
			return nil, c.errorf(ptr, kw, "must be a non-empty array of schemas")
		}
		var alts Alt
		for i, x := range a {
			e, err := c.convert(x, fmt.Sprintf("%s/%s/%d", ptr, kw, i))
			if err != nil {
				return nil, err
			}
			alts = append(alts, e)
		}
		return c.rule(ptr+"/"+kw, alts), nil
	}
	if v, ok := s.get("const"); ok {
		if hasOtherConstraints(s, "const") {
			return nil, c.errorf(ptr, "const", "not supported beside other constraining keywords")
		}
		var b strings.Builder
		encodeCompact(&b, v)
		return Lit(b.String()), nil
	}
	if v, ok := s.get("enum"); ok {
		if hasOtherConstraints(s, "enum", "type") {
			return nil, c.errorf(ptr, "enum", "not supported beside constraining keywords other than type")
		}
		a, isArr := v.([]any)
		if !isArr || len(a) == 0 {
			return nil, c.errorf(ptr, "enum", "must be a non-empty array")
		}
		if len(a) > MaxEnum {
			return nil, c.errorf(ptr, "enum", "%d values are over the limit of %d", len(a), MaxEnum)
		}
		types, err := c.types(s, ptr)
		if err != nil {
			return nil, err
		}
		var alts Alt
		for _, x := range a {
			if types != nil && !slices.Contains(types, typeOf(x)) && !(typeOf(x) == "integer" && slices.Contains(types, "number")) {
				continue // excluded by type
			}
			var b strings.Builder
			encodeCompact(&b, x)
			alts = append(alts, Lit(b.String()))
		}
		if len(alts) == 0 {
			return nil, c.errorf(ptr, "enum", "no value is of the schema's type")
		}
		return c.rule(ptr+"/enum", alts), nil
	}
	types, err := c.types(s, ptr)
	if err != nil {
		return nil, err
	}
	if types == nil {
		types = inferTypes(s)
	}
	var alts Alt
	for _, t := range types {
		e, err := c.typed(s, t, ptr)
		if err != nil {
			return nil, err
		}
		alts = append(alts, e)
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	return c.rule(ptr+"/type", alts), nil
}

// rule defines a fresh rule for e and returns a reference to it.
func (c *schemaConv) rule(ptr string, e Expr) Expr {
	n := c.name(ptr)
	c.rules.Define(n, e)
	return Ref(n)
}

// hasOtherConstraints reports whether s has constraining keywords other
// than those in except.
func hasOtherConstraints(s *object, except ...string) bool {
	for _, k := range s.keys {
		if handled[k] && !slices.Contains(except, k) {
			return true
		}
	}
	return false
}

func typeOf(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if r, ok := new(big.Rat).SetString(v.String()); ok && r.IsInt() {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	}
	return "object"
}

var typeNames = []string{"object", "array", "string", "number", "integer", "boolean", "null"}

// types returns the schema's type list, or nil when it has none.
func (c *schemaConv) types(s *object, ptr string) ([]string, error) {
	v, ok := s.get("type")
	if !ok {
		return nil, nil
	}
	var list []string
	switch v := v.(type) {
	case string:
		list = []string{v}
	case []any:
		for _, x := range v {
			t, isStr := x.(string)
			if !isStr {
				return nil, c.errorf(ptr, "type", "must be a string or an array of strings")
			}
			list = append(list, t)
		}
	default:
		return nil, c.errorf(ptr, "type", "must be a string or an array of strings")
	}
	if len(list) == 0 {
		return nil, c.errorf(ptr, "type", "an empty type list allows no value")
	}
	for _, t := range list {
		if !slices.Contains(typeNames, t) {
			return nil, c.errorf(ptr, "type", "unknown type %q", t)
		}
	}
	if slices.Contains(list, "number") && slices.Contains(list, "integer") {
		list = slices.DeleteFunc(list, func(t string) bool { return t == "integer" })
	}
	return list, nil
}

// inferTypes gives a schema without "type" the types its keywords speak of
// (every JSON value when none does).
func inferTypes(s *object) []string {
	var ts []string
	has := func(ks ...string) bool {
		for _, k := range ks {
			if _, ok := s.get(k); ok {
				return true
			}
		}
		return false
	}
	if has("properties", "required", "additionalProperties") {
		ts = append(ts, "object")
	}
	if has("items", "prefixItems", "minItems", "maxItems") {
		ts = append(ts, "array")
	}
	if has("minLength", "maxLength", "pattern", "format") {
		ts = append(ts, "string")
	}
	if has("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") {
		ts = append(ts, "number")
	}
	if ts == nil {
		return []string{"any"}
	}
	return ts
}

// ref resolves a $ref within the document ("#", "#/$defs/x", any JSON
// pointer) to a rule of its own, made once, so recursion is a cycle of
// rule references.
func (c *schemaConv) ref(v any, ptr string) (Expr, error) {
	ref, ok := v.(string)
	if !ok || !strings.HasPrefix(ref, "#") {
		return nil, c.errorf(ptr, "$ref", "only references within the document (#...) are supported, not %v", v)
	}
	target := ref[1:]
	if n, ok := c.refs[target]; ok {
		return Ref(n), nil
	}
	node, err := c.resolve(target, ptr)
	if err != nil {
		return nil, err
	}
	n := c.name(target) // reserved now, for recursive references
	c.refs[target] = n
	e, err := c.convert(node, target)
	if err != nil {
		return nil, err
	}
	c.rules.Define(n, e)
	return Ref(n), nil
}

func (c *schemaConv) resolve(target, ptr string) (any, error) {
	node := c.doc
	if target == "" {
		return node, nil
	}
	if !strings.HasPrefix(target, "/") {
		return nil, c.errorf(ptr, "$ref", "%q is not a JSON pointer (anchors are not supported)", "#"+target)
	}
	for _, part := range strings.Split(target[1:], "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		switch n := node.(type) {
		case *object:
			v, ok := n.get(part)
			if !ok {
				return nil, c.errorf(ptr, "$ref", "%q does not exist in the schema", "#"+target)
			}
			node = v
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(n) {
				return nil, c.errorf(ptr, "$ref", "%q does not exist in the schema", "#"+target)
			}
			node = n[i]
		default:
			return nil, c.errorf(ptr, "$ref", "%q does not exist in the schema", "#"+target)
		}
	}
	return node, nil
}

// typed returns the expression for values of type t under s's keywords.
func (c *schemaConv) typed(s *object, t, ptr string) (Expr, error) {
	switch t {
	case "any":
		return Ref("json-value"), nil
	case "null":
		return Ref("json-null"), nil
	case "boolean":
		return Ref("json-bool"), nil
	case "string":
		return c.stringExpr(s, ptr)
	case "integer":
		return c.integerExpr(s, ptr)
	case "number":
		for _, k := range []string{"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"} {
			if _, ok := s.get(k); ok {
				return nil, c.errorf(ptr, k, "supported for type integer only")
			}
		}
		return Ref("json-number"), nil
	case "array":
		return c.arrayExpr(s, ptr)
	case "object":
		return c.objectExpr(s, ptr)
	}
	return nil, c.errorf(ptr, "type", "unknown type %q", t)
}

// count reads a non-negative integer keyword (-1 when absent).
func (c *schemaConv) count(s *object, kw, ptr string) (int, error) {
	v, ok := s.get(kw)
	if !ok {
		return -1, nil
	}
	n, isNum := v.(json.Number)
	if !isNum {
		return 0, c.errorf(ptr, kw, "must be a non-negative integer")
	}
	i, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil || i < 0 {
		if f, ferr := strconv.ParseFloat(n.String(), 64); ferr == nil && f >= 0 && f == float64(int64(f)) {
			i, err = int64(f), nil
		} else {
			return 0, c.errorf(ptr, kw, "must be a non-negative integer")
		}
	}
	if i > MaxRepeat {
		return 0, c.errorf(ptr, kw, "%d is over the limit of %d", i, MaxRepeat)
	}
	return int(i), nil
}

func (c *schemaConv) objectExpr(s *object, ptr string) (Expr, error) {
	var props *object
	if v, ok := s.get("properties"); ok {
		p, isObj := v.(*object)
		if !isObj {
			return nil, c.errorf(ptr, "properties", "must be an object")
		}
		props = p
	} else {
		props = &object{vals: map[string]any{}}
	}
	required := map[string]bool{}
	if v, ok := s.get("required"); ok {
		a, isArr := v.([]any)
		if !isArr {
			return nil, c.errorf(ptr, "required", "must be an array of strings")
		}
		for _, x := range a {
			k, isStr := x.(string)
			if !isStr {
				return nil, c.errorf(ptr, "required", "must be an array of strings")
			}
			if _, ok := props.get(k); !ok {
				// A required name with no schema of its own: it is an
				// additional property, listed after the declared ones.
				ap, ok := s.get("additionalProperties")
				if !ok && c.opts.ClosedObjects {
					ap, ok = true, true // required by name: allowed, of any value
				}
				if ap == false {
					return nil, c.errorf(ptr, "required", "%q is required but additionalProperties false forbids it", k)
				}
				if !ok {
					ap = true
				}
				props.keys = append(props.keys, k)
				props.vals[k] = ap
			}
			required[k] = true
		}
	}
	// Additional properties: allowed by default, as JSON Schema says,
	// unless the options close objects.
	var extra Expr = Ref("json-value")
	if c.opts.ClosedObjects {
		extra = nil
	}
	if v, ok := s.get("additionalProperties"); ok {
		if v == false {
			extra = nil
		} else {
			e, err := c.convert(v, ptr+"/additionalProperties")
			if err != nil {
				return nil, err
			}
			extra = e
		}
	}
	kvs := make([]Expr, len(props.keys))
	for i, k := range props.keys {
		e, err := c.convert(props.vals[k], ptr+"/properties/"+escapePtr(k))
		if err != nil {
			return nil, err
		}
		kvs[i] = Seq{Lit(quoteJSON(k)), Ref("ws"), Lit(":"), Ref("ws"), e, Ref("ws")}
	}
	base := c.name(ptr)
	var extraKV Expr
	if extra != nil {
		keyName := c.name(ptr + "/additional-key")
		c.rules.Define(keyName, Seq{Lit(`"`), notStrings(c, ptr+"/additional-key", props.keys), Lit(`"`)})
		extraKV = Seq{Ref(keyName), Ref("ws"), Lit(":"), Ref("ws"), extra, Ref("ws")}
	}
	// rest_i: the members from i on, after at least one member (each
	// preceded by a comma); first_i: the same with nothing written yet.
	n := len(kvs)
	rest := make([]string, n+1)
	first := make([]string, n+1)
	for i := range n + 1 {
		rest[i] = c.name(fmt.Sprintf("%s/rest%d", ptr, i))
		first[i] = c.name(fmt.Sprintf("%s/first%d", ptr, i))
	}
	comma := Seq{Lit(","), Ref("ws")}
	if extraKV != nil {
		c.rules.Define(rest[n], Star(Seq{comma, extraKV}))
		c.rules.Define(first[n], Opt(Seq{extraKV, Ref(rest[n])}))
	} else {
		c.rules.Define(rest[n], Seq{})
		c.rules.Define(first[n], Seq{})
	}
	for i := n - 1; i >= 0; i-- {
		if required[props.keys[i]] {
			c.rules.Define(rest[i], Seq{comma, kvs[i], Ref(rest[i+1])})
			c.rules.Define(first[i], Seq{kvs[i], Ref(rest[i+1])})
		} else {
			c.rules.Define(rest[i], Seq{Opt(Seq{comma, kvs[i]}), Ref(rest[i+1])})
			c.rules.Define(first[i], Alt{Seq{kvs[i], Ref(rest[i+1])}, Ref(first[i+1])})
		}
	}
	c.rules.Define(base, Seq{Lit("{"), Ref("ws"), Ref(first[0]), Lit("}")})
	return Ref(base), nil
}

// notStrings matches the raw (escape-free) JSON string contents other
// than the given names, so that an additional property never repeats a
// declared one. It walks the names' trie: a character off the trie frees
// the rest; ending is allowed except exactly at a name.
func notStrings(c *schemaConv, base string, names []string) Expr {
	plain := Class{Ranges: subtract(complement(nil), normRanges([]Range{{0, 0x1F}, {'"', '"'}, {'\\', '\\'}}))}
	if len(names) == 0 {
		return Star(plain)
	}
	type tnode struct {
		kids  map[rune]*tnode
		order []rune
		final bool
	}
	root := &tnode{kids: map[rune]*tnode{}}
	for _, n := range names {
		t := root
		for _, r := range n {
			k, ok := t.kids[r]
			if !ok {
				k = &tnode{kids: map[rune]*tnode{}}
				t.kids[r] = k
				t.order = append(t.order, r)
			}
			t = k
		}
		t.final = true
	}
	free := c.name(base + "/free")
	c.rules.Define(free, Star(plain))
	var build func(t *tnode) Expr
	build = func(t *tnode) Expr {
		var alts Alt
		var listed []Range
		for _, r := range t.order {
			listed = append(listed, Range{r, r})
			if r < 0x20 || r == '"' || r == '\\' {
				continue // a name needing an escape cannot be written raw
			}
			alts = append(alts, Seq{Lit(string(r)), build(t.kids[r])})
		}
		other := Class{Ranges: subtract(plain.Ranges, normRanges(listed))}
		if len(other.Ranges) > 0 {
			alts = append(alts, Seq{other, Ref(free)})
		}
		if !t.final {
			alts = append(alts, Seq{})
		}
		if len(alts) == 0 {
			return Class{} // nothing: matches no input
		}
		return c.rule(base+"/n", alts)
	}
	return build(root)
}

func (c *schemaConv) arrayExpr(s *object, ptr string) (Expr, error) {
	minN, err := c.count(s, "minItems", ptr)
	if err != nil {
		return nil, err
	}
	maxN, err := c.count(s, "maxItems", ptr)
	if err != nil {
		return nil, err
	}
	minN = max(minN, 0)
	if maxN >= 0 && maxN < minN {
		return nil, c.errorf(ptr, "maxItems", "%d is below minItems %d", maxN, minN)
	}
	var prefix []Expr
	if v, ok := s.get("prefixItems"); ok {
		a, isArr := v.([]any)
		if !isArr {
			return nil, c.errorf(ptr, "prefixItems", "must be an array of schemas")
		}
		for i, x := range a {
			e, err := c.convert(x, fmt.Sprintf("%s/prefixItems/%d", ptr, i))
			if err != nil {
				return nil, err
			}
			prefix = append(prefix, e)
		}
	}
	var item Expr = Ref("json-value")
	if v, ok := s.get("items"); ok {
		if v == false {
			item = nil
			if maxN < 0 || maxN > len(prefix) {
				maxN = len(prefix)
			}
			if minN > maxN {
				return nil, c.errorf(ptr, "minItems", "%d needs more items than items false allows", minN)
			}
		} else if e, err := c.convert(v, ptr+"/items"); err != nil {
			return nil, err
		} else {
			item = e
		}
	}
	base := c.name(ptr)
	elem := func(i int) Expr {
		if i < len(prefix) {
			return Seq{prefix[i], Ref("ws")}
		}
		return Seq{item, Ref("ws")}
	}
	comma := Seq{Lit(","), Ref("ws")}
	// tail(i): the elements from index i on, each after a comma.
	var tail func(i int) Expr
	tail = func(i int) Expr {
		if maxN >= 0 && i >= maxN {
			return Seq{}
		}
		if i >= len(prefix) {
			if item == nil {
				return Seq{}
			}
			most := -1
			if maxN >= 0 {
				most = maxN - i
			}
			return Seq{Repeat{X: Seq{comma, elem(i)}, Min: max(minN-i, 0), Max: most}}
		}
		name := c.name(fmt.Sprintf("%s/tail%d", ptr, i))
		next := tail(i + 1)
		if i < minN {
			c.rules.Define(name, Seq{comma, elem(i), next})
		} else {
			c.rules.Define(name, Opt(Seq{comma, elem(i), next}))
		}
		return Ref(name)
	}
	var body Expr
	if maxN == 0 || (item == nil && len(prefix) == 0) {
		body = Seq{}
	} else if minN > 0 {
		body = Seq{elem(0), tail(1)}
	} else {
		body = Opt(Seq{elem(0), tail(1)})
	}
	c.rules.Define(base, Seq{Lit("["), Ref("ws"), body, Lit("]")})
	return Ref(base), nil
}

func (c *schemaConv) stringExpr(s *object, ptr string) (Expr, error) {
	minL, err := c.count(s, "minLength", ptr)
	if err != nil {
		return nil, err
	}
	maxL, err := c.count(s, "maxLength", ptr)
	if err != nil {
		return nil, err
	}
	_, hasPattern := s.get("pattern")
	_, hasFormat := s.get("format")
	if hasPattern || hasFormat {
		if minL >= 0 || maxL >= 0 {
			return nil, c.errorf(ptr, "minLength", "length limits beside pattern or format are not supported")
		}
		if hasPattern && hasFormat {
			return nil, c.errorf(ptr, "format", "format beside pattern is not supported")
		}
		var body Expr
		if hasPattern {
			p, isStr := s.vals["pattern"].(string)
			if !isStr {
				return nil, c.errorf(ptr, "pattern", "must be a string")
			}
			b, err := patternExpr(p)
			if err != nil {
				return nil, c.errorf(ptr, "pattern", "%v", err)
			}
			body = b
		} else {
			f, _ := s.vals["format"].(string)
			b, ok := formatExpr(f)
			if !ok {
				return nil, c.errorf(ptr, "format", "format %q is not supported (date, time, date-time, uuid, email are)", f)
			}
			body = b
		}
		return c.rule(ptr+"/string", Seq{Lit(`"`), body, Lit(`"`)}), nil
	}
	if maxL < 0 && c.opts.MaxStringLength > 0 {
		maxL = max(c.opts.MaxStringLength, minL)
	}
	if minL < 0 && maxL < 0 {
		return Ref("json-string"), nil
	}
	minL = max(minL, 0)
	if maxL >= 0 && maxL < minL {
		return nil, c.errorf(ptr, "maxLength", "%d is below minLength %d", maxL, minL)
	}
	return c.rule(ptr+"/string", Seq{Lit(`"`), Repeat{X: Ref("json-char"), Min: minL, Max: maxL}, Lit(`"`)}), nil
}
