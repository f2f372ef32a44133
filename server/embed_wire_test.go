// Reference: OpenAI API reference "Create embeddings" (the input union, encoding_format) and ollama
// docs/api.md "Generate Embeddings"; the seeds are the bodies the official clients send.

package server

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseOpenAIInput(t *testing.T) {
	for _, c := range []struct {
		body   string
		texts  []string
		tokens [][]int64
		err    string // part of the message; "" means accepted
	}{
		{`"hello"`, []string{"hello"}, nil, ""},
		{`["a", "b c"]`, []string{"a", "b c"}, nil, ""},
		{`[1, 2, 3]`, nil, [][]int64{{1, 2, 3}}, ""},
		{`[[1, 2], [0]]`, nil, [][]int64{{1, 2}, {0}}, ""},
		{` "x" `, []string{"x"}, nil, ""},
		{``, nil, nil, "input is required"},
		{`null`, nil, nil, "input is required"},
		{`""`, nil, nil, "empty string"},
		{`[]`, nil, nil, "empty array"},
		{`["a", ""]`, nil, nil, "input[1] must not be an empty string"},
		{`["a", 1]`, nil, nil, "input[1] must be a string"},
		{`[1, "a"]`, nil, nil, "token ids"},
		{`[1, -2]`, nil, nil, "input[1] = -2 is not a token id"},
		{`[1.5]`, nil, nil, "input[0] = 1.5 is not a token id"},
		{`[4294967296]`, nil, nil, "is not a token id"},
		{`[[1], []]`, nil, nil, "input[1] must not be an empty array"},
		{`[[1], "a"]`, nil, nil, "input[1] must be an array of token ids"},
		{`[null]`, nil, nil, "input[0] = null is not a token id"},
		{`{"a": 1}`, nil, nil, "input must be a string, an array"},
		{`42`, nil, nil, "input must be a string, an array"},
		{`true`, nil, nil, "input must be a string, an array"},
	} {
		in, err := parseOpenAIInput(json.RawMessage(c.body))
		if c.err != "" {
			var we *Error
			if err == nil || !strings.Contains(err.Error(), c.err) || !errors.As(err, &we) || we.Param != "input" || we.Kind != KindBadRequest {
				t.Errorf("%s: error %v, want an input error containing %q", c.body, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(in.Texts, c.texts) || !slices.EqualFunc(in.Tokens, c.tokens, slices.Equal) {
			t.Errorf("%s: got %q %v, %v; want %q %v", c.body, in.Texts, in.Tokens, err, c.texts, c.tokens)
		}
	}
}

func TestParseEmbedLimits(t *testing.T) {
	many := func(n int, item string) string {
		return "[" + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + "]"
	}
	if in, err := parseOpenAIInput(json.RawMessage(many(maxEmbedInputs, `"a"`))); err != nil || in.Len() != maxEmbedInputs {
		t.Errorf("%d texts: %v", maxEmbedInputs, err)
	}
	for _, item := range []string{`"a"`, `[1]`} {
		_, err := parseOpenAIInput(json.RawMessage(many(maxEmbedInputs+1, item)))
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("at most %d", maxEmbedInputs)) {
			t.Errorf("%d × %s: %v", maxEmbedInputs+1, item, err)
		}
	}
	_, err := parseOllamaInput(json.RawMessage(many(maxEmbedInputs+1, `"a"`)))
	if err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("ollama, %d texts: %v", maxEmbedInputs+1, err)
	}
}

func TestParseOpenAIEmbedRequest(t *testing.T) {
	r, in, err := parseOpenAIEmbedRequest([]byte(`{"input":"hi","model":"m","encoding_format":"base64","dimensions":8,"user":"u1"}`))
	if err != nil || r.Model != "m" || r.EncodingFormat != "base64" || r.Dimensions == nil || *r.Dimensions != 8 || r.User != "u1" || in.Texts[0] != "hi" {
		t.Fatalf("full request: %+v %+v %v", r, in, err)
	}
	// no model: the default embedder (embed.go), not an error
	if r, in, err := parseOpenAIEmbedRequest([]byte(`{"input":"hi"}`)); err != nil || r.Model != "" || in.Texts[0] != "hi" {
		t.Errorf("request without a model: %+v %+v %v", r, in, err)
	}
	for _, c := range []struct{ body, param, err string }{
		{`{"input":"hi","model":"m","encoding_format":"int8"}`, "encoding_format", `"int8" is not one of float, base64`},
		{`{"input":"hi","model":"m","dimensions":0}`, "dimensions", "at least 1"},
		{`{"input":"hi","model":"m","temperature":1}`, "temperature", `unknown field "temperature"`},
		{`{"input":"hi","model":"m"} {}`, "", "more data after the request object"},
		{`{"input":"hi","model":"m"}}`, "", "more data after the request object"},
		{`{"input":"hi","model":5}`, "model", "model: expected a string"},
		{`not json`, "", "invalid JSON"},
		{``, "", "the request body is empty"},
		{`{"model":"m"}`, "input", "input is required"},
	} {
		_, _, err := parseOpenAIEmbedRequest([]byte(c.body))
		var we *Error
		if err == nil || !strings.Contains(err.Error(), c.err) || !errors.As(err, &we) || we.Param != c.param || we.Kind != KindBadRequest {
			t.Errorf("%s: error %v, want %q on param %q", c.body, err, c.err, c.param)
		}
	}
}

func TestParseOllamaEmbedRequests(t *testing.T) {
	r, in, err := parseOllamaEmbedRequest([]byte(`{"model":"all-minilm","input":["Why is the sky blue?","Why is the grass green?"],"truncate":false,"options":{"num_ctx":32},"keep_alive":"10m"}`))
	if err != nil || r.Truncate == nil || *r.Truncate || in.Len() != 2 || r.KeepAlive == nil || r.KeepAlive.d != 10*time.Minute || string(r.Options["num_ctx"]) != "32" {
		t.Fatalf("documented request: %+v %+v %v", r, in, err)
	}
	if r, in, err := parseOllamaEmbedRequest([]byte(`{"input":"x"}`)); err != nil || r.Model != "" || in.Len() != 1 {
		t.Errorf("request without a model (the default embedder): %+v %+v %v", r, in, err)
	}
	for _, body := range []string{`{"model":"m"}`, `{"model":"m","input":""}`, `{"model":"m","input":[]}`, `{"model":"m","input":null}`} {
		if _, in, err := parseOllamaEmbedRequest([]byte(body)); err != nil || in.Len() != 0 {
			t.Errorf("%s (loads the model only): %d inputs, %v", body, in.Len(), err)
		}
	}
	for _, c := range []struct{ body, err string }{
		{`{"model":"m","input":5}`, "a string or an array of strings"},
		{`{"model":"m","input":[1,2]}`, "a string or an array of strings"},
		{`{"model":"m","input":["a",""]}`, "input[1] must not be an empty string"},
		{`{"model":"m","input":"a","dimensions":-1}`, "must not be negative"},
		{`{"model":"m","input":"a","prompt":"b"}`, `unknown field "prompt"`},
	} {
		if _, _, err := parseOllamaEmbedRequest([]byte(c.body)); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: error %v, want %q", c.body, err, c.err)
		}
	}
	if r, err := parseOllamaEmbeddingsRequest([]byte(`{"model":"all-minilm","prompt":"Here is an article about llamas..."}`)); err != nil || r.Prompt == "" {
		t.Errorf("legacy request: %+v %v", r, err)
	}
	if _, err := parseOllamaEmbeddingsRequest([]byte(`{"model":"m","input":"x"}`)); err == nil || !strings.Contains(err.Error(), `unknown field "input"`) {
		t.Errorf("legacy request with input: %v", err)
	}
}

