// Reference: nanoGPT train.py (the training loop: forward, backward, clip, step, zero_grad).

package train_test

import (
	"fmt"

	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train"
	"github.com/gptgo/gptgo/train/autograd"
)

// A bigram model (embedding → output head) learns that token 1 follows 0, 2
// follows 1 and 0 follows 2.
func Example() {
	pool := tensor.NewPool(1)
	defer pool.Close()
	emb, _ := autograd.NewParam("token_embd.weight", []float32{0.1, -0.2, 0.3, 0.0, -0.1, 0.2}, 3, 2) // [V=3, C=2]
	head, _ := autograd.NewParam("output.weight", []float32{0.2, 0.1, -0.1, 0.3, 0.0, -0.2}, 3, 2)    // [V, C]
	params := []*autograd.Var{emb, head}
	opt, _ := train.NewAdamW(params, train.DefaultAdamW, pool)
	sched := train.Schedule{MaxLR: 0.1, MinLR: 0.01, Warmup: 2, Decay: 50}
	tokens, targets := []int32{0, 1, 2}, []int32{1, 2, 0}

	tape := autograd.NewTape(pool)
	var first, last float32
	for step := range 50 {
		tape.Reset()
		logits := tape.Linear(tape.Embedding(emb, tokens), head, nil) // [3, V]
		loss := tape.CrossEntropy(logits, targets, -1)
		if err := tape.Backward(loss, 1); err != nil {
			fmt.Println(err)
			return
		}
		if step == 0 {
			first = loss.Data[0]
		}
		last = loss.Data[0]
		if _, err := train.ClipGradNorm(params, 1); err != nil {
			fmt.Println(err)
			return
		}
		opt.Step(sched.LR(step))
		opt.ZeroGrad()
	}
	fmt.Printf("loss %.2f → %.2f\n", first, last)
	// Output: loss 1.13 → 0.00
}
