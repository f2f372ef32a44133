// Reference: llama.cpp src/unicode.cpp and src/llama-vocab.cpp; the expected
// splits and ids here were worked out by hand from those algorithms.

package tokenizer

import (
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// words runs a pre-tokenizer over text and returns its words.
func words(t *testing.T, pre, text string) []string {
	t.Helper()
	tok := &Tokenizer{pre: preTokenizers[preAliases[pre]]}
	if tok.pre == nil {
		t.Fatalf("no pre-tokenizer %q", pre)
	}
	var s bpeScratch
	var out []string
	lo := 0
	for _, hi := range tok.splitWords(text, &s) {
		out = append(out, text[lo:hi])
		lo = hi
	}
	return out
}

func TestPreTokenizers(t *testing.T) {
	for _, c := range []struct {
		pre, text string
		want      []string
	}{
		// The last space of a run goes with the next word; contractions split off.
		{"gpt-2", "Hello  world's 12345!!", []string{"Hello", " ", " world", "'s", " 12345", "!!"}},
		{"gpt-2", "a\t\n b", []string{"a", "\t\n", " b"}},
		{"gpt-2", "ends   ", []string{"ends", "   "}},
		// LLaMA-3: digits in threes, case-insensitive contractions, line breaks kept together.
		{"llama3", "I'M 1234567\n\n  x", []string{"I", "'M", " ", "123", "456", "7", "\n\n", " ", " x"}},
		{"llama3", "...\n\nok", []string{"...\n\n", "ok"}},
		{"llama3", "\u00a0word", []string{"\u00a0word"}}, // a non-ASCII space joins the word as [^\r\n\p{L}\p{N}]
		// Qwen2: single digits.
		{"qwen2", "x 2024", []string{"x", " ", "2", "0", "2", "4"}},
		// DeepSeek-Coder: newlines alone, letters with one leading space, CJK runs.
		{"deepseek-coder", "def f():\n  return 1", []string{"def", " f", "():", "\n", " ", " return", " ", "1"}},
		// StarCoder: every digit alone before the GPT-2 pattern.
		{"starcoder", "v12 ok", []string{"v", "1", "2", " ok"}},
		// o200k: words split before an upper-case letter that follows lower-case ones.
		{"o200k", "camelCase HTTPServer's", []string{"camel", "Case", " HTTPServer's"}},
	} {
		if got := words(t, c.pre, c.text); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s %q:\n got  %q\n want %q", c.pre, c.text, got, c.want)
		}
	}
}

