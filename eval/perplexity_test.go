package eval

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tokenizer"
)

// pplText is a few hundred tokens of plain English (written for this test).
var pplText = strings.Repeat("The river runs past the old mill, and the miller's children watch the boats go by each morning. ", 12)

// llama-perplexity's method: len/n chunks, BOS first, positions n/2 …
// n−2 scored. Each chunk's sum equals the scorer's log-probabilities of
// the same window from token n/2+1 on; the count is chunks·(n−1−n/2).
func TestPerplexityLlamaChunks(t *testing.T) {
	s, st := defaultScorer(t)
	tok := s.Tokenizer()
	toks := tok.Encode(pplText, tokenizer.EncodeOptions{AddSpecial: true})
	const n = 64
	r, err := Perplexity(context.Background(), st, toks, PPLOptions{Mode: PPLLlama, Ctx: n, BOS: 7})
	if err != nil {
		t.Fatal(err)
	}
	chunks := len(toks) / n
	if r.Windows != chunks || r.Tokens != chunks*(n-1-n/2) {
		t.Fatalf("%d windows, %d tokens scored; want %d, %d", r.Windows, r.Tokens, chunks, chunks*(n-1-n/2))
	}
	var nll float64
	for c := range chunks {
		w := append([]int32(nil), toks[c*n:(c+1)*n]...)
		w[0] = 7
		s.Reset()
		lps, err := s.LogProbs(context.Background(), w, n/2+1)
		if err != nil {
			t.Fatal(err)
		}
		for _, lp := range lps {
			nll -= lp
		}
	}
	want := math.Exp(nll / float64(r.Tokens))
	if math.Abs(r.Perplexity-want) > 1e-9*want || r.PerplexityErr <= 0 {
		t.Errorf("perplexity %v ± %v, by hand %v", r.Perplexity, r.PerplexityErr, want)
	}
	if _, err := Perplexity(context.Background(), st, toks[:2*n-1], PPLOptions{Mode: PPLLlama, Ctx: n, BOS: -1}); err == nil || !strings.Contains(err.Error(), "2×64") {
		t.Errorf("too short: %v", err)
	}
	r2, err := Perplexity(context.Background(), st, toks, PPLOptions{Mode: PPLLlama, Ctx: n, BOS: 7, Chunks: 1})
	if err != nil || r2.Windows != 1 {
		t.Errorf("--chunks 1: %+v %v", r2, err)
	}
}

// The 16-bit log-probabilities of the base file give back log-softmax to
// within half a step (scale/2) over [max−16, max].
func TestQuantizeLogProbs(t *testing.T) {
	logits := make([]float32, 101)
	for i := range logits {
		logits[i] = float32(math.Sin(float64(i)*0.7)*9 + float64(i%7))
	}
	buf := make([]uint16, kldRowLen(len(logits)))
	if len(buf) != 2*51+4 {
		t.Fatalf("nv %d", len(buf))
	}
	quantizeLogProbs(logits, buf)
	scale := math.Float32frombits(uint32(buf[0]) | uint32(buf[1])<<16)
	minLP := math.Float32frombits(uint32(buf[2]) | uint32(buf[3])<<16)
	maxl := logits[0]
	for _, l := range logits {
		maxl = max(maxl, l)
	}
	for i, l := range logits {
		if l <= maxl-16 {
			continue
		}
		got := float64(scale)*float64(buf[4+i]) + float64(minLP)
		want := LogSoftmax(logits, int32(i))
		if d := math.Abs(got - want); d > float64(scale)/2+1e-5 {
			t.Errorf("token %d: %v, want %v (step %v)", i, got, want, scale)
		}
	}
	if buf[len(buf)-1] != 0 {
		t.Error("padding word not zero")
	}
}

// A model compared with its own base file: KLD ≈ 0 (the 16-bit rounding
// only), the same top token everywhere, PPL(Q) = PPL(base) to 1e-3. A
// model of random weights over the same vocabulary: a large KLD and a
// PPL near the vocabulary's size.
func TestKLDivergence(t *testing.T) {
	s, st := defaultScorer(t)
	tok := s.Tokenizer()
	toks := tok.Encode(pplText, tokenizer.EncodeOptions{AddSpecial: true})
	const n = 64
	var base bytes.Buffer
	r, err := Perplexity(context.Background(), st, toks, PPLOptions{Mode: PPLLlama, Ctx: n, BOS: -1, Base: &base})
	if err != nil {
		t.Fatal(err)
	}
	V := st.Model().Vocab
	chunks := len(toks) / n
	if want := 20 + 4*chunks*n + chunks*(n-1-n/2)*2*kldRowLen(V); base.Len() != want || !bytes.HasPrefix(base.Bytes(), []byte("_logits_")) ||
		binary.LittleEndian.Uint32(base.Bytes()[8:]) != n || int(binary.LittleEndian.Uint32(base.Bytes()[12:])) != V {
		t.Fatalf("base file: %d bytes, want %d", base.Len(), want)
	}
	k, err := KLDivergence(context.Background(), st, bytes.NewReader(base.Bytes()), KLDOptions{BOS: -1, Vocab: V})
	if err != nil {
		t.Fatal(err)
	}
	ks := k.Stats()
	if ks.Count != r.Tokens || ks.KLD > 1e-4 || ks.SameTop != 1 || math.Abs(ks.PPL-r.Perplexity) > 1e-3*r.Perplexity || math.Abs(ks.PPLBase/ks.PPL-1) > 1e-3 {
		t.Errorf("self: %+v (perplexity %v)", ks, r.Perplexity)
	}
	var rep strings.Builder
	k.Report(&rep)
	for _, want := range []string{"Mean    KLD:", "Same top p: 100.000", "Mean PPL(Q)-PPL(base)"} {
		if !strings.Contains(rep.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, rep.String())
		}
	}

	src, err := model.RandomSource(st.Model().Config, model.InitOptions{Seed: 1, Tied: true, Std: 0.02})
	if err != nil {
		t.Fatal(err)
	}
	rm, err := model.New(st.Model().Config, src)
	if err != nil {
		t.Fatal(err)
	}
	rst, err := rm.NewState(model.Options{Ctx: 256, Batch: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer rst.Close()
	k, err = KLDivergence(context.Background(), rst, bytes.NewReader(base.Bytes()), KLDOptions{BOS: -1, Vocab: V})
	if err != nil {
		t.Fatal(err)
	}
	if ks := k.Stats(); ks.KLD < 0.5 || ks.SameTop > 0.2 || ks.PPL < float64(V)/4 {
		t.Errorf("random model: %+v", ks)
	}
	for _, cut := range []int{0, 10, 30, base.Len() - 1} {
		if _, err := KLDivergence(context.Background(), st, bytes.NewReader(base.Bytes()[:cut]), KLDOptions{BOS: -1, Vocab: V}); err == nil {
			t.Errorf("truncated at %d: no error", cut)
		}
	}
	if _, err := KLDivergence(context.Background(), st, bytes.NewReader(base.Bytes()), KLDOptions{BOS: -1, Vocab: V + 1}); err == nil || !strings.Contains(err.Error(), "vocabulary") {
		t.Errorf("vocabulary mismatch: %v", err)
	}
}
