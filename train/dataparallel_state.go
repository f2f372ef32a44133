// Reference: ZeRO: Rajbhandari et al. 2020, "ZeRO: Memory Optimizations Toward Training Trillion Parameter
// Models", §5.1 (P_os, stage 1: optimizer states partitioned; P_os+g, stage 2: gradients too) and §7 (the
// communication volume: reduce-scatter of the gradients, all-gather of the updated parameters); PyTorch DDP
// (Li et al. 2020, "PyTorch Distributed", §3.2.3: gradient bucketing, buckets in reverse parameter order).

package train

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"

	"github.com/gptgo/gptgo/kernel"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// dpState is one rank's share of data-parallel training: the layout of
// the flat gradient, its buckets, the shard of every bucket the rank owns,
// and AdamW's moments of those shards.
//
// The parameters, concatenated in order, make one flat vector of n floats.
// The gradient lives in it (every Grad is a view of dpState.grad), so a
// bucket is a slice that a collective takes as it is. Buckets hold whole
// parameters, consecutive in order, built from the last parameter back
// (the backward finishes the last layers first); buckets[0] is the last
// parameters' and is reduced first. Each bucket is reduce-scattered on its
// own, so the rank owns, in every bucket, the piece ShardRange(bucket
// length, N, rank): its moments, its reduced gradient and its update.
type dpState struct {
	coll       Collective
	rank, size int
	zero       int // 1 or 2
	cfg        AdamWConfig
	params     []*autograd.Var
	offs       []int // parameter i's offset in the flat vector
	n          int
	pool       *tensor.Pool

	grad    []float32 // the flat gradient: every parameter's Grad is a view into it
	acc     []float32 // ZeRO-1 with several micro-batches: the earlier ones' sum (nil otherwise)
	buckets []dpBucket
	owned   int       // elements owned, over all buckets
	M, V    []float32 // moments of the owned pieces, bucket after bucket (owned each)
	gshard  []float32 // ZeRO-2: the owned pieces' gradient, summed over the step's micro-batches
	steps   int

	stats *DPStats
}

// dpBucket is the flat range [lo, hi) of whole parameters first…last, and
// the piece [ownLo, ownHi) of it that this rank owns, found at at in the
// owned arrays (M, V, gshard).
type dpBucket struct {
	lo, hi       int
	ownLo, ownHi int
	at           int
	first, last  int // parameter indexes
}

// DPStats accumulates where a data-parallel rank's time went and what its
// collectives carried, for measurements (docs/distributed.md).
type DPStats struct {
	Steps int
	// Elements passed to each kind of collective (a ring moves (N−1)/N of
	// them per rank in each direction for a reduce-scatter or all-gather,
	// twice that for an all-reduce).
	ReduceScatterElems, AllGatherElems, AllReduceElems, BroadcastElems int64
	// Backward is the time in the backwards of the step's last micro-batch
	// (the ones whose buckets are reduced while they run); Comm the time
	// the collectives of the gradient buckets took on the communicating
	// goroutine; Wait the part of it the rank spent waiting after its
	// backward had finished: Comm − Wait overlapped the backward.
	Backward, Comm, Wait float64 // seconds
	Overlapped           int     // backwards whose buckets were reduced during the backward
	// Buckets reduced in all, and how many of them went to the reducer
	// before their backward ended.
	Buckets, EarlyBuckets int
}

// defaultBucketElems is the gradient bucket size: 1 Mi floats (4 MiB);
// PyTorch DDP's default is 25 MiB, tuned for GPUs and fast networks, and
// a smaller one starts the first reduce earlier in a CPU backward.
const defaultBucketElems = 1 << 20

func newDPState(params []*autograd.Var, cfg AdamWConfig, coll Collective, zero, bucketElems, accum int, pool *tensor.Pool, stats *DPStats) (*dpState, error) {
	if _, err := NewAdamW(params, cfg, nil); err != nil { // the same checks as the single-process optimizer
		return nil, err
	}
	if zero != 1 && zero != 2 {
		return nil, fmt.Errorf("train: data-parallel: ZeRO stage %d; stages 1 and 2 exist", zero)
	}
	st := &dpState{coll: coll, rank: coll.Rank(), size: coll.Size(), zero: zero, cfg: cfg, params: params, pool: pool, stats: stats}
	if st.stats == nil {
		st.stats = &DPStats{}
	}
	for _, p := range params {
		st.offs = append(st.offs, st.n)
		st.n += len(p.Data)
	}
	st.grad = autograd.Floats(pool, st.n)
	st.pointGrads(st.grad)
	if zero == 1 && accum > 1 {
		st.acc = make([]float32, st.n)
	}
	if bucketElems == 0 {
		bucketElems = defaultBucketElems
	}
	if bucketElems < 0 {
		bucketElems = st.n // one bucket: reduced once the backward is over
	}
	last := len(params) - 1
	for i := last; i >= 0; i-- {
		if size := st.offs[last] + len(params[last].Data) - st.offs[i]; size >= bucketElems || i == 0 {
			b := dpBucket{lo: st.offs[i], hi: st.offs[last] + len(params[last].Data), first: i, last: last, at: st.owned}
			lo, hi := ShardRange(b.hi-b.lo, st.size, st.rank)
			b.ownLo, b.ownHi = b.lo+lo, b.lo+hi
			st.owned += hi - lo
			st.buckets = append(st.buckets, b)
			last = i - 1
		}
	}
	st.M, st.V = make([]float32, st.owned), make([]float32, st.owned)
	if zero == 2 {
		st.gshard = make([]float32, st.owned)
	}
	return st, nil
}

