// Reference: openai/tiktoken tiktoken/load.py (the .tiktoken format: one
// "base64(token bytes) rank" per line) and tiktoken_ext/openai_public.py (each
// encoding's pattern and special tokens); QwenLM/Qwen tokenization_qwen.py.

package tokenizer

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
)

// tiktokenEncoding is what the file does not say: the pattern and specials.
type tiktokenEncoding struct {
	pre      string
	specials []special
}

type special struct {
	text string
	id   int32 // -1: the next id after the ranks and the previous specials
}

// maxTiktokenGap is the most ids a rank may skip: the published files
// have no gaps at all.
const maxTiktokenGap = 1024

// tiktokenEncodings are the named encodings a .tiktoken file can carry.
var tiktokenEncodings = map[string]func() tiktokenEncoding{
	"gpt2":      func() tiktokenEncoding { return tiktokenEncoding{"gpt-2", []special{{"<|endoftext|>", 50256}}} },
	"r50k_base": func() tiktokenEncoding { return tiktokenEncoding{"gpt-2", []special{{"<|endoftext|>", 50256}}} },
	"p50k_base": func() tiktokenEncoding { return tiktokenEncoding{"gpt-2", []special{{"<|endoftext|>", 50256}}} },
	"cl100k_base": func() tiktokenEncoding {
		return tiktokenEncoding{"llama3", []special{{"<|endoftext|>", 100257}, {"<|fim_prefix|>", 100258},
			{"<|fim_middle|>", 100259}, {"<|fim_suffix|>", 100260}, {"<|endofprompt|>", 100276}}}
	},
	"o200k_base": func() tiktokenEncoding {
		return tiktokenEncoding{"o200k", []special{{"<|endoftext|>", 199999}, {"<|endofprompt|>", 200018}}}
	},
	"qwen": func() tiktokenEncoding {
		sp := []special{{"<|endoftext|>", -1}, {"<|im_start|>", -1}, {"<|im_end|>", -1}}
		for i := 0; i < 205; i++ {
			sp = append(sp, special{"<|extra_" + strconv.Itoa(i) + "|>", -1})
		}
		return tiktokenEncoding{"qwen2", sp}
	},
}

// TiktokenEncodings lists the encoding names FromTiktoken accepts.
func TiktokenEncodings() []string {
	var names []string
	for n := range tiktokenEncodings {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// FromTiktoken reads a .tiktoken rank file for the named encoding
// ("cl100k_base", "o200k_base", "p50k_base", "r50k_base", "gpt2", "qwen").
// Ranks are token ids and a pair merges when its concatenation has a rank,
// lowest first, as tiktoken does. Special tokens are control tokens; EOS is
// <|endoftext|>; no BOS is added.
func FromTiktoken(r io.Reader, encoding string) (*Tokenizer, error) {
	mk, ok := tiktokenEncodings[encoding]
	if !ok {
		return nil, fmt.Errorf("tokenizer: unknown tiktoken encoding %q (known: %v)", encoding, TiktokenEncodings())
	}
	enc := mk()
	var tokens []string
	var types []TokenType
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	line := 0
	for sc.Scan() {
		line++
		f := bytes.Fields(sc.Bytes())
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("tokenizer: tiktoken line %d: want \"base64 rank\"", line)
		}
		raw, err := base64.StdEncoding.DecodeString(string(f[0]))
		if err != nil {
			return nil, fmt.Errorf("tokenizer: tiktoken line %d: %v", line, err)
		}
		rank, err := strconv.Atoi(string(f[1]))
		if err != nil || rank < 0 || rank >= 1<<24 {
			return nil, fmt.Errorf("tokenizer: tiktoken line %d: bad rank %q", line, f[1])
		}
		// Rank files list ranks 0, 1, 2 … in order. A rank far beyond the
		// ranks read so far would make a 14-byte file fill millions of ids
		// (found by FuzzTiktoken: 4 GB and 26 s for "YQ== 16000000").
		if rank >= len(tokens)+maxTiktokenGap {
			return nil, fmt.Errorf("tokenizer: tiktoken line %d: rank %d leaves a gap after %d ids (ranks must be dense, in order)", line, rank, len(tokens))
		}
		for len(tokens) <= rank {
			tokens = append(tokens, "")
			types = append(types, TypeUnused)
		}
		if types[rank] != TypeUnused {
			return nil, fmt.Errorf("tokenizer: tiktoken line %d: rank %d given twice", line, rank)
		}
		tokens[rank] = byteEncode(string(raw))
		types[rank] = TypeNormal
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokenizer: reading tiktoken ranks: %w", err)
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("tokenizer: tiktoken file holds no ranks")
	}
	s := &spec{kind: KindBPE, concat: true, pre: enc.pre}
	s.noID()
	for _, sp := range enc.specials {
		id := sp.id
		if id < 0 {
			id = int32(len(tokens))
		}
		for int(id) >= len(tokens) {
			tokens = append(tokens, "")
			types = append(types, TypeUnused)
		}
		tokens[id], types[id] = sp.text, TypeControl
		if sp.text == "<|endoftext|>" {
			s.eos = id
		}
	}
	for i := range tokens {
		if tokens[i] == "" {
			tokens[i] = "<|unused_" + strconv.Itoa(i) + "|>"
		}
	}
	s.tokens, s.types = tokens, types
	return build(s)
}

// loadTiktokenFile reads path as the encoding its base name says.
func loadTiktokenFile(path, encoding string) (*Tokenizer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := FromTiktoken(bufio.NewReaderSize(f, 1<<16), encoding)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}
