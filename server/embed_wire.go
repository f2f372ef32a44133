// Reference: OpenAI API reference, "Create embeddings" (POST /v1/embeddings: input, model,
// encoding_format, dimensions, user; the embedding list object) and ollama docs/api.md
// ("Generate Embeddings" POST /api/embed, "Generate Embedding" POST /api/embeddings).

package server

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
)

// Limits on one embeddings request, checked before any model work.
const (
	// maxEmbedInputs is OpenAI's limit on the inputs of one request
	// ("any array must be 2048 dimensions or less").
	maxEmbedInputs = 2048
	// maxEmbedTokens bounds the tokens of one request summed over its
	// inputs, as OpenAI's 300,000, so that one request cannot hold a model's
	// queue for hours.
	maxEmbedTokens = 300_000
)

// openAIEmbedRequest is the body of POST /v1/embeddings.
type openAIEmbedRequest struct {
	Input          json.RawMessage `json:"input"`           // a string, [string], [int] or [[int]]
	Model          string          `json:"model"`           // a model name as GET /v1/models lists it
	EncodingFormat string          `json:"encoding_format"` // "float" (default) or "base64"
	Dimensions     *int            `json:"dimensions"`      // nil unless the client asks for a width
	User           string          `json:"user"`            // accepted and ignored: the end user's id, for abuse monitoring
}

// openAIEmbedResponse is the answer of POST /v1/embeddings.
type openAIEmbedResponse struct {
	Object string            `json:"object"` // "list"
	Data   []openAIEmbedding `json:"data"`
	Model  string            `json:"model"`
	Usage  openAIEmbedUsage  `json:"usage"`
}

// openAIEmbedding is one vector: []float32 for "float", a string of
// base64 little-endian float32 bytes for "base64".
type openAIEmbedding struct {
	Object    string `json:"object"` // "embedding"
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"`
}

type openAIEmbedUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

// ollamaEmbedRequest is the body of POST /api/embed.
type ollamaEmbedRequest struct {
	Model      string                     `json:"model"`
	Input      json.RawMessage            `json:"input"`      // a string or [string]
	Truncate   *bool                      `json:"truncate"`   // nil means true: cut each input to the context
	Options    map[string]json.RawMessage `json:"options"`    // Modelfile parameters, checked as for generation; num_ctx is the one that applies
	KeepAlive  *ollamaDuration            `json:"keep_alive"` // "5m", seconds, -1 or 0, as for generation
	Dimensions int                        `json:"dimensions"` // 0, or the model's width (decoders cannot shorten)
}

// ollamaEmbedResponse is the answer of POST /api/embed. Durations are
// nanoseconds, as everywhere in Ollama's API.
type ollamaEmbedResponse struct {
	Model           string      `json:"model"`
	Embeddings      [][]float32 `json:"embeddings"`
	TotalDuration   int64       `json:"total_duration"`
	LoadDuration    int64       `json:"load_duration"`
	PromptEvalCount int         `json:"prompt_eval_count"`
}

// ollamaEmbeddingsRequest is the body of the legacy POST /api/embeddings.
type ollamaEmbeddingsRequest struct {
	Model     string                     `json:"model"`
	Prompt    string                     `json:"prompt"`
	Options   map[string]json.RawMessage `json:"options"`
	KeepAlive *ollamaDuration            `json:"keep_alive"`
}

// ollamaEmbeddingsResponse is the answer of the legacy POST /api/embeddings.
type ollamaEmbeddingsResponse struct {
	Embedding []float32 `json:"embedding"`
}

// embedInput is a request's inputs after decoding: either texts to
// tokenize or token ids given by the client, never both.
type embedInput struct {
	Texts  []string
	Tokens [][]int64 // ids as sent; checked against the vocabulary later
}

// Len is the number of inputs.
func (in embedInput) Len() int { return len(in.Texts) + len(in.Tokens) }

// embedBad is a client mistake in a request body, for a 400: the message
// names the field (param) and says what is wrong.
func embedBad(param, format string, args ...any) error {
	return Errorf(KindBadRequest, param, format, args...)
}

// parseOpenAIEmbedRequest decodes and checks a /v1/embeddings body
// (strictly, as every body: decodeJSON rejects unknown fields): the
// input's shape, the encoding and the batch limit. Token ids are checked
// against the vocabulary and dimensions against the model once the model
// is known.
func parseOpenAIEmbedRequest(body []byte) (*openAIEmbedRequest, embedInput, error) {
	var r openAIEmbedRequest
	if err := decodeJSON(body, &r); err != nil {
		return nil, embedInput{}, err
	}
	switch r.EncodingFormat {
	case "", "float", "base64":
	default:
		return nil, embedInput{}, embedBad("encoding_format", "encoding_format %q is not one of float, base64", r.EncodingFormat)
	}
	if r.Dimensions != nil && *r.Dimensions < 1 {
		return nil, embedInput{}, embedBad("dimensions", "dimensions %d must be at least 1", *r.Dimensions)
	}
	in, err := parseOpenAIInput(r.Input)
	if err != nil {
		return nil, embedInput{}, err
	}
	return &r, in, nil
}

