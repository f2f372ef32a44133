package grammar

import (
	"bufio"
	"encoding/json"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/tokenizer"
)

var testTools = []Tool{
	{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string","maxLength":12},"unit":{"enum":["c","f"]}},"required":["city"]}`)},
	{Name: "add", Parameters: json.RawMessage(`{"type":"object","properties":{"a":{"type":"integer","minimum":-9,"maximum":9},"b":{"type":"integer","minimum":-9,"maximum":9}},"required":["a","b"],"additionalProperties":false}`)},
	{Name: "ping"},
}

// checkCalls samples answers under the tools grammar and parses them back:
// every call names a listed tool and its arguments pass that tool's schema
// (an independent validator); forced answers are calls only.
func checkCalls(t *testing.T, tok *tokenizer.Tokenizer, v *Vocab, tools []Tool, f ToolFormat, o ToolOptions, n, budget int, rng *rand.Rand) (ended int) {
	t.Helper()
	r, err := ToolCallRules(tools, f, o)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Compile(r, "root")
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]string{}
	for _, tl := range tools {
		p := string(tl.Parameters)
		if p == "" {
			p = `{"type":"object"}`
		}
		params[tl.Name] = p
	}
	for range n {
		out, ok := sampleOutput(t, tok, NewMatcher(g, v), v, rng, budget)
		if !ok {
			continue
		}
		ended++
		content, calls, err := ParseToolCalls(out, f)
		if err != nil {
			t.Errorf("%s %+v: %q: %v", f, o, out, err)
			continue
		}
		if !o.Auto && (len(calls) == 0 || content != "") {
			t.Errorf("%s %+v: forced answer %q gave content %q and %d calls", f, o, out, content, len(calls))
		}
		if !o.Parallel && len(calls) > 1 {
			t.Errorf("%s %+v: %d calls without parallel calls", f, o, len(calls))
		}
		for _, c := range calls {
			p, ok := params[c.Name]
			if !ok {
				t.Errorf("%s: call to unknown tool %q in %q", f, c.Name, out)
				continue
			}
			val := compileValidator(t, p)
			inst, err := unmarshalInstance(string(c.Arguments))
			if err != nil {
				t.Fatal(err)
			}
			if err := val.Validate(inst); err != nil {
				t.Errorf("%s: %s arguments %s: %v", f, c.Name, c.Arguments, err)
			}
		}
	}
	return ended
}

func TestToolCallFormats(t *testing.T) {
	tok, v := defaultVocabulary(t)
	rng := rand.New(rand.NewPCG(11, 12))
	for _, f := range []ToolFormat{ToolsJSON, ToolsHermes, ToolsLlama3, ToolsMistral} {
		for _, o := range []ToolOptions{{}, {Parallel: true}, {Auto: true}, {Auto: true, Parallel: true}} {
			ended := checkCalls(t, tok, v, testTools, f, o, 12, 400, rng)
			// Free text (auto without a trigger) rarely ends by chance.
			if ended < 3 && !(o.Auto && f.trigger() == "") {
				t.Errorf("%s %+v: only %d of 12 answers ended", f, o, ended)
			}
		}
	}
	// A named function: the grammar over that one tool.
	checkCalls(t, tok, v, testTools[1:2], ToolsHermes, ToolOptions{}, 4, 200, rng)
}

// TestAutoTextAvoidsTrigger: with tool_choice auto, text may not contain a
// call's trigger unless a valid call follows.
func TestAutoTextAvoidsTrigger(t *testing.T) {
	r, err := ToolCallRules(testTools, ToolsHermes, ToolOptions{Auto: true})
	if err != nil {
		t.Fatal(err)
	}
	g, err := Compile(r, "root")
	if err != nil {
		t.Fatal(err)
	}
	for s, ok := range map[string]bool{
		"":                   true,
		"Hello <tool <tool_": true,
		"It is <tool_call>":  false, // a trigger is a call's start, not yet complete
		"It is <tool_call>{\"name\": \"ping\", \"arguments\": {}}</tool_call>":        true,
		"<tool_call>\n{\"name\": \"ping\", \"arguments\": {\"x\": 1}}\n</tool_call>":  false, // closed objects
		"<<tool_call>{\"name\":\"add\",\"arguments\":{\"a\":1,\"b\":-2}}</tool_call>": true,
		"a <tool_call>{\"name\": \"nope\", \"arguments\": {}}</tool_call>":            false,
	} {
		m := NewMatcher(g, nil)
		got := m.AcceptBytes([]byte(s)) == nil && m.Accepting()
		if got != ok {
			t.Errorf("%q: accepted %v, want %v", s, got, ok)
		}
	}
}

