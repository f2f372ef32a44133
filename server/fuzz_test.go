// Reference: go test -fuzz (testing.F); the seeds are request bodies as the official OpenAI SDKs
// (Go, Python, Node), LangChain and Open WebUI send them, per the OpenAI API reference.

package server

import (
	"errors"
	"sync"
	"testing"

	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/modelstore"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

var chatSeeds = []string{
	// openai-go and the Python SDK, the README's first example.
	`{"messages":[{"content":"Say this is a test","role":"user"}],"model":"gpt-4o"}`,
	// Python SDK streaming with usage.
	`{"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Hello!"}],"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true}}`,
	// Node SDK with content parts (the image part is refused).
	`{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"text","text":"What is in this image?"},{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}],"max_tokens":300}`,
	// LangChain ChatOpenAI.
	`{"messages":[{"content":"hi","role":"user"}],"model":"gpt-3.5-turbo","stream":false,"n":1,"temperature":0.7}`,
	// Open WebUI.
	`{"stream":true,"model":"default:latest","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Why is the sky blue?"},{"role":"assistant","content":"Rayleigh scattering."},{"role":"user","content":"More?"}],"stream_options":{"include_usage":true},"seed":42,"top_p":0.9,"max_tokens":128}`,
	// Tools (refused until the tools issue lands), a tool turn and a null assistant content.
	`{"model":"gpt-4o","messages":[{"role":"user","content":"Weather in Paris?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},{"role":"tool","tool_call_id":"call_1","content":"18C"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],"tool_choice":"auto"}`,
	`{"model":"default","messages":[{"role":"developer","content":"Answer in French."},{"role":"user","content":"Hello"}],"logprobs":true,"top_logprobs":2,"max_completion_tokens":16}`,
	`{"model":"default","messages":[{"role":"user","content":"Count"}],"stop":["\n","."],"logit_bias":{"50":-100,"51":5},"presence_penalty":0.5,"frequency_penalty":0.5,"top_k":40,"min_p":0.05,"repeat_penalty":1.1,"repeat_last_n":64,"user":"u1","store":false,"metadata":{"a":"b"}}`,
	`{"model":"default","messages":[{"role":"user","content":"x"}],"stop":"END","response_format":{"type":"text"},"modalities":["text"],"truncate":true}`,
	`{"model":"default","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{}}}}`,
	`{"model":"default","messages":[{"role":"user","content":"x"}],"n":3}`,
	`{"model":"default","messages":[]}`,
	`{"model":1}`,
	`[]`,
	`{"model":"default","messages":[{"role":"user","content":"x"}]} trailing`,
}

var completionSeeds = []string{
	`{"model":"gpt-3.5-turbo-instruct","prompt":"Say this is a test","max_tokens":7,"temperature":0}`,
	`{"model":"default","prompt":["Once upon a time"],"stream":true,"stream_options":{"include_usage":true},"logprobs":3,"echo":true}`,
	`{"model":"default","prompt":[1,300,301],"max_tokens":4,"seed":1,"stop":["\n"]}`,
	`{"model":"default","prompt":[[1,2,3]],"best_of":1,"n":1,"suffix":""}`,
	`{"model":"default","prompt":["a","b"]}`,
	`{"model":"default","prompt":"x","suffix":"y"}`,
	`{"model":"default","prompt":[-1,99999999]}`,
	`{"model":"default","prompt":null}`,
}

// fuzzModel is a Loaded with the default model's tokenizer and template but
// no weights: enough to translate and render requests.
var fuzzModel = sync.OnceValues(func() (*Loaded, error) {
	f, err := models.OpenDefault()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, err
	}
	tmpl, err := chat.FromGGUF(f)
	if err != nil {
		return nil, err
	}
	return &Loaded{Entry: modelstore.Entry{Name: "default:latest"}, Tok: tok, Template: tmpl, Ctx: 256}, nil
})

// clientError fails the test unless err is a client error (never a 500:
// a request body alone must not be able to produce a server error).
func clientError(t *testing.T, stage string, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Kind == KindServer || Status(err) >= 500 || e.Msg == "" {
		t.Fatalf("%s: %v is not a client error", stage, err)
	}
}

func FuzzChatRequest(f *testing.F) {
	for _, s := range chatSeeds {
		f.Add(s)
	}
	l, err := fuzzModel()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var req chatRequest
		if err := decodeJSON([]byte(body), &req); err != nil {
			clientError(t, "decode", err)
			return
		}
		if err := req.check(); err != nil {
			clientError(t, "check", err)
			return
		}
		nreq, err := req.native(l, 0)
		if err != nil {
			clientError(t, "native", err)
			return
		}
		// What the translation accepts, the native path accepts.
		if err := nreq.Validate(); err != nil {
			t.Fatalf("translated request invalid: %v", err)
		}
		if _, err := nreq.Render(l.Tok, l.Template); err != nil {
			t.Logf("render: %v", err) // a template may refuse a conversation (a 400)
		}
	})
}

func FuzzCompletionRequest(f *testing.F) {
	for _, s := range completionSeeds {
		f.Add(s)
	}
	l, err := fuzzModel()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var req completionRequest
		if err := decodeJSON([]byte(body), &req); err != nil {
			clientError(t, "decode", err)
			return
		}
		if err := req.check(); err != nil {
			clientError(t, "check", err)
			return
		}
		nreq, err := req.native(l, 0)
		if err != nil {
			clientError(t, "native", err)
			return
		}
		if err := nreq.Validate(); err != nil {
			t.Fatalf("translated request invalid: %v", err)
		}
		if _, err := nreq.Render(l.Tok, l.Template); err != nil && len(nreq.Tokens) == 0 {
			t.Fatalf("render of a text prompt: %v", err)
		}
	})
}
