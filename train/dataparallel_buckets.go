// Reference: PyTorch DDP (Li et al. 2020, "PyTorch Distributed: Experiences on Accelerating Data Parallel
// Training", §3.2.3–3.2.4: buckets reduced as soon as all their gradients are ready, in the same order on every
// rank); DeepSpeed ZeRO-2's overlap_comm (reduce-scatter of each bucket during the backward).

package train

import (
	"fmt"
	"time"

	"github.com/gptgo/gptgo/train/autograd"
)

// bucketer starts reducing gradient buckets while a backward runs.
//
// A parameter's gradient is complete once the last op of the backward
// that writes it has run. The tape tells (autograd.ParamHook) which
// parameters each op's backward writes; the first backward of a session
// is watched to learn, for every parameter, the position of that last op
// (its buckets are reduced after it). Later backwards with the same number
// of ops have the same structure (the same model code on the same batch
// shape), and a bucket is handed to the communicating goroutine when its
// parameters are complete. Buckets go in a fixed order (buckets[0] first)
// on every rank, whatever the ops: a collective must be called in the same
// order everywhere, so a bucket that is complete early waits for the ones
// before it. A backward of another op count reduces its buckets after it
// ends, in the same order. Should a parameter's gradient be written after
// its bucket went (the learned structure was wrong), the step fails rather
// than sum a partial gradient.
type bucketer struct {
	st *dpState

	idx     map[*autograd.Var]int
	probed  bool
	ops     int     // the probed backward's op count
	doneAt  [][]int // doneAt[k]: the parameters whose last writing op is op k of the backward
	remain0 []int   // per bucket: parameters that some op writes
	bucket  []int   // per parameter: its bucket

	// One backward's state.
	armed  bool
	cur    int   // ops done so far
	lastOp []int // probing: per parameter, the last op that wrote it (−1: none)
	remain []int
	sent   []bool // per parameter: its bucket went to the reducer
	next   int    // next bucket to send
	micro  int
	work   chan int
	done   chan struct{}
	err    error         // from the communicating goroutine
	late   error         // a write after the bucket went
	comm   time.Duration // the communicating goroutine's time in collectives
}

func newBucketer(st *dpState) *bucketer {
	bk := &bucketer{st: st, idx: map[*autograd.Var]int{}, bucket: make([]int, len(st.params))}
	for i, p := range st.params {
		bk.idx[p] = i
	}
	for bi, b := range st.buckets {
		for i := b.first; i <= b.last; i++ {
			bk.bucket[i] = bi
		}
	}
	return bk
}

// Touch implements autograd.ParamHook.
func (bk *bucketer) Touch(p *autograd.Var) {
	i, ok := bk.idx[p]
	if !ok {
		return // a variable outside the trained parameters (a frozen base)
	}
	if !bk.probed {
		bk.lastOp[i] = bk.cur
		return
	}
	if bk.armed && bk.sent[i] && bk.late == nil {
		bk.late = fmt.Errorf("train: data-parallel: the gradient of %q was written after its bucket was reduced (op %d of the backward); run with one bucket (no overlap)", p.Name, bk.cur)
	}
}

// OpDone implements autograd.ParamHook.
func (bk *bucketer) OpDone(k int) {
	bk.cur = k + 1
	if !bk.armed || k >= len(bk.doneAt) {
		return
	}
	for _, i := range bk.doneAt[k] {
		bk.remain[bk.bucket[i]]--
	}
	bk.sendReady()
}

// sendReady hands the complete buckets, in order, to the reducer.
func (bk *bucketer) sendReady() {
	for bk.next < len(bk.st.buckets) && bk.remain[bk.next] == 0 {
		bk.send()
	}
}

func (bk *bucketer) send() {
	b := bk.st.buckets[bk.next]
	for i := b.first; i <= b.last; i++ {
		bk.sent[i] = true
	}
	bk.work <- bk.next
	bk.next++
}

// backward runs tp's backward from loss with seed as micro-batch micro of
// the step; with reduce set, the buckets are reduce-scattered (during the
// backward where the structure is known, after it otherwise) and backward
// returns when all are.
func (bk *bucketer) backward(tp *autograd.Tape, loss *autograd.Var, seed float32, micro int, reduce bool) error {
	st := bk.st
	bk.cur, bk.late = 0, nil
	if !bk.probed {
		bk.lastOp = make([]int, len(st.params))
		for i := range bk.lastOp {
			bk.lastOp[i] = -1
		}
		bk.ops = tp.Ops()
	}
	bk.armed = reduce && bk.probed && tp.Ops() == bk.ops
	if reduce {
		bk.start(micro)
	}
	tp.SetParamHook(bk)
	began := time.Now()
	err := tp.Backward(loss, seed)
	tp.SetParamHook(nil)
	if reduce {
		st.stats.Backward += time.Since(began).Seconds()
	}
	if !bk.probed {
		bk.learn()
	}
	if !reduce {
		return err
	}
	if bk.armed {
		st.stats.Overlapped++
	}
	st.stats.EarlyBuckets += bk.next
	st.stats.Buckets += len(st.buckets)
	for bk.next < len(st.buckets) { // the rest, in order, after the backward
		bk.send()
	}
	close(bk.work)
	waited := time.Now()
	<-bk.done
	st.stats.Wait += time.Since(waited).Seconds()
	st.stats.Comm += bk.comm.Seconds()
	if err != nil {
		return err
	}
	if bk.err != nil {
		return bk.err
	}
	return bk.late
}

// start readies a backward's reduction and its goroutine.
func (bk *bucketer) start(micro int) {
	bk.micro, bk.next, bk.err, bk.comm = micro, 0, nil, 0
	bk.remain = append(bk.remain[:0], bk.remain0...)
	if len(bk.remain) == 0 {
		bk.remain = make([]int, len(bk.st.buckets))
	}
	bk.sent = make([]bool, len(bk.st.params))
	bk.work, bk.done = make(chan int, len(bk.st.buckets)), make(chan struct{})
	go func() {
		defer close(bk.done)
		for bi := range bk.work {
			if bk.err != nil {
				continue // drain: a failed collective ends the step
			}
			t := time.Now()
			bk.err = bk.st.reduceBucket(&bk.st.buckets[bi], bk.micro)
			bk.comm += time.Since(t)
		}
	}()
	if bk.armed {
		bk.sendReady() // buckets of parameters no op writes
	}
}

// learn turns the probed backward's last writes into doneAt and the
// buckets' counts.
func (bk *bucketer) learn() {
	bk.probed = true
	bk.doneAt = make([][]int, bk.ops)
	bk.remain0 = make([]int, len(bk.st.buckets))
	for i, k := range bk.lastOp {
		if k < 0 || k >= bk.ops {
			continue
		}
		bk.doneAt[k] = append(bk.doneAt[k], i)
		bk.remain0[bk.bucket[i]]++
	}
}
