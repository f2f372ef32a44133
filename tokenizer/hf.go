// Reference: Hugging Face tokenizers, the tokenizer.json serialization
// (tokenizers/src/tokenizer/serialization.rs; models/bpe, models/wordpiece,
// pre_tokenizers/byte_level.rs, processors/template.rs) and llama.cpp
// convert_hf_to_gguf.py (how such vocabularies become GGUF metadata).

package tokenizer

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strings"
)

// HFJSON is the part of a Hugging Face tokenizer.json that gptgo reads:
// what decides tokenization, for FromHFJSON, and what the hf converter
// turns into GGUF metadata. It is the one decoding of the file; each reader
// checks the fields it uses.
type HFJSON struct {
	AddedTokens []struct {
		ID      int32  `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
		LStrip  bool   `json:"lstrip"`
		RStrip  bool   `json:"rstrip"`
	} `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Model         struct {
		Type  string          `json:"type"`
		Vocab json.RawMessage `json:"vocab"` // decoded once the type is known: Unigram's is a list

		Merges       json.RawMessage `json:"merges"` // read by Merges: two serializations
		ByteFallback bool            `json:"byte_fallback"`
		IgnoreMerges bool            `json:"ignore_merges"`
		UnkToken     *string         `json:"unk_token"`
		Prefix       *string         `json:"continuing_subword_prefix"`
	} `json:"model"`
}

// DecodeHFJSON decodes a tokenizer.json. Its error words the problem in
// JSON's terms ("field model.vocab is a JSON array, expected an object")
// and names no file: the caller says which file it read.
func DecodeHFJSON(r io.Reader) (*HFJSON, error) {
	var h HFJSON
	if err := json.NewDecoder(r).Decode(&h); err != nil {
		return nil, errors.New(jsonMessage(err))
	}
	return &h, nil
}

// Merges reads model.merges, stored as "a b" strings or (newer files) as
// ["a", "b"] pairs, as "a b" strings; nil when there are none. Like
// DecodeHFJSON's, its error names no file.
func (h *HFJSON) Merges() ([]string, error) {
	raw := h.Model.Merges
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var strs []string
	if err := json.Unmarshal(raw, &strs); err == nil {
		return strs, nil
	}
	var pairs [][2]string
	if err := json.Unmarshal(raw, &pairs); err != nil {
		return nil, errors.New("model.merges must be an array of \"a b\" strings or [\"a\", \"b\"] pairs")
	}
	strs = make([]string, len(pairs))
	for i, p := range pairs {
		strs[i] = p[0] + " " + p[1]
	}
	return strs, nil
}

// knownPatterns maps the Split regexes of common tokenizer.json files to
// pre-tokenizer names.
var knownPatterns = map[string]string{
	`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`:                                                                       "gpt-2",
	`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`:                              "dbrx",
	`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`: "dbrx",
	`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`:                                   "qwen2",
}

// FromHFJSON reads a Hugging Face tokenizer.json: byte-level BPE (the
// pre-tokenizer is recognised from its Split regex, or GPT-2's when plain
// ByteLevel), SentencePiece-style BPE with ▁ and byte fallback (LLaMA; merge
// ranks become scores), and WordPiece. Added tokens become control tokens
// when "special", user-defined otherwise; BOS/EOS come from the template
// post-processor. Normalizers other than LLaMA's ▁ replacement are not applied.
func FromHFJSON(r io.Reader) (*Tokenizer, error) {
	h, err := DecodeHFJSON(r)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: tokenizer.json: %w", err)
	}
	switch h.Model.Type {
	case "BPE", "WordPiece":
	case "":
		return nil, errors.New("tokenizer: tokenizer.json: no model.type (supported: BPE, WordPiece)")
	default:
		return nil, fmt.Errorf("tokenizer: tokenizer.json: unsupported model type %q (supported: BPE, WordPiece)", h.Model.Type)
	}
	var vocab map[string]int32
	if err := json.Unmarshal(h.Model.Vocab, &vocab); err != nil || vocab == nil {
		return nil, fmt.Errorf("tokenizer: tokenizer.json: model.vocab of a %s model must be an object of token: id", h.Model.Type)
	}
	n := int32(0)
	for _, id := range vocab {
		n = max(n, id+1)
	}
	for _, a := range h.AddedTokens {
		n = max(n, a.ID+1)
	}
	if n == 0 || n > 1<<24 {
		return nil, fmt.Errorf("tokenizer: tokenizer.json: vocabulary of %d tokens", n)
	}
	if err := checkDenseIDs(n, len(vocab)+len(h.AddedTokens)); err != nil {
		return nil, fmt.Errorf("tokenizer: tokenizer.json: %w", err)
	}
	s := &spec{tokens: make([]string, n), types: make([]TokenType, n)}
	s.noID()
	for tok, id := range vocab {
		if id < 0 {
			return nil, fmt.Errorf("tokenizer: tokenizer.json: token %q has id %d", tok, id)
		}
		s.tokens[id], s.types[id] = tok, TypeNormal
	}
	merges, err := h.Merges()
	if err != nil {
		return nil, fmt.Errorf("tokenizer: tokenizer.json: %w", err)
	}
	norm := string(h.Normalizer)
	switch {
	case h.Model.Type == "WordPiece":
		s.kind = KindWPM
		prefix := "##"
		if h.Model.Prefix != nil {
			prefix = *h.Model.Prefix
		}
		for i, tok := range s.tokens {
			if tok == "" {
				continue
			}
			// As llama.cpp's converter: [BRACKETED] tokens stay, word starts
			// get ▁, continuations lose their prefix.
			if strings.HasPrefix(tok, "[") && strings.HasSuffix(tok, "]") {
				continue
			}
			if strings.HasPrefix(tok, prefix) && len(tok) > len(prefix) {
				s.tokens[i] = tok[len(prefix):]
			} else {
				s.tokens[i] = "\u2581" + tok
			}
		}
	case h.Model.Type == "BPE" && (strings.Contains(norm, `"▁"`) || strings.Contains(norm, `\u2581`) || strings.Contains(string(h.PreTokenizer), "Metaspace")):
		s.kind = KindSPM
		s.addSpacePrefix = true
		s.scores = make([]float32, n)
		for i := range s.scores {
			s.scores[i] = -1e9 // no rule makes it: merge last
		}
		for rank, m := range merges {
			if id, ok := vocab[strings.Replace(m, " ", "", 1)]; ok && s.scores[id] == -1e9 {
				s.scores[id] = -float32(rank)
			}
		}
		for i, tok := range s.tokens {
			if len(tok) == 6 && strings.HasPrefix(tok, "<0x") && h.Model.ByteFallback {
				s.types[i] = TypeByte
			} else if len([]rune(tok)) == 1 {
				s.scores[i] = 0
			}
		}
	case h.Model.Type == "BPE":
		s.kind = KindBPE
		s.merges = merges
		s.pre = "gpt-2"
		if m := regexp.MustCompile(`"Regex":\s*("(?:[^"\\]|\\.)*")`).FindSubmatch(h.PreTokenizer); m != nil {
			var pat string
			if err := json.Unmarshal(m[1], &pat); err != nil {
				return nil, fmt.Errorf("tokenizer: tokenizer.json: pre_tokenizer regex: %w", err)
			}
			name, ok := knownPatterns[pat]
			if !ok {
				return nil, fmt.Errorf("tokenizer: tokenizer.json: unsupported pre-tokenizer regex %q", pat)
			}
			s.pre = name
		}
		s.ignoreMerges = h.Model.IgnoreMerges
	}
	for _, a := range h.AddedTokens {
		if a.ID < 0 {
			continue
		}
		s.tokens[a.ID] = a.Content
		s.types[a.ID] = TypeUserDefined
		if a.LStrip || a.RStrip {
			if s.lstrip == nil {
				s.lstrip, s.rstrip = map[int32]bool{}, map[int32]bool{}
			}
			s.lstrip[a.ID], s.rstrip[a.ID] = a.LStrip, a.RStrip
		}
		if a.Special {
			s.types[a.ID] = TypeControl
		}
	}
	for i := range s.tokens {
		if s.tokens[i] == "" {
			s.tokens[i] = fmt.Sprintf("[PAD%d]", i)
			s.types[i] = TypeUnused
		}
	}
	if h.Model.UnkToken != nil {
		if id, ok := indexOf(s.tokens, *h.Model.UnkToken); ok {
			s.unk = id
			s.types[id] = TypeUnknown
		}
	}
	hfSpecials(s, h.PostProcessor)
	return build(s)
}