// TestBase64Floats checks the encoding against its definition: base64 of
// the little-endian float32 bytes, decoded here independently, bit for bit
// (a NaN or −0 would survive too).
func TestBase64Floats(t *testing.T) {
	v := []float32{0, float32(math.Copysign(0, -1)), 1, -0.5, 3.4028235e38, 1e-45, float32(math.Inf(-1))}
	b, err := base64.StdEncoding.DecodeString(base64Floats(v))
	if err != nil || len(b) != 4*len(v) {
		t.Fatalf("decoded %d bytes, %v", len(b), err)
	}
	for i, want := range v {
		if got := binary.LittleEndian.Uint32(b[4*i:]); got != math.Float32bits(want) {
			t.Errorf("element %d: bits %#x, want %#x", i, got, math.Float32bits(want))
		}
	}
	if base64Floats(nil) != "" {
		t.Error("an empty vector should encode as an empty string")
	}
}

// FuzzEmbedRequest feeds arbitrary bodies to the three decoders. None may
// panic; whatever they accept must respect the limits the handlers rely on:
// at least one input for /v1, at most maxEmbedInputs, no empty text or
// token array, ids in 0…MaxInt32, and an error is always a 400 with a
// message. Seeds are the bodies real clients send.
func FuzzEmbedRequest(f *testing.F) {
	for _, s := range []string{
		// openai-go v3 (EmbeddingNewParams with OfString / OfArrayOfStrings)
		`{"input":"The food was delicious and the waiter...","model":"text-embedding-3-small"}`,
		`{"input":["a","b"],"model":"default","encoding_format":"float"}`,
		// the official Python client's default: base64
		`{"input": "hello world", "model": "default", "encoding_format": "base64"}`,
		// LangChain's OpenAIEmbeddings sends tiktoken ids in token arrays
		`{"input": [[9906, 1917], [15339]], "model": "default", "encoding_format": "base64"}`,
		`{"input":[1,2,3],"model":"m","dimensions":256,"user":"user-1234"}`,
		// ollama docs/api.md and the ollama Python client
		`{"model":"all-minilm","input":"Why is the sky blue?"}`,
		`{"model":"all-minilm","input":["Why is the sky blue?","Why is the grass green?"],"truncate":true,"options":{},"keep_alive":"5m"}`,
		`{"model":"all-minilm","prompt":"Here is an article about llamas..."}`,
		`{"model":"m","input":"x","keep_alive":-1,"dimensions":0}`,
		`{"input":[[]],"model":"m"}`, `{"input":"","model":"m"}`, `[]`, `null`, `{"input":[1e400]}`,
	} {
		f.Add([]byte(s))
	}
	check := func(t *testing.T, in embedInput, min int) {
		if in.Len() < min || in.Len() > maxEmbedInputs {
			t.Fatalf("accepted %d inputs", in.Len())
		}
		if len(in.Texts) > 0 && len(in.Tokens) > 0 {
			t.Fatal("accepted texts and tokens together")
		}
		for _, s := range in.Texts {
			if s == "" {
				t.Fatal("accepted an empty text")
			}
		}
		for _, ids := range in.Tokens {
			if len(ids) == 0 {
				t.Fatal("accepted an empty token array")
			}
			for _, id := range ids {
				if id < 0 || id > math.MaxInt32 {
					t.Fatalf("accepted token id %d", id)
				}
			}
		}
	}
	isEmbedError := func(t *testing.T, err error) {
		var we *Error
		if !errors.As(err, &we) || we.Msg == "" || Status(err) != 400 {
			t.Fatalf("error %v is not a 400 *Error with a message", err)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, in, err := parseOpenAIEmbedRequest(body); err == nil {
			check(t, in, 1)
		} else {
			isEmbedError(t, err)
		}
		if _, in, err := parseOllamaEmbedRequest(body); err == nil {
			check(t, in, 0)
		} else {
			isEmbedError(t, err)
		}
		if _, err := parseOllamaEmbeddingsRequest(body); err != nil {
			isEmbedError(t, err)
		}
	})
}

