// Reference: Ollama's docs/modelfile.md ("Valid Parameters and Values": options are the PARAMETER
// names) and api/types.go (keep_alive; format and think on generate and chat).

package server

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/modelstore"
)

// ollamaRefuse rejects the request fields gptgo cannot honour yet, by
// name, and a format (structured.go) that cannot be enforced.
func ollamaRefuse(format, think json.RawMessage) error {
	if _, err := compileOllamaFormat(format); err != nil {
		return err
	}
	if isSet(think) && string(think) != "false" {
		return Errorf(KindNotSupported, "think", "think: gptgo's models do not support thinking")
	}
	return nil
}

// keepAliveOf is the request's keep_alive for Server.Acquire.
func keepAliveOf(k *ollamaDuration) *time.Duration {
	if k == nil {
		return nil
	}
	d := k.d
	return &d
}

// ollamaOptions applies a request's options over the model's base options.
// Every name is checked against modelstore.Params: unknown names are one
// 400 that lists them, hardware hints are accepted and have no effect, and
// samplers gptgo lacks are refused unless set to their off value.
func (s *Server) ollamaOptions(l *Loaded, opts map[string]json.RawMessage) (generate.Options, error) {
	o := l.BaseOptions()
	var unknown []string
	for name := range opts {
		if _, ok := modelstore.Params[name]; !ok {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return o, Errorf(KindBadRequest, "options", "unknown options: %s (the names are Ollama's PARAMETERs: num_ctx, num_predict, temperature, top_k, top_p, min_p, seed, stop, repeat_penalty, repeat_last_n, presence_penalty, frequency_penalty, …)", strings.Join(unknown, ", "))
	}
	names := make([]string, 0, len(opts))
	for name := range opts {
		names = append(names, name)
	}
	sort.Strings(names)
	maxTok := o.MaxTokens
	askedMax := false
	for _, name := range names {
		raw := opts[name]
		if strings.TrimSpace(string(raw)) == "null" {
			continue // the model's value stays
		}
		p := modelstore.Params[name]
		values, err := optionValues(name, p.Kind, raw)
		if err != nil {
			return o, err
		}
		var norm []string
		for _, v := range values {
			n, err := modelstore.CheckParam(name, v)
			if err != nil {
				return o, Errorf(KindBadRequest, "options."+name, "options.%v", err)
			}
			norm = append(norm, n)
		}
		if p.Use != modelstore.Applied {
			continue
		}
		one := map[string][]string{name: norm}
		sm := &o.Sampler
		switch name {
		case "temperature":
			sm.Temperature = paramFloat(one, name, 0)
		case "top_k":
			sm.TopK = paramInt(one, name, 0)
		case "top_p":
			sm.TopP = paramFloat(one, name, 0)
		case "min_p":
			sm.MinP = paramFloat(one, name, 0)
		case "repeat_penalty":
			sm.RepeatPenalty = paramFloat(one, name, 0)
		case "repeat_last_n":
			sm.RepeatLastN = paramInt(one, name, 0)
		case "presence_penalty":
			sm.PresencePenalty = paramFloat(one, name, 0)
		case "frequency_penalty":
			sm.FrequencyPenalty = paramFloat(one, name, 0)
		case "seed":
			if n := paramInt(one, name, -1); n >= 0 { // Ollama: -1 is a random seed
				sm.Seed = uint64(n)
			}
		case "stop":
			o.Stop = norm // the request's stop strings replace the model's
		case "num_predict":
			maxTok, askedMax = paramInt(one, name, 0), true
		case "num_ctx":
			// More than the loaded context is capped to it, as Ollama caps
			// num_ctx at the model's training context: clients such as Home
			// Assistant and Continue send 8192 whatever the model, and a
			// prompt that does not fit is still a 400 that gives the limit.
			if n := paramInt(one, name, 0); n < 1 {
				return o, Errorf(KindBadRequest, "options.num_ctx", "options.num_ctx %d: must be at least 1", n)
			}
		}
	}
	if len(o.Stop) > 16 {
		return o, Errorf(KindBadRequest, "options.stop", "options.stop: %d strings, at most 16", len(o.Stop))
	}
	if askedMax {
		switch {
		case maxTok == 0:
			return o, Errorf(KindBadRequest, "options.num_predict", "options.num_predict 0: ask for at least 1 token, or -1 for no limit but the context")
		case maxTok < 0: // -1: no limit, -2: fill the context
			n, err := maxTokens("options.num_predict", nil, 0, s.cfg.MaxTokensLimit)
			if err != nil {
				return o, err
			}
			o.MaxTokens = n
		default:
			n, err := maxTokens("options.num_predict", &maxTok, o.MaxTokens, s.cfg.MaxTokensLimit)
			if err != nil {
				return o, err
			}
			o.MaxTokens = n
		}
	} else {
		n, err := maxTokens("options.num_predict", nil, o.MaxTokens, s.cfg.MaxTokensLimit)
		if err != nil {
			return o, err
		}
		o.MaxTokens = n
	}
	if err := o.Sampler.Validate(); err != nil {
		return o, Errorf(KindBadRequest, "options", "options: %v", err)
	}
	return o, nil
}

// optionValues turns one option's JSON into the text values CheckParam
// reads: numbers and booleans as written, strings for "stop" (a string or
// an array of them).
func optionValues(name string, kind modelstore.Kind, raw json.RawMessage) ([]string, error) {
	bad := func(want string) error {
		return Errorf(KindBadRequest, "options."+name, "options.%s: expected %s, got %s", name, want, strings.TrimSpace(string(raw)))
	}
	switch kind {
	case modelstore.String:
		var one string
		if json.Unmarshal(raw, &one) == nil {
			return []string{one}, nil
		}
		var many []string
		if err := json.Unmarshal(raw, &many); err != nil {
			return nil, bad("a string or an array of strings")
		}
		for _, v := range many {
			if v == "" {
				return nil, Errorf(KindBadRequest, "options."+name, "options.%s: an empty string", name)
			}
		}
		return many, nil
	case modelstore.Bool:
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, bad("true or false")
		}
		return []string{fmt.Sprint(b)}, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil || strings.HasPrefix(strings.TrimSpace(string(raw)), `"`) {
		if kind == modelstore.Int {
			return nil, bad("an integer")
		}
		return nil, bad("a number")
	}
	return []string{n.String()}, nil
}