// jsonMessage words a decoding error of tokenizer.json in JSON's terms
// rather than encoding/json's, which names Go types ("cannot unmarshal array
// into Go struct field .model.vocab of type map[string]int32").
func jsonMessage(err error) string {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return err.Error()
	}
	want := "a number"
	switch te.Type.Kind() {
	case reflect.Map, reflect.Struct:
		want = "an object"
	case reflect.Slice, reflect.Array:
		want = "an array"
	case reflect.String:
		want = "a string"
	case reflect.Bool:
		want = "true or false"
	}
	if te.Field == "" {
		return fmt.Sprintf("the file holds a JSON %s where an object is expected", te.Value)
	}
	return fmt.Sprintf("field %s is a JSON %s, expected %s", te.Field, te.Value, want)
}

// hfSpecials sets BOS/EOS (and whether they are added) from a
// TemplateProcessing post-processor, else from the usual token texts.
func hfSpecials(s *spec, post json.RawMessage) {
	var tp struct {
		Type   string `json:"type"`
		Single []struct {
			Special *struct {
				ID string `json:"id"`
			} `json:"SpecialToken"`
		} `json:"single"`
	}
	_ = json.Unmarshal(post, &tp) // absent or another processor: fall through to the defaults
	if tp.Type == "Sequence" {
		// LLaMA-3 wraps its template in a sequence after ByteLevel.
		var seq struct {
			Processors []json.RawMessage `json:"processors"`
		}
		_ = json.Unmarshal(post, &seq)
		for _, p := range seq.Processors {
			if strings.Contains(string(p), `"TemplateProcessing"`) {
				_ = json.Unmarshal(p, &tp)
				break
			}
		}
	}
	if tp.Type == "TemplateProcessing" && len(tp.Single) > 0 {
		if sp := tp.Single[0].Special; sp != nil {
			if id, ok := indexOf(s.tokens, sp.ID); ok {
				s.bos, s.addBOS = id, true
				if s.kind == KindWPM {
					s.sep = -1
				}
			}
		}
		if sp := tp.Single[len(tp.Single)-1].Special; sp != nil && len(tp.Single) > 1 {
			if id, ok := indexOf(s.tokens, sp.ID); ok {
				if s.kind == KindWPM {
					s.sep = id
				} else {
					s.eos, s.addEOS = id, true
				}
			}
		}
	}
	if s.bos < 0 {
		for _, txt := range []string{"<s>", "<|begin_of_text|>", "[CLS]"} {
			if id, ok := indexOf(s.tokens, txt); ok {
				s.bos = id
				break
			}
		}
	}
	if s.eos < 0 {
		for _, txt := range []string{"</s>", "<|end_of_text|>", "<|endoftext|>", "<|im_end|>"} {
			if id, ok := indexOf(s.tokens, txt); ok {
				s.eos = id
				break
			}
		}
	}
	if s.kind == KindWPM && s.sep < 0 {
		if id, ok := indexOf(s.tokens, "[SEP]"); ok {
			s.sep = id
		}
	}
}

