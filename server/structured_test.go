// Reference: OpenAI's structured outputs (response_format) through the official openai-go v3 client,
// Ollama's format field on its documented JSON; outputs validated with an independent JSON Schema
// implementation (github.com/santhosh-tekuri/jsonschema/v6).

package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// structuredSchemas cover the keywords docs/tools.md lists. Strings need
// no bound: the grammar's token budget ends every answer within max_tokens
// and the context.
var structuredSchemas = []string{
	`{"type":"object","properties":{"name":{"type":"string","maxLength":8},"age":{"type":"integer","minimum":0,"maximum":120},"email":{"type":"string","format":"email"}},"required":["name","age"],"additionalProperties":false}`,
	`{"type":["boolean","null","integer"],"minimum":-3,"maximum":3}`,
	`{"enum":["red","green",7,null,{"a":[1]}]}`,
	`{"const":{"k":"v"}}`,
	`{"type":"array","prefixItems":[{"type":"string","maxLength":3}],"items":{"type":"integer","exclusiveMinimum":0,"exclusiveMaximum":10},"minItems":2,"maxItems":4}`,
	`{"anyOf":[{"type":"string","pattern":"^[a-z]{2,4}\\d?$"},{"type":"number"}]}`,
	`{"oneOf":[{"type":"object","properties":{"kind":{"const":"a"}},"required":["kind"],"additionalProperties":false},{"type":"boolean"}]}`,
	`{"$defs":{"n":{"type":"object","properties":{"v":{"type":"integer","minimum":0,"maximum":9},"kids":{"type":"array","items":{"$ref":"#/$defs/n"},"maxItems":2}},"required":["v","kids"],"additionalProperties":false}},"$ref":"#/$defs/n"}`,
	`{"type":"object","properties":{"d":{"type":"string","format":"date"},"t":{"type":"string","format":"time"},"dt":{"type":"string","format":"date-time"},"u":{"type":"string","format":"uuid"},"s":{"type":"string","minLength":1,"maxLength":3}},"required":["d","t","dt","u","s"],"additionalProperties":false}`,
	// unbounded strings, additionalProperties as a schema
	`{"type":"object","properties":{"id":{"type":"integer","minimum":0,"maximum":99},"note":{"type":"string"}},"required":["id","note"],"additionalProperties":{"type":"string","maxLength":4}}`,
	`{"allOf":[{"type":"string","minLength":2}]}`,
	// items false, definitions, a reference to the root, annotations
	`{"type":"array","prefixItems":[{"type":"boolean"},{"type":"string"}],"items":false}`,
	`{"title":"T","description":"d","definitions":{"c":{"enum":["r","g"]}},"type":"object","properties":{"next":{"anyOf":[{"$ref":"#"},{"type":"null"}]},"c":{"$ref":"#/definitions/c","default":"r","examples":["g"],"$comment":"x"}},"required":["next","c"],"additionalProperties":false}`,
	`{"type":"array","items":{"type":"string","pattern":"x\\d"},"minItems":1}`,
}

func schemaValidator(t *testing.T, schema string) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("mem://s.json", doc); err != nil {
		t.Fatal(err)
	}
	v, err := c.Compile("mem://s.json")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func validates(t *testing.T, v *jsonschema.Schema, text string) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		t.Errorf("%q is not JSON: %v", text, err)
		return
	}
	if err := v.Validate(inst); err != nil {
		t.Errorf("%q: %v", text, err)
	}
}

// TestOpenAIResponseFormat: response_format json_schema (plain and
// streamed) and json_object through the official client; every answer
// ends (the token budget) and validates against its schema: 100%.
func TestOpenAIResponseFormat(t *testing.T) {
	_, url := startServer(t, Config{})
	c := client(url)
	ctx := context.Background()
	for i, schema := range structuredSchemas {
		var sm map[string]any
		if err := json.Unmarshal([]byte(schema), &sm); err != nil {
			t.Fatal(err)
		}
		val := schemaValidator(t, schema)
		p := openai.ChatCompletionNewParams{
			Model:       "default",
			Messages:    []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Answer in JSON.")},
			MaxTokens:   openai.Int(300),
			Temperature: openai.Float(1),
			Seed:        openai.Int(int64(i)),
			ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
				JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "answer", Schema: sm, Strict: openai.Bool(true)}}},
		}
		r, err := c.Chat.Completions.New(ctx, p)
		if err != nil {
			t.Fatalf("schema %d: %v", i, err)
		}
		if ch := r.Choices[0]; ch.FinishReason != "stop" {
			t.Errorf("schema %d: finish %q, %d tokens: %q", i, ch.FinishReason, r.Usage.CompletionTokens, ch.Message.Content)
		}
		validates(t, val, r.Choices[0].Message.Content)
		// Streamed: the pieces join into a valid answer too.
		s := c.Chat.Completions.NewStreaming(ctx, p)
		var text strings.Builder
		finish := ""
		for s.Next() {
			for _, ch := range s.Current().Choices {
				text.WriteString(ch.Delta.Content)
				if ch.FinishReason != "" {
					finish = ch.FinishReason
				}
			}
		}
		if err := s.Err(); err != nil {
			t.Fatalf("schema %d stream: %v", i, err)
		}
		if finish != "stop" {
			t.Errorf("schema %d stream: finish %q", i, finish)
		}
		validates(t, val, text.String())
	}
	r, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model: "default", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("JSON please")}, MaxTokens: openai.Int(200), Seed: openai.Int(3),
		ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONObject: &shared.ResponseFormatJSONObjectParam{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Choices[0].FinishReason != "stop" {
		t.Errorf("json_object: finish %q", r.Choices[0].FinishReason)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(r.Choices[0].Message.Content), &obj); err != nil {
		t.Errorf("json_object answer %q: %v", r.Choices[0].Message.Content, err)
	}
}

