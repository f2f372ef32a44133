// Reference: the Collective contract (train/collective.go): Check must catch an implementation that breaks it.

package collectivetest

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/gptgo/gptgo/train"
)

// reversed is a wrong all-reduce: it sums the ranks' buffers N−1, …, 0.
type reversed struct{ train.Collective }

func (c reversed) AllReduce(buf []float32) error {
	all := make([][]float32, c.Size())
	for root := range all {
		all[root] = append([]float32(nil), buf...)
		if err := c.Broadcast(all[root], root); err != nil {
			return err
		}
	}
	for i := range buf {
		s := all[len(all)-1][i]
		for r := len(all) - 2; r >= 0; r-- {
			s += all[r][i]
		}
		buf[i] = s
	}
	return nil
}

// lenient hides the errors of mismatched calls.
type lenient struct{ train.Collective }

func (c lenient) AllReduce(buf []float32) error {
	if err := c.Collective.AllReduce(buf); err != nil && !strings.Contains(err.Error(), "elements") {
		return err
	}
	return nil
}

func run(t *testing.T, n int, wrap func(train.Collective) train.Collective) []error {
	cs, err := train.NewLocalGroup(n)
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for r, c := range cs {
		wg.Go(func() { errs[r] = Check(wrap(c)) })
	}
	wg.Wait()
	return errs
}

// TestCheckCatches: the in-process group passes; summing in reverse rank
// order, or swallowing a length mismatch, fails on every rank.
func TestCheckCatches(t *testing.T) {
	if err := errors.Join(run(t, 3, func(c train.Collective) train.Collective { return c })...); err != nil {
		t.Fatalf("the in-process group: %v", err)
	}
	for r, err := range run(t, 3, func(c train.Collective) train.Collective { return reversed{c} }) {
		if err == nil || !strings.Contains(err.Error(), "(the rank-order sum)") {
			t.Errorf("rank %d: a reverse-order all-reduce gave %v", r, err)
		}
	}
	for r, err := range run(t, 2, func(c train.Collective) train.Collective { return lenient{c} }) {
		if err == nil || !strings.Contains(err.Error(), "returned no error") {
			t.Errorf("rank %d: a mismatch swallowed gave %v", r, err)
		}
	}
}
