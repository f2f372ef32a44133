// Reference: stanford-cs336/assignment1-basics tests/test_train_bpe.py (the
// reference merges and vocabulary for corpus.en, vocab_size 500).

package tokenizer

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
)

func TestTrainCS336Reference(t *testing.T) {
	dir := testkit.Shared(t, "data", "6-tokenizer-tests")
	tr, err := NewTrainer(TrainOptions{VocabSize: 500, Specials: []string{"<|endoftext|>"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := tr.AddFile(ctx, filepath.Join(dir, "cs336_corpus.en"), ""); err != nil {
		t.Fatal(err)
	}
	v, err := tr.Train(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := os.ReadFile(filepath.Join(dir, "cs336_train-bpe-reference-merges.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimRight(string(mb), "\n"), "\n")
	if !reflect.DeepEqual(v.Merges, want) {
		for i := range min(len(want), len(v.Merges)) {
			if v.Merges[i] != want[i] {
				t.Fatalf("merge %d: got %q, want %q (got %d merges, want %d)", i, v.Merges[i], want[i], len(v.Merges), len(want))
			}
		}
		t.Fatalf("got %d merges, want %d", len(v.Merges), len(want))
	}
	vb, err := os.ReadFile(filepath.Join(dir, "cs336_train-bpe-reference-vocab.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref map[string]int
	if err := json.Unmarshal(vb, &ref); err != nil {
		t.Fatal(err)
	}
	if len(v.Tokens) != len(ref) {
		t.Fatalf("vocabulary of %d, want %d", len(v.Tokens), len(ref))
	}
	for tok, id := range ref {
		if v.Tokens[id] != tok {
			t.Errorf("id %d: got %q, want %q", id, v.Tokens[id], tok)
		}
	}
}

// tinyCorpus exercises ties, specials and repeated letters without shared data.
const tinyCorpus = "low low low low low lower lower widest widest widest newest newest newest newest newest newest<|endoftext|>aaaa aaa"

func TestTrainTiny(t *testing.T) {
	ctx := context.Background()
	tr, err := NewTrainer(TrainOptions{VocabSize: 256 + 1 + 8, Specials: []string{"<|endoftext|>"}, Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Add(ctx, tinyCorpus); err != nil {
		t.Fatal(err)
	}
	v, err := tr.Train(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// By hand: "s t" and "e s" both occur 9 times (widest×3, newest×6);
	// the tie goes to the greater pair, ("s","t").
	if v.Merges[0] != "s t" {
		t.Errorf("first merge %q, want \"s t\" (ties go to the greater pair)", v.Merges[0])
	}
	if len(v.Tokens) != 265 || v.Tokens[0] != "<|endoftext|>" || v.Types[0] != TypeControl || v.Tokens[1] != "!" {
		t.Fatalf("layout: %d tokens, first %q %v, then %q", len(v.Tokens), v.Tokens[0], v.Types[0], v.Tokens[1])
	}
	for _, m := range v.Merges {
		if strings.Contains(m, "endoftext") || strings.Contains(m, "|>") {
			t.Errorf("merge %q crosses the special token", m)
		}
	}
	tk, err := v.Tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	text := "newest lower aaaa widest"
	if got := tk.Decode(tk.Encode(text, EncodeOptions{})); got != text {
		t.Fatalf("round trip %q", got)
	}
	if ids := tk.Encode("a<|endoftext|>b", EncodeOptions{ParseSpecial: true}); len(ids) != 3 || ids[1] != 0 {
		t.Fatalf("special token encodes as %v", ids)
	}
	// Same words fed in another split and worker count: same result.
	tr2, _ := NewTrainer(TrainOptions{VocabSize: 265, Specials: []string{"<|endoftext|>"}, Workers: 1})
	for _, part := range strings.SplitAfter(tinyCorpus, "<|endoftext|>") {
		tr2.Add(ctx, part)
	}
	v2, err := tr2.Train(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v.Merges, v2.Merges) {
		t.Fatalf("merges depend on feeding: %q vs %q", v.Merges, v2.Merges)
	}
}

func TestTrainMinFrequencyAndErrors(t *testing.T) {
	ctx := context.Background()
	tr, _ := NewTrainer(TrainOptions{VocabSize: 1000, MinFrequency: 5})
	tr.Add(ctx, tinyCorpus)
	v, err := tr.Train(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Merges) == 0 || len(v.Tokens) >= 1000 {
		t.Fatalf("%d merges, %d tokens: min frequency should stop early", len(v.Merges), len(v.Tokens))
	}
	if why := tr.Short(); !strings.Contains(why, "below the minimum frequency 5") {
		t.Errorf("Short() = %q, want the minimum frequency named", why)
	}
	if _, err := NewTrainer(TrainOptions{VocabSize: 100}); err == nil {
		t.Error("vocabulary below 256 accepted")
	}
	if _, err := NewTrainer(TrainOptions{VocabSize: 300, Pre: "nope"}); err == nil {
		t.Error("unknown pre-tokenizer accepted")
	}
	if _, err := NewTrainer(TrainOptions{VocabSize: 300, Specials: []string{"a", "a"}}); err == nil {
		t.Error("repeated special accepted")
	}
}

// TestTrainShortOrEmpty: a vocabulary that cannot grow to the asked size
// says why; one that does says nothing; no text at all is an error, for both
// trainers.
func TestTrainShortOrEmpty(t *testing.T) {
	ctx := context.Background()
	if why := stopReason(1, 2, false); !strings.Contains(why, "occurs once, below the minimum frequency 2") {
		t.Errorf("stopReason(1, 2) = %q", why)
	}
	for _, spm := range []bool{false, true} {
		newTrainer := func(size int) *Trainer {
			o := TrainOptions{VocabSize: size, Specials: []string{"<|endoftext|>"}}
			tr, err := NewTrainer(o)
			if spm {
				tr, err = NewSPMTrainer(o, SPMOptions{ByteFallback: true})
			}
			if err != nil {
				t.Fatal(err)
			}
			return tr
		}
		tr := newTrainer(32000)
		tr.Add(ctx, "low lower lowest")
		v, err := tr.Train(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Tokens) >= 32000 || !strings.Contains(tr.Short(), "no pair is left to merge") {
			t.Errorf("spm %v: %d tokens, Short() = %q", spm, len(v.Tokens), tr.Short())
		}
		tr = newTrainer(len(v.Tokens) - 1)
		tr.Add(ctx, "low lower lowest")
		if _, err := tr.Train(ctx); err != nil || tr.Short() != "" {
			t.Errorf("spm %v: size reached, Short() = %q, %v", spm, tr.Short(), err)
		}
		empty := filepath.Join(t.TempDir(), "empty.txt")
		if err := os.WriteFile(empty, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		tr = newTrainer(300)
		if err := tr.AddFile(ctx, empty, ""); err != nil {
			t.Fatal(err)
		}
		if v, err := tr.Train(ctx); err == nil || !strings.Contains(err.Error(), "no text to train on") {
			t.Errorf("spm %v: empty input gave %v tokens, error %v", spm, v, err)
		}
	}
}

// TestSafeCut checks that cutting where safeCut allows never changes the
// words of any pre-tokenizer.
func TestSafeCut(t *testing.T) {
	texts := []string{
		"Hello world!\nNext line's here.\n  indented\n\nblank before\n123\n456 x\ty\n!\n?abc\n中文\n文字。\n'll\n's",
		"a\nb\n c\n  d\n\te\n!!\n!!\n12\n34\n\u00a0x\ny\u3000\nz",
	}
	for name := range preAliases {
		split, err := byteLevelSplitter(name)
		if err != nil {
			t.Fatal(err)
		}
		words := func(s string) []string {
			var w []string
			split(s, func(x string) { w = append(w, x) })
			return w
		}
		for _, text := range texts {
			want := words(text)
			for end := len(text); end > 0; {
				cut := safeCut(text[:end], nil)
				if cut <= 0 {
					break
				}
				got := append(words(text[:cut]), words(text[cut:])...)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("pre %q: cut at %d of %q changes the words:\n%q\n%q", name, cut, text, got, want)
				}
				end = cut - 1
			}
		}
	}
}

func TestForEachTextChunksAndJSON(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for b.Len() < 100000 {
		b.WriteString("some words on a line\nand more<|endoftext|>x\n")
	}
	var got strings.Builder
	n := 0
	err := forEachChunk(strings.NewReader(b.String()), []string{"<|endoftext|>"}, 4096, 1<<20, func(s string) error {
		got.WriteString(s)
		n++
		return nil
	})
	if err != nil || got.String() != b.String() || n < 20 {
		t.Fatalf("chunks do not add up (%d chunks, %v)", n, err)
	}
	// No safe cut at all: the buffer grows to the carry limit, then cuts.
	one := strings.Repeat("x ", 50000)
	n = 0
	got.Reset()
	forEachChunk(strings.NewReader(one), nil, 4096, 20000, func(s string) error { got.WriteString(s); n++; return nil })
	if got.String() != one || n < 2 || n > 10 {
		t.Fatalf("uncuttable text: %d chunks", n)
	}
	p := filepath.Join(dir, "small.txt")
	os.WriteFile(p, []byte(b.String()), 0o644)
	got.Reset()
	if err := ForEachText(p, "", nil, func(s string) error { got.WriteString(s); return nil }); err != nil || got.String() != b.String() {
		t.Fatalf("ForEachText: %v", err)
	}
	j := filepath.Join(dir, "a.json")
	os.WriteFile(j, []byte(`[{"instruction":"翻译","input":"","output":"ok"},{"instruction":"x","output":["p","q"]}]`), 0o644)
	var pieces []string
	if err := ForEachText(j, "", nil, func(s string) error { pieces = append(pieces, s); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(pieces) != 5 {
		t.Fatalf("pieces %q", pieces)
	}
	if err := ForEachText(j, "text", nil, func(string) error { return nil }); err == nil || !strings.Contains(err.Error(), "a.json") {
		t.Fatalf("missing field: %v", err)
	}
	jt := filepath.Join(dir, "t.jsonl")
	os.WriteFile(jt, []byte(`{"id":"doc-1","url":"http://x","text":"body"}`+"\n"), 0o644)
	pieces = nil
	if err := ForEachText(jt, "", nil, func(s string) error { pieces = append(pieces, s); return nil }); err != nil || len(pieces) != 1 || pieces[0] != "body" {
		t.Fatalf("text field by default: %q %v", pieces, err)
	}
	jl := filepath.Join(dir, "b.jsonl")
	os.WriteFile(jl, []byte("{\"text\":\"one\"}\n{\"text\":\"two\"}\n{bad\n"), 0o644)
	err = ForEachText(jl, "text", nil, func(string) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "record 3") {
		t.Fatalf("bad record: %v", err)
	}
}

func TestVocabWritersRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, pre := range []string{"gpt-2", "llama-bpe", "qwen2"} {
		tr, _ := NewTrainer(TrainOptions{VocabSize: 280, Specials: []string{"<|endoftext|>", "<pad>"}, Pre: pre})
		tr.Add(ctx, tinyCorpus+" The quick brown fox jumps over the lazy dog 12345.")
		v, err := tr.Train(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := v.Tokenizer()
		text := "the newest fox<|endoftext|> lowest 2024"
		dir := t.TempDir()
		for _, name := range []string{"v.gguf", "tokenizer.json"} {
			p := filepath.Join(dir, name)
			if err := v.WriteFile(p); err != nil {
				t.Fatal(err)
			}
			got, err := Load(p)
			if err != nil {
				t.Fatal(err)
			}
			o := EncodeOptions{ParseSpecial: true}
			if g, w := got.Encode(text, o), want.Encode(text, o); !reflect.DeepEqual(g, w) {
				t.Errorf("%s %s: %v, want %v", pre, name, g, w)
			}
			back, err := VocabOf(got)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back.Merges, v.Merges) || !reflect.DeepEqual(back.Tokens, v.Tokens) || preAliases[back.Pre] != preAliases[pre] {
				t.Errorf("%s %s: vocabulary changed on the round trip (pre %q)", pre, name, back.Pre)
			}
		}
		if got, _ := Load(filepath.Join(dir, "v.gguf")); got.EOS() != 0 || got.BOS() != 0 {
			t.Errorf("bos/eos %d/%d, want 0", got.BOS(), got.EOS())
		}
		if err := v.WriteSentencePiece(filepath.Join(dir, "x.model")); err == nil {
			t.Error("byte-level vocabulary written as .model")
		}
	}
	v := &Vocab{Model: "gpt2", Pre: "deepseek-coder", Tokens: []string{"a"}, Types: []TokenType{TypeNormal}, BOS: -1, EOS: -1, UNK: -1, PAD: -1}
	if err := v.WriteHFJSON(filepath.Join(t.TempDir(), "t.json")); err == nil {
		t.Error("tokenizer.json written for a pre-tokenizer without a regex form")
	}
}

// BenchmarkTrainWarAndPeace32k trains a 32k byte-level vocabulary on
// war-and-peace.txt (3.2 MB): counting and merging, reported as MB/s of input.
func BenchmarkTrainWarAndPeace32k(b *testing.B) {
	p := testkit.Shared(b, "data", "1-pretrain-en", "war-and-peace.txt")
	st, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	cpu0 := processCPU()
	for b.Loop() {
		tr, _ := NewTrainer(TrainOptions{VocabSize: 32000, Specials: []string{"<|endoftext|>"}})
		if err := tr.AddFile(b.Context(), p, ""); err != nil {
			b.Fatal(err)
		}
		if _, err := tr.Train(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(st.Size())*float64(b.N)/1e6/cpu, "MB/cpu-s")
	}
}

// BenchmarkCountWarAndPeace measures the parallel pre-tokenize-and-count stage alone.
func BenchmarkCountWarAndPeace(b *testing.B) {
	p := testkit.Shared(b, "data", "1-pretrain-en", "war-and-peace.txt")
	st, _ := os.Stat(p)
	b.SetBytes(st.Size())
	cpu0 := processCPU()
	for b.Loop() {
		tr, _ := NewTrainer(TrainOptions{VocabSize: 300})
		if err := tr.AddFile(b.Context(), p, ""); err != nil {
			b.Fatal(err)
		}
		if _, err := tr.wc.Counts(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(st.Size())*float64(b.N)/1e6/cpu, "MB/cpu-s")
	}
}

// TestWriteFileRefusesUnknownExtension: the format follows the extension,
// and a name that promises another format writes nothing.
func TestWriteFileRefusesUnknownExtension(t *testing.T) {
	ctx := context.Background()
	tr, err := NewTrainer(TrainOptions{VocabSize: 260})
	if err != nil {
		t.Fatal(err)
	}
	tr.Add(ctx, tinyCorpus)
	v, err := tr.Train(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"out.txt", "vocab", "v.bin"} {
		p := filepath.Join(dir, name)
		if err := v.WriteFile(p); err == nil || !strings.Contains(err.Error(), ".gguf (GGUF), .json (tokenizer.json) or .model") {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s written", name)
		}
	}
	if err := v.WriteFile(filepath.Join(dir, "V.GGUF")); err != nil {
		t.Error(err)
	}
}