// byteLevelVocab is a byte-level BPE vocabulary: all 256 bytes and a few merges.
func byteLevelVocab(t testing.TB, pre string) *Tokenizer {
	t.Helper()
	var toks []string
	for b := 0; b < 256; b++ {
		toks = append(toks, string(byteToRune[b]))
	}
	merges := []string{"h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld", "Ġ Ġ"}
	for _, m := range merges {
		toks = append(toks, strings.Replace(m, " ", "", 1))
	}
	toks = append(toks, "<|endoftext|>", "<|user|>")
	types := make([]TokenType, len(toks))
	for i := range types {
		types[i] = TypeNormal
	}
	types[len(toks)-2], types[len(toks)-1] = TypeControl, TypeUserDefined
	tok, err := New(Config{Kind: KindBPE, Tokens: toks, Types: types, Merges: merges, Pre: pre,
		BOS: int32(len(toks) - 2), EOS: int32(len(toks) - 2), UNK: -1, SEP: -1, AddBOS: true})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestByteLevelBPE(t *testing.T) {
	tok := byteLevelVocab(t, "gpt-2")
	id := func(s string) int32 {
		i, ok := tok.TokenID(s)
		if !ok {
			t.Fatalf("no token %q", s)
		}
		return i
	}
	got := tok.Encode("hello world", EncodeOptions{})
	if want := []int32{id("hello"), id("Ġworld")}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
	eot := id("<|endoftext|>")
	got = tok.Encode("hi<|endoftext|><|user|>", EncodeOptions{AddSpecial: true, ParseSpecial: true})
	if want := []int32{eot, id("h"), id("i"), eot, id("<|user|>")}; !reflect.DeepEqual(got, want) {
		t.Fatalf("with specials: got %v want %v", got, want)
	}
	// Without ParseSpecial, control text is plain text but user-defined tokens still match.
	got = tok.Encode("<|endoftext|><|user|>", EncodeOptions{})
	if len(got) < 3 || got[len(got)-1] != id("<|user|>") {
		t.Fatalf("without ParseSpecial: %v", got)
	}
	if !tok.IsEOG(eot) || tok.IsEOG(id("<|user|>")) {
		t.Fatal("EOG set wrong")
	}
	if tok.Decode(got) != "<|endoftext|><|user|>" {
		t.Fatalf("Decode = %q", tok.Decode(got))
	}
	// A long word goes through the heap path and must agree with the scan path.
	long := strings.Repeat("hello", 20)
	ids := tok.Encode(long, EncodeOptions{})
	if len(ids) != 20 || tok.Decode(ids) != long {
		t.Fatalf("long word: %d ids, decode %q", len(ids), tok.Decode(ids))
	}
}

// TestByteLevelKeepsInvalidUTF8: bytes that are not UTF-8 reach BPE as
// they are, not as U+FFFD, and the words are cut as if each were U+FFFD.
func TestByteLevelKeepsInvalidUTF8(t *testing.T) {
	tok := byteLevelVocab(t, "gpt-2")
	for _, s := range []string{"caf\xe9 hello", "\xff\xfe", "hello\xc3 world", "日\x80本 \xf0\x9f"} {
		ids := tok.Encode(s, EncodeOptions{})
		if d := tok.Decode(ids); d != s {
			t.Errorf("Decode(Encode(%q)) = %q", s, d)
		}
	}
	// "hello\xff world": the invalid byte is a symbol to the pre-tokenizer
	// (as U+FFFD), so "hello" stays one word and one token.
	hello, _ := tok.TokenID("hello")
	world, _ := tok.TokenID("Ġworld")
	ids := tok.Encode("hello\xff world", EncodeOptions{})
	if len(ids) != 3 || ids[0] != hello || ids[2] != world || tok.TokenBytes(ids[1]) != "\xff" {
		t.Fatalf("hello\\xff world: %v", ids)
	}
}

// FuzzByteLevelRoundTrip: any bytes, valid UTF-8 or not, survive Encode
// then Decode under every pre-tokenizer.
func FuzzByteLevelRoundTrip(f *testing.F) {
	for _, s := range []string{"", "hello world", "  \n\n\t x'S 123456 ¿Qué?", "日本語\u00a0テキスト", "\xff\xfe", "a\u0301b"} {
		f.Add(s)
	}
	var toks []*Tokenizer
	for name := range preTokenizers {
		toks = append(toks, byteLevelVocab(f, name))
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, tok := range toks {
			ids := tok.Encode(s, EncodeOptions{ParseSpecial: true})
			if d := tok.Decode(ids); d != s {
				t.Fatalf("Decode(Encode(%q)) = %q", s, d)
			}
		}
	})
}

func TestWordPiece(t *testing.T) {
	tok, err := New(Config{Kind: KindWPM,
		Tokens: []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "▁hello", "▁un", "aff", "able", "▁,", "▁cafe", "▁你"},
		Types:  []TokenType{TypeControl, TypeUnknown, TypeControl, TypeControl, 1, 1, 1, 1, 1, 1, 1},
		BOS:    2, EOS: -1, UNK: 1, SEP: 3})
	if err != nil {
		t.Fatal(err)
	}
	got := tok.Encode("Hello, UNAFFABLE Café你 xyz", EncodeOptions{AddSpecial: true})
	want := []int32{2, 4, 8, 5, 6, 7, 9, 10, 1, 3}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
}

