// Reference: Sennrich et al. 2016, "Neural Machine Translation of Rare Words
// with Subword Units" (the low/lower/newest/widest example).

package tokenizer_test

import (
	"context"
	"fmt"

	"github.com/gptgo/gptgo/tokenizer"
)

// Train a byte-level BPE vocabulary on a few words and use it.
func ExampleTrainer() {
	ctx := context.Background()
	tr, err := tokenizer.NewTrainer(tokenizer.TrainOptions{
		VocabSize: 256 + 1 + 6, // the bytes, one special token, six merges
		Specials:  []string{"<|endoftext|>"},
	})
	if err != nil {
		panic(err)
	}
	tr.Add(ctx, "low low low low low lower lower widest widest widest newest newest newest newest newest newest")
	v, err := tr.Train(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println(v.Merges) // Ġ is GPT-2's character for the space byte
	tk, _ := v.Tokenizer()
	ids := tk.Encode(" newest", tokenizer.EncodeOptions{})
	fmt.Println(len(ids), tk.Decode(ids))
	// Output:
	// [s t e st o w l ow w est n e]
	// 3  newest
}
