package grammar

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/tokenizer"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// testSchemas cover every keyword FromJSONSchema supports, alone and
// combined; each output sampled under them is checked by an independent
// validator (santhosh-tekuri/jsonschema, formats asserted).
var testSchemas = []string{
	// object: properties, required, additionalProperties false, integer bounds, format
	`{"type":"object","properties":{"name":{"type":"string","maxLength":12},"age":{"type":"integer","minimum":0,"maximum":150},"email":{"type":"string","format":"email"}},"required":["name","age"],"additionalProperties":false}`,
	// type unions with keywords for one of the types
	`{"type":["string","null","boolean"],"maxLength":5}`,
	`{"type":["integer","array"],"minimum":3,"maximum":7,"items":{"type":"boolean"},"maxItems":3}`,
	// enum and const, with values of every JSON type, escapes and non-ASCII
	`{"enum":["red","green",1,-2.5,null,true,{"a":[1,2]},"quo\"te\\","日本","😀"]}`,
	`{"type":"string","enum":["a",1,"b"]}`,
	`{"const":{"k":"v","n":[1,true,null]}}`,
	// arrays: items, minItems, maxItems, prefixItems, items false
	`{"type":"array","items":{"type":"integer","minimum":-5,"maximum":5},"minItems":2,"maxItems":4}`,
	`{"type":"array","prefixItems":[{"type":"string","maxLength":3},{"type":"boolean"}],"items":false}`,
	`{"type":"array","prefixItems":[{"const":1}],"items":{"enum":["x","y"]},"minItems":3,"maxItems":5}`,
	`{"type":"array","prefixItems":[{"type":"null"},{"type":"null"}],"minItems":1,"maxItems":3,"items":{"type":"boolean"}}`,
	`{"type":"array","items":{"type":"null"},"maxItems":0}`,
	// anyOf, oneOf (disjoint branches), allOf of one
	`{"anyOf":[{"type":"integer","exclusiveMinimum":10,"exclusiveMaximum":20},{"type":"string","pattern":"^[a-z]{2,4}$"}]}`,
	`{"oneOf":[{"type":"object","properties":{"kind":{"const":"a"},"x":{"type":"integer"}},"required":["kind","x"],"additionalProperties":false},{"type":"object","properties":{"kind":{"const":"b"},"y":{"type":"boolean"}},"required":["kind","y"],"additionalProperties":false}]}`,
	`{"allOf":[{"type":"boolean"}]}`,
	// $ref / $defs, recursion, definitions, a reference to the root
	`{"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer","minimum":0,"maximum":9},"kids":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":2}},"required":["v"],"additionalProperties":false}},"$ref":"#/$defs/node"}`,
	`{"type":"object","properties":{"next":{"anyOf":[{"$ref":"#"},{"type":"null"}]},"id":{"type":"integer","minimum":1,"maximum":3}},"required":["id","next"],"additionalProperties":false}`,
	`{"definitions":{"c":{"enum":["r","g"]}},"type":"array","items":{"$ref":"#/definitions/c"},"maxItems":3}`,
	// additionalProperties as a schema, and left open (the default)
	`{"type":"object","properties":{"id":{"type":"integer","minimum":0,"maximum":99}},"required":["id"],"additionalProperties":{"type":"string","maxLength":4}}`,
	`{"type":"object","properties":{"a":{"type":"boolean"},"ab":{"type":"null"}},"additionalProperties":{"type":"integer","minimum":0,"maximum":1}}`,
	// strings: lengths, patterns, formats
	`{"type":"string","minLength":3,"maxLength":6}`,
	`{"type":"string","minLength":2}`,
	`{"type":"string","pattern":"^\\d{3}-[A-Z]{2}(x|yz)?\\.?$"}`,
	`{"type":"string","pattern":"^(?:[a-f0-9]{2}:){2}[a-f0-9]{2}$"}`,
	`{"type":"string","pattern":"^[α-ω]{1,3}[^\\s\"a-z]\\w?$"}`,
	`{"type":"string","pattern":"^[^\\d\\s\\\\]{2}\\.(ab|c)+[\\x41-\\x44_-]*?$"}`,
	`{"type":"array","maxItems":2,"items":{"type":"string","pattern":"x\\d"}}`,
	`{"type":"object","properties":{"d":{"type":"string","format":"date"},"t":{"type":"string","format":"time"},"dt":{"type":"string","format":"date-time"},"u":{"type":"string","format":"uuid"}},"required":["d","t","dt","u"],"additionalProperties":false}`,
	// numbers and integers
	`{"type":"number"}`,
	`{"type":"integer","minimum":-1234,"maximum":-17}`,
	`{"type":"integer","minimum":100}`,
	`{"type":"integer","exclusiveMaximum":0.5,"minimum":-3.5}`,
	// no type: inferred from keywords; true as a schema
	`{"properties":{"x":true,"y":{"maxLength":2}},"required":["x","y"],"additionalProperties":false}`,
	`{"type":"object","properties":{"u":{"anyOf":[{"type":"string","enum":["c","f"]},{"type":"null"}]}},"required":["u","v"],"additionalProperties":{"type":"boolean"}}`,
	// OpenAI strict-mode shape: nested objects, all required
	`{"type":"object","properties":{"steps":{"type":"array","items":{"type":"object","properties":{"explanation":{"type":"string","maxLength":20},"output":{"type":"string","maxLength":10}},"required":["explanation","output"],"additionalProperties":false},"maxItems":3},"final_answer":{"type":"string","maxLength":10}},"required":["steps","final_answer"],"additionalProperties":false}`,
	`true`,
}

