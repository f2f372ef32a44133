// Reference: ZeRO: Rajbhandari et al. 2020, "ZeRO: Memory Optimizations Toward Training Trillion Parameter
// Models", §5.1 (P_os: optimizer states partitioned) and §7 (reduce-scatter / all-gather volumes).

package train

import (
	"github.com/gptgo/gptgo/kernel"
	"github.com/gptgo/gptgo/train/autograd"
)

// ZeRO1 is AdamW data-parallel over a Collective with the optimizer state
// partitioned (ZeRO stage 1, P_os): the parameters, concatenated in order
// into one flat vector of n elements, are cut by ShardRange, and each rank
// keeps m and v for its shard only (2·n/Size floats instead of 2·n) and
// updates only that shard. Every rank holds the whole model and the whole
// gradient of its own micro-batches.
type ZeRO1 struct {
	Config AdamWConfig
	Params []*autograd.Var
	Coll   Collective
	Lo, Hi int       // this rank's shard of the flat vector
	M, V   []float32 // moments of the shard, Hi−Lo each
	Steps  int
	flat   []float32 // gradients, then weights, flattened
	offs   []int     // each parameter's offset in the flat vector
}

// NewZeRO1 returns the sharded optimizer of this rank. Every rank must
// pass the same parameter shapes in the same order.
func NewZeRO1(params []*autograd.Var, cfg AdamWConfig, coll Collective) (*ZeRO1, error) {
	if _, err := NewAdamW(params, cfg, nil); err != nil { // the same checks as the unsharded optimizer
		return nil, err
	}
	z := &ZeRO1{Config: cfg, Params: params, Coll: coll}
	n := 0
	for _, p := range params {
		z.offs = append(z.offs, n)
		n += len(p.Data)
	}
	z.flat = make([]float32, n)
	z.Lo, z.Hi = ShardRange(n, coll.Size(), coll.Rank())
	z.M, z.V = make([]float32, z.Hi-z.Lo), make([]float32, z.Hi-z.Lo)
	return z, nil
}

// Step sums the ranks' gradients (reduce-scatter: each rank receives the
// sum over its shard, added in rank order), applies AdamW with lr to the
// shard, and all-gathers the updated weights, so every replica ends the
// step with the same weights. The gradients must already carry the
// averaging the caller wants (seed each rank's backward with 1/Size for
// the mean over ranks).
func (z *ZeRO1) Step(lr float64) error {
	for i, p := range z.Params {
		copy(z.flat[z.offs[i]:], p.Grad)
	}
	if err := z.Coll.ReduceScatter(z.flat); err != nil {
		return err
	}
	z.Steps++
	c := z.Config
	for i, p := range z.Params {
		// The overlap of parameter i, [off, off+len), with the shard.
		off := z.offs[i]
		lo, hi := max(z.Lo, off), min(z.Hi, off+len(p.Data))
		if lo >= hi {
			continue
		}
		wd := c.WeightDecay
		if p.NoDecay {
			wd = 0
		}
		kernel.AdamW(p.Data[lo-off:hi-off], z.flat[lo:hi], z.M[lo-z.Lo:hi-z.Lo], z.V[lo-z.Lo:hi-z.Lo], lr, c.Beta1, c.Beta2, c.Eps, wd, z.Steps)
	}
	for i, p := range z.Params {
		copy(z.flat[z.offs[i]:], p.Data)
	}
	if err := z.Coll.AllGather(z.flat); err != nil {
		return err
	}
	for i, p := range z.Params {
		copy(p.Data, z.flat[z.offs[i]:])
	}
	return nil
}
