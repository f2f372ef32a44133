// Reference: MPI-3.1 §8.7 (MPI_Abort: one failing process ends the job) for the behaviour given to the
// in-process group here; the group itself is collective.go's NewLocalGroup.

package train

import (
	"errors"
	"fmt"
	"sync"
)

// RunLocalRanks runs f on n goroutines, each one rank of an in-process
// group (NewLocalGroup): `gptgo train pretrain --data-parallel N` and the
// data-parallel tests. When a rank's f returns an error, the collectives
// the other ranks are waiting in, and any they call later, return an error
// naming that rank, as a transport does when a process dies, so every rank
// stops. (A rank left waiting inside the in-process group cannot be woken;
// its wait is abandoned to a goroutine that stays blocked until the
// process ends.) It returns the ranks' errors joined, the first failing
// rank's first.
func RunLocalRanks(n int, f func(c Collective) error) error {
	cs, err := NewLocalGroup(n)
	if err != nil {
		return err
	}
	g := &abortGroup{dead: make(chan struct{}), rank: -1}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for r, c := range cs {
		wg.Go(func() {
			errs[r] = f(&abortRank{c: c, g: g})
			if errs[r] != nil {
				g.abort(r, errs[r])
			}
		})
	}
	wg.Wait()
	if g.rank < 0 {
		return nil
	}
	out := []error{errs[g.rank]}
	for r, e := range errs {
		if r != g.rank && e != nil {
			out = append(out, e)
		}
	}
	return errors.Join(out...)
}

// abortGroup records the first rank that failed.
type abortGroup struct {
	once  sync.Once
	dead  chan struct{}
	rank  int
	cause error
}

func (g *abortGroup) abort(rank int, err error) {
	g.once.Do(func() {
		g.rank, g.cause = rank, fmt.Errorf("train: rank %d stopped: %v", rank, err)
		close(g.dead)
	})
}

func (g *abortGroup) failed() bool {
	select {
	case <-g.dead:
		return true
	default:
		return false
	}
}

// abortRank is a rank of the in-process group whose calls give up when
// another rank has failed.
type abortRank struct {
	c Collective
	g *abortGroup
}

func (a *abortRank) Rank() int { return a.c.Rank() }
func (a *abortRank) Size() int { return a.c.Size() }

func (a *abortRank) do(op func() error) error {
	if a.g.failed() {
		return a.g.cause
	}
	done := make(chan error, 1)
	go func() { done <- op() }()
	select {
	case err := <-done:
		return err
	case <-a.g.dead:
		select {
		case err := <-done: // finished as well: its own result counts
			return err
		default:
			return a.g.cause
		}
	}
}

func (a *abortRank) AllReduce(buf []float32) error {
	return a.do(func() error { return a.c.AllReduce(buf) })
}
func (a *abortRank) ReduceScatter(buf []float32) error {
	return a.do(func() error { return a.c.ReduceScatter(buf) })
}
func (a *abortRank) AllGather(buf []float32) error {
	return a.do(func() error { return a.c.AllGather(buf) })
}
func (a *abortRank) Broadcast(buf []float32, root int) error {
	return a.do(func() error { return a.c.Broadcast(buf, root) })
}
func (a *abortRank) Barrier() error { return a.do(a.c.Barrier) }
