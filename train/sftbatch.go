// Reference: Krell et al. 2021, "Efficient Sequence Packing without Cross-contamination" (several examples per
// row, attention kept inside each); Hugging Face DataCollatorWithFlattening / TRL's packing (targets of -100
// at example boundaries); the Loader's position for exact resume (loader.go).

package train

import (
	"fmt"
	"math/rand/v2"
)

// SFTBatches cuts batches of B rows of T positions out of tokenized
// examples, one example per row (padding) or several (packing). An example
// of n tokens takes n-1 positions: inputs tokens[:n-1], targets
// tokens[1:], a target -1 where Train is false. Padding positions have
// input pad and target -1.
//
// Packing fills a row with whole examples in order until the next does
// not fit; segment ids (0, 1, … per row, -1 for padding) keep attention
// inside each example (autograd.AttentionSegments). Without packing there
// are no segment ids: the plain causal mask already keeps an example from
// seeing the padding after it.
//
// Training batches shuffle the examples anew each epoch (from the seed and
// the epoch) and run on into the next epoch; evaluation batches keep the
// order and pad the last batch with empty rows, so that PassBatches calls
// to Next cover every example once and return to the start. The position
// is LoaderState{Epoch, Pos: the next row}, enough to resume exactly.
type SFTBatches struct {
	B, T    int
	ex      []Example
	pack    bool
	shuffle bool
	seed    uint64
	pad     int32
	seg     *segments // shared with the loss (see sftLoss); nil ids without packing

	epoch, pos int
	rows       [][]int // the current epoch's rows: example indices
}

// segments carries the last batch's segment ids from Next to the loss.
// The loop always calls Next and then the model's Loss on what it
// returned, so one buffer serves the training and evaluation batches.
type segments struct{ ids []int32 }

func newSFTBatches(ex []Example, B, T int, pack, shuffle bool, seed uint64, pad int32, seg *segments) (*SFTBatches, error) {
	if len(ex) == 0 || B <= 0 || T <= 0 {
		return nil, fmt.Errorf("train: sft batches need examples and B, T > 0 (got %d examples, B=%d, T=%d)", len(ex), B, T)
	}
	for i, x := range ex {
		if len(x.Tokens) < 2 || len(x.Tokens) > T+1 || len(x.Train) != len(x.Tokens) {
			return nil, fmt.Errorf("train: sft example %d has %d tokens, want 2 to T+1 = %d (truncate first)", i, len(x.Tokens), T+1)
		}
	}
	b := &SFTBatches{B: B, T: T, ex: ex, pack: pack, shuffle: shuffle, seed: seed, pad: pad, seg: seg}
	if pack && seg.ids == nil {
		seg.ids = make([]int32, B*T)
	}
	b.layout(0)
	return b, nil
}

// PackedRows is how many rows of T positions the examples fill in their
// given order (one per example without packing).
func PackedRows(ex []Example, T int, pack bool) int {
	return len(packRows(ex, identity(len(ex)), T, pack))
}

func identity(n int) []int {
	o := make([]int, n)
	for i := range o {
		o[i] = i
	}
	return o
}

func packRows(ex []Example, order []int, T int, pack bool) [][]int {
	var rows [][]int
	used := T // forces a new row first
	for _, i := range order {
		n := len(ex[i].Tokens) - 1
		if !pack || used+n > T {
			rows = append(rows, nil)
			used = 0
		}
		rows[len(rows)-1] = append(rows[len(rows)-1], i)
		used += n
	}
	return rows
}

// layout builds epoch e's rows.
func (b *SFTBatches) layout(e int) {
	order := identity(len(b.ex))
	if b.shuffle {
		rng := rand.New(rand.NewPCG(b.seed, uint64(e)^0x5f7d_0a1c_3e99_b241))
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	b.rows = packRows(b.ex, order, b.T, b.pack)
	if !b.shuffle {
		for len(b.rows)%b.B != 0 {
			b.rows = append(b.rows, nil) // an empty row: padding, no targets
		}
	}
	b.epoch = e
}

// PassBatches is the number of batches in one pass over the examples.
func (b *SFTBatches) PassBatches() int { return (len(b.rows) + b.B - 1) / b.B }

// Shape returns B and T.
func (b *SFTBatches) Shape() (int, int) { return b.B, b.T }

// Next fills x and y (B·T each) with the next B rows, and the segment ids.
func (b *SFTBatches) Next(x, y []int32) error {
	if len(x) != b.B*b.T || len(y) != b.B*b.T {
		return fmt.Errorf("train: sft batch of %d and %d tokens, want %d", len(x), len(y), b.B*b.T)
	}
	for r := range b.B {
		if b.pos == len(b.rows) {
			if !b.shuffle {
				b.pos = 0 // evaluation: the same pass again
			} else {
				b.layout(b.epoch + 1)
				b.pos = 0
			}
		}
		b.fill(b.rows[b.pos], x[r*b.T:(r+1)*b.T], y[r*b.T:(r+1)*b.T], r)
		b.pos++
	}
	return nil
}

// fill writes one row: its examples one after another, then padding.
func (b *SFTBatches) fill(row []int, x, y []int32, r int) {
	var seg []int32
	if b.pack {
		seg = b.seg.ids[r*b.T : (r+1)*b.T]
	}
	p := 0
	for k, i := range row {
		e := b.ex[i]
		for j := 0; j+1 < len(e.Tokens); j++ {
			x[p], y[p] = e.Tokens[j], -1
			if e.Train[j+1] {
				y[p] = e.Tokens[j+1]
			}
			if seg != nil {
				seg[p] = int32(k)
			}
			p++
		}
	}
	for ; p < b.T; p++ {
		x[p], y[p] = b.pad, -1
		if seg != nil {
			seg[p] = -1
		}
	}
}

// State is the position: the epoch and the next row.
func (b *SFTBatches) State() (LoaderState, error) {
	return LoaderState{Epoch: b.epoch, Pos: b.pos}, nil
}

// Restore moves to a saved position (the same examples and settings).
func (b *SFTBatches) Restore(s LoaderState) error {
	if s.Epoch < 0 || (!b.shuffle && s.Epoch != 0) {
		return fmt.Errorf("train: sft batches: epoch %d in the checkpoint", s.Epoch)
	}
	b.layout(s.Epoch)
	if s.Pos < 0 || s.Pos > len(b.rows) {
		return fmt.Errorf("train: sft batches: row %d in the checkpoint, the epoch has %d (were the data or --seq changed?)", s.Pos, len(b.rows))
	}
	b.pos = s.Pos
	return nil
}
