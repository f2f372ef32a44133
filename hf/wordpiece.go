// Reference: llama.cpp convert_hf_to_gguf.py (BertModel.set_vocab: the
// "phantom space" form of a WordPiece vocabulary, tokenizer.ggml.pre by
// the tokenizer's behaviour) and the Hugging Face WordPiece serialization
// (model.vocab, continuing_subword_prefix, BertNormalizer).

package hf

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/gptgo/gptgo/tokenizer"
)

// phantom turns a WordPiece token into llama.cpp's form: [BRACKETED]
// tokens stay, continuations lose their ## and word starts gain ▁.
func phantom(tok, prefix string) string {
	if strings.HasPrefix(tok, "[") && strings.HasSuffix(tok, "]") {
		return tok
	}
	if rest, ok := strings.CutPrefix(tok, prefix); ok && rest != "" {
		return rest
	}
	return "\u2581" + tok
}

// unphantom is phantom's inverse for export.
func unphantom(tok string) string {
	if strings.HasPrefix(tok, "[") && strings.HasSuffix(tok, "]") {
		return tok
	}
	if rest, ok := strings.CutPrefix(tok, "\u2581"); ok {
		return rest
	}
	return "##" + tok
}

// wordPieceVocab reads a WordPiece tokenizer.json. llama.cpp's WordPiece
// tokenizer lowercases and strips accents as bert-base-uncased does, which
// is the behaviour it names "bert-bge"; a cased vocabulary would be
// tokenized wrongly, so it is refused.
func wordPieceVocab(path string, tj *tokenizer.HFJSON) (*vocab, error) {
	var norm struct {
		Type      string `json:"type"`
		Lowercase *bool  `json:"lowercase"`
	}
	_ = json.Unmarshal(tj.Normalizer, &norm)
	if norm.Type != "BertNormalizer" || (norm.Lowercase != nil && !*norm.Lowercase) {
		return nil, fmt.Errorf("hf: %s: unknown pre-tokenizer: WordPiece with normalizer %s; only the lowercasing BertNormalizer (bert-bge) is known", path, strings.TrimSpace(string(tj.Normalizer)))
	}
	v, err := idVocab(path, tj, "bert", "bert-bge") // vocab.go
	if err != nil {
		return nil, err
	}
	for _, at := range tj.AddedTokens {
		v.tokens[at.ID], v.types[at.ID] = at.Content, typeUserDefined
		if at.Special || looksSpecial(at.Content) {
			v.types[at.ID] = typeControl
		}
	}
	for i := range v.tokens {
		if v.types[i] == 0 {
			v.tokens[i], v.types[i] = fmt.Sprintf("[PAD%d]", i), typeUnused
			continue
		}
		v.tokens[i] = phantom(v.tokens[i], "##")
	}
	return v, nil
}

// vocabTxt reads BERT's vocab.txt (one token a line, the line number its
// id); the special tokens tokenizer_config.json names are control tokens.
func vocabTxt(path string, tc map[string]any) (*vocab, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("hf: %s has neither tokenizer.json nor vocab.txt", strings.TrimSuffix(path, "/vocab.txt"))
	}
	if err != nil {
		return nil, fmt.Errorf("hf: %w", err)
	}
	defer f.Close()
	if lc, ok := tc["do_lower_case"].(bool); ok && !lc {
		return nil, fmt.Errorf("hf: %s: a cased WordPiece vocabulary (do_lower_case false) is not supported: llama.cpp's WordPiece tokenizer lowercases", path)
	}
	special := map[string]bool{}
	for _, k := range []string{"unk_token", "sep_token", "pad_token", "cls_token", "mask_token"} {
		if s, ok := tc[k].(string); ok {
			special[s] = true
		}
	}
	if len(special) == 0 {
		for _, s := range []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"} {
			special[s] = true
		}
	}
	v := &vocab{model: "bert", pre: "bert-bge"}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		tok := strings.TrimRight(sc.Text(), "\r")
		typ := int32(typeNormal)
		if special[tok] {
			typ = typeControl
		}
		v.tokens = append(v.tokens, phantom(tok, "##"))
		v.types = append(v.types, typ)
		if len(v.tokens) > 1<<24 {
			return nil, fmt.Errorf("hf: %s: more than %d tokens", path, 1<<24)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("hf: %s: %w", path, err)
	}
	if len(v.tokens) == 0 {
		return nil, fmt.Errorf("hf: %s: no tokens", path)
	}
	return v, nil
}
