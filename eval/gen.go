// Reference: lm-evaluation-harness's generate_until tasks (greedy decoding up to a stop string;
// exact_match after stripping; GSM8K's "#### N" answer and the last number of the output as the
// flexible-extract filter takes it).

package eval

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/gptgo/gptgo/tokenizer"
)

// GenItem is one generation question.
type GenItem struct {
	Prompt string
	Answer string // the reference answer (a regular expression for MatchRegex)
}

// Match is how a generated answer is compared with the reference.
type Match string

const (
	MatchExact    Match = "exact"    // equal after trimming spaces
	MatchContains Match = "contains" // the output contains the answer
	MatchRegex    Match = "regex"    // the answer, a regular expression, matches the output
	MatchNumber   Match = "number"   // the output's last number equals the answer's final number (GSM8K: after "####")
)

// ParseMatch checks a --match value.
func ParseMatch(s string) (Match, error) {
	switch m := Match(s); m {
	case MatchExact, MatchContains, MatchRegex, MatchNumber:
		return m, nil
	}
	return "", fmt.Errorf("eval: match %q is not exact, contains, regex or number", s)
}

// GenOptions bound a generation.
type GenOptions struct {
	MaxTokens int      // most tokens to generate; 0 means 256
	Stop      []string // the output ends before the first of these; nil means a blank line
	// ParseSpecial reads control tokens written in the prompt
	// ("<|im_start|>") as those tokens: for prompts a chat template made.
	ParseSpecial bool
}

// Generate continues prompt greedily (the argmax token at each step, as
// lm-eval's default do_sample=false) until an end-of-generation token, a
// stop string or MaxTokens, and returns the text before the stop.
func (s *Scorer) Generate(ctx context.Context, prompt string, o GenOptions) (string, error) {
	maxTok := o.MaxTokens
	if maxTok <= 0 {
		maxTok = 256
	}
	stop := o.Stop
	if stop == nil {
		stop = []string{"\n\n"}
	}
	toks := s.tok.Encode(prompt, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: o.ParseSpecial})
	if len(toks) == 0 {
		return "", fmt.Errorf("eval: the prompt has no tokens")
	}
	if len(toks) >= s.Ctx() {
		return "", fmt.Errorf("eval: the prompt is %d tokens, no room in the context of %d (--ctx)", len(toks), s.Ctx())
	}
	s.Reset()
	defer s.Reset()
	logits, err := s.st.Forward(toks)
	if err != nil {
		return "", err
	}
	s.Evaluated += len(toks)
	var out []int32
	for len(out) < maxTok && len(toks)+len(out) < s.Ctx() {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		next := int32(argmax(len(logits), func(i int) float64 { return float64(logits[i]) }))
		if s.tok.IsEOG(next) {
			break
		}
		out = append(out, next)
		text := s.tok.Decode(out)
		if cut, ok := cutAtStop(text, stop); ok {
			return cut, nil
		}
		if logits, err = s.st.Forward([]int32{next}); err != nil {
			return "", err
		}
		s.Evaluated++
	}
	text := s.tok.Decode(out)
	cut, _ := cutAtStop(text, stop)
	return cut, nil
}

func cutAtStop(text string, stop []string) (string, bool) {
	at := -1
	for _, st := range stop {
		if i := strings.Index(text, st); st != "" && i >= 0 && (at < 0 || i < at) {
			at = i
		}
	}
	if at < 0 {
		return text, false
	}
	return text[:at], true
}

var numberRE = regexp.MustCompile(`-?[0-9][0-9,]*(\.[0-9]+)?`)

// FinalNumber is the number a GSM8K-style answer ends with: the text
// after "####" if there is one, else the last number; commas and a
// trailing ".0…" are dropped so that "1,000.00" equals "1000".
func FinalNumber(s string) string {
	if i := strings.LastIndex(s, "####"); i >= 0 {
		s = s[i+4:]
	}
	all := numberRE.FindAllString(s, -1)
	if len(all) == 0 {
		return ""
	}
	n := strings.ReplaceAll(all[len(all)-1], ",", "")
	if i := strings.IndexByte(n, '.'); i >= 0 && strings.Trim(n[i+1:], "0") == "" {
		n = n[:i]
	}
	return n
}

// Correct says whether out answers it under m. A bad regular expression
// is an error naming it.
func Correct(m Match, out string, it GenItem) (bool, error) {
	switch m {
	case MatchExact:
		return strings.TrimSpace(out) == strings.TrimSpace(it.Answer), nil
	case MatchContains:
		return strings.Contains(out, strings.TrimSpace(it.Answer)), nil
	case MatchRegex:
		re, err := regexp.Compile(it.Answer)
		if err != nil {
			return false, fmt.Errorf("eval: answer %q is not a regular expression: %w", it.Answer, err)
		}
		return re.MatchString(out), nil
	case MatchNumber:
		want := FinalNumber(it.Answer)
		return want != "" && FinalNumber(out) == want, nil
	}
	return false, fmt.Errorf("eval: unknown match %q", m)
}
