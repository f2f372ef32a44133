package grammar

import (
	"encoding/json"
	"flag"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Grammars in llama.cpp's GBNF, written for these tests in the style of
// its grammars/ directory (JSON, arithmetic, lists, a chess-like move list).
const (
	jsonGBNF = `# JSON, with bounded whitespace
root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws

object ::=
  "{" ws (
            string ":" ws value
    ("," ws string ":" ws value)*
  )? "}" ws

array  ::=
  "[" ws (
            value
    ("," ws value)*
  )? "]" ws

string ::=
  "\"" (
    [^"\\\x7F\x00-\x1F] |
    "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
  )* "\"" ws

number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]?)? ws
ws ::= | " " | "\n" [ \t]{0,20}
`
	arithmeticGBNF = `root  ::= (expr "=" ws term "\n"){1,2}
expr  ::= term ([-+*/] term)*
term  ::= ident | num | "(" ws expr ")" ws
ident ::= [a-z] [a-z0-9_]* ws
num   ::= [0-9]+ ws
ws    ::= [ \t]{0,2}
`
	listGBNF = `root ::= item{1,4}
item ::= "- " [a-zA-Zé]{1,8} "\n"
`
)

func TestGBNFSamples(t *testing.T) {
	tok, v := defaultVocabulary(t)
	cases := []struct {
		name, src string
		check     func(string) bool
	}{
		{"json", jsonGBNF, func(s string) bool { return json.Valid([]byte(s)) }},
		{"arithmetic", arithmeticGBNF, regexp.MustCompile(`^([-+*/=()a-z0-9_ \t]+\n)+$`).MatchString},
		{"list", listGBNF, regexp.MustCompile(`^(- [a-zA-Zé]{1,8}\n){1,4}$`).MatchString},
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range cases {
		g, err := CompileGBNF(c.src)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		ended := 0
		for range 16 {
			out, ok := sampleOutput(t, tok, NewMatcher(g, v), v, rng, 600)
			if !ok {
				continue
			}
			ended++
			if !c.check(out) {
				t.Errorf("%s: output %q fails the independent check", c.name, out)
			}
			m := NewMatcher(g, nil)
			if err := m.AcceptBytes([]byte(out)); err != nil || !m.Accepting() {
				t.Errorf("%s: output %q is not a sentence when fed whole: %v", c.name, out, err)
			}
		}
		if ended < 3 {
			t.Errorf("%s: only %d of 16 outputs ended", c.name, ended)
		}
	}
}

// TestHostileInputs: deep nesting, huge enums and recursive references are
// errors or bounded work, never a panic or an unbounded allocation.
func TestHostileInputs(t *testing.T) {
	deep := strings.Repeat(`{"items":`, 5000) + `{}` + strings.Repeat(`}`, 5000)
	var enum strings.Builder
	enum.WriteString(`{"enum":[`)
	for i := range MaxEnum + 1 {
		if i > 0 {
			enum.WriteByte(',')
		}
		enum.WriteString(`"v` + strings.Repeat("x", i%7) + `"`)
	}
	enum.WriteString(`]}`)
	bigEnum := strings.Replace(enum.String(), `"v",`, ``, 1) // exactly MaxEnum values: accepted
	var props strings.Builder
	props.WriteString(`{"type":"object","additionalProperties":{"type":"null"},"properties":{`)
	for i := range 5000 {
		if i > 0 {
			props.WriteByte(',')
		}
		props.WriteString(`"p` + strconv.Itoa(i) + `":{"type":"integer"}`)
	}
	props.WriteString(`}}`)
	cases := []struct {
		name, schema, want string
	}{
		{"many properties, additional ones named apart", props.String(), ""},
		{"deep nesting", deep, "nested deeper than"},
		{"enum over the limit", enum.String(), "over the limit"},
		{"enum at the limit", bigEnum, ""},
		{"recursion through refs", `{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"anyOf":[{"$ref":"#/$defs/a"},{"type":"null"}]}},"$ref":"#/$defs/a"}`, "left-recursive"},
		{"mutual recursion guarded", `{"$defs":{"a":{"type":"array","items":{"$ref":"#/$defs/b"}},"b":{"type":"array","items":{"$ref":"#/$defs/a"}}},"$ref":"#/$defs/a"}`, ""},
		{"huge repetition", `{"type":"array","minItems":10000,"maxItems":10000,"items":{"type":"array","minItems":10000,"items":{"type":"null"}}}`, ""},
		{"pattern nesting", `{"type":"string","pattern":"` + strings.Repeat("(", 40) + "a" + strings.Repeat(")", 40) + `"}`, "nested deeper"},
	}
	// Bounded work is checked by what the compiler refuses and by the test
	// binary's timeout, not by a wall-clock bound: on a loaded two-core
	// machine "many properties" alone has taken 6 s.
	for _, c := range cases {
		g, err := CompileJSONSchema([]byte(c.schema))
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
		if g != nil {
			m := NewMatcher(g, nil)
			_ = m.AcceptBytes([]byte(`[[[[null]]]]`))
		}
	}
	// Grammars with exponentially many derivations of one stack.
	var src strings.Builder
	src.WriteString("root ::= r0\n")
	for i := range 60 {
		src.WriteString("r" + strconv.Itoa(i) + " ::= r" + strconv.Itoa(i+1) + " | r" + strconv.Itoa(i+1) + "\n")
	}
	src.WriteString("r60 ::= \"a\"*\n")
	start := time.Now()
	g, err := CompileGBNF(src.String())
	if err != nil {
		t.Fatal(err)
	}
	m := NewMatcher(g, nil)
	if err := m.AcceptBytes([]byte("aaaa")); err != nil || !m.Accepting() {
		t.Errorf("ambiguous chain: %v", err)
	}
	// 2^60 derivations would never finish; a linear walk takes
	// milliseconds. The bound only tells the two apart, with room for a
	// loaded machine.
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("ambiguous chain took %v", d)
	}
}

func FuzzGBNF(f *testing.F) {
	for _, s := range []string{jsonGBNF, arithmeticGBNF, listGBNF, `root ::= [^a-z]{2,5} | "x"?`, `root ::= (a)*` + "\na ::= \"\\u00e9\" root?"} {
		f.Add(s, []byte(`{"a": [1, "x"]}`))
	}
	f.Fuzz(func(t *testing.T, src string, input []byte) {
		within(t, func() {
			g, err := CompileGBNF(src)
			if err != nil {
				return
			}
			m := NewMatcher(g, nil)
			_ = m.AcceptBytes(input)
			m.Accepting()
			m.need(&m.cur) // the budget's shortest completion (budget.go)
		})
	})
}

func FuzzJSONSchema(f *testing.F) {
	for _, s := range testSchemas {
		f.Add(s, []byte(`{"a":1}`))
	}
	f.Fuzz(func(t *testing.T, schema string, input []byte) {
		within(t, func() {
			g, err := CompileJSONSchema([]byte(schema))
			if err != nil {
				return
			}
			m := NewMatcher(g, nil)
			_ = m.AcceptBytes(input)
			m.Accepting()
			m.need(&m.cur) // the budget's shortest completion (budget.go)
		})
	})
}

// within fails t when fn runs longer than two seconds while fuzzing: the
// fuzzers look for inputs with unbounded work as well as for panics. The
// seed corpus, run by plain `go test` on machines of any load, gets a
// minute: a hang guard, not a speed check.
func within(t *testing.T, fn func()) {
	t.Helper()
	limit := time.Minute
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		limit = 2 * time.Second
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(limit):
		t.Fatalf("took more than %v", limit)
	}
}