func compileValidator(t *testing.T, schema string) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("mem://schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("mem://schema.json")
	if err != nil {
		t.Fatalf("validator rejects %s: %v", schema, err)
	}
	return s
}

// checkSchemaSamples samples n outputs per schema with random logits and
// validates every finished one; most must finish within the budget.
func checkSchemaSamples(t *testing.T, tok *tokenizer.Tokenizer, v *Vocab, n int) {
	rng := rand.New(rand.NewPCG(7, uint64(v.Size())))
	for i, schema := range testSchemas {
		g, err := CompileJSONSchema([]byte(schema))
		if err != nil {
			t.Fatalf("schema %d %s: %v", i, schema, err)
		}
		val := compileValidator(t, schema)
		ended := 0
		for range n {
			m := NewMatcher(g, v)
			out, ok := sampleOutput(t, tok, m, v, rng, 600)
			if !ok {
				continue
			}
			ended++
			inst, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
			if err != nil {
				t.Errorf("schema %d %s: output %q is not JSON: %v", i, schema, out, err)
				continue
			}
			if err := val.Validate(inst); err != nil {
				t.Errorf("schema %d %s: output %q is invalid: %v", i, schema, out, err)
			}
		}
		if schema != "true" && ended < n/4 {
			t.Errorf("schema %d %s: only %d of %d outputs ended within the budget", i, schema, ended, n)
		}
	}
}

func TestSchemaSamplesDefaultVocab(t *testing.T) {
	tok, v := defaultVocabulary(t)
	checkSchemaSamples(t, tok, v, 12)
}

// SentencePiece with byte fallback: ▁ is a space and <0xNN> tokens spell
// any UTF-8 byte by byte, so partial characters cross token boundaries.
func TestSchemaSamplesSPM(t *testing.T) {
	tok, v := sharedVocabulary(t, "reference", "tokenizer", "ggml-vocab-llama-spm.gguf")
	checkSchemaSamples(t, tok, v, 4)
}

func TestSchemaErrors(t *testing.T) {
	cases := []struct{ schema, want string }{
		{`{"type":"object","properties":{"a":{"type":"number","multipleOf":2}}}`, "multipleOf at /properties/a: keyword not supported"},
		{`{"items":{"uniqueItems":true}}`, "uniqueItems at /items"},
		{`{"type":"strin"}`, `type at /: unknown type "strin"`},
		{`{"$ref":"#/$defs/missing"}`, `$ref at /: "#/$defs/missing" does not exist`},
		{`{"$ref":"http://example.com/s.json"}`, "only references within the document"},
		{`{"$ref":"#"}`, "left-recursive"},
		{`{"anyOf":[{"$ref":"#"}]}`, "left-recursive"},
		{`{"patternProperties":{"a":{}}}`, "patternProperties at /: keyword not supported"},
		{`{"type":"array","prefixItems":[{"type":"integer","maximum":1,"minimum":2}]}`, "/prefixItems/0: no integer lies between"},
		{`{"type":"string","pattern":"(?=a)"}`, "lookaround"},
		{`{"type":"string","pattern":"(a)\\1"}`, "back references"},
		{`{"type":"string","format":"hostname"}`, `format "hostname" is not supported`},
		{`{"type":"number","minimum":1}`, "minimum at /: supported for type integer only"},
		{`{"type":"string","minLength":-1}`, "minLength at /: must be a non-negative integer"},
		{`{"type":"array","minItems":5,"maxItems":2}`, "maxItems at /: 2 is below minItems 5"},
		{`{"properties":{"a/b~":{"not":{}}}}`, "not at /properties/a~1b~0"},
		{`{"enum":[]}`, "enum at /: must be a non-empty array"},
		{`false`, "allows no value"},
		{`{"type":"object"`, "not a JSON document"},
		{`{"properties":{"a":{}},"required":["a","b"],"additionalProperties":false}`, `required at /: "b" is required but additionalProperties false forbids it`},
		{`{"allOf":[{},{}]}`, "only an allOf of one schema"},
		{`{"minItems":20000}`, "over the limit of 10000"},
	}
	for _, c := range cases {
		_, err := CompileJSONSchema([]byte(c.schema))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.schema, err, c.want)
		}
		var se *SchemaError
		if err != nil && !strings.Contains(c.want, "left-recursive") && !errors.As(err, &se) {
			t.Errorf("%s: %v is not a *SchemaError", c.schema, err)
		}
	}
}

// Qwen's 151,851-token byte-level BPE vocabulary: many multi-byte tokens,
// CJK included.
func TestSchemaSamplesQwen(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping in -short: 152k-token masks")
	}
	tok, v := sharedVocabulary(t, "data", "5-models-tokenizers", "qwen.tiktoken")
	t.Logf("trie nodes: %d", v.TrieNodes())
	checkSchemaSamples(t, tok, v, 1)
}

func unmarshalInstance(s string) (any, error) {
	return jsonschema.UnmarshalJSON(strings.NewReader(s))
}