// TestEmbedTokens checks the per-input checks made before any compute on
// token inputs: ids against the vocabulary, the context (an error, or a cut
// to the first tokens with truncate), and the sum over the request.
func TestEmbedTokens(t *testing.T) {
	in := embedInput{Tokens: [][]int64{{1, 2, 3}, {4, 5, 6, 7, 8}}}
	seqs, total, err := embedTokens(nil, 10, in, 4, true)
	if err != nil || total != 7 || !slices.Equal(seqs[0], []int32{1, 2, 3}) || !slices.Equal(seqs[1], []int32{4, 5, 6, 7}) {
		t.Errorf("truncate to 4: %v %d %v", seqs, total, err)
	}
	_, _, err = embedTokens(nil, 10, in, 4, false)
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindContext || e.Param != "input" || !strings.Contains(e.Msg, "input[1] is 5 tokens, more than the context of 4 tokens") {
		t.Errorf("too long without truncate: %v", err)
	}
	_, _, err = embedTokens(nil, 8, in, 100, false)
	if !errors.As(err, &e) || e.Kind != KindBadRequest || !strings.Contains(e.Msg, "input[1][4]: token id 8 is outside the model's vocabulary of 8") {
		t.Errorf("vocabulary: %v", err)
	}
	big := embedInput{Tokens: make([][]int64, maxEmbedInputs)}
	per := maxEmbedTokens/maxEmbedInputs + 1
	for i := range big.Tokens {
		big.Tokens[i] = make([]int64, per)
	}
	if _, _, err := embedTokens(nil, 10, big, per, false); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("more than %d tokens together", maxEmbedTokens)) {
		t.Errorf("%d × %d tokens: %v", maxEmbedInputs, per, err)
	}
}
