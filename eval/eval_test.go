package eval

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tokenizer"
)

// defaultScorer opens the embedded default model (6 layers, width 256,
// Q8_0) with a 256-token context.
func defaultScorer(t testing.TB) (*Scorer, *model.State) {
	t.Helper()
	f, err := models.OpenDefault()
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.OpenFile(f)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	st, err := m.NewState(model.Options{Ctx: 256, Batch: 64})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(); m.Close() })
	return NewScorer(st, tok), st
}

// freshLogProbs runs tokens from an empty cache and returns log p of
// tokens[from:]: the reference the cached scorer must equal.
func freshLogProbs(t *testing.T, st *model.State, tokens []int32, from int) []float64 {
	t.Helper()
	st.Reset()
	var out []float64
	err := st.ForwardAll(tokens, func(i int, l []float32) error {
		if i+1 >= from && i+1 < len(tokens) {
			out = append(out, LogSoftmax(l, tokens[i+1]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st.Reset()
	return out
}

// The options of a question share its prefix in the KV cache; their
// log-probabilities equal those of each sequence run alone. The bound
// is float32 rounding of the attention over a cache filled in two
// batches instead of one: 1e-4 nats.
func TestScorerReusesPrefixExactly(t *testing.T) {
	s, st := defaultScorer(t)
	enc := func(x string) []int32 {
		return s.Tokenizer().Encode(x, tokenizer.EncodeOptions{AddSpecial: true})
	}
	ctx := "The cat sat on the mat and looked out of the window at the"
	choices := []string{" birds", " rain falling on the garden", " dog"}
	type run struct {
		toks []int32
		from int
	}
	var runs []run
	for _, c := range choices {
		runs = append(runs, run{enc(ctx + c), len(enc(ctx))})
	}
	var got [][]float64
	for _, r := range runs {
		lp, err := s.LogProbs(context.Background(), r.toks, r.from)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, lp)
	}
	if s.Reused == 0 {
		t.Errorf("no prefix reused (evaluated %d)", s.Evaluated)
	}
	for i, r := range runs {
		want := freshLogProbs(t, st, r.toks, r.from)
		if len(got[i]) != len(want) || len(want) == 0 {
			t.Fatalf("option %d: %d log-probs, want %d", i, len(got[i]), len(want))
		}
		for j := range want {
			if d := math.Abs(got[i][j] - want[j]); d > 1e-4 {
				t.Errorf("option %d token %d: %.6f, fresh %.6f", i, j, got[i][j], want[j])
			}
		}
	}
}

func TestLogSoftmax(t *testing.T) {
	l := []float32{1, 2, 3}
	want := 2 - math.Log(math.Exp(1)+math.Exp(2)+math.Exp(3))
	if got := LogSoftmax(l, 1); math.Abs(got-want) > 1e-12 {
		t.Errorf("got %v want %v", got, want)
	}
	if got := LogSumExp([]float32{1000, 1000}); math.Abs(got-(1000+math.Ln2)) > 1e-9 {
		t.Errorf("overflow: %v", got)
	}
}

// Scoring an item picks, for each metric, the option its rule ranks
// first, from the log-likelihoods it reports.
func TestScoreItemPicks(t *testing.T) {
	s, _ := defaultScorer(t)
	it := Item{Context: "Once upon a time there was a", Choices: []string{"little girl", "x", "quantum chromodynamics lecture"}, Gold: 0, Delim: " "}
	r, err := s.ScoreItem(context.Background(), &it)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range r.Options {
		if o.N() < 1 || o.LogLik >= 0 {
			t.Fatalf("option %+v", o)
		}
	}
	best := func(f func(i int) float64) int {
		b := 0
		for i := range r.Options {
			if f(i) > f(b) {
				b = i
			}
		}
		return b
	}
	if w := best(func(i int) float64 { return r.Options[i].LogLik }); r.Pick[MetricAcc] != w {
		t.Errorf("acc picks %d, want %d", r.Pick[MetricAcc], w)
	}
	if w := best(func(i int) float64 { return r.Options[i].LogLik / float64(len([]rune(it.Choices[i]))) }); r.Pick[MetricAccNorm] != w {
		t.Errorf("acc_norm picks %d, want %d", r.Pick[MetricAccNorm], w)
	}
	if w := best(func(i int) float64 { return r.Options[i].LogLik / float64(r.Options[i].N()) }); r.Pick[MetricAccToken] != w {
		t.Errorf("acc_token picks %d, want %d", r.Pick[MetricAccToken], w)
	}
}

// lm-eval moves the context's trailing spaces to the continuation and
// scores the tokens after the context's own.
func TestPrepareHarness(t *testing.T) {
	s, _ := defaultScorer(t)
	tok := s.Tokenizer()
	it := Item{Context: "Question: 2+2=? Answer: ", Choices: []string{"4", "5"}, Delim: ""}
	opts, err := it.Prepare(tok)
	if err != nil {
		t.Fatal(err)
	}
	ctxToks := tok.Encode("Question: 2+2=? Answer:", tokenizer.EncodeOptions{AddSpecial: true})
	for i, o := range opts {
		whole := tok.Encode("Question: 2+2=? Answer: "+it.Choices[i], tokenizer.EncodeOptions{AddSpecial: true})
		if !slicesEqual(o.Tokens, whole) || o.From != len(ctxToks) || o.To != len(whole) {
			t.Errorf("option %d: %v from %d to %d; want %v from %d", i, o.Tokens, o.From, o.To, whole, len(ctxToks))
		}
	}
}

func slicesEqual(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// llama.cpp scores from the options' common prefix, which may reach into
// the options when they start alike.
func TestPrepareLlamaCommonPrefix(t *testing.T) {
	s, _ := defaultScorer(t)
	it := Item{Context: "He opened the door", Choices: []string{"and walked in slowly.", "and walked out.", "and sat down."}, Style: StyleLlama}
	opts, err := it.Prepare(s.Tokenizer())
	if err != nil {
		t.Fatal(err)
	}
	ctxN := len(s.Tokenizer().Encode("He opened the door", tokenizer.EncodeOptions{AddSpecial: true}))
	if opts[0].From <= ctxN {
		t.Errorf("scored from %d, want past the context's %d tokens (\" and\" is shared)", opts[0].From, ctxN)
	}
	for _, o := range opts {
		if o.From != opts[0].From || o.To != len(o.Tokens) {
			t.Errorf("%+v", o)
		}
	}
}

// Hand-made, in llama.cpp's HellaSwag layout (6 lines per task).
const hellaswagFile = `Baking: A woman puts flour in a bowl. She
1
drives a car to the moon.
adds two eggs and stirs the mixture.
sings to the bowl loudly.
throws the bowl away.
Sports: A man runs toward the net. He
2
eats a sandwich.
falls asleep.
jumps and hits the ball over the net.
reads a newspaper.
`

func TestReadHellaSwag(t *testing.T) {
	items, err := ReadHellaSwag(strings.NewReader(hellaswagFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[1].Gold != 2 || items[0].Choices[1] != "adds two eggs and stirs the mixture." || items[0].Style != StyleLlama {
		t.Fatalf("%+v", items)
	}
	if _, err := ReadHellaSwag(strings.NewReader("a\n1\nb\nc\n")); err == nil || !strings.Contains(err.Error(), "multiple of 6") {
		t.Errorf("short file: %v", err)
	}
	if _, err := ReadHellaSwag(strings.NewReader("a\n7\nb\nc\nd\ne\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad gold: %v", err)
	}
}

// The example row of llama.cpp's winogrande_score comment, a quoted one
// with a comma, and a header.
func TestReadWinogrande(t *testing.T) {
	f := "index,sentence,option1,option2,answer\n" +
		"0,Sarah was a much better surgeon than Maria so _ always got the easier cases.,Sarah,Maria,2\n" +
		"1,\"The trophy didn't fit, because _ was too big.\",trophy,suitcase,1\n"
	// A blank line (at the end, as a file for llama-perplexity has) is skipped.
	items, err := ReadWinogrande(strings.NewReader(f + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 {
		t.Fatalf("%d items", len(items))
	}
	a := items[0]
	if a.Context != "Sarah was a much better surgeon than Maria so " || a.Suffix != " always got the easier cases." || a.Choices[1] != "Maria" || a.Gold != 1 {
		t.Errorf("%+v", a)
	}
	if b := items[1]; b.Context != "The trophy didn't fit, because " || b.Gold != 0 {
		t.Errorf("%+v", b)
	}
	if _, err := ReadWinogrande(strings.NewReader(f + "2,no blank here,a,b,1\n")); err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Errorf("bad line: %v", err)
	}
	s, _ := defaultScorer(t)
	opts, err := a.Prepare(s.Tokenizer())
	if err != nil {
		t.Fatal(err)
	}
	// Both sentences have more than 3 tokens after the choice: only the
	// rest of the sentence, less its last token, is scored.
	for i, o := range opts {
		base := len(s.Tokenizer().Encode(a.Context+a.Choices[i], tokenizer.EncodeOptions{AddSpecial: true}))
		if o.From != base || o.To != len(o.Tokens)-1 {
			t.Errorf("option %d: from %d to %d of %d, want from %d", i, o.From, o.To, len(o.Tokens), base)
		}
	}
}

func TestMultipleChoiceRoundTrip(t *testing.T) {
	in := []Item{
		{Context: "What is the capital of France?", Choices: []string{"Berlin", "Paris", "Rome"}, Gold: 1},
		{Context: "2+2=", Choices: []string{"4", "22"}, Gold: 0},
	}
	var buf bytes.Buffer
	if err := WriteMultipleChoice(&buf, in); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if !LooksLikeMultipleChoice(b) {
		t.Fatal("own file not recognised")
	}
	out, err := ReadMultipleChoice(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].Context != in[0].Context || out[0].Gold != 1 || out[1].Choices[1] != "22" || out[0].Style != StyleLlama {
		t.Fatalf("%+v", out)
	}
	for n := range len(b) {
		if _, err := ReadMultipleChoice(b[:n]); err == nil {
			t.Fatalf("truncated to %d bytes: no error", n)
		}
	}
	if LooksLikeMultipleChoice([]byte("hello world, this is text")) {
		t.Error("text taken for a multiple-choice file")
	}
}

func TestMMLUPrompt(t *testing.T) {
	csv := "What is 1+1?,1,2,3,4,B\n\"Which, with a comma?\",a,b,c,d,D\nLast one?,w,x,y,z,A\n"
	items, err := ReadMMLU(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	it := MMLUItem(items[2], MMLUOptions{Subject: "elementary mathematics", Shots: items[:1]})
	want := "The following are multiple choice questions (with answers) about elementary mathematics.\n\n" +
		"What is 1+1?\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer: B\n\n" +
		"Last one?\nA. w\nB. x\nC. y\nD. z\nAnswer:"
	if it.Context != want || it.Gold != 0 || it.Delim != " " || strings.Join(it.Choices, "") != "ABCD" {
		t.Errorf("prompt %q\nwant   %q", it.Context, want)
	}
	ceval := "id,question,A,B,C,D,answer,explanation\n0,一加一等于几？,1,2,3,4,B,因为\n"
	if items, err := ReadMMLU(strings.NewReader(ceval)); err != nil || len(items) != 1 || items[0].Gold != 1 || items[0].Context != "一加一等于几？" {
		t.Errorf("C-Eval: %+v %v", items, err)
	}
	if _, err := ReadMMLU(strings.NewReader("q,a,b,c,d,E\n")); err == nil || !strings.Contains(err.Error(), "row 1") {
		t.Errorf("bad answer: %v", err)
	}
}

func TestFinalNumberAndMatch(t *testing.T) {
	for in, want := range map[string]string{
		"Natalia sold 48/2 = 24 clips in May.\n#### 72": "72",
		"So the answer is 1,000.00 dollars.":            "1000",
		"It is -3.5 degrees, not 4":                     "4",
		"no number":                                     "",
	} {
		if got := FinalNumber(in); got != want {
			t.Errorf("FinalNumber(%q) = %q, want %q", in, got, want)
		}
	}
	cases := []struct {
		m    Match
		out  string
		ans  string
		want bool
	}{
		{MatchExact, " Paris \n", "Paris", true},
		{MatchExact, "Paris.", "Paris", false},
		{MatchContains, "I think Paris.", "Paris", true},
		{MatchRegex, "answer: 42", `\b4[0-9]\b`, true},
		{MatchNumber, "so she has 72 clips", "#### 72", true},
		{MatchNumber, "so she has 71 clips", "#### 72", false},
	}
	for _, c := range cases {
		if got, err := Correct(c.m, c.out, GenItem{Answer: c.ans}); err != nil || got != c.want {
			t.Errorf("%s %q vs %q: %v %v", c.m, c.out, c.ans, got, err)
		}
	}
	if _, err := Correct(MatchRegex, "x", GenItem{Answer: "("}); err == nil {
		t.Error("bad regex accepted")
	}
}

func TestMeanStdErr(t *testing.T) {
	// 3 of 4 right: p = 0.75, se = √(p(1−p)/(n−1)) = √(0.1875/3) = 0.25.
	m, se := MeanStdErr([]float64{1, 1, 0, 1})
	if m != 0.75 || math.Abs(se-0.25) > 1e-12 {
		t.Errorf("%v ± %v", m, se)
	}
	a := Aggregate("acc", []Metric{{Value: 0.5, StdErr: 0.3}, {Value: 0.7, StdErr: 0.4}})
	if math.Abs(a.Value-0.6) > 1e-12 || math.Abs(a.StdErr-0.25) > 1e-12 {
		t.Errorf("aggregate %+v", a)
	}
}

// A whole run over the hand-made HellaSwag file: every metric has one
// entry per question, the llama.cpp score first, and --limit stops early.
func TestRunHellaSwag(t *testing.T) {
	s, _ := defaultScorer(t)
	items, _ := ReadHellaSwag(strings.NewReader(hellaswagFile))
	task := &Task{Name: "hs", Format: FormatHellaSwag, Items: items}
	var calls int
	r, err := Run(context.Background(), s, task, RunOptions{Samples: true, Progress: func(done, total int, _ *Result) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	if r.N != 2 || calls != 2 || r.Metrics[0].Name != MetricAccToken || len(r.Samples) != 2 || len(r.Samples[0].LogLik) != 4 {
		t.Fatalf("%+v", r)
	}
	for _, m := range r.Metrics {
		if m.Value != 0 && m.Value != 0.5 && m.Value != 1 {
			t.Errorf("%s = %v with 2 questions", m.Name, m.Value)
		}
	}
	r, err = Run(context.Background(), s, task, RunOptions{Limit: 1})
	if err != nil || r.N != 1 {
		t.Fatalf("limit 1: %+v %v", r, err)
	}
}

func TestGenerateStops(t *testing.T) {
	s, _ := defaultScorer(t)
	out, err := s.Generate(context.Background(), "Once upon a time", GenOptions{MaxTokens: 12, Stop: []string{}})
	if err != nil || out == "" {
		t.Fatalf("%q %v", out, err)
	}
	short, err := s.Generate(context.Background(), "Once upon a time", GenOptions{MaxTokens: 12, Stop: []string{out[len(out)/2:]}})
	if err != nil || !strings.HasPrefix(out, short) || len(short) >= len(out) {
		t.Errorf("stop string: %q, full %q, %v", short, out, err)
	}
}
