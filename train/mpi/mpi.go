// Reference: MPI-3.1 §5.8 (MPI_Alltoallv), §5.7 (MPI_Allgatherv with MPI_IN_PLACE), §5.4 (MPI_Bcast), §5.6
// (MPI_Allgather), §8.3 (error handlers), §12.4.3 (MPI_Init_thread, MPI_THREAD_FUNNELED); Open MPI 4.1 mpi.h.

//go:build mpi

package mpi

/*
#cgo pkg-config: ompi-c
#include <mpi.h>
#include <stdint.h>

// Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, …) are macros over
// addresses of globals, which cgo cannot name: these wrappers do.
static int gg_init(int *provided) {
	return MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, provided);
}
static int gg_dup_world(MPI_Comm *c, int *rank, int *size) {
	int e = MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	if (e != MPI_SUCCESS) return e;
	if ((e = MPI_Comm_dup(MPI_COMM_WORLD, c)) != MPI_SUCCESS) return e;
	if ((e = MPI_Comm_set_errhandler(*c, MPI_ERRORS_RETURN)) != MPI_SUCCESS) return e;
	if ((e = MPI_Comm_rank(*c, rank)) != MPI_SUCCESS) return e;
	return MPI_Comm_size(*c, size);
}
static int gg_free_finalize(MPI_Comm *c) {
	int e = MPI_Comm_free(c);
	int f = MPI_Finalize();
	return e != MPI_SUCCESS ? e : f;
}
static int gg_allgather_u64(MPI_Comm c, const uint64_t *mine, int k, uint64_t *all) {
	return MPI_Allgather(mine, k, MPI_UINT64_T, all, k, MPI_UINT64_T, c);
}
static int gg_alltoallv_f32(MPI_Comm c, const float *send, const int *scounts, const int *sdispls,
		float *recv, const int *rcounts, const int *rdispls) {
	return MPI_Alltoallv(send, scounts, sdispls, MPI_FLOAT, recv, rcounts, rdispls, MPI_FLOAT, c);
}
static int gg_allgatherv_f32(MPI_Comm c, float *buf, const int *counts, const int *displs) {
	return MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, counts, displs, MPI_FLOAT, c);
}
static int gg_bcast_f32(MPI_Comm c, float *buf, int n, int root) {
	return MPI_Bcast(buf, n, MPI_FLOAT, root, c);
}
static int gg_barrier(MPI_Comm c) { return MPI_Barrier(c); }
static void gg_error_string(int code, char *s, int *len) {
	if (MPI_Error_string(code, s, len) != MPI_SUCCESS) *len = 0;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/gptgo/gptgo/train"
)

// thread is the one OS thread that makes every MPI call of the process.
type thread struct{ calls chan func() }

func (t *thread) do(f func()) {
	done := make(chan struct{})
	t.calls <- func() { f(); close(done) }
	<-done
}

// proc is MPI's state in this process: it is initialized once and, once
// finalized, cannot be initialized again (MPI-3.1 §8.7).
var proc struct {
	sync.Mutex
	open, finalized bool
}

// Comm is one rank of MPI_COMM_WORLD (a duplicate, so that gptgo's
// messages never mix with another library's). Use it from one goroutine
// at a time.
type Comm struct {
	t          *thread
	comm       C.MPI_Comm
	rank, size int
	seq        uint64
	closed     bool
	agreeBuf   []uint64
	recv       []float32 // reduce-scatter: every rank's copy of this rank's shard, rank by rank
	counts     []C.int   // per rank: MPI's int counts and displacements
	displs     []C.int
	sc, sd     []C.int
	mu         sync.Mutex // guards stats
	stats      train.CommStats
}

var _ train.Collective = (*Comm)(nil)

// Open initializes MPI (MPI_Init_thread at MPI_THREAD_FUNNELED) and
// returns this process's rank of MPI_COMM_WORLD. A process opens MPI once.
func Open() (*Comm, error) {
	proc.Lock()
	defer proc.Unlock()
	switch {
	case proc.finalized:
		return nil, errors.New("mpi: MPI was finalized in this process and cannot be initialized again")
	case proc.open:
		return nil, errors.New("mpi: MPI is already open in this process (one Comm per process)")
	}
	t := &thread{calls: make(chan func())}
	go func() {
		// Locked for good: the goroutine ends with the thread after
		// MPI_Finalize, so no other goroutine ever runs on it.
		runtime.LockOSThread()
		for f := range t.calls {
			f()
		}
	}()
	c := &Comm{t: t}
	var rc, provided C.int
	var rank, size C.int
	t.do(func() {
		if rc = C.gg_init(&provided); rc != C.MPI_SUCCESS {
			return
		}
		rc = C.gg_dup_world(&c.comm, &rank, &size)
	})
	if rc != C.MPI_SUCCESS {
		close(t.calls)
		return nil, mpiErr("MPI_Init_thread", rc)
	}
	if provided < C.MPI_THREAD_FUNNELED {
		close(t.calls)
		return nil, fmt.Errorf("mpi: the MPI library gives thread level %d, below MPI_THREAD_FUNNELED", int(provided))
	}
	c.rank, c.size = int(rank), int(size)
	c.agreeBuf = make([]uint64, 4*c.size)
	c.counts, c.displs = make([]C.int, c.size), make([]C.int, c.size)
	c.sc, c.sd = make([]C.int, c.size), make([]C.int, c.size)
	proc.open = true
	return c, nil
}

// Close frees the communicator and finalizes MPI. Every rank calls it.
func (c *Comm) Close() error {
	proc.Lock()
	defer proc.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	var rc C.int
	c.t.do(func() { rc = C.gg_free_finalize(&c.comm) })
	close(c.t.calls)
	proc.open, proc.finalized = false, true
	if rc != C.MPI_SUCCESS {
		return mpiErr("MPI_Finalize", rc)
	}
	return nil
}

func (c *Comm) Rank() int { return c.rank }
func (c *Comm) Size() int { return c.size }

// Stats returns this rank's payload traffic by operation: what the
// algorithm moves (each rank's shards to their owners, the owners' sums
// back; the root's buffer to every rank), whatever route MPI takes.
func (c *Comm) Stats() train.CommStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// mpiErr turns an MPI error code into a Go error with MPI's own text.
func mpiErr(call string, rc C.int) error {
	var buf [C.MPI_MAX_ERROR_STRING + 1]C.char
	var n C.int
	C.gg_error_string(rc, &buf[0], &n)
	return fmt.Errorf("mpi: %s: error %d: %s", call, int(rc), C.GoStringN(&buf[0], n))
}

// Operation numbers in the agreement round.
const (
	opAllReduce     = 1
	opReduceScatter = 2
	opAllGather     = 3
	opBroadcast     = 4
	opBarrier       = 5
)

var opNames = [...]string{"", "all-reduce", "reduce-scatter", "all-gather", "broadcast", "barrier"}

func opName(op uint64) string {
	if op < uint64(len(opNames)) && op > 0 {
		return opNames[op]
	}
	return fmt.Sprintf("operation %d", op)
}

// agree all-gathers (operation, sequence, length, root) and fails on every
// rank when any rank's differs, before a mismatched call can truncate a
// message or wait for one that never comes.
func (c *Comm) agree(op uint64, n, root int) error {
	if c.closed {
		return fmt.Errorf("mpi: rank %d: %s after Close", c.rank, opName(op))
	}
	if n > math.MaxInt32-c.size {
		return fmt.Errorf("mpi: rank %d: %s of %d elements: MPI's counts are C ints; split the buffer below %d", c.rank, opName(op), n, math.MaxInt32-c.size)
	}
	mine := [4]uint64{op, c.seq, uint64(n), uint64(root)}
	c.seq++
	var rc C.int
	c.t.do(func() {
		rc = C.gg_allgather_u64(c.comm, (*C.uint64_t)(unsafe.Pointer(&mine[0])), 4, (*C.uint64_t)(unsafe.Pointer(&c.agreeBuf[0])))
	})
	if rc != C.MPI_SUCCESS {
		return fmt.Errorf("mpi: rank %d: %s: %w", c.rank, opName(op), mpiErr("MPI_Allgather", rc))
	}
	var diffs []string
	for q := range c.size {
		t := c.agreeBuf[4*q : 4*q+4]
		switch {
		case t[0] != op:
			diffs = append(diffs, fmt.Sprintf("rank %d called %s", q, opName(t[0])))
		case t[1] != mine[1]:
			diffs = append(diffs, fmt.Sprintf("rank %d is at operation #%d, this rank at #%d", q, t[1], mine[1]))
		case t[2] != mine[2]:
			diffs = append(diffs, fmt.Sprintf("rank %d passed %d elements", q, t[2]))
		case t[3] != mine[3]:
			diffs = append(diffs, fmt.Sprintf("rank %d broadcasts from rank %d", q, t[3]))
		}
	}
	if diffs != nil {
		return fmt.Errorf("mpi: rank %d: %s of %d elements: %s", c.rank, opName(op), n, strings.Join(diffs, "; "))
	}
	return nil
}

func (c *Comm) count(op int, calls, sent, got int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := [...]*train.OpStats{nil, &c.stats.AllReduce, &c.stats.ReduceScatter, &c.stats.AllGather, &c.stats.Broadcast, &c.stats.Barrier}[op]
	s.Calls += calls
	s.Sent += sent
	s.Received += got
}

// ptr is buf's first element, or a valid dummy for an empty buffer (MPI
// wants a pointer even for zero counts).
func ptr(buf []float32) *C.float {
	if len(buf) == 0 {
		return &dummy
	}
	return (*C.float)(unsafe.Pointer(&buf[0]))
}

var dummy C.float

func (c *Comm) Barrier() error {
	c.count(opBarrier, 1, 0, 0)
	if err := c.agree(opBarrier, 0, 0); err != nil {
		return err
	}
	var rc C.int
	c.t.do(func() { rc = C.gg_barrier(c.comm) })
	if rc != C.MPI_SUCCESS {
		return fmt.Errorf("mpi: rank %d: barrier: %w", c.rank, mpiErr("MPI_Barrier", rc))
	}
	return nil
}

func (c *Comm) ReduceScatter(buf []float32) error {
	c.count(opReduceScatter, 1, 0, 0)
	if err := c.agree(opReduceScatter, len(buf), 0); err != nil {
		return err
	}
	return c.reduceScatter(opReduceScatter, buf)
}

func (c *Comm) AllGather(buf []float32) error {
	c.count(opAllGather, 1, 0, 0)
	if err := c.agree(opAllGather, len(buf), 0); err != nil {
		return err
	}
	return c.allGather(opAllGather, buf)
}

// AllReduce is a reduce-scatter and an all-gather (2·(N−1)/N·n floats per
// rank, a ring's volume), not MPI_Allreduce, whose order of additions is
// the library's choice.
func (c *Comm) AllReduce(buf []float32) error {
	c.count(opAllReduce, 1, 0, 0)
	if err := c.agree(opAllReduce, len(buf), 0); err != nil {
		return err
	}
	if err := c.reduceScatter(opAllReduce, buf); err != nil {
		return err
	}
	return c.allGather(opAllReduce, buf)
}

// reduceScatter: MPI_Alltoallv sends shard q of buf to rank q and lays the
// copies of this rank's shard side by side in c.recv, rank by rank; then
// they are added in rank order.
func (c *Comm) reduceScatter(op int, buf []float32) error {
	n := len(buf)
	lo, hi := train.ShardRange(n, c.size, c.rank)
	k := hi - lo
	if cap(c.recv) < c.size*k {
		c.recv = make([]float32, c.size*k)
	}
	recv := c.recv[:c.size*k]
	var sent int64
	for q := range c.size {
		l, h := train.ShardRange(n, c.size, q)
		c.sc[q], c.sd[q] = C.int(h-l), C.int(l)
		c.counts[q], c.displs[q] = C.int(k), C.int(q*k)
		if q != c.rank {
			sent += 4 * int64(h-l)
		}
	}
	var rc C.int
	c.t.do(func() {
		rc = C.gg_alltoallv_f32(c.comm, ptr(buf), &c.sc[0], &c.sd[0], ptr(recv), &c.counts[0], &c.displs[0])
	})
	if rc != C.MPI_SUCCESS {
		return fmt.Errorf("mpi: rank %d: %s: %w", c.rank, opName(uint64(op)), mpiErr("MPI_Alltoallv", rc))
	}
	c.count(op, 0, sent, 4*int64((c.size-1)*k))
	s := recv[:k] // rank 0's copy: the sum accumulates there, in rank order
	for q := 1; q < c.size; q++ {
		for i, x := range recv[q*k : (q+1)*k] {
			s[i] += x
		}
	}
	copy(buf[lo:hi], s)
	return nil
}

func (c *Comm) allGather(op int, buf []float32) error {
	n := len(buf)
	lo, hi := train.ShardRange(n, c.size, c.rank)
	var got int64
	for q := range c.size {
		l, h := train.ShardRange(n, c.size, q)
		c.counts[q], c.displs[q] = C.int(h-l), C.int(l)
		if q != c.rank {
			got += 4 * int64(h-l)
		}
	}
	var rc C.int
	c.t.do(func() { rc = C.gg_allgatherv_f32(c.comm, ptr(buf), &c.counts[0], &c.displs[0]) })
	if rc != C.MPI_SUCCESS {
		return fmt.Errorf("mpi: rank %d: %s: %w", c.rank, opName(uint64(op)), mpiErr("MPI_Allgatherv", rc))
	}
	c.count(op, 0, 4*int64((c.size-1)*(hi-lo)), got)
	return nil
}

func (c *Comm) Broadcast(buf []float32, root int) error {
	c.count(opBroadcast, 1, 0, 0)
	if root < 0 || root >= c.size {
		return fmt.Errorf("mpi: rank %d: broadcast from rank %d of a group of %d", c.rank, root, c.size)
	}
	if err := c.agree(opBroadcast, len(buf), root); err != nil {
		return err
	}
	var rc C.int
	c.t.do(func() { rc = C.gg_bcast_f32(c.comm, ptr(buf), C.int(len(buf)), C.int(root)) })
	if rc != C.MPI_SUCCESS {
		return fmt.Errorf("mpi: rank %d: broadcast: %w", c.rank, mpiErr("MPI_Bcast", rc))
	}
	if c.rank == root {
		c.count(opBroadcast, 0, 4*int64((c.size-1)*len(buf)), 0)
	} else {
		c.count(opBroadcast, 0, 0, 4*int64(len(buf)))
	}
	return nil
}