// pointGrads makes every parameter's Grad the view of buf at its offset.
func (st *dpState) pointGrads(buf []float32) {
	for i, p := range st.params {
		n := len(p.Data)
		p.Grad = buf[st.offs[i] : st.offs[i]+n : st.offs[i]+n]
	}
}

// ownGrad is the reduced gradient of bucket b's owned piece.
func (st *dpState) ownGrad(b *dpBucket) []float32 {
	if st.zero == 2 {
		return st.gshard[b.at : b.at+b.ownHi-b.ownLo]
	}
	return st.grad[b.ownLo:b.ownHi]
}

// flatParams copies the parameters' values into dst (n floats), or back
// from it when back is set.
func (st *dpState) flatParams(dst []float32, back bool) {
	for i, p := range st.params {
		if back {
			copy(p.Data, dst[st.offs[i]:])
		} else {
			copy(dst[st.offs[i]:], p.Data)
		}
	}
}

// broadcastParams gives every rank rank 0's weights (a new run's starting
// point: each rank may have drawn its own).
func (st *dpState) broadcastParams() error {
	st.flatParams(st.grad, false)
	st.stats.BroadcastElems += int64(st.n)
	if err := st.coll.Broadcast(st.grad, 0); err != nil {
		return err
	}
	st.flatParams(st.grad, true)
	clear(st.grad)
	return nil
}

// reduceBucket sums bucket b of the micro-batch's gradient across ranks
// into the owned piece. ZeRO-1 calls it for the step's last micro-batch
// only, and first adds the earlier micro-batches' sum (acc) to the bucket;
// ZeRO-2 calls it for every micro-batch, micro being its index in the
// step, and adds the owned piece to its shard (starting it at micro 0).
// It runs on the communicating goroutine while the backward goes on with
// other parameters.
func (st *dpState) reduceBucket(b *dpBucket, micro int) error {
	g := st.grad[b.lo:b.hi]
	if st.acc != nil {
		kernel.AddTo(g, st.acc[b.lo:b.hi]) // c_last + (c_0 + … ): float addition commutes exactly
	}
	st.stats.ReduceScatterElems += int64(len(g))
	if err := st.coll.ReduceScatter(g); err != nil {
		return err
	}
	if st.zero == 2 {
		own, sh := st.grad[b.ownLo:b.ownHi], st.gshard[b.at:b.at+b.ownHi-b.ownLo]
		if micro == 0 {
			copy(sh, own)
		} else {
			kernel.AddTo(sh, own)
		}
	}
	return nil
}

// gradNorm is the L2 norm of the summed gradient. With exact set it is
// GradNorm's value bit for bit: the owned pieces are all-gathered into the
// flat gradient (n more floats through the collective), whose chunks are
// then summed as the single process sums them. Without, each rank sums the
// squares of its pieces in float64 and the ranks' sums are added in rank
// order: the same value on every rank and from run to run, but not
// GradNorm's last bits. Clipping needs the exact value (its coefficient
// scales every gradient); reporting does not.
func (st *dpState) gradNorm(exact bool) (float64, error) {
	if exact {
		for i := range st.buckets {
			b := &st.buckets[i]
			if st.zero == 2 {
				copy(st.grad[b.ownLo:b.ownHi], st.ownGrad(b))
			}
			st.stats.AllGatherElems += int64(b.hi - b.lo)
			if err := st.coll.AllGather(st.grad[b.lo:b.hi]); err != nil {
				return 0, err
			}
		}
		return flatNorm(st.pool, st.grad), nil
	}
	var s float64
	for i := range st.buckets {
		for _, g := range st.ownGrad(&st.buckets[i]) {
			s += float64(g) * float64(g)
		}
	}
	parts, err := st.gatherFloat64s([]float64{s})
	if err != nil {
		return 0, err
	}
	var total float64
	for _, p := range parts {
		total += p
	}
	return math.Sqrt(total), nil
}

// checkSame makes sure every rank trains with the same settings (desc
// lists them): ranks started with different flags would otherwise mix
// batches of other shapes or steps of other learning rates without an
// error. The ranks all-gather a 64-bit FNV-1a hash of desc.
func (st *dpState) checkSame(desc string) error {
	h := fnv.New64a()
	h.Write([]byte(desc))
	hashes, err := st.gatherFloat64s([]float64{math.Float64frombits(h.Sum64())})
	if err != nil {
		return err
	}
	var differ []string
	for r, x := range hashes {
		if math.Float64bits(x) != math.Float64bits(hashes[0]) {
			differ = append(differ, strconv.Itoa(r))
		}
	}
	if len(differ) > 0 {
		return fmt.Errorf("train: data-parallel: the settings of rank %s differ from rank 0's: give every rank the same flags and configuration (rank %d has %s)", strings.Join(differ, ", "), st.rank, desc)
	}
	return nil
}

