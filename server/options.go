// Reference: llama.cpp tools/server (default sampler settings: temperature 0.8, top_k 40, top_p 0.95,
// min_p 0.05, repeat_last_n 64) and Ollama's docs/modelfile.md (PARAMETER as a model's defaults).

package server

import (
	"math/rand/v2"
	"strconv"

	"github.com/gptgo/gptgo/generate"
)

// defaultSampler is what a request gets when neither it nor the model's
// PARAMETERs say otherwise: llama.cpp's server defaults, which are also
// `gptgo run`'s flag defaults, so the CLI and the server sample alike.
var defaultSampler = generate.SamplerOptions{
	Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1, RepeatLastN: 64,
}

// BaseOptions are the generation options a request on l starts from, before
// its own fields: the server's defaults, under the model's PARAMETERs
// (already validated by modelstore). The seed is random unless a PARAMETER
// fixes it; a request's seed replaces it.
func (l *Loaded) BaseOptions() generate.Options {
	p := l.Entry.Parameters
	s := defaultSampler
	s.Temperature = paramFloat(p, "temperature", s.Temperature)
	s.TopK = paramInt(p, "top_k", s.TopK)
	s.TopP = paramFloat(p, "top_p", s.TopP)
	s.MinP = paramFloat(p, "min_p", s.MinP)
	s.RepeatPenalty = paramFloat(p, "repeat_penalty", s.RepeatPenalty)
	s.RepeatLastN = paramInt(p, "repeat_last_n", s.RepeatLastN)
	s.PresencePenalty = paramFloat(p, "presence_penalty", s.PresencePenalty)
	s.FrequencyPenalty = paramFloat(p, "frequency_penalty", s.FrequencyPenalty)
	s.Seed = uint64(paramInt(p, "seed", -1))
	if _, fixed := p["seed"]; !fixed {
		s.Seed = rand.Uint64()
	}
	return generate.Options{
		Sampler:   s,
		MaxTokens: paramInt(p, "num_predict", -1),
		Stop:      append([]string(nil), p["stop"]...),
	}
}

// paramInt is the last value of PARAMETER name, or def.
func paramInt(p map[string][]string, name string, def int) int {
	if v := p[name]; len(v) > 0 {
		if n, err := strconv.Atoi(v[len(v)-1]); err == nil {
			return n
		}
	}
	return def
}

// paramFloat is the last value of PARAMETER name, or def.
func paramFloat(p map[string][]string, name string, def float32) float32 {
	if v := p[name]; len(v) > 0 {
		if f, err := strconv.ParseFloat(v[len(v)-1], 32); err == nil {
			return float32(f)
		}
	}
	return def
}