func indexOf(tokens []string, txt string) (int32, bool) {
	for i, t := range tokens {
		if t == txt {
			return int32(i), true
		}
	}
	return -1, false
}

// checkDenseIDs refuses a vocabulary whose highest id n-1 leaves far more
// ids unused than it has entries: published vocabularies number their
// tokens 0…n-1 with few holes, and a lone id of 16000000 would otherwise
// make a 50-byte file allocate gigabytes (found by FuzzHFJSON).
func checkDenseIDs(n int32, entries int) error {
	if int64(n) > int64(entries)+maxIDGap {
		return fmt.Errorf("ids run up to %d but only %d tokens are given (more than %d ids unused)", n-1, entries, maxIDGap)
	}
	return nil
}

// maxIDGap is the most unused ids a vocabulary may hold.
const maxIDGap = 4096

// FromVocabMerges reads the GPT-2 style pair of files: vocab.json (token →
// id, byte-level encoded) and merges.txt ("left right" per line, an
// optional "#version" first line), with the named pre-tokenizer
// ("gpt-2", "llama-bpe", "qwen2", …).
func FromVocabMerges(vocab, merges io.Reader, pre string) (*Tokenizer, error) {
	var v map[string]int32
	if err := json.NewDecoder(vocab).Decode(&v); err != nil {
		return nil, fmt.Errorf("tokenizer: vocab.json: %s", jsonMessage(err))
	}
	n := int32(0)
	for _, id := range v {
		n = max(n, id+1)
	}
	if n == 0 || n > 1<<24 {
		return nil, fmt.Errorf("tokenizer: vocab.json: vocabulary of %d tokens", n)
	}
	if err := checkDenseIDs(n, len(v)); err != nil {
		return nil, fmt.Errorf("tokenizer: vocab.json: %w", err)
	}
	s := &spec{kind: KindBPE, tokens: make([]string, n), types: make([]TokenType, n), pre: pre}
	s.noID()
	for tok, id := range v {
		if id < 0 {
			return nil, fmt.Errorf("tokenizer: vocab.json: token %q has id %d", tok, id)
		}
		s.tokens[id], s.types[id] = tok, TypeNormal
	}
	for i := range s.tokens {
		if s.tokens[i] == "" {
			s.tokens[i] = fmt.Sprintf("[PAD%d]", i)
			s.types[i] = TypeUnused
		}
	}
	sc := bufio.NewScanner(merges)
	sc.Buffer(nil, 1<<20)
	for first := true; sc.Scan(); first = false {
		line := strings.TrimRight(sc.Text(), "\r")
		if first && strings.HasPrefix(line, "#version") {
			continue
		}
		if line != "" {
			s.merges = append(s.merges, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokenizer: merges.txt: %w", err)
	}
	if id, ok := v["<|endoftext|>"]; ok {
		s.eos = id
	}
	if _, known := preAliases[pre]; !known {
		return nil, fmt.Errorf("tokenizer: unknown pre-tokenizer %q", pre)
	}
	set := settingsFor(pre)
	s.addBOS = set.addBOS && s.bos >= 0
	return build(s)
}

func loadHFFile(path string) (*Tokenizer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := FromHFJSON(bufio.NewReaderSize(f, 1<<16))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}
