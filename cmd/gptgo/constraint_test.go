// Reference: docs/tools.md (gptgo run --json-schema / --grammar-file), validated with an independent
// JSON Schema implementation (github.com/santhosh-tekuri/jsonschema/v6).

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestRunJSONSchema: with the embedded default model, whatever the seed,
// `run --json-schema` prints JSON that the schema accepts.
func TestRunJSONSchema(t *testing.T) {
	schema := `{"type":"object","properties":{"name":{"type":"string","maxLength":10},"age":{"type":"integer","minimum":0,"maximum":120},"tags":{"type":"array","items":{"enum":["a","b"]},"maxItems":3}},"required":["name","age","tags"],"additionalProperties":false}`
	dir := t.TempDir()
	path := filepath.Join(dir, "person.json")
	if err := os.WriteFile(path, []byte(schema), 0o644); err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("mem://person.json", doc); err != nil {
		t.Fatal(err)
	}
	val, err := c.Compile("mem://person.json")
	if err != nil {
		t.Fatal(err)
	}
	validated := 0
	for _, seed := range []string{"1", "2", "3"} {
		out, errOut, code := runCLI(t, "", "run", "The person:", "--json-schema", path, "--seed", seed, "--temp", "1", "-n", "200")
		if code != 0 {
			t.Fatalf("seed %s: exit %d: %s", seed, code, errOut)
		}
		if strings.Contains(errOut, "warning: generation stopped") {
			continue // the 200-token budget ran out; nothing to validate
		}
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(strings.TrimSuffix(out, "\n")))
		if err != nil {
			t.Fatalf("seed %s: %q is not JSON: %v", seed, out, err)
		}
		if err := val.Validate(inst); err != nil {
			t.Errorf("seed %s: %q: %v", seed, out, err)
		}
		validated++
	}
	if validated == 0 {
		t.Error("no run finished within its budget")
	}
}

func TestRunGrammarFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "list.gbnf")
	if err := os.WriteFile(path, []byte("# a short list\nroot ::= (\"- \" [a-z]{1,6} \"\\n\"){2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, "", "run", "Items:", "--grammar-file", path, "--seed", "4", "-n", "40")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !regexp.MustCompile(`^(- [a-z]{1,6}\n){2}\n$`).MatchString(out) {
		t.Errorf("output %q is not two list items", out)
	}
}

func TestRunConstraintErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"type":"object","properties":{"x":{"type":"number","multipleOf":3}}}`), 0o644)
	gbnf := filepath.Join(dir, "bad.gbnf")
	os.WriteFile(gbnf, []byte("root ::= \"a\"\nitem ::= [a-"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--json-schema", bad}, "--json-schema " + bad + ": json schema: multipleOf at /properties/x: keyword not supported"},
		{[]string{"--grammar-file", gbnf}, "--grammar-file " + gbnf + ": gbnf: 2:10: unterminated character class"},
		{[]string{"--json-schema", filepath.Join(dir, "none.json")}, "none.json: no such file"},
		{[]string{"--json-schema", bad, "--grammar-file", gbnf}, "cannot be used together"},
	}
	for _, c := range cases {
		_, errOut, code := runCLI(t, "", append([]string{"run", "x"}, c.args...)...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", c.args, code, errOut, c.want)
		}
	}
}

// TestRunTools: --tools forces a call (or one named function) and prints
// each call as a JSON line whose arguments fit the tool's schema.
func TestRunTools(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tools.json")
	tools := `[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string","maxLength":12},"unit":{"enum":["c","f"]}},"required":["city"]}}},
 {"name":"add","parameters":{"type":"object","properties":{"a":{"type":"integer","minimum":0,"maximum":9},"b":{"type":"integer","minimum":0,"maximum":9}},"required":["a","b"],"additionalProperties":false}}]`
	if err := os.WriteFile(path, []byte(tools), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ choice, only string }{{"required", ""}, {"add", "add"}, {"get_weather", "get_weather"}} {
		out, errOut, code := runCLI(t, "", "run", "Call:", "--tools", path, "--tool-choice", c.choice, "--seed", "5", "-n", "150")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.choice, code, errOut)
		}
		if strings.Contains(errOut, "warning: generation stopped") {
			continue
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		for _, l := range lines {
			var call struct {
				Name      string
				Arguments map[string]any
			}
			if err := json.Unmarshal([]byte(l), &call); err != nil {
				t.Fatalf("%s: line %q: %v", c.choice, l, err)
			}
			if c.only != "" && call.Name != c.only || call.Name != "add" && call.Name != "get_weather" {
				t.Errorf("%s: call %q", c.choice, l)
			}
			if call.Name == "add" && (call.Arguments["a"] == nil || call.Arguments["b"] == nil || len(call.Arguments) != 2) {
				t.Errorf("%s: add arguments %v", c.choice, call.Arguments)
			}
			if call.Name == "get_weather" && call.Arguments["city"] == nil {
				t.Errorf("%s: get_weather arguments %v", c.choice, call.Arguments)
			}
		}
	}
	_, errOut, code := runCLI(t, "", "run", "x", "--tools", path, "--tool-choice", "nope")
	if code == 0 || !strings.Contains(errOut, `--tool-choice "nope" is not required, auto or one of the tools`) {
		t.Errorf("unknown tool choice: %d %q", code, errOut)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`[{"name":"f","parameters":{"type":"object","properties":{"x":{"if":{}}}}}]`), 0o644)
	_, errOut, code = runCLI(t, "", "run", "x", "--tools", bad)
	if code == 0 || !strings.Contains(errOut, "--tools "+bad+": tool \"f\" parameters: json schema: if at /properties/x: keyword not supported") {
		t.Errorf("bad tool schema: %d %q", code, errOut)
	}
}
