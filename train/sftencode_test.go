// Reference: Vicuna / LLaMA-Factory (loss on the assistant's turns, end-of-turn token included); the chat
// package's RenderDelta as the independent account of what each assistant turn adds to the prompt.

package train

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

// byteTokenizer is a byte-level BPE vocabulary without merges (one token
// per byte) plus the markers of every built-in template as control tokens,
// "</s>" the EOS: enough to render and tokenize each template exactly.
func byteTokenizer(t *testing.T) *tokenizer.Tokenizer {
	t.Helper()
	var toks []string
	var types []tokenizer.TokenType
	n := 0
	for b := range 256 { // GPT-2's byte-to-character map
		r := rune(b)
		if !(b >= 33 && b <= 126 || b >= 161 && b <= 172 || b >= 174) {
			r = rune(256 + n)
			n++
		}
		toks = append(toks, string(r))
		types = append(types, tokenizer.TypeNormal)
	}
	for _, s := range []string{"<|im_start|>", "<|im_end|>", "<s>", "</s>", "<|begin_of_text|>", "<|start_header_id|>",
		"<|end_header_id|>", "<|eot_id|>", "<|user|>", "<|assistant|>", "<|system|>", "<|end|>", "<bos>", "<eos>",
		"<start_of_turn>", "<end_of_turn>"} {
		toks = append(toks, s)
		types = append(types, tokenizer.TypeControl)
	}
	eos := int32(slices.Index(toks, "</s>"))
	tk, err := tokenizer.New(tokenizer.Config{Kind: tokenizer.KindBPE, Tokens: toks, Types: types, Pre: "gpt-2", BOS: -1, EOS: eos, UNK: -1, SEP: -1})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// multiTurn has a system prompt, three assistant turns and a trailing user
// turn (dropped: nothing to learn from it).
var multiTurn = Conversation{Where: "test", Messages: []chat.Message{
	{Role: "system", Content: "You are terse."},
	{Role: "user", Content: "What is two plus two?"},
	{Role: "assistant", Content: "Four."},
	{Role: "user", Content: "And three plus three?"},
	{Role: "assistant", Content: "Six, of course."},
	{Role: "user", Content: "Thanks"},
	{Role: "assistant", Content: "You're welcome!"},
	{Role: "user", Content: "Bye"},
}}

// checkSpans checks x against the template independently of the Encoder:
// each assistant span, as bytes, is what RenderDelta says the turn adds
// after the generation prompt; it holds an end-of-generation token; and
// the trained tokens are exactly the spans.
func checkSpans(t *testing.T, name string, tmpl *chat.Template, tk *tokenizer.Tokenizer, c Conversation, x Example) {
	t.Helper()
	var want []string
	for j, m := range c.Messages {
		if m.Role != "assistant" {
			continue
		}
		delta, err := tmpl.RenderDelta(c.Messages[:j], c.Messages[j:j+1], chat.Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		header, err := tmpl.RenderDelta(c.Messages[:j], nil, chat.Options{AddGenerationPrompt: true})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.HasPrefix(delta, header) {
			t.Fatalf("%s: turn %d adds %q, not after its generation prompt %q", name, j+1, delta, header)
		}
		want = append(want, delta[len(header):])
	}
	if len(x.Spans) != len(want) {
		t.Fatalf("%s: %d spans for %d assistant turns", name, len(x.Spans), len(want))
	}
	spanTokens := 0
	for k, s := range x.Spans {
		var got strings.Builder
		for _, id := range x.Tokens[s[0]:s[1]] {
			got.WriteString(tk.TokenBytes(id))
		}
		// Edge whitespace is compared loosely: SentencePiece prefixes a
		// space to text, and phi-3's markers strip the newline beside them
		// (llama.cpp's lstrip/rstrip), so the tokens of the whole text hold
		// " Four.<|end|>" for the rendered "Four.<|end|>\n".
		if strings.TrimSpace(got.String()) != strings.TrimSpace(want[k]) {
			t.Errorf("%s: span %d is %q, the template's turn %q", name, k+1, got.String(), want[k])
		}
		if !slices.ContainsFunc(x.Tokens[s[0]:s[1]], tk.IsEOG) {
			t.Errorf("%s: span %d %q holds no end-of-turn token", name, k+1, got.String())
		}
		spanTokens += s[1] - s[0]
		for i := s[0]; i < s[1]; i++ {
			if !x.Train[i] {
				t.Errorf("%s: token %d of span %d is not trained", name, i, k+1)
			}
		}
	}
	if x.Trained() != spanTokens {
		t.Errorf("%s: %d trained tokens, the assistant spans hold %d", name, x.Trained(), spanTokens)
	}
}

// TestEncodeBuiltinTemplates: on every built-in template the trained
// tokens are exactly the assistant turns of a multi-turn conversation.
func TestEncodeBuiltinTemplates(t *testing.T) {
	tk := byteTokenizer(t)
	for _, name := range chat.BuiltinNames() {
		tmpl, err := chat.Builtin(name)
		if err != nil {
			t.Fatal(err)
		}
		x, err := (&Encoder{Template: tmpl, Tok: tk}).Encode(multiTurn)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if x.Split {
			t.Errorf("%s: a one-token-per-byte vocabulary cannot break a boundary, yet the example was split", name)
		}
		checkSpans(t, name, tmpl, tk, Conversation{Messages: multiTurn.Messages[:7]}, x)
		// --train-on-prompt trains every token but the first.
		y, err := (&Encoder{Template: tmpl, Tok: tk, TrainOnPrompt: true}).Encode(multiTurn)
		if err != nil || y.Trained() != len(y.Tokens)-1 || !slices.Equal(y.Tokens, x.Tokens) {
			t.Errorf("%s: train on prompt: %d of %d tokens trained, %v", name, y.Trained(), len(y.Tokens), err)
		}
	}
}

// TestEncodeReferenceTemplates does the same with the templates and
// tokenizers of real GGUF files (real BPE and SentencePiece merges).
func TestEncodeReferenceTemplates(t *testing.T) {
	dir := testkit.SharedDir(t)
	files := []string{"reference/models/tiny-qwen2-f32.gguf", "reference/models/tiny-gpt2-f32.gguf", "reference/tokenizer/ggml-vocab-phi-3.gguf"}
	for _, rel := range files {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err != nil {
			t.Logf("skipping %s: absent", rel)
			continue
		}
		f, err := gguf.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		tk, err := tokenizer.FromGGUF(f)
		if err != nil {
			t.Fatal(err)
		}
		tmpl, err := chat.FromGGUF(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		x, err := (&Encoder{Template: tmpl, Tok: tk}).Encode(multiTurn)
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		t.Logf("%s: %d tokens, %d trained, split %v", rel, len(x.Tokens), x.Trained(), x.Split)
		checkSpans(t, rel, tmpl, tk, Conversation{Messages: multiTurn.Messages[:7]}, x)
	}
}

// TestEncodeSplitBoundary: where the generation prompt and the answer
// merge into one token, the pieces are tokenized apart (as generation
// would see them) and the span still holds the answer exactly.
func TestEncodeSplitBoundary(t *testing.T) {
	tk := byteTokenizer(t)
	// "A" + "nswer" would stay bytes here; use a vocabulary with a merge.
	tk2, err := tokenizer.New(tokenizer.Config{Kind: tokenizer.KindBPE, Tokens: append(tokenList(tk), "Ab"), Types: append(typeList(tk), tokenizer.TypeNormal),
		Merges: []string{"A b"}, Pre: "gpt-2", BOS: -1, EOS: tk.EOS(), UNK: -1, SEP: -1})
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := chat.New(`{%- for m in messages -%}{%- if m.role == 'user' -%}{{ 'Q:' + m.content + '\n' }}{%- else -%}{{ 'A' + m.content + '</s>' }}{%- endif -%}{%- endfor -%}{%- if add_generation_prompt -%}A{%- endif -%}`, "", "</s>")
	if err != nil {
		t.Fatal(err)
	}
	c := Conversation{Where: "t", Messages: []chat.Message{{Role: "user", Content: "x"}, {Role: "assistant", Content: "bc"}}}
	x, err := (&Encoder{Template: tmpl, Tok: tk2}).Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	whole := tk2.Encode("Q:x\nAbc</s>", tokenizer.EncodeOptions{ParseSpecial: true})
	if !x.Split || slices.Equal(x.Tokens, whole) {
		t.Fatalf("split %v, tokens %v (whole text %v): the merged boundary was not noticed", x.Split, x.Tokens, whole)
	}
	span := x.Tokens[x.Spans[0][0]:x.Spans[0][1]]
	if got := tk2.Decode(span); got != "bc" || !tk2.IsEOG(span[len(span)-1]) {
		t.Fatalf("span %v decodes to %q", span, got)
	}
}

func tokenList(tk *tokenizer.Tokenizer) []string {
	var s []string
	for id := range int32(tk.VocabSize()) {
		s = append(s, tk.Piece(id))
	}
	return s
}

func typeList(tk *tokenizer.Tokenizer) []tokenizer.TokenType {
	var s []tokenizer.TokenType
	for id := range int32(tk.VocabSize()) {
		s = append(s, tk.Type(id))
	}
	return s
}

func TestEncodeRefusesUnusableTemplates(t *testing.T) {
	tk := byteTokenizer(t)
	for _, c := range []struct{ src, want string }{
		// gptgo's default base model template: answers end with nothing.
		{`{% for message in messages %}{% if message['role'] != 'system' %}{{ message['content'] }}{% if message['role'] == 'user' %}{{ '\n' }}{% endif %}{% endif %}{% endfor %}`,
			"does not end assistant turn 1 with an end-of-turn token"},
		// The last turn rendered apart: earlier text changes as turns follow.
		{`{%- for m in messages -%}{%- if loop.last -%}[{{ m.content }}</s>]{%- else -%}{{ m.content }}</s>{%- endif -%}{%- endfor -%}`,
			"does not render the conversation turn by turn"},
	} {
		tmpl, err := chat.New(c.src, "", "</s>")
		if err != nil {
			t.Fatal(err)
		}
		_, err = (&Encoder{Template: tmpl, Tok: tk}).Encode(multiTurn)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "--template") {
			t.Errorf("%s: error %v, want %q and a --template hint", c.src, err, c.want)
		}
	}
}

func TestTruncateByTurns(t *testing.T) {
	tmpl, _ := chat.Builtin("chatml")
	x, err := (&Encoder{Template: tmpl, Tok: byteTokenizer(t)}).Encode(multiTurn)
	if err != nil {
		t.Fatal(err)
	}
	y, cut, ok := x.Truncate(len(x.Tokens))
	if cut || !ok || len(y.Tokens) != len(x.Tokens) {
		t.Fatal("an example that fits was cut")
	}
	y, cut, ok = x.Truncate(x.Spans[1][1] + 3) // room for two turns and a bit of the third
	if !cut || !ok || len(y.Tokens) != x.Spans[1][1] || len(y.Spans) != 2 || len(y.Train) != len(y.Tokens) {
		t.Fatalf("cut %v ok %v: %d tokens, %d spans; want %d tokens, 2 spans", cut, ok, len(y.Tokens), len(y.Spans), x.Spans[1][1])
	}
	if _, _, ok = x.Truncate(x.Spans[0][1] - 1); ok {
		t.Fatal("an example whose first turn does not fit was kept")
	}
	exs, st, err := PrepareSFT(&Encoder{Template: tmpl, Tok: byteTokenizer(t)}, []Conversation{multiTurn, {Where: "short", Messages: multiTurn.Messages[1:3]}}, x.Spans[0][1]-1)
	if err != nil || st.Dropped != 1 || st.Examples != 1 || len(exs) != 1 || st.Conversations != 2 {
		t.Fatalf("PrepareSFT: %+v, %v", st, err)
	}
	// An empty answer rendered first is its end-of-turn token alone, at
	// position 0, which nothing predicts: dropped and counted, not an
	// example without targets.
	bare, _ := chat.New(`{% for m in messages %}{{ m.content }}</s>{% endfor %}`, "", "</s>")
	exs, st, err = PrepareSFT(&Encoder{Template: bare, Tok: byteTokenizer(t)}, []Conversation{{Messages: []chat.Message{{Role: "assistant"}}}}, 100)
	if err != nil || st.Empty != 1 || len(exs) != 0 || !strings.Contains(st.String(), "1 dropped with nothing to learn") {
		t.Fatalf("PrepareSFT of an empty first answer: %+v (%s), %v", st, st, err)
	}
}
