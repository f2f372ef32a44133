// Reference: Lee, Chang & Toutanova 2019, "Latent Retrieval for Weakly Supervised Open Domain
// Question Answering" §5 (the Inverse Cloze Task: a sentence as the query, its context as the
// passage, the sentence left in the passage 10% of the time); Alpaca's {instruction, input, output}.

package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Pairs for training an embedder without labelled queries. The question
// answering sets beside the repository hold a few thousand questions; the
// inverse cloze task turns any prose into (sentence → its paragraph) pairs,
// which teach the same thing a question does: find the passage that a
// short text was taken from, or is about. Instruction sets add
// (request → answer) pairs, a second kind of query.

// ICTPairs cuts every text into passages of up to maxRunes runes (whole
// sentences; a sentence longer than that is a passage by itself) and
// makes one pair of each passage of at least three sentences: a sentence
// drawn from (seed, passage number) as the query, the passage without
// it as the positive, or with it one time in ten (Lee et al.: so that the
// model learns word overlap too, but not only that).
func ICTPairs(texts []string, maxRunes int, seed uint64) []EmbedPair {
	return ICTPairsN(texts, maxRunes, seed, 1)
}

// ICTPairsN is ICTPairs with up to perPassage pairs from each passage,
// each with another sentence as its query (at most all but one of the
// passage's sentences), so that a small corpus gives more pairs; its
// first pair of each passage is ICTPairs' pair.
func ICTPairsN(texts []string, maxRunes int, seed uint64, perPassage int) []EmbedPair {
	var pairs []EmbedPair
	n := 0
	for _, text := range texts {
		for _, passage := range passages(sentences(text), maxRunes) {
			if len(passage) < 3 {
				continue
			}
			r := rand.New(rand.NewPCG(seed, 0x696374^uint64(n))) // "ict"
			n++
			used := make([]bool, len(passage))
			for k := 0; k < max(1, perPassage) && k < len(passage)-1; k++ {
				q := r.IntN(len(passage))
				for used[q] {
					q = (q + 1) % len(passage)
				}
				used[q] = true
				keep := r.IntN(10) == 0
				var pos []string
				for i, s := range passage {
					if i != q || keep {
						pos = append(pos, s)
					}
				}
				pairs = append(pairs, EmbedPair{Query: passage[q], Positive: joinSentences(pos)})
			}
		}
	}
	return pairs
}

// sentences splits text at sentence ends: '.', '!' or '?' followed by a
// space or the end, and the CJK full stops '。！？' anywhere. Newlines
// end a sentence too (paragraph breaks, list items). Sentences of fewer
// than 3 letters or digits are dropped (numbering, stray punctuation).
func sentences(text string) []string {
	var out []string
	start := 0
	flush := func(end int) {
		s := strings.TrimSpace(text[start:end])
		start = end
		letters := 0
		for _, r := range s {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				letters++
			}
		}
		if letters >= 3 {
			out = append(out, s)
		}
	}
	for i, r := range text {
		end := i + utf8.RuneLen(r)
		switch r {
		case '\n', '。', '！', '？':
			flush(end)
		case '.', '!', '?':
			if end == len(text) || text[end] == ' ' || text[end] == '\n' {
				flush(end)
			}
		}
	}
	if start < len(text) {
		flush(len(text))
	}
	return out
}

// passages groups consecutive sentences into runs of at most maxRunes
// runes.
func passages(sents []string, maxRunes int) [][]string {
	var out [][]string
	var cur []string
	n := 0
	for _, s := range sents {
		l := utf8.RuneCountInString(s)
		if len(cur) > 0 && n+l > maxRunes {
			out = append(out, cur)
			cur, n = nil, 0
		}
		cur = append(cur, s)
		n += l + 1
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// joinSentences joins with a space, except between two CJK sentences.
func joinSentences(s []string) string {
	var b strings.Builder
	for i, x := range s {
		if i > 0 {
			last, _ := utf8.DecodeLastRuneInString(s[i-1])
			if last < 0x2e80 {
				b.WriteByte(' ')
			}
		}
		b.WriteString(x)
	}
	return b.String()
}

// ReadInstructionPairs reads an Alpaca-format JSON list ({instruction,
// input, output}; other fields, such as LIMA's history, are ignored) as
// (instruction and input → output) pairs. Rows with an empty instruction
// or an output of fewer than minRunes runes are skipped: a one-word
// answer describes nothing to retrieve.
func ReadInstructionPairs(path string, minRunes int) ([]EmbedPair, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Instruction string `json:"instruction"`
		Input       string `json:"input"`
		Output      string `json:"output"`
	}
	if err := json.Unmarshal(b, &rows); err != nil {
		return nil, fmt.Errorf("train: %s: not an Alpaca-format JSON list ({instruction, input, output}): %w", path, err)
	}
	var pairs []EmbedPair
	for _, r := range rows {
		q := strings.TrimSpace(r.Instruction)
		if in := strings.TrimSpace(r.Input); in != "" {
			q += "\n" + in
		}
		out := strings.TrimSpace(r.Output)
		if q == "" || utf8.RuneCountInString(out) < minRunes {
			continue
		}
		pairs = append(pairs, EmbedPair{Query: q, Positive: out})
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("train: %s: no row with an instruction and an output of %d runes or more", path, minRunes)
	}
	return pairs, nil
}

// ReadTexts reads the texts of a file for ICTPairs: a .jsonl file's
// "text" fields, one per line; a DPR retriever file's negative and hard
// negative contexts (its positives are the passages its questions are
// evaluated on, so they are left out); any other file one text per
// non-empty line.
func ReadTexts(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var texts []string
	switch {
	case strings.HasSuffix(strings.ToLower(path), ".jsonl"):
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 16<<20)
		for line := 1; sc.Scan(); line++ {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			var r struct {
				Text string `json:"text"`
			}
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				return nil, fmt.Errorf("train: %s:%d: %w", path, line, err)
			}
			if r.Text != "" {
				texts = append(texts, r.Text)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("train: %s: %w", path, err)
		}
	case strings.HasSuffix(strings.ToLower(path), ".json"):
		var items []struct {
			Negative []struct{ Text string } `json:"negative_ctxs"`
			Hard     []struct{ Text string } `json:"hard_negative_ctxs"`
		}
		if err := json.Unmarshal(b, &items); err != nil {
			return nil, fmt.Errorf("train: %s: not a DPR retriever file (other JSON files have no texts to read): %w", path, err)
		}
		seen := map[string]bool{}
		for _, it := range items {
			for _, c := range append(it.Negative, it.Hard...) {
				if c.Text != "" && !seen[c.Text] {
					seen[c.Text] = true
					texts = append(texts, c.Text)
				}
			}
		}
	default:
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				texts = append(texts, l)
			}
		}
	}
	if len(texts) == 0 {
		return nil, fmt.Errorf("train: %s: no texts", path)
	}
	return texts, nil
}
