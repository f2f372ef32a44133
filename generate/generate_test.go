// Reference: llama.cpp src/llama-sampling.cpp (the semantics each sampler test pins down).

package generate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tensor"
)

// letters is a Vocab for tests: token i is the letter 'a'+i%26, token 2 ends
// a turn.
type letters struct{}

func (letters) IsEOG(id int32) bool       { return id == 2 }
func (letters) NewTextStream() TextStream { return &letterStream{} }

type letterStream struct{}

func (*letterStream) Next(id int32) string { return string(rune('a' + id%26)) }
func (*letterStream) Flush() string        { return "" }

// tinyModel is a 2-layer llama with random weights over a 40-token vocabulary.
func tinyModel(t testing.TB, seed uint64) *model.Model {
	t.Helper()
	c := model.Config{
		Arch: "llama", Vocab: 40, Embd: 16, Layers: 2, Heads: 2, KVHeads: 1, HeadDim: 8, FF: 32,
		CtxTrain: 64, NormEps: 1e-5, RopeDims: 8, RopeBase: 10000, RopeScale: 1,
		Norm: model.RMSNorm, Rope: model.RopeNorm, FFN: model.FFNSwiGLU,
	}
	r := rand.New(rand.NewPCG(seed, 7))
	src := func(name string) (*tensor.Tensor, bool, error) {
		var shape []int
		switch {
		case name == "token_embd.weight" || name == "output.weight":
			shape = []int{16, 40}
		case strings.HasSuffix(name, "norm.weight"):
			shape = []int{16}
		case strings.HasSuffix(name, "attn_q.weight") || strings.HasSuffix(name, "attn_output.weight"):
			shape = []int{16, 16}
		case strings.HasSuffix(name, "attn_k.weight") || strings.HasSuffix(name, "attn_v.weight"):
			shape = []int{16, 8}
		case strings.HasSuffix(name, "ffn_gate.weight") || strings.HasSuffix(name, "ffn_up.weight"):
			shape = []int{16, 32}
		case strings.HasSuffix(name, "ffn_down.weight"):
			shape = []int{32, 16}
		default:
			return nil, false, nil
		}
		n := shape[0]
		if len(shape) > 1 {
			n *= shape[1]
		}
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		tt, err := tensor.FromFloat32(name, x, shape...)
		return tt, true, err
	}
	m, err := model.New(c, src)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newSession(t *testing.T, ctx int) *Session {
	t.Helper()
	st, err := tinyModel(t, 1).NewState(model.Options{Ctx: ctx, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return NewSession(st, letters{})
}

var prompt = []int32{1, 10, 20, 30, 5}

func TestGreedyFollowsArgmax(t *testing.T) {
	s := newSession(t, 64)
	r, err := s.Generate(context.Background(), prompt, Options{MaxTokens: 12, IgnoreEOG: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := s.State
	st.Reset()
	logits, err := st.Forward(prompt)
	if err != nil {
		t.Fatal(err)
	}
	var want []int32
	for range 12 {
		tok := argmax(logits)
		want = append(want, tok)
		if logits, err = st.Forward([]int32{tok}); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(r.Tokens) != fmt.Sprint(want) || r.Stop != StopMaxTokens {
		t.Fatalf("tokens %v (%s), want %v", r.Tokens, r.Stop, want)
	}
	var text strings.Builder
	for _, id := range want {
		text.WriteRune(rune('a' + id%26))
	}
	if r.Text != text.String() {
		t.Fatalf("text %q, want %q", r.Text, text.String())
	}
}

func TestSeededSamplingIsReproducible(t *testing.T) {
	o := Options{MaxTokens: 20, IgnoreEOG: true, Sampler: SamplerOptions{Temperature: 1.5, TopK: 30, TopP: 0.95, MinP: 0.01, Seed: 42}}
	run := func(seed uint64) string {
		s := newSession(t, 64)
		o.Sampler.Seed = seed
		r, err := s.Generate(context.Background(), prompt, o, nil)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(r.Tokens)
	}
	a, b, c := run(42), run(42), run(43)
	if a != b {
		t.Fatalf("same seed, different tokens:\n%s\n%s", a, b)
	}
	if a == c {
		t.Fatalf("seeds 42 and 43 drew the same 20 tokens at temperature 1.5: %s", a)
	}
}

func TestSessionReusesCachedPrefix(t *testing.T) {
	s := newSession(t, 64)
	o := Options{MaxTokens: 6, IgnoreEOG: true}
	r1, err := s.Generate(context.Background(), prompt, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	next := append(append(append([]int32(nil), prompt...), r1.Tokens[:5]...), 7, 8)
	r2, err := s.Generate(context.Background(), next, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Reused != len(prompt)+5 {
		t.Errorf("reused %d cached tokens, want %d", r2.Reused, len(prompt)+5)
	}
	fresh := newSession(t, 64)
	r3, err := fresh.Generate(context.Background(), next, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(r2.Tokens) != fmt.Sprint(r3.Tokens) {
		t.Fatalf("with cache %v, fresh %v", r2.Tokens, r3.Tokens)
	}
}

func TestStopsAndStreaming(t *testing.T) {
	s := newSession(t, 64)
	full, err := s.Generate(context.Background(), prompt, Options{MaxTokens: 16, IgnoreEOG: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := full.Text[5:7]
	want := full.Text[:strings.Index(full.Text, stop)]
	var streamed strings.Builder
	r, err := s.Generate(context.Background(), prompt, Options{MaxTokens: 16, IgnoreEOG: true, Stop: []string{"zzzz", stop}},
		func(tk Token) error { streamed.WriteString(tk.Text); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if r.Stop != StopString || r.Text != want || streamed.String() != want {
		t.Fatalf("stop %q: reason %s, text %q, streamed %q, want %q", stop, r.Stop, r.Text, streamed.String(), want)
	}

	// Cancelling from the callback stops after that token.
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	r, err = s.Generate(ctx, prompt, Options{MaxTokens: 16, IgnoreEOG: true}, func(Token) error {
		if n++; n == 3 {
			cancel()
		}
		return nil
	})
	if err != nil || r.Stop != StopCancelled || len(r.Tokens) != 3 {
		t.Fatalf("cancel: err %v, stop %s, %d tokens", err, r.Stop, len(r.Tokens))
	}

	// A callback error ends generation and is returned.
	boom := errors.New("boom")
	if _, err := s.Generate(context.Background(), prompt, Options{MaxTokens: 4}, func(Token) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("callback error: %v", err)
	}
}

func TestEndOfGenerationAndContext(t *testing.T) {
	s := newSession(t, 12)
	// Past end-of-generation tokens, the 12 context slots end the run: the
	// last token is sampled from the logits of slot 12 and not cached.
	r, err := s.Generate(context.Background(), prompt, Options{IgnoreEOG: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Stop != StopContext || len(prompt)+len(r.Tokens) != 12+1 {
		t.Fatalf("stop %s after %d tokens; want the context (12 slots) to end it", r.Stop, len(r.Tokens))
	}
	// With end-of-generation honoured, a sampled 2 ends the run.
	v := eogAfter{letters{}, 3}
	s2 := NewSession(s.State, &v)
	r, err = s2.Generate(context.Background(), prompt, Options{MaxTokens: 10}, nil)
	if err != nil || r.Stop != StopEOG || len(r.Tokens) != 3 {
		t.Fatalf("eog: err %v, stop %s, tokens %v", err, r.Stop, r.Tokens)
	}
}

// eogAfter treats the n-th token it is asked about as end-of-generation.
type eogAfter struct {
	letters
	n int
}

func (e *eogAfter) IsEOG(int32) bool { e.n--; return e.n == 0 }

func TestPromptTooLong(t *testing.T) {
	s := newSession(t, 16)
	long := make([]int32, 20)
	for i := range long {
		long[i] = int32(i + 1)
	}
	if _, err := s.Generate(context.Background(), long, Options{MaxTokens: 2}, nil); !errors.Is(err, ErrPromptTooLong) {
		t.Fatalf("err %v, want ErrPromptTooLong", err)
	}
	r, err := s.Generate(context.Background(), long, Options{MaxTokens: 4, TruncatePrompt: true, IgnoreEOG: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Dropped != 8 || len(r.Prompt) != 12 || r.Prompt[0] != 1 || r.Prompt[1] != 10 {
		t.Fatalf("dropped %d, prompt %v", r.Dropped, r.Prompt)
	}
	if _, err := s.Generate(context.Background(), nil, Options{}, nil); err == nil {
		t.Fatal("empty prompt accepted")
	}
}

func TestSamplerFilters(t *testing.T) {
	// Probabilities ∝ exp(logit): 0.6, 0.25, 0.1, 0.05 (roughly).
	l := []float32{float32(math.Log(0.6)), float32(math.Log(0.25)), float32(math.Log(0.1)), float32(math.Log(0.05))}
	seen := func(o SamplerOptions) map[int32]int {
		s := NewSampler(o)
		m := map[int32]int{}
		for range 2000 {
			m[s.Sample(l, nil)]++
		}
		return m
	}
	if m := seen(SamplerOptions{Temperature: 1, TopK: 2, Seed: 1}); len(m) != 2 || m[0] == 0 || m[1] == 0 {
		t.Errorf("top-k 2 drew %v", m)
	}
	if m := seen(SamplerOptions{Temperature: 1, TopP: 0.8, Seed: 1}); len(m) != 2 {
		t.Errorf("top-p 0.8 drew %v (want tokens 0 and 1: 0.6+0.25 ≥ 0.8)", m)
	}
	if m := seen(SamplerOptions{Temperature: 1, MinP: 0.15, Seed: 1}); len(m) != 3 || m[3] != 0 {
		t.Errorf("min-p 0.15 drew %v (want 0, 1, 2: 0.05 < 0.15·0.6)", m)
	}
	m := seen(SamplerOptions{Temperature: 1, Seed: 1})
	if len(m) != 4 || math.Abs(float64(m[0])/2000-0.6) > 0.05 {
		t.Errorf("plain sampling drew %v (want ~60%% token 0)", m)
	}
	if m := seen(SamplerOptions{Temperature: 0.05, Seed: 1}); m[0] != 2000 {
		t.Errorf("temperature 0.05 drew %v", m)
	}
	if m := seen(SamplerOptions{}); m[0] != 2000 {
		t.Errorf("greedy drew %v", m)
	}
}

func TestPenalties(t *testing.T) {
	l := []float32{2, -2, 1, 0.5}
	s := NewSampler(SamplerOptions{RepeatPenalty: 2, FrequencyPenalty: 0.25, PresencePenalty: 0.5, RepeatLastN: 3})
	s.logits = append(s.logits[:0], l...)
	s.penalise(s.logits, []int32{0, 0, 1, 1, 0}) // window: 1, 1, 0
	want := []float32{2/2.0 - 0.25 - 0.5, -2*2 - 0.5 - 0.5, 1, 0.5}
	for i := range want {
		if math.Abs(float64(s.logits[i]-want[i])) > 1e-6 {
			t.Fatalf("penalised %v, want %v", s.logits, want)
		}
	}
	// Greedy with a repeat penalty avoids the repeated argmax.
	if got := NewSampler(SamplerOptions{RepeatPenalty: 10, RepeatLastN: 64}).Sample(l, []int32{0}); got != 2 {
		t.Fatalf("greedy with penalty picked %d, want 2", got)
	}
	if err := (SamplerOptions{TopP: 1.5}).Validate(); err == nil {
		t.Fatal("top-p 1.5 accepted")
	}
}

func TestTopKOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	l := make([]float32, 1000)
	for i := range l {
		l[i] = float32(r.NormFloat64())
	}
	c := topK(nil, l, 10)
	for i := 1; i < len(c); i++ {
		if c[i].logit > c[i-1].logit {
			t.Fatalf("not sorted: %v", c)
		}
	}
	n := 0
	for _, v := range l {
		if v > c[9].logit {
			n++
		}
	}
	if n != 9 || c[0].id != argmax(l) {
		t.Fatalf("%d logits above the 10th, argmax %d vs %d", n, c[0].id, argmax(l))
	}
}

func TestStopHolder(t *testing.T) {
	h := stopHolder{stops: []string{"</s>", "END"}}
	var out strings.Builder
	for _, piece := range []string{"Hel", "lo <", "/", "x> E", "N"} {
		o, stopped := h.push(piece)
		out.WriteString(o)
		if stopped {
			t.Fatalf("stopped early at %q", piece)
		}
	}
	if out.String() != "Hello </x> " {
		t.Fatalf("shown %q while a stop string might be forming", out.String())
	}
	o, stopped := h.push("D and more")
	if !stopped || o != "" {
		t.Fatalf("push END: %q %v", o, stopped)
	}
}
