// Reference: ZeRO: Rajbhandari et al. 2020, "ZeRO: Memory Optimizations Toward Training Trillion Parameter
// Models", §5.1 (P_os: optimizer states partitioned) and §7 (reduce-scatter / all-gather volumes); MPI-3.1
// §5.9–5.12 (MPI_Allreduce, MPI_Reduce_scatter, MPI_Allgatherv, MPI_IN_PLACE) for the operations' meaning.

package train

import (
	"fmt"
	"sync"
)

// Collective is what data-parallel training needs of a group of Size
// processes (ranks), each holding a replica of the model. Every rank calls
// the same operations in the same order with buffers of the same length;
// a call returns when the rank's part is done. Buffers are cut into Size
// contiguous shards by ShardRange: rank r owns [lo, hi) = ShardRange(n,
// Size, r).
//
// Sums are float32 and, in every implementation, added in rank order
// (buf₀ + buf₁ + … + buf_{Size−1}, left to right), so a result does not
// depend on timing and equals the same sum computed in one process.
type Collective interface {
	Rank() int
	Size() int
	// AllReduce replaces buf, on every rank, with the element-wise sum of
	// all ranks' buf.
	AllReduce(buf []float32) error
	// ReduceScatter writes into buf[lo:hi] of each rank the sum over all
	// ranks of buf[lo:hi] (its own shard); the rest of buf is left as it
	// was.
	ReduceScatter(buf []float32) error
	// AllGather copies each rank's buf[lo:hi] (its own shard) into that
	// range of every rank's buf.
	AllGather(buf []float32) error
	// Broadcast copies root's buf into every other rank's buf (the
	// starting weights, or state read from a checkpoint by one rank).
	Broadcast(buf []float32, root int) error
	// Barrier returns when every rank has called it.
	Barrier() error
}

// ShardRange is rank's shard [lo, hi) of n elements cut into size
// contiguous pieces: n/size each, and one more for the first n%size ranks.
func ShardRange(n, size, rank int) (lo, hi int) {
	q, r := n/size, n%size
	lo = rank*q + min(rank, r)
	hi = lo + q
	if rank < r {
		hi++
	}
	return lo, hi
}

// localGroup is the state the in-process ranks share.
type localGroup struct {
	n    int
	bufs [][]float32 // the buffer each rank passed to the current operation
	bar  barrier
}

// barrier is a reusable rendezvous of n goroutines: the last to arrive
// closes the generation's channel, which releases the others.
type barrier struct {
	mu    sync.Mutex
	n     int
	count int
	ch    chan struct{}
}

func (b *barrier) wait() {
	b.mu.Lock()
	ch := b.ch
	b.count++
	if b.count == b.n {
		b.count = 0
		b.ch = make(chan struct{})
		close(ch)
	}
	b.mu.Unlock()
	<-ch
}

// localRank is one rank of an in-process group.
type localRank struct {
	g    *localGroup
	rank int
	tmp  []float32
}

// NewLocalGroup returns n ranks that communicate in memory, one for each
// goroutine of a data-parallel test or a single-machine run. Each rank
// must be used by one goroutine at a time.
func NewLocalGroup(n int) ([]Collective, error) {
	if n <= 0 {
		return nil, fmt.Errorf("train: a collective group of %d ranks", n)
	}
	g := &localGroup{n: n, bufs: make([][]float32, n), bar: barrier{n: n, ch: make(chan struct{})}}
	cs := make([]Collective, n)
	for r := range cs {
		cs[r] = &localRank{g: g, rank: r}
	}
	return cs, nil
}

func (c *localRank) Rank() int { return c.rank }
func (c *localRank) Size() int { return c.g.n }

func (c *localRank) Barrier() error {
	c.g.bar.wait()
	return nil
}

// enter publishes buf and waits for every rank's; every rank then sees
// the same lengths and so returns the same error.
func (c *localRank) enter(op string, buf []float32) error {
	c.g.bufs[c.rank] = buf
	c.g.bar.wait()
	for r, b := range c.g.bufs {
		if len(b) != len(buf) {
			c.g.bar.wait() // nobody touches a buffer; leave together
			return fmt.Errorf("train: %s: rank %d passed %d elements, rank %d passed %d", op, c.rank, len(buf), r, len(b))
		}
	}
	return nil
}

// sumShard adds every rank's buf over this rank's shard, in rank order,
// into c.tmp (reads only).
func (c *localRank) sumShard(lo, hi int) []float32 {
	if cap(c.tmp) < hi-lo {
		c.tmp = make([]float32, hi-lo)
	}
	s := c.tmp[:hi-lo]
	copy(s, c.g.bufs[0][lo:hi])
	for _, b := range c.g.bufs[1:] {
		for i, x := range b[lo:hi] {
			s[i] += x
		}
	}
	return s
}

func (c *localRank) AllReduce(buf []float32) error {
	if err := c.enter("all-reduce", buf); err != nil {
		return err
	}
	lo, hi := ShardRange(len(buf), c.g.n, c.rank)
	s := c.sumShard(lo, hi)
	c.g.bar.wait() // every rank has read everything it sums
	for _, b := range c.g.bufs {
		copy(b[lo:hi], s) // each rank writes only its own shard of each buffer
	}
	c.g.bar.wait()
	return nil
}

func (c *localRank) ReduceScatter(buf []float32) error {
	if err := c.enter("reduce-scatter", buf); err != nil {
		return err
	}
	lo, hi := ShardRange(len(buf), c.g.n, c.rank)
	s := c.sumShard(lo, hi)
	c.g.bar.wait()
	copy(buf[lo:hi], s)
	c.g.bar.wait()
	return nil
}

func (c *localRank) Broadcast(buf []float32, root int) error {
	if root < 0 || root >= c.g.n {
		return fmt.Errorf("train: broadcast from rank %d of a group of %d", root, c.g.n)
	}
	if err := c.enter("broadcast", buf); err != nil {
		return err
	}
	if c.rank != root {
		copy(buf, c.g.bufs[root])
	}
	c.g.bar.wait() // root's buffer is read by all before anyone goes on
	return nil
}

func (c *localRank) AllGather(buf []float32) error {
	if err := c.enter("all-gather", buf); err != nil {
		return err
	}
	lo, hi := ShardRange(len(buf), c.g.n, c.rank)
	for r, b := range c.g.bufs {
		if r != c.rank {
			copy(b[lo:hi], buf[lo:hi])
		}
	}
	c.g.bar.wait()
	return nil
}

// OpStats is one operation's traffic on one rank, payload bytes only (a
// transport's headers are left out, so that the figures compare with
// ZeRO's volume formulas: an all-reduce of n floats sends 2·(N−1)/N·4n
// bytes per rank, a reduce-scatter or all-gather half that).
type OpStats struct {
	Calls    int64
	Sent     int64
	Received int64
}

// CommStats is a rank's traffic by operation since the transport opened.
// Transports that move bytes (TCP, MPI) report it through a Stats method;
// the in-process group moves none.
type CommStats struct {
	AllReduce, ReduceScatter, AllGather, Broadcast, Barrier OpStats
}
