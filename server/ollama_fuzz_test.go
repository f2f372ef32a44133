package server

import (
	"testing"

	"github.com/gptgo/gptgo/modelstore"
)

// FuzzOllamaRequest feeds bodies to the Ollama request decoders and the
// checks behind them (messages, options against the model's PARAMETER
// table, keep_alive, create's Modelfile): none may panic, and whatever they refuse is a client
// error (400), never a server error. The seeds are the requests of Ollama's
// docs/api.md and of its clients.
func FuzzOllamaRequest(f *testing.F) {
	for _, s := range []string{
		`{"model": "llama3.2", "prompt": "Why is the sky blue?"}`,
		`{"model": "llama3.2", "prompt": "Why is the sky blue?", "stream": false}`,
		`{"model": "codellama:code", "prompt": "def compute_gcd(a, b):", "suffix": "    return result", "options": {"temperature": 0}, "stream": false}`,
		`{"model": "llama3.1:8b", "prompt": "Respond using JSON", "stream": false, "format": {"type": "object", "properties": {"age": {"type": "integer"}}}}`,
		`{"model": "mistral", "prompt": "[INST] why is the sky blue? [/INST]", "raw": true, "stream": false}`,
		`{"model": "llama3.2", "prompt": "Why is the sky blue?", "stream": false, "options": {"num_keep": 5, "seed": 42, "num_predict": 100, "top_k": 20, "top_p": 0.9, "min_p": 0.0, "typical_p": 0.7, "repeat_last_n": 33, "temperature": 0.8, "repeat_penalty": 1.2, "presence_penalty": 1.5, "frequency_penalty": 1.0, "mirostat": 1, "mirostat_tau": 0.8, "mirostat_eta": 0.6, "penalize_newline": true, "stop": ["\n", "user:"], "numa": false, "num_ctx": 1024, "num_batch": 2, "num_gpu": 1, "main_gpu": 0, "low_vram": false, "vocab_only": false, "use_mmap": true, "use_mlock": false, "num_thread": 8}}`,
		`{"model": "llama3.2", "keep_alive": 0}`,
		`{"model": "llama3.2", "messages": [{"role": "user", "content": "why is the sky blue?"}]}`,
		`{"model": "llama3.2", "messages": [{"role": "user", "content": "why is the sky blue?"}, {"role": "assistant", "content": "due to rayleigh scattering."}, {"role": "user", "content": "how is that different than mie scattering?"}]}`,
		`{"model": "llama3.2", "messages": [{"role": "user", "content": "Hello!"}], "options": {"seed": 101, "temperature": 0}}`,
		`{"model": "llama3.2", "messages": [{"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "get_current_weather", "arguments": {"format": "celsius", "location": "Paris, FR"}}}]}, {"role": "tool", "content": "22", "tool_name": "get_current_weather"}]}`,
		`{"model": "llama3.2", "messages": [], "keep_alive": "-1m"}`,
		`{"model": "gemma3", "messages": [{"role": "user", "content": "hi"}], "logprobs": true, "top_logprobs": 3, "think": false}`,
		`{"model": "x", "prompt": "a", "context": [1, 2, 3], "keep_alive": "5m", "options": {"stop": "END", "num_predict": -2}}`,
		`{"model": "mario", "from": "llama3.2", "system": "You are Mario from Super Mario Bros.", "parameters": {"temperature": 0.7, "stop": ["<a>"]}, "license": ["MIT"]}`,
		`{"model": "llama3.1:quantized", "modelfile": "FROM llama3.1:8b-instruct-fp16\nPARAMETER num_ctx 4096", "quantize": "q4_K_M"}`,
		`{"model":"x","options":{"top_k":1e400}}`, `{"model":"x","keep_alive":1e300}`, `[]`, `null`, `{"options":null}`,
	} {
		f.Add(s)
	}
	l := &Loaded{Entry: modelstore.Entry{Name: "x:latest", Parameters: map[string][]string{"stop": {"<end>"}, "num_ctx": {"64"}}}, Ctx: 64}
	s := &Server{}
	f.Fuzz(func(t *testing.T, body string) {
		var g ollamaGenerateRequest
		if err := decodeJSON([]byte(body), &g); err == nil {
			if err := g.check(); err == nil {
				_, err = s.ollamaOptions(l, g.Options)
				ollamaClientError(t, err)
			} else {
				ollamaClientError(t, err)
			}
		} else {
			ollamaClientError(t, err)
		}
		var cr ollamaCreateRequest
		if err := decodeJSON([]byte(body), &cr); err == nil {
			_, err = cr.modelfile()
			ollamaClientError(t, err)
		} else {
			ollamaClientError(t, err)
		}
		var c ollamaChatRequest
		if err := decodeJSON([]byte(body), &c); err == nil {
			if _, err := c.check(); err == nil {
				_, err = s.ollamaOptions(l, c.Options)
				ollamaClientError(t, err)
			} else {
				ollamaClientError(t, err)
			}
		} else {
			ollamaClientError(t, err)
		}
	})
}

// ollamaClientError fails unless err is nil or a 4xx.
func ollamaClientError(t *testing.T, err error) {
	t.Helper()
	if err != nil && Status(err)/100 != 4 {
		t.Fatalf("status %d for a client's mistake: %v", Status(err), err)
	}
}
