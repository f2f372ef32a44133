package eval_test

import (
	"fmt"

	"github.com/gptgo/gptgo/eval"
)

// Bradley–Terry ratings from a handful of judged battles: x beat y twice
// and lost once, and so on. The strengths come out as 4 : 2 : 1.
func ExampleFitBT() {
	var battles []eval.Battle
	add := func(a, b string, n int) {
		for range n {
			battles = append(battles, eval.Battle{A: a, B: b, Outcome: eval.WinA})
		}
	}
	add("x", "y", 2)
	add("y", "x", 1)
	add("y", "z", 2)
	add("z", "y", 1)
	add("x", "z", 4)
	add("z", "x", 1)
	names, ratings, _ := eval.FitBT(battles)
	for i, n := range names {
		fmt.Printf("%s %.1f\n", n, ratings[i])
	}
	// Output:
	// x 1120.4
	// y 1000.0
	// z 879.6
}