func TestSPMByteFallbackAndPrefix(t *testing.T) {
	tok := byteVocab(t)
	hi, _ := tok.TokenID("▁hi")
	sp, _ := tok.TokenID("▁")
	got := tok.Encode("hi hi", EncodeOptions{})
	if !reflect.DeepEqual(got, []int32{hi, hi}) {
		t.Fatalf("got %v", got)
	}
	// After a special token the next fragment gets the ▁ prefix again.
	got = tok.Encode("hi</s>hi", EncodeOptions{ParseSpecial: true})
	if !reflect.DeepEqual(got, []int32{hi, tok.EOS(), hi}) {
		t.Fatalf("got %v", got)
	}
	// Characters outside the vocabulary become byte tokens.
	got = tok.Encode("é", EncodeOptions{})
	c3, _ := tok.TokenID("<0xC3>")
	a9, _ := tok.TokenID("<0xA9>")
	if !reflect.DeepEqual(got, []int32{sp, c3, a9}) {
		t.Fatalf("got %v", got)
	}
}

func TestHFJSONWordPiece(t *testing.T) {
	const js = `{"added_tokens":[{"id":2,"content":"[CLS]","special":true},{"id":3,"content":"[SEP]","special":true}],
	"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"[CLS]"}},{"Sequence":{"id":"A"}},{"SpecialToken":{"id":"[SEP]"}}]},
	"model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##",
	"vocab":{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"play":4,"##ing":5,"[unused0]":6}}}`
	tok, err := FromHFJSON(strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	// "[unused0]" is a normal token: the text splits at its brackets, as in llama.cpp.
	if got := tok.Encode("Playing [unused0]", EncodeOptions{AddSpecial: true}); !reflect.DeepEqual(got, []int32{2, 4, 5, 1, 1, 1, 3}) {
		t.Fatalf("got %v", got)
	}
	if tok.Piece(4) != "▁play" || tok.Piece(5) != "ing" || tok.Piece(6) != "[unused0]" {
		t.Fatalf("pieces %q %q %q", tok.Piece(4), tok.Piece(5), tok.Piece(6))
	}
}

// TestHFJSONStripAndConcurrency: an added token with lstrip/rstrip eats the
// whitespace around it, and one Tokenizer serves many goroutines.
func TestHFJSONStripAndConcurrency(t *testing.T) {
	var vocab []string
	for b := 0; b < 256; b++ {
		vocab = append(vocab, strconv.Quote(string(byteToRune[b]))+":"+strconv.Itoa(b))
	}
	js := `{"added_tokens":[{"id":256,"content":"<mask>","special":true,"lstrip":true,"rstrip":true}],
	"pre_tokenizer":{"type":"ByteLevel"},"model":{"type":"BPE","merges":[],"vocab":{` + strings.Join(vocab, ",") + `}}}`
	tok, err := FromHFJSON(strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	if tok.AddBOS() {
		t.Fatal("no post-processor, yet BOS is added")
	}
	// LLaMA-3 style: the template sits inside a Sequence post-processor.
	seq := strings.Replace(js, `"pre_tokenizer"`, `"post_processor":{"type":"Sequence","processors":[{"type":"ByteLevel"},
	{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<mask>"}},{"Sequence":{"id":"A"}}]}]},"pre_tokenizer"`, 1)
	if tb, err := FromHFJSON(strings.NewReader(seq)); err != nil || !tb.AddBOS() || tb.BOS() != 256 {
		t.Fatalf("Sequence post-processor: err %v, BOS %v", err, tb)
	}
	got := tok.Encode("a  <mask>  b", EncodeOptions{ParseSpecial: true})
	if want := []int32{'a', 256, 'b'}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
	text := strings.Repeat("The quick brown fox <mask> jumps. ", 300)
	want := tok.Encode(text, EncodeOptions{ParseSpecial: true})
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := tok.Encode(text, EncodeOptions{ParseSpecial: true}); !reflect.DeepEqual(got, want) {
				errs <- "concurrent Encode differs"
			}
			// Short texts go through the cache shared by all goroutines.
			var joined []int32
			for _, part := range strings.SplitAfter(text, ". ") {
				joined = append(joined, tok.Encode(part, EncodeOptions{ParseSpecial: true})...)
			}
			if !reflect.DeepEqual(joined, want) {
				errs <- "concurrent short Encodes differ"
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

func TestNewRejectsBadVocabularies(t *testing.T) {
	for _, c := range []Config{
		{Kind: KindSPM},
		{Kind: KindSPM, Tokens: []string{"a"}, Scores: []float32{1, 2}},
		{Kind: KindBPE, Tokens: []string{"a"}, Pre: "no-such-pre"},
		{Kind: 99, Tokens: []string{"a"}},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) succeeded", c)
		}
	}
}

func TestMalformedFilesGiveErrors(t *testing.T) {
	if _, err := FromSentencePiece([]byte{0x0a, 0xff}); err == nil {
		t.Error("truncated protobuf accepted")
	}
	if _, err := FromLlama2cBin([]byte{8, 0, 0, 0, 0, 0, 0, 0, 200, 0, 0, 0}); err == nil {
		t.Error("llama2.c token longer than its max length accepted")
	}
	if _, err := FromLlama2cBin([]byte{8, 0}); err == nil {
		t.Error("llama2.c file without header accepted")
	}
	if _, err := FromSentencePiece(nil); err == nil {
		t.Error("empty model accepted")
	}
	if _, err := FromTiktoken(strings.NewReader("!!! 0\n"), "cl100k_base"); err == nil {
		t.Error("bad base64 accepted")
	}
	if _, err := FromTiktoken(strings.NewReader("YQ== 0\n"), "nope"); err == nil {
		t.Error("unknown encoding accepted")
	}
	if _, err := FromHFJSON(strings.NewReader(`{"model":{"type":"Unigram","vocab":{"a":0}}}`)); err == nil {
		t.Error("unigram tokenizer.json accepted")
	}
	if _, err := FromVocabMerges(strings.NewReader(`{"a":0}`), strings.NewReader(""), "bogus"); err == nil {
		t.Error("unknown pre-tokenizer accepted")
	}
}

// FuzzSPMAndWordPiece: SentencePiece with byte fallback is lossless on
// valid UTF-8, WordPiece never panics, and streaming never emits invalid UTF-8.
func FuzzSPMAndWordPiece(f *testing.F) {
	for _, s := range []string{"", "hi hi", " leading", "</s>x", "日本\xff", "A\u0300 b\tc"} {
		f.Add(s)
	}
	spm := byteVocab(f)
	wpm, err := New(Config{Kind: KindWPM, Tokens: []string{"[UNK]", "▁a", "b", "▁,"}, BOS: -1, EOS: -1, UNK: 0, SEP: -1})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids := spm.Encode(s, EncodeOptions{})
		if utf8.ValidString(s) && spm.Decode(ids) != s {
			t.Fatalf("SPM Decode(Encode(%q)) = %q", s, spm.Decode(ids))
		}
		d := spm.NewStreamDecoder()
		for _, id := range ids {
			if out := d.Next(id); !utf8.ValidString(out) {
				t.Fatalf("stream emitted %q", out)
			}
		}
		if out := d.Flush(); !utf8.ValidString(out) {
			t.Fatalf("flush emitted %q", out)
		}
		for _, id := range wpm.Encode(s, EncodeOptions{AddSpecial: true}) {
			if id < 0 || int(id) >= wpm.VocabSize() {
				t.Fatalf("WordPiece id %d out of range", id)
			}
		}
	})
}
