// Reference: PyTorch autograd's introductory example (a linear layer, a loss, backward, read .grad).

package autograd_test

import (
	"fmt"
	"math"

	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// One linear layer scores 3 classes for 2 inputs; the cross-entropy's
// gradient reaches the weights. By hand: the losses are ln Σe^z − z_target
// = 0.4076 and 1.9644 (mean 1.1860), and the first row of dw is
// Σₙ (softmaxₙ[0] − [targetₙ = 0])·xₙ / 2 = (0.0900·(1, 2) − 0.8598·(−1, 0.5)) / 2
// = (0.4749, −0.1249).
func Example() {
	pool := tensor.NewPool(1)
	defer pool.Close()
	w, _ := autograd.NewParam("w", []float32{1, 0, 0, 1, 1, 1}, 3, 2) // [R=3, C=2]
	x, _ := autograd.Const("x", []float32{1, 2, -1, 0.5}, 2, 2)       // [N=2, C=2]

	tape := autograd.NewTape(pool)
	logits := tape.Linear(x, w, nil)                     // [2, 3]
	loss := tape.CrossEntropy(logits, []int32{2, 0}, -1) // mean over both rows
	if err := tape.Backward(loss, 1); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("logits %v\nloss %.4f\ndloss/dw %.4f\n", logits.Data, loss.Data[0], w.Grad)
	// Output:
	// logits [1 2 3 -1 0.5 -0.5]
	// loss 1.1860
	// dloss/dw [0.4749 -0.1249 -0.1919 0.4019 -0.2830 -0.2770]
}

// Three residual blocks y = x + gelu(x·wᵀ), checkpointed: the forward keeps
// only the blocks' inputs, the backward reruns each block, and the
// gradient is the plain tape's bit for bit.
func ExampleTape_Blocks() {
	pool := tensor.NewPool(1)
	defer pool.Close()
	w, _ := autograd.NewParam("w", []float32{0.5, -1, 0.25, 1}, 2, 2)
	x, _ := autograd.Const("x", []float32{1, 2, -1, 0.5}, 2, 2)
	grads := map[bool][]float32{}
	for _, ckpt := range []bool{false, true} {
		tape := autograd.NewTape(pool)
		if err := tape.SetMemory(autograd.Memory{Checkpoint: ckpt}); err != nil {
			fmt.Println(err)
			return
		}
		y := tape.Blocks(x, 3, func(_ int, x *autograd.Var) *autograd.Var {
			return tape.Add(x, tape.GELU(tape.Linear(x, w, nil)))
		})
		loss := tape.CrossEntropy(y, []int32{0, 1}, -1)
		w.ZeroGrad()
		if err := tape.Backward(loss, 1); err != nil {
			fmt.Println(err)
			return
		}
		grads[ckpt] = append([]float32(nil), w.Grad...)
	}
	same := true
	for i, g := range grads[false] {
		same = same && math.Float32bits(g) == math.Float32bits(grads[true][i])
	}
	fmt.Printf("dloss/dw %.4f\nthe same bits with checkpointing: %v\n", grads[true], same)
	// Output:
	// dloss/dw [0.0257 0.0274 3.6277 12.7079]
	// the same bits with checkpointing: true
}
