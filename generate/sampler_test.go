// Reference: llama.cpp src/llama-sampling.cpp (what each setting may be); Go's native fuzzing
// (testing.F) for the sampler's robustness on any settings and logits.

package generate

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
)

// TestValidateNamesEachBadSetting: every setting that cannot mean anything
// is rejected with a *ParamError naming it, and the defaults pass.
func TestValidateNamesEachBadSetting(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	ok := SamplerOptions{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1, RepeatLastN: 64}
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, edge := range []SamplerOptions{{}, {TopP: 1, MinP: 1, RepeatLastN: -1, FrequencyPenalty: -2, PresencePenalty: 2}} {
		if err := edge.Validate(); err != nil {
			t.Errorf("%+v: %v", edge, err)
		}
	}
	cases := []struct {
		param string
		set   func(*SamplerOptions)
	}{
		{"temperature", func(o *SamplerOptions) { o.Temperature = nan }},
		{"temperature", func(o *SamplerOptions) { o.Temperature = inf }},
		{"temperature", func(o *SamplerOptions) { o.Temperature = -0.1 }},
		{"top_k", func(o *SamplerOptions) { o.TopK = -1 }},
		{"top_p", func(o *SamplerOptions) { o.TopP = nan }},
		{"top_p", func(o *SamplerOptions) { o.TopP = 1.5 }},
		{"min_p", func(o *SamplerOptions) { o.MinP = nan }},
		{"min_p", func(o *SamplerOptions) { o.MinP = -0.5 }},
		{"repeat_penalty", func(o *SamplerOptions) { o.RepeatPenalty = nan }},
		{"repeat_penalty", func(o *SamplerOptions) { o.RepeatPenalty = -1 }},
		{"repeat_penalty", func(o *SamplerOptions) { o.RepeatPenalty = inf }},
		{"frequency_penalty", func(o *SamplerOptions) { o.FrequencyPenalty = nan }},
		{"presence_penalty", func(o *SamplerOptions) { o.PresencePenalty = -inf }},
		{"repeat_last_n", func(o *SamplerOptions) { o.RepeatLastN = -2 }},
	}
	for _, c := range cases {
		o := ok
		c.set(&o)
		err := o.Validate()
		var pe *ParamError
		if !errors.As(err, &pe) || pe.Param != c.param {
			t.Errorf("%s: got %v, want a ParamError naming it", c.param, err)
		}
	}
	both := ok
	both.Temperature, both.TopK = nan, -3
	if err := both.Validate(); err == nil || !strings.Contains(err.Error(), "temperature") || !strings.Contains(err.Error(), "top_k") {
		t.Errorf("two bad settings: %v, want both named", err)
	}
}

// TestSampleSurvivesBadLogits: NaN, ±Inf, all-equal and all -Inf logits
// give a token of the vocabulary, never a panic, and never a token whose
// logit is NaN or -Inf while another is finite. A NaN repeat penalty (what
// `--repeat-penalty NaN` passed to the sampler before validation existed)
// no longer panics either.
func TestSampleSurvivesBadLogits(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	vocabs := map[string][]float32{
		"nan first":  {nan, 1, 2, nan},
		"all nan":    {nan, nan, nan},
		"all -inf":   {-inf, -inf, -inf},
		"all equal":  {3, 3, 3, 3},
		"+inf":       {1, inf, 2, inf},
		"-inf mixed": {-inf, 0.5, -inf},
		"one":        {7},
	}
	opts := []SamplerOptions{
		{},
		{Temperature: 0.8, TopK: 2, TopP: 0.9, MinP: 0.1, RepeatPenalty: 1.3, FrequencyPenalty: 0.5, PresencePenalty: 0.5, RepeatLastN: -1},
		{Temperature: 1e-30, MinP: 1},
		{Temperature: 1e30, TopP: 1e-9},
		{Temperature: 0.7, RepeatPenalty: nan, RepeatLastN: 64},
		{Temperature: 0.7, TopP: nan, MinP: nan},
	}
	for name, l := range vocabs {
		for _, o := range opts {
			s := NewSampler(o)
			for range 20 {
				id := s.Sample(l, []int32{0, 1, 0, 2})
				if id < 0 || int(id) >= len(l) {
					t.Fatalf("%s %+v: token %d outside the vocabulary of %d", name, o, id, len(l))
				}
				if o.Validate() == nil && anyFinite(l) && !isFinite(l[id]) && !(l[id] > 0) {
					t.Fatalf("%s %+v: drew token %d with logit %v", name, o, id, l[id])
				}
			}
		}
	}
}

func isFinite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }

func anyFinite(l []float32) bool {
	for _, v := range l {
		if isFinite(v) {
			return true
		}
	}
	return false
}

// FuzzSampler: any settings and logits give a token of the vocabulary; the
// same seed gives the same draw; with valid settings the token's penalised
// logit is not NaN, and is -Inf only when every penalised logit is.
func FuzzSampler(f *testing.F) {
	logits := func(vs ...float32) []byte {
		b := make([]byte, 0, 4*len(vs))
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
		return b
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	f.Add(float32(0.8), 40, float32(0.95), float32(0.05), float32(1.1), float32(0), float32(0), 64, uint64(1), logits(1, 2, 3, 4))
	f.Add(float32(0.7), 0, float32(1), float32(0), nan, float32(0), float32(0), 64, uint64(2), logits(1, 2, 3))
	f.Add(float32(1), 0, float32(0), float32(0), float32(1), float32(0), float32(0), 0, uint64(3), logits(nan, nan))
	f.Add(float32(1), 2, float32(0.5), float32(0.5), float32(1), float32(1e38), float32(-1e38), -1, uint64(4), logits(-inf, inf, -inf, 0))
	f.Add(float32(0), 0, float32(0), float32(0), float32(0), float32(0), float32(0), 0, uint64(5), logits(5, 5, 5))
	f.Fuzz(func(t *testing.T, temp float32, topK int, topP, minP, rp, fp, pp float32, lastN int, seed uint64, raw []byte) {
		n := len(raw) / 4
		if n == 0 || n > 4096 {
			return
		}
		l := make([]float32, n)
		for i := range l {
			l[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		history := make([]int32, 0, 8)
		for i := range 8 {
			history = append(history, int32(i*7%(n+2))-1) // some ids outside the vocabulary too
		}
		o := SamplerOptions{Temperature: temp, TopK: topK, TopP: topP, MinP: minP, RepeatPenalty: rp,
			FrequencyPenalty: fp, PresencePenalty: pp, RepeatLastN: lastN, Seed: seed}
		s := NewSampler(o)
		id := s.Sample(l, history)
		if id < 0 || int(id) >= n {
			t.Fatalf("token %d outside the vocabulary of %d", id, n)
		}
		if again := NewSampler(o).Sample(l, history); again != id {
			t.Fatalf("same seed, tokens %d and %d", id, again)
		}
		if o.Validate() != nil {
			return
		}
		pl := s.logits // the penalised copy the draw saw
		if v := pl[id]; v != v || (math.IsInf(float64(v), -1) && anyAbove(pl, v)) {
			t.Fatalf("drew token %d with penalised logit %v", id, v)
		}
	})
}

func anyAbove(l []float32, v float32) bool {
	for _, x := range l {
		if x > v {
			return true
		}
	}
	return false
}
