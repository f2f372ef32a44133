// Reference: llama.cpp src/llama-vocab.cpp (llm_tokenizer_spm_session), shown
// on a vocabulary small enough to follow by hand.

package tokenizer_test

import (
	"fmt"
	"strings"

	"github.com/gptgo/gptgo/tokenizer"
)

// A SentencePiece vocabulary of a few pieces: the highest-scoring merges
// win, and the text gets the ▁ dummy prefix.
func Example() {
	tok, err := tokenizer.New(tokenizer.Config{
		Kind:   tokenizer.KindSPM,
		Tokens: []string{"<unk>", "<s>", "</s>", "▁", "h", "e", "l", "o", "▁h", "ll", "▁he", "llo", "▁hello"},
		Scores: []float32{0, 0, 0, -1, -1, -1, -1, -1, -3, -2, -4, -5, -6},
		Types: []tokenizer.TokenType{tokenizer.TypeUnknown, tokenizer.TypeControl, tokenizer.TypeControl,
			1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		BOS: 1, EOS: 2, UNK: 0, SEP: -1,
		AddBOS: true, AddSpacePrefix: true,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ids := tok.Encode("hello hell", tokenizer.EncodeOptions{AddSpecial: true})
	fmt.Println(ids)
	var pieces []string
	for _, id := range ids {
		pieces = append(pieces, fmt.Sprintf("%q", tok.Piece(id)))
	}
	fmt.Println(strings.Join(pieces, " "))
	fmt.Printf("%q\n", tok.Decode(ids))
	// Output:
	// [1 12 10 9]
	// "<s>" "▁hello" "▁he" "ll"
	// "hello hell"
}
