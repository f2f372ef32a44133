// Reference: Vicuna's train.py and LLaMA-Factory's supervised processor (loss on the assistant's turns only,
// every turn of a multi-turn conversation, the end-of-turn token included); Hugging Face apply_chat_template
// (the generation prompt opens the assistant's turn).

package train

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

// Encoder renders conversations through a chat template and tokenizes
// them, knowing exactly which tokens each assistant turn wrote.
//
// The span of assistant turn j is found by rendering prefixes: P =
// Render(messages[:j], generation prompt) ends where the model starts
// answering, F = Render(messages[:j+1]) where its answer (with the
// template's end-of-turn markup) ends. Both are tokenized whole and must
// extend the previous F token for token; the span is then tokens
// [len(P), len(F)) of the whole conversation, exactly as it is tokenized
// for training. Where the text extends but its tokens do not (a BPE merge
// across the boundary), that boundary and every later piece are tokenized
// on their own and concatenated (Example.Split), which is also what
// generation sees: the prompt is encoded up to P and the answer's tokens
// follow. Where the text itself does not extend (a template that renders
// an earlier turn differently once more follow), the conversation is an
// error: its spans cannot be known.
type Encoder struct {
	Template *chat.Template
	Tok      *tokenizer.Tokenizer
	// TrainOnPrompt trains on every token (system and user turns, the
	// template's markup) rather than the assistant's turns only.
	TrainOnPrompt bool
}

// Example is one tokenized conversation.
type Example struct {
	Tokens []int32
	// Train[i] says whether token i is a target of the loss (predicted
	// from tokens[:i]). Train[0] is always false.
	Train []bool
	// Spans are the assistant turns, [start, end) token offsets, in order;
	// an end is where the conversation may be cut by whole turns.
	Spans [][2]int
	// Split: a boundary was not token-stable, and the pieces were
	// tokenized one by one (see Encoder).
	Split bool
}

// Trained counts the example's target tokens.
func (x Example) Trained() int {
	n := 0
	for _, t := range x.Train {
		if t {
			n++
		}
	}
	return n
}

// encode tokenizes rendered text as the model sees it: special tokens
// parsed, and BOS put in front when the vocabulary asks for one and the
// template did not write it.
func (e *Encoder) encode(text string, first bool) []int32 {
	ids := e.Tok.Encode(text, tokenizer.EncodeOptions{ParseSpecial: true})
	if first && e.Tok.AddBOS() && (len(ids) == 0 || ids[0] != e.Tok.BOS()) {
		ids = append([]int32{e.Tok.BOS()}, ids...)
	}
	return ids
}

// Encode renders and tokenizes c. Turns after the last assistant turn are
// dropped (there is nothing to learn from them). An assistant span that
// holds no end-of-generation token is an error: a model trained on it
// would never learn to stop.
func (e *Encoder) Encode(c Conversation) (Example, error) {
	ms := c.Messages
	last := -1
	for i, m := range ms {
		if m.Role == "assistant" {
			last = i
		}
	}
	if last < 0 {
		return Example{}, fmt.Errorf("train: sft %s: no assistant turn", c.Where)
	}
	ms = ms[:last+1]
	name := e.Template.Name()
	if name == "" {
		name = "of the model"
	}
	var (
		x        Example
		prevText string // F of the previous assistant turn ("" before the first)
	)
	for j, m := range ms {
		if m.Role != "assistant" {
			continue
		}
		p, err := e.Template.Render(ms[:j], chat.Options{AddGenerationPrompt: true, Tools: c.Tools})
		if err != nil {
			return Example{}, fmt.Errorf("train: sft %s: turn %d: template %s: %w", c.Where, j+1, name, err)
		}
		f, err := e.Template.Render(ms[:j+1], chat.Options{Tools: c.Tools})
		if err != nil {
			return Example{}, fmt.Errorf("train: sft %s: turn %d: template %s: %w", c.Where, j+1, name, err)
		}
		if !strings.HasPrefix(p, prevText) || !strings.HasPrefix(f, p) || len(f) == len(p) {
			return Example{}, fmt.Errorf("train: sft %s: turn %d: template %s does not render the conversation turn by turn "+
				"(an earlier part changes once this assistant turn follows, or the turn adds nothing), so its tokens cannot be told apart; choose another with --template",
				c.Where, j+1, name)
		}
		var start int
		if !x.Split {
			pt, ft := e.encode(p, true), e.encode(f, true)
			if slices.Equal(pt, ft[:min(len(pt), len(ft))]) && slices.Equal(x.Tokens, pt[:min(len(x.Tokens), len(pt))]) && len(pt) >= len(x.Tokens) {
				x.Tokens, start = ft, len(pt)
			} else {
				x.Split = true
			}
		}
		if x.Split {
			x.Tokens = append(x.Tokens, e.encode(p[len(prevText):], len(x.Tokens) == 0)...)
			start = len(x.Tokens)
			x.Tokens = append(x.Tokens, e.encode(f[len(p):], false)...)
		}
		if start == len(x.Tokens) {
			return Example{}, fmt.Errorf("train: sft %s: turn %d: the assistant's turn has no tokens", c.Where, j+1)
		}
		x.Spans = append(x.Spans, [2]int{start, len(x.Tokens)})
		prevText = f
	}
	for k, s := range x.Spans {
		if !slices.ContainsFunc(x.Tokens[s[0]:s[1]], e.Tok.IsEOG) {
			return Example{}, fmt.Errorf("train: sft %s: template %s does not end assistant turn %d with an end-of-turn token: "+
				"a model trained on it would not learn to stop; choose a template that does with --template (%s)",
				c.Where, name, k+1, strings.Join(chat.BuiltinNames(), ", "))
		}
	}
	x.Train = make([]bool, len(x.Tokens))
	if e.TrainOnPrompt {
		for i := 1; i < len(x.Train); i++ {
			x.Train[i] = true
		}
	} else {
		for _, s := range x.Spans {
			for i := s[0]; i < s[1]; i++ {
				x.Train[i] = i > 0
			}
		}
	}
	return x, nil
}

// Truncate cuts x to at most n tokens by whole assistant turns: it keeps
// the longest run of turns whose last span ends within n. ok is false when
// not even the first turn fits (the example must be dropped); cut reports
// that turns were removed.
func (x Example) Truncate(n int) (y Example, cut, ok bool) {
	if len(x.Tokens) <= n {
		return x, false, true
	}
	k := 0
	for k < len(x.Spans) && x.Spans[k][1] <= n {
		k++
	}
	if k == 0 {
		return Example{}, false, false
	}
	end := x.Spans[k-1][1]
	return Example{Tokens: x.Tokens[:end], Train: x.Train[:end], Spans: x.Spans[:k], Split: x.Split}, true, true
}

// Prompt renders msgs with the generation prompt and tokenizes them as
// Encode does: what a fine-tuned model is asked at run time (the sample
// answers at each evaluation).
func (e *Encoder) Prompt(msgs []chat.Message) ([]int32, error) {
	text, err := e.Template.Render(msgs, chat.Options{AddGenerationPrompt: true})
	if err != nil {
		return nil, fmt.Errorf("train: sft prompt: %w", err)
	}
	return e.encode(text, true), nil
}