func TestResponseFormatErrors(t *testing.T) {
	_, url := startServer(t, Config{})
	msg := `"model":"default","messages":[{"role":"user","content":"x"}]`
	cases := []struct {
		rf, param, code, want string
	}{
		{`{"type":"json_schema","json_schema":{"name":"a","schema":{"type":"object","properties":{"x":{"type":"number","multipleOf":2}}}}}`,
			"response_format.json_schema.schema", "not_supported", "multipleOf at /properties/x: keyword not supported"},
		{`{"type":"json_schema","json_schema":{"name":"a","schema":{"$ref":"#/$defs/nope"}}}`, "response_format.json_schema.schema", "", `"#/$defs/nope" does not exist`},
		{`{"type":"json_schema","json_schema":{"schema":{}}}`, "response_format.json_schema.name", "", "name is required"},
		{`{"type":"json_schema"}`, "response_format.json_schema", "", "needs json_schema"},
		{`{"type":"xml"}`, "response_format.type", "", `"xml" is not one of`},
		{`{"type":"json_object","extra":1}`, "response_format", "", "unknown field"},
	}
	for _, c := range cases {
		code, body := post(t, url+"/v1/chat/completions", `{`+msg+`,"response_format":`+c.rf+`}`)
		e := openAIErr(t, body)
		if code != http.StatusBadRequest || deref(e.Param) != c.param || !strings.Contains(e.Message, c.want) || (c.code != "" && deref(e.Code) != c.code) {
			t.Errorf("%s: %d %q %s %s; want 400 %s %q %s", c.rf, code, e.Message, deref(e.Param), deref(e.Code), c.param, c.want, c.code)
		}
	}
}

// TestOllamaFormat: format "json" and a schema on /api/generate and
// /api/chat; answers that end are valid.
func TestOllamaFormat(t *testing.T) {
	_, ts, _ := newOllamaServer(t)
	schema := structuredSchemas[0]
	val := schemaValidator(t, schema)
	for _, c := range []struct{ path, body string }{
		{"/api/generate", `{"model":"default","prompt":"A person:","stream":false,"format":` + schema + `,"options":{"seed":1,"num_predict":300}}`},
		{"/api/chat", `{"model":"default","messages":[{"role":"user","content":"A person?"}],"stream":false,"format":` + schema + `,"options":{"seed":2,"num_predict":300}}`},
		{"/api/chat", `{"model":"default","messages":[{"role":"user","content":"JSON?"}],"stream":false,"format":"json","options":{"seed":3,"num_predict":300}}`},
	} {
		code, _, body := ollamaDo(t, "POST", ts.URL+c.path, c.body)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", c.path, code, body)
		}
		var r struct {
			Response   string
			Message    struct{ Content string }
			DoneReason string `json:"done_reason"`
		}
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatal(err)
		}
		text := r.Response + r.Message.Content
		if r.DoneReason != "stop" {
			continue
		}
		if strings.Contains(c.body, `"format":"json"`) {
			var obj map[string]any
			if err := json.Unmarshal([]byte(text), &obj); err != nil {
				t.Errorf("format json: %q: %v", text, err)
			}
			continue
		}
		validates(t, val, text)
	}
	code, _, body := ollamaDo(t, "POST", ts.URL+"/api/generate", `{"model":"default","prompt":"x","format":{"type":"object","not":{}}}`)
	if code != http.StatusBadRequest || !strings.Contains(body, "not at /: keyword not supported") {
		t.Errorf("unsupported keyword: %d %s", code, body)
	}
	code, _, body = ollamaDo(t, "POST", ts.URL+"/api/generate", `{"model":"default","prompt":"x","format":"yaml"}`)
	if code != http.StatusBadRequest || !strings.Contains(body, `format must be \"json\" or a JSON schema`) {
		t.Errorf("format yaml: %d %s", code, body)
	}
}

