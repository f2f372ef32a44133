// Reference: Ollama's `ollama show` and POST /api/show (docs/api.md: modelfile,
// parameters, template, model_info with the GGUF's keys; long arrays left
// out unless verbose).

package modelstore

import (
	"math"
	"sort"
	"strings"

	"github.com/gptgo/gptgo/gguf"
)

// ModelfileOf is a Modelfile that recreates the entry from its own file, as
// `ollama show --modelfile` prints: FROM the file (or "default" for the
// embedded model), then the TEMPLATE, SYSTEM, PARAMETERs and LICENSE that
// f (the entry's opened GGUF) carries.
func ModelfileOf(e Entry, f *gguf.File) *Modelfile {
	mf := &Modelfile{From: e.Path}
	if e.Embedded {
		mf.From = strings.TrimSuffix(e.Name, ":"+DefaultTag) // default, default-base
	}
	if t, ok := f.String(KeyTemplate); ok {
		mf.Template = &t
	}
	if e.Template != "" {
		t := e.Template
		mf.Template = &t
	}
	if e.System != "" {
		s := e.System
		mf.System = &s
	}
	for _, name := range sortedKeys(e.Parameters) {
		for _, v := range e.Parameters[name] {
			mf.Parameters = append(mf.Parameters, Parameter{Name: name, Value: v})
		}
	}
	if l, ok := f.String("general.license"); ok && l != "" {
		mf.License = []string{l}
	}
	return mf
}

// InfoArrayLimit is the longest array Info returns whole when not verbose;
// longer ones (the vocabulary, merges, scores) come back as nil, as Ollama's
// /api/show does.
const InfoArrayLimit = 64

// Info returns the GGUF's metadata as JSON-ready values keyed by their GGUF
// names (Ollama's model_info), gptgo's own keys and the chat template left
// out (they have fields of their own), plus general.parameter_count.
func Info(f *gguf.File, e Entry, verbose bool) map[string]any {
	out := map[string]any{}
	for _, kv := range f.KV {
		switch kv.Key {
		case KeySystem, KeyParameters, KeyTemplate:
			continue
		}
		if kv.Value.Type == gguf.TypeArray && !verbose && kv.Value.Len() > InfoArrayLimit {
			out[kv.Key] = nil
			continue
		}
		out[kv.Key] = jsonValue(kv.Value)
	}
	out["general.parameter_count"] = e.Details.ParameterCount
	return out
}

// jsonValue turns a GGUF value into something encoding/json writes as its
// JSON counterpart.
func jsonValue(v gguf.Value) any {
	if vs, ok := v.X.([]gguf.Value); ok {
		out := make([]any, len(vs))
		for i, x := range vs {
			out[i] = jsonValue(x)
		}
		return out
	}
	switch x := v.X.(type) {
	case float32:
		if finite(float64(x)) == nil {
			return nil
		}
		return x // encoding/json writes a float32 at its own precision
	case float64:
		return finite(x)
	case []float32:
		out := make([]any, len(x))
		for i, f := range x {
			if out[i] = finite(float64(f)); out[i] != nil {
				out[i] = f
			}
		}
		return out
	case []float64:
		out := make([]any, len(x))
		for i, f := range x {
			out[i] = finite(f)
		}
		return out
	case []uint8: // encoding/json would write base64
		out := make([]int, len(x))
		for i, b := range x {
			out[i] = int(b)
		}
		return out
	}
	return v.X
}

// finite is f, or nil for NaN and ±Inf, which JSON cannot hold.
func finite(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return f
}

// InfoKeys is the sorted keys of an Info map (for stable printing).
func InfoKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