// flatNorm is AdamW.GradNorm over one flat vector: float64 squares summed
// in normChunk chunks on the pool, the chunks' sums added in order.
func flatNorm(pool *tensor.Pool, g []float32) float64 {
	parts := make([]float64, (len(g)+normChunk-1)/normChunk)
	sum := func(s, e int) {
		for k := s; k < e; k++ {
			var sum float64
			for _, x := range g[k*normChunk : min((k+1)*normChunk, len(g))] {
				sum += float64(x) * float64(x)
			}
			parts[k] = sum
		}
	}
	if pool == nil {
		sum(0, len(parts))
	} else {
		pool.For(len(parts), 1, sum)
	}
	var total float64
	for _, s := range parts {
		total += s
	}
	return math.Sqrt(total)
}

// gatherFloat64s returns every rank's vals (each rank passes as many),
// rank 0's first. A float64 travels as the two float32s of its bits: an
// all-gather copies values and adds nothing, so the bits arrive unchanged.
func (st *dpState) gatherFloat64s(vals []float64) ([]float64, error) {
	k := len(vals)
	buf := make([]float32, 2*k*st.size)
	mine := buf[2*k*st.rank:]
	for i, v := range vals {
		u := math.Float64bits(v)
		mine[2*i], mine[2*i+1] = math.Float32frombits(uint32(u)), math.Float32frombits(uint32(u>>32))
	}
	st.stats.AllGatherElems += int64(len(buf))
	if err := st.coll.AllGather(buf); err != nil {
		return nil, err
	}
	out := make([]float64, k*st.size)
	for i := range out {
		out[i] = math.Float64frombits(uint64(math.Float32bits(buf[2*i])) | uint64(math.Float32bits(buf[2*i+1]))<<32)
	}
	return out, nil
}

// clip scales the owned gradient by maxNorm/(norm+1e-6) when norm exceeds
// maxNorm, as ClipGradNorm does to the whole gradient.
func (st *dpState) clip(norm, maxNorm float64) error {
	_, err := clipGrads(norm, maxNorm, func(coef float32) {
		for i := range st.buckets {
			kernel.Scale(st.ownGrad(&st.buckets[i]), coef)
		}
	})
	return err
}

// update applies AdamW with lr to the owned pieces and all-gathers the
// updated weights, bucket by bucket, so that every replica ends the step
// with the same weights.
func (st *dpState) update(lr float64) error {
	st.steps++
	c := st.cfg
	for bi := range st.buckets {
		b := &st.buckets[bi]
		g := st.ownGrad(b)
		for i := b.first; i <= b.last; i++ {
			p := st.params[i]
			off := st.offs[i]
			lo, hi := max(b.ownLo, off), min(b.ownHi, off+len(p.Data)) // the parameter's overlap with the piece
			if lo >= hi {
				continue
			}
			wd := c.WeightDecay
			if p.NoDecay {
				wd = 0
			}
			w, gg := p.Data[lo-off:hi-off], g[lo-b.ownLo:hi-b.ownLo]
			m, v := st.M[b.at+lo-b.ownLo:b.at+hi-b.ownLo], st.V[b.at+lo-b.ownLo:b.at+hi-b.ownLo]
			run := func(s, e int) {
				kernel.AdamW(w[s:e], gg[s:e], m[s:e], v[s:e], lr, c.Beta1, c.Beta2, c.Eps, wd, st.steps)
			}
			if st.pool == nil {
				run(0, len(w))
			} else {
				st.pool.For(len(w), adamChunk, run)
			}
		}
	}
	// The gradient is spent: its buffer carries the weights.
	st.flatParams(st.grad, false)
	for i := range st.buckets {
		b := &st.buckets[i]
		st.stats.AllGatherElems += int64(b.hi - b.lo)
		if err := st.coll.AllGather(st.grad[b.lo:b.hi]); err != nil {
			return err
		}
	}
	st.flatParams(st.grad, true)
	return nil
}

// bytesToFloats packs b into float32s, four bytes each (little-endian,
// the last zero-padded), for a Broadcast, which copies bits.
func bytesToFloats(b []byte) []float32 {
	f := make([]float32, (len(b)+3)/4)
	var w [4]byte
	for i := range f {
		clear(w[:])
		copy(w[:], b[4*i:])
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(w[:]))
	}
	return f
}

// floatsToBytes is bytesToFloats undone, n bytes long.
func floatsToBytes(f []float32, n int) []byte {
	b := make([]byte, 0, 4*len(f))
	for _, x := range f {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b[:n]
}
