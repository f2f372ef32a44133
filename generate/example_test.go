package generate_test

import (
	"fmt"

	"github.com/gptgo/gptgo/generate"
)

// A Sampler on its own: greedy picks the largest logit; a repetition
// penalty steers it away from tokens already in the history.
func ExampleSampler() {
	logits := []float32{3, 1, 2.5}
	greedy := generate.NewSampler(generate.SamplerOptions{})
	fmt.Println(greedy.Sample(logits, nil))
	penalised := generate.NewSampler(generate.SamplerOptions{RepeatPenalty: 1.5, RepeatLastN: 64})
	fmt.Println(penalised.Sample(logits, []int32{0}))
	// Output:
	// 0
	// 2
}