func TestParseToolCalls(t *testing.T) {
	cases := []struct {
		text    string
		f       ToolFormat
		content string
		calls   string
	}{
		{"Sure.\n<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": 1}}\n</tool_call>\n<tool_call>{\"name\":\"b\",\"arguments\":\"{\\\"y\\\": 2}\"}</tool_call>", ToolsHermes, "Sure.", `a{"x":1} b{"y":2}`},
		{"no calls here", ToolsHermes, "no calls here", ``},
		{"[TOOL_CALLS] [{\"name\": \"a\", \"arguments\": {}}, {\"name\": \"b\", \"arguments\": {\"z\": [1]}}]", ToolsMistral, "", `a{} b{"z":[1]}`},
		{"<|python_tag|>{\"name\": \"a\", \"parameters\": {\"q\": \"x\"}}", ToolsLlama3, "", `a{"q":"x"}`},
		{" [{\"name\": \"a\", \"arguments\": {}}]", ToolsJSON, "", `a{}`},
		{"Just text.", ToolsJSON, "Just text.", ``},
	}
	for _, c := range cases {
		content, calls, err := ParseToolCalls(c.text, c.f)
		if err != nil {
			t.Errorf("%q: %v", c.text, err)
			continue
		}
		var got []string
		for _, x := range calls {
			got = append(got, x.Name+string(x.Arguments))
		}
		if content != c.content || strings.Join(got, " ") != c.calls {
			t.Errorf("%q: got %q %q, want %q %q", c.text, content, got, c.content, c.calls)
		}
	}
	for _, bad := range []string{"<tool_call>{\"name\": 1}</tool_call>", "<tool_call>{\"name\": \"a\", \"arguments\": [1]}</tool_call>", "<tool_call>{oops</tool_call>"} {
		if _, _, err := ParseToolCalls(bad, ToolsHermes); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	for tmpl, want := range map[string]ToolFormat{
		"{% for tool in tools %}<tools>{{ tool }}</tools>{% endfor %}<tool_call>": ToolsHermes,
		"[AVAILABLE_TOOLS]{{ tools }}[/AVAILABLE_TOOLS] [TOOL_CALLS]":             ToolsMistral,
		"<|start_header_id|>ipython<|end_header_id|>":                             ToolsLlama3,
		"{{ messages }}": ToolsJSON,
	} {
		if got := DetectToolFormat(tmpl); got != want {
			t.Errorf("%q: %s, want %s", tmpl, got, want)
		}
	}
}

// bfclSchema turns BFCL's Python-flavoured parameter schemas into JSON
// Schema, as BFCL's own OpenAI handler does: dict → object, float →
// number, tuple → array, any → no type; its "optional" flag is dropped.
func bfclSchema(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			switch k {
			case "optional":
				continue
			case "type":
				switch val {
				case "dict":
					val = "object"
				case "float":
					val = "number"
				case "tuple":
					val = "array"
				case "any":
					continue
				}
			case "properties":
				props := map[string]any{}
				for pk, pv := range val.(map[string]any) {
					props[pk] = bfclSchema(pv)
				}
				out[k] = props
				continue
			}
			out[k] = bfclSchema(val)
		}
		return out
	case []any:
		for i := range x {
			x[i] = bfclSchema(x[i])
		}
	}
	return v
}

// TestBFCLForcedCalls: for every function of BFCL's simple, multiple and
// parallel sets, a forced call (parallel calls for the parallel set)
// sampled with random logits names an allowed function and its arguments
// validate against the function's schema.
func TestBFCLForcedCalls(t *testing.T) {
	tok, v := defaultVocabulary(t)
	rng := rand.New(rand.NewPCG(13, 14))
	for _, set := range []string{"simple_python", "multiple", "parallel"} {
		path := testkit.Shared(t, "data", "8-function-calling", "BFCL_v4_"+set+".json")
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<22)
		entries, ended := 0, 0
		for sc.Scan() {
			var e struct {
				ID       string `json:"id"`
				Function []struct {
					Name       string `json:"name"`
					Parameters any    `json:"parameters"`
				} `json:"function"`
			}
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatal(err)
			}
			var tools []Tool
			for _, fn := range e.Function {
				p, _ := json.Marshal(bfclSchema(fn.Parameters))
				tools = append(tools, Tool{Name: fn.Name, Parameters: p})
			}
			entries++
			if testing.Short() && entries%10 != 1 {
				continue // -short: every tenth function
			}
			ended += checkCalls(t, tok, v, tools, ToolsHermes, ToolOptions{Parallel: set == "parallel", MaxStringLength: 32}, 1, 1000, rng)
		}
		f.Close()
		t.Logf("%s: %d of %d forced calls ended within 1000 tokens", set, ended, entries)
		if want := entries; ended < want && !testing.Short() || testing.Short() && ended < (entries+9)/10 {
			t.Errorf("%s: only %d of %d forced calls ended", set, ended, entries)
		}
	}
}

// TestToolChoiceNone: with tool_choice none (TextWithout), answers sampled
// with random logits never contain a call (whatever the tools, as in
// BFCL's irrelevance set: the grammar does not depend on them)
// for the formats with a call marker.
func TestToolChoiceNone(t *testing.T) {
	tok, v := defaultVocabulary(t)
	rng := rand.New(rand.NewPCG(15, 16))
	for _, f := range []ToolFormat{ToolsHermes, ToolsMistral} {
		g, err := Compile(TextWithout(f), "root")
		if err != nil {
			t.Fatal(err)
		}
		for range 40 {
			out, _ := sampleOutput(t, tok, NewMatcher(g, v), v, rng, 60)
			if strings.Contains(out, f.trigger()) {
				t.Fatalf("%s: %q contains the call marker", f, out)
			}
			if _, calls, _ := ParseToolCalls(out, f); len(calls) > 0 {
				t.Fatalf("%s: %q parsed to calls", f, out)
			}
		}
	}
	// The marker is refused even when a token would complete it.
	g, _ := Compile(TextWithout(ToolsHermes), "root")
	m := NewMatcher(g, nil)
	if err := m.AcceptBytes([]byte("a <tool_call")); err != nil {
		t.Fatal(err)
	}
	if err := m.AcceptBytes([]byte(">")); err == nil {
		t.Error("the marker's last character was accepted")
	}
}
