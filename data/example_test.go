package data_test

import (
	"context"
	"fmt"

	"github.com/gptgo/gptgo/data"
)

// A pipeline over documents made in memory: exact de-duplication, then PII
// scrubbing. Survivors arrive in input order; the report says what happened.
func Example() {
	docs := []string{
		"Call me at +1 (415) 555-2671 or write to ann@example.com.",
		"call me at +1 (415) 555-2671 or write to ann@example.com",
		"Nothing private here.",
	}
	src := func(ctx context.Context, emit data.Emit) error {
		for i, t := range docs {
			if err := emit(&data.Doc{ID: fmt.Sprint(i), Text: t}); err != nil {
				return err
			}
		}
		return nil
	}
	build := func() ([]data.Stage, error) {
		dedup, err := data.ExactDedupStage(data.DedupOptions{Capacity: 1000, FP: 1e-6})
		return []data.Stage{dedup, data.PIIStage(data.DefaultPIIOptions())}, err
	}
	p := &data.Pipeline{Build: build}
	rep, err := p.Run(context.Background(), src, func(d *data.Doc) error {
		fmt.Println(d.ID, d.Text)
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("dropped:", rep.Stages[0].Dropped, "replaced:", rep.Stages[1].Counts)
	// Output:
	// 0 Call me at <PHONE> or write to <EMAIL>.
	// 2 Nothing private here.
	// dropped: map[exact_duplicate:1] replaced: map[EMAIL:1 PHONE:1]
}
