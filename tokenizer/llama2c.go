// Reference: karpathy/llama2.c run.c (build_tokenizer: tokenizer.bin is an
// int32 max_token_length, then per token a float32 score, an int32 length and
// the bytes) and tokenizer.py (export: ▁ written as a space).

package tokenizer

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strings"
)

// FromLlama2cBin reads llama2.c's tokenizer.bin, a SentencePiece BPE
// vocabulary with scores but no token types: id 0 is <unk>, ids 1 and 2
// are BOS and EOS, <0xXX> pieces are byte tokens, and spaces are turned
// back into ▁.
func FromLlama2cBin(b []byte) (*Tokenizer, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("tokenizer: llama2.c tokenizer.bin: %d bytes, no header", len(b))
	}
	maxLen := binary.LittleEndian.Uint32(b)
	s := &spec{kind: KindSPM, addBOS: true, addSpacePrefix: true}
	s.noID()
	s.unk, s.bos, s.eos = 0, 1, 2
	for off := 4; off < len(b); {
		if off+8 > len(b) {
			return nil, fmt.Errorf("tokenizer: llama2.c tokenizer.bin: token %d truncated at offset %d", len(s.tokens), off)
		}
		score := math.Float32frombits(binary.LittleEndian.Uint32(b[off:]))
		n := binary.LittleEndian.Uint32(b[off+4:])
		off += 8
		if n > maxLen || uint64(off)+uint64(n) > uint64(len(b)) {
			return nil, fmt.Errorf("tokenizer: llama2.c tokenizer.bin: token %d of length %d at offset %d", len(s.tokens), n, off)
		}
		text := string(b[off : off+int(n)])
		off += int(n)
		id := len(s.tokens)
		ty := TypeNormal
		switch {
		case id == 0:
			ty = TypeUnknown
		case id <= 2:
			ty, text = TypeControl, strings.TrimSpace(text)
		case len(text) == 6 && strings.HasPrefix(text, "<0x") && text[5] == '>':
			ty = TypeByte
		default:
			text = strings.ReplaceAll(text, " ", "\u2581")
		}
		s.tokens = append(s.tokens, text)
		s.scores = append(s.scores, score)
		s.types = append(s.types, ty)
	}
	return build(s)
}

func loadLlama2cFile(path string) (*Tokenizer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := FromLlama2cBin(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}