// TestOllamaTools: /api/chat with tools answers in text or with
// message.tool_calls (arguments an object) that validate, streamed or not.
func TestOllamaTools(t *testing.T) {
	_, url := startServer(t, Config{}) // a 256-token context: the tool list takes 170
	schema := `{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}`
	val := schemaValidator(t, schema)
	tools := `[{"type":"function","function":{"name":"add","parameters":` + schema + `}}]`
	calls := 0
	for seed := range 6 {
		stream := seed%2 == 1
		body := fmt.Sprintf(`{"model":"default","messages":[{"role":"user","content":"2+3?"}],"tools":%s,"stream":%v,"options":{"seed":%d,"num_predict":40,"temperature":1.5}}`, tools, stream, seed)
		code, _, out := ollamaDo(t, "POST", url+"/api/chat", body)
		if code != http.StatusOK {
			t.Fatalf("seed %d: %d %s", seed, code, out)
		}
		var content strings.Builder
		var toolCalls []ollamaToolCall
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var r struct {
				Message ollamaMessage
			}
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			content.WriteString(r.Message.Content)
			toolCalls = append(toolCalls, r.Message.ToolCalls...)
		}
		for _, c := range toolCalls {
			calls++
			if c.Function.Name != "add" {
				t.Errorf("seed %d: call to %q", seed, c.Function.Name)
			}
			validates(t, val, string(c.Function.Arguments))
		}
		if len(toolCalls) > 0 && strings.Contains(content.String(), `"name"`) {
			t.Errorf("seed %d: the call also went out as content: %q", seed, content.String())
		}
	}
	t.Logf("%d calls in 6 answers", calls)
}

// TestGrammarExtensions: llama.cpp's grammar (GBNF) and json_schema fields
// on /v1/chat/completions and /v1/completions.
func TestGrammarExtensions(t *testing.T) {
	_, url := startServer(t, Config{})
	gbnf := `root ::= ("- " [a-z]{1,6} "\n"){2}`
	body, _ := json.Marshal(map[string]any{"model": "default", "messages": []map[string]string{{"role": "user", "content": "List"}}, "grammar": gbnf, "max_tokens": 60, "seed": 1})
	code, resp := post(t, url+"/v1/chat/completions", string(body))
	var r struct {
		Choices []struct {
			FinishReason string `json:"finish_reason"`
			Message      struct{ Content string }
		}
	}
	if code != http.StatusOK || json.Unmarshal(resp, &r) != nil {
		t.Fatalf("chat grammar: %d %s", code, resp)
	}
	if c := r.Choices[0]; c.FinishReason == "stop" && !regexp.MustCompile(`^(- [a-z]{1,6}\n){2}$`).MatchString(c.Message.Content) {
		t.Errorf("chat grammar: %q", c.Message.Content)
	}
	schema := structuredSchemas[2]
	body, _ = json.Marshal(map[string]any{"model": "default", "prompt": "Colour:", "json_schema": json.RawMessage(schema), "max_tokens": 60, "seed": 2})
	code, resp = post(t, url+"/v1/completions", string(body))
	var cr struct {
		Choices []struct {
			Text         string
			FinishReason string `json:"finish_reason"`
		}
	}
	if code != http.StatusOK || json.Unmarshal(resp, &cr) != nil {
		t.Fatalf("completions json_schema: %d %s", code, resp)
	}
	if c := cr.Choices[0]; c.FinishReason == "stop" {
		validates(t, schemaValidator(t, schema), c.Text)
	}
	for _, c := range []struct{ path, body, param, want string }{
		{"/v1/completions", `{"model":"default","prompt":"x","grammar":"root ::= [a-"}`, "grammar", "grammar: gbnf: 1:10: unterminated character class"},
		{"/v1/chat/completions", `{"model":"default","messages":[{"role":"user","content":"x"}],"grammar":"root ::= \"a\"","json_schema":{"type":"string"}}`, "grammar", "cannot be used together"},
		{"/v1/chat/completions", `{"model":"default","messages":[{"role":"user","content":"x"}],"json_schema":{"type":"object","if":{}}}`, "json_schema", "if at /: keyword not supported"},
	} {
		code, resp := post(t, url+c.path, c.body)
		e := openAIErr(t, resp)
		if code != http.StatusBadRequest || deref(e.Param) != c.param || !strings.Contains(e.Message, c.want) {
			t.Errorf("%s: %d %s %q; want %s %q", c.body, code, deref(e.Param), e.Message, c.param, c.want)
		}
	}
}