// parseOpenAIInput reads OpenAI's input union: a string, an array of
// strings, an array of token ids (one input) or an array of token arrays.
// Empty strings, empty arrays and mixed arrays are errors, as OpenAI
// answers them.
func parseOpenAIInput(raw json.RawMessage) (embedInput, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return embedInput{}, embedBad("input", "input is required")
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return embedInput{}, embedBad("input", "input: %v", err)
		}
		if s == "" {
			return embedInput{}, embedBad("input", "input must not be an empty string")
		}
		return embedInput{Texts: []string{s}}, nil
	case '[':
	default:
		return embedInput{}, embedBad("input", "input must be a string, an array of strings, an array of token ids or an array of token arrays")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return embedInput{}, embedBad("input", "input: %v", err)
	}
	if len(items) == 0 {
		return embedInput{}, embedBad("input", "input must not be an empty array")
	}
	first := bytes.TrimSpace(items[0])
	if len(first) == 0 {
		return embedInput{}, embedBad("input", "input[0] is empty")
	}
	switch {
	case first[0] == '"':
		if len(items) > maxEmbedInputs {
			return embedInput{}, embedBad("input", "input has %d texts; at most %d are allowed per request", len(items), maxEmbedInputs)
		}
		texts := make([]string, len(items))
		for i, it := range items {
			if err := json.Unmarshal(it, &texts[i]); err != nil {
				return embedInput{}, embedBad("input", "input[%d] must be a string like input[0]", i)
			}
			if texts[i] == "" {
				return embedInput{}, embedBad("input", "input[%d] must not be an empty string", i)
			}
		}
		return embedInput{Texts: texts}, nil
	case first[0] == '[':
		if len(items) > maxEmbedInputs {
			return embedInput{}, embedBad("input", "input has %d token arrays; at most %d are allowed per request", len(items), maxEmbedInputs)
		}
		toks := make([][]int64, len(items))
		for i, it := range items {
			ids, err := parseTokenArray(it, fmt.Sprintf("input[%d]", i))
			if err != nil {
				return embedInput{}, err
			}
			toks[i] = ids
		}
		return embedInput{Tokens: toks}, nil
	default:
		ids, err := parseTokenArray(raw, "input")
		if err != nil {
			return embedInput{}, err
		}
		return embedInput{Tokens: [][]int64{ids}}, nil
	}
}

// parseTokenArray reads a non-empty JSON array of non-negative integers.
func parseTokenArray(raw json.RawMessage, name string) ([]int64, error) {
	var nums []json.Number
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&nums); err != nil {
		return nil, embedBad("input", "%s must be an array of token ids (integers)", name)
	}
	if len(nums) == 0 {
		return nil, embedBad("input", "%s must not be an empty array", name)
	}
	ids := make([]int64, len(nums))
	for i, n := range nums {
		if n == "" { // JSON null decodes to the empty Number
			n = "null"
		}
		v, err := n.Int64()
		if err != nil || v < 0 || v > math.MaxInt32 {
			return nil, embedBad("input", "%s[%d] = %s is not a token id (an integer from 0)", name, i, n)
		}
		ids[i] = v
	}
	return ids, nil
}

// parseOllamaInput reads /api/embed's input: a string or an array of
// strings. An empty string or array gives no inputs: Ollama answers it
// with an empty list after loading the model, which clients use to
// preload one.
func parseOllamaInput(raw json.RawMessage) (embedInput, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return embedInput{}, nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return embedInput{}, embedBad("input", "input: %v", err)
		}
		if s == "" {
			return embedInput{}, nil
		}
		return embedInput{Texts: []string{s}}, nil
	case '[':
		var texts []string
		if err := json.Unmarshal(raw, &texts); err != nil {
			return embedInput{}, embedBad("input", "input must be a string or an array of strings")
		}
		if len(texts) > maxEmbedInputs {
			return embedInput{}, embedBad("input", "input has %d texts; at most %d are allowed per request", len(texts), maxEmbedInputs)
		}
		for i, s := range texts {
			if s == "" {
				return embedInput{}, embedBad("input", "input[%d] must not be an empty string", i)
			}
		}
		return embedInput{Texts: texts}, nil
	}
	return embedInput{}, embedBad("input", "input must be a string or an array of strings")
}

// parseOllamaEmbedRequest decodes and checks a /api/embed body.
func parseOllamaEmbedRequest(body []byte) (*ollamaEmbedRequest, embedInput, error) {
	var r ollamaEmbedRequest
	if err := decodeJSON(body, &r); err != nil {
		return nil, embedInput{}, err
	}
	if r.Dimensions < 0 {
		return nil, embedInput{}, embedBad("dimensions", "dimensions %d must not be negative", r.Dimensions)
	}
	in, err := parseOllamaInput(r.Input)
	if err != nil {
		return nil, embedInput{}, err
	}
	return &r, in, nil
}

// parseOllamaEmbeddingsRequest decodes and checks a legacy /api/embeddings body.
func parseOllamaEmbeddingsRequest(body []byte) (*ollamaEmbeddingsRequest, error) {
	var r ollamaEmbeddingsRequest
	if err := decodeJSON(body, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// base64Floats encodes v as OpenAI's "base64" encoding_format does: the
// little-endian bytes of each float32, in standard base64 with padding.
// It is a quarter of the JSON's size and exact, which is why the official
// Python client asks for it by default.
func base64Floats(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return base64.StdEncoding.EncodeToString(b)
}
