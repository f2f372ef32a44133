// Reference: TRL's DPODataCollatorWithPadding and LLaMA-Factory's pairwise processor (prompt + chosen and
// prompt + rejected rendered through the chat template, loss on the answer only, the pair in one batch);
// SFTBatches (sftbatch.go) for the rows, epochs and exact resume.

package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/gptgo/gptgo/tokenizer/chat"
)

// PrefExample is a Preference encoded: the prompt with each answer, as SFT
// encodes a conversation, with only the final answer's tokens trained
// (earlier assistant turns are the same in both and carry no preference).
type PrefExample struct {
	Chosen, Rejected Example
	Group            int  // Preference.Group
	Desirable        bool // Preference.Desirable (KTO)
}

// PrefStats counts what PreparePreferences did.
type PrefStats struct {
	Pairs     int // read
	Kept      int
	Truncated int // an answer cut to fit (its end-of-turn token lost)
	Dropped   int // the prompt alone fills the sequence
	Tokens    int // in the kept pairs, both answers
}

func (s PrefStats) String() string {
	return fmt.Sprintf("%d pairs → %d kept, %d tokens; %d with an answer cut to fit, %d dropped (prompt longer than the sequence)",
		s.Pairs, s.Kept, s.Tokens, s.Truncated, s.Dropped)
}

// PreparePreferences encodes each pair's two conversations and cuts an
// answer that does not fit maxTokens (T+1); a pair whose prompt leaves no
// answer token is dropped.
func PreparePreferences(enc *Encoder, ps []Preference, maxTokens int) ([]PrefExample, PrefStats, error) {
	st := PrefStats{Pairs: len(ps)}
	var out []PrefExample
	for _, p := range ps {
		var x [2]Example
		keep, cut := true, false
		for k, ans := range [2]Conversation{
			{Messages: append(append([]chat.Message(nil), p.Prompt.Messages...), p.Chosen), Tools: p.Prompt.Tools, Where: p.Prompt.Where + " (chosen)"},
			{Messages: append(append([]chat.Message(nil), p.Prompt.Messages...), p.Rejected), Tools: p.Prompt.Tools, Where: p.Prompt.Where + " (rejected)"},
		} {
			e, err := enc.Encode(ans)
			if err != nil {
				return nil, st, err
			}
			s := e.Spans[len(e.Spans)-1]
			e.Train = make([]bool, len(e.Tokens))
			for i := max(s[0], 1); i < s[1]; i++ {
				e.Train[i] = true
			}
			if len(e.Tokens) > maxTokens {
				if s[0] >= maxTokens { // not one answer token fits
					keep = false
				}
				e.Tokens, e.Train, cut = e.Tokens[:maxTokens], e.Train[:maxTokens], true
			}
			x[k] = e
		}
		if !keep || x[0].Trained() == 0 || x[1].Trained() == 0 {
			st.Dropped++
			continue
		}
		if cut {
			st.Truncated++
		}
		st.Kept++
		st.Tokens += len(x[0].Tokens) + len(x[1].Tokens)
		out = append(out, PrefExample{Chosen: x[0], Rejected: x[1], Group: p.Group, Desirable: p.Desirable})
	}
	return out, st, nil
}

// SplitPreferences holds out a fraction of the pairs, whole prompts at a
// time (the pairs of one ranking never straddle the split), by a seeded
// shuffle of the groups.
func SplitPreferences(ex []PrefExample, fraction float64, seed uint64) (trainEx, valEx []PrefExample) {
	groups := map[int]int{} // group → its index among the groups
	var ids []int
	for _, x := range ex {
		if _, ok := groups[x.Group]; !ok {
			groups[x.Group] = len(ids)
			ids = append(ids, x.Group)
		}
	}
	h := holdOut(len(ids), fraction, seed, 0x9e3f_1c2b)
	held := map[int]bool{}
	for i, g := range ids {
		held[g] = h[i]
	}
	for _, x := range ex {
		if held[x.Group] {
			valEx = append(valEx, x)
		} else {
			trainEx = append(trainEx, x)
		}
	}
	return trainEx, valEx
}

// holdOut marks which of n items a seeded shuffle holds out: a fraction
// of them, at least one when the fraction is positive, never all.
func holdOut(n int, fraction float64, seed, stream uint64) []bool {
	held := make([]bool, n)
	k := int(float64(n) * fraction)
	if fraction > 0 && k == 0 && n > 1 {
		k = 1
	}
	k = min(k, n-1)
	if k <= 0 {
		return held
	}
	order := identity(n)
	rand.New(rand.NewPCG(seed, stream)).Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
	for _, i := range order[:k] {
		held[i] = true
	}
	return held
}

// prefSlots carries, from PrefBatches.Next to the loss, which pair each
// slot of the batch holds (-1: an empty slot padding the last evaluation
// batch) and the reference log-probs of its two answers when they were
// precomputed (ref[2s], ref[2s+1]). Rows 2s and 2s+1 are slot s's chosen
// and rejected answers.
type prefSlots struct {
	pair      []int
	ref       []float64
	desirable []bool // KTO's label of each slot's pair
}

// filled counts the slots that hold a pair.
func (s *prefSlots) filled() int {
	n := 0
	for _, p := range s.pair {
		if p >= 0 {
			n++
		}
	}
	return n
}

// PrefBatches cuts batches of P pairs (2P rows of T positions, one answer
// per row, padded) out of encoded pairs, as SFTBatches does without
// packing: training batches shuffle the pairs each epoch and run on,
// evaluation batches keep the order and pad the last one with empty
// slots. Ref, when set, holds each pair's precomputed reference log-probs
// (chosen, rejected), handed to the loss through the shared slots.
type PrefBatches struct {
	P, T    int
	ex      []PrefExample
	ref     [][2]float64
	shuffle bool
	grouped bool // shuffle prompts (Group), keeping each one's pairs together
	seed    uint64
	pad     int32
	slots   *prefSlots

	epoch, pos int
	order      []int // the current epoch's pairs; -1 pads evaluation
}

func newPrefBatches(ex []PrefExample, ref [][2]float64, P, T int, shuffle bool, seed uint64, pad int32, slots *prefSlots) (*PrefBatches, error) {
	if len(ex) == 0 || P <= 0 || T <= 0 {
		return nil, fmt.Errorf("train: preference batches need pairs and P, T > 0 (got %d pairs, P=%d, T=%d)", len(ex), P, T)
	}
	for i, x := range ex {
		for _, e := range [2]Example{x.Chosen, x.Rejected} {
			if len(e.Tokens) < 2 || len(e.Tokens) > T+1 || len(e.Train) != len(e.Tokens) {
				return nil, fmt.Errorf("train: preference pair %d has an answer of %d tokens, want 2 to T+1 = %d (prepare it first)", i, len(e.Tokens), T+1)
			}
		}
	}
	if ref != nil && len(ref) != len(ex) {
		return nil, fmt.Errorf("train: %d reference log-prob pairs for %d pairs", len(ref), len(ex))
	}
	if len(slots.pair) != P {
		slots.pair, slots.ref, slots.desirable = make([]int, P), make([]float64, 2*P), make([]bool, P)
	}
	b := &PrefBatches{P: P, T: T, ex: ex, ref: ref, shuffle: shuffle, seed: seed, pad: pad, slots: slots}
	b.layout(0)
	return b, nil
}

func (b *PrefBatches) layout(e int) {
	b.order = identity(len(b.ex))
	if b.shuffle {
		rng := rand.New(rand.NewPCG(b.seed, uint64(e)^0x2d1f_7a0b_44c3_9e15))
		if b.grouped {
			b.order = b.groupOrder(rng)
		} else {
			rng.Shuffle(len(b.order), func(i, j int) { b.order[i], b.order[j] = b.order[j], b.order[i] })
		}
	} else {
		for len(b.order)%b.P != 0 {
			b.order = append(b.order, -1)
		}
	}
	b.epoch = e
}

// groupOrder shuffles the prompts and lists each one's pairs in turn.
func (b *PrefBatches) groupOrder(rng *rand.Rand) []int {
	var groups [][]int
	index := map[int]int{}
	for i, x := range b.ex {
		k, ok := index[x.Group]
		if !ok {
			k = len(groups)
			index[x.Group] = k
			groups = append(groups, nil)
		}
		groups[k] = append(groups[k], i)
	}
	rng.Shuffle(len(groups), func(i, j int) { groups[i], groups[j] = groups[j], groups[i] })
	order := make([]int, 0, len(b.ex))
	for _, g := range groups {
		order = append(order, g...)
	}
	return order
}

// PassBatches is the number of batches in one pass over the pairs.
func (b *PrefBatches) PassBatches() int { return (len(b.order) + b.P - 1) / b.P }

// Shape returns the rows per batch (2P) and T.
func (b *PrefBatches) Shape() (int, int) { return 2 * b.P, b.T }

// Next fills x and y (2P·T each) with the next P pairs, and the slots.
func (b *PrefBatches) Next(x, y []int32) error {
	if len(x) != 2*b.P*b.T || len(y) != 2*b.P*b.T {
		return fmt.Errorf("train: preference batch of %d and %d tokens, want %d", len(x), len(y), 2*b.P*b.T)
	}
	T := b.T
	for s := range b.P {
		if b.pos == len(b.order) {
			if b.shuffle {
				b.layout(b.epoch + 1)
			}
			b.pos = 0
		}
		i := b.order[b.pos]
		b.pos++
		b.slots.pair[s] = i
		b.slots.desirable[s] = i >= 0 && b.ex[i].Desirable
		for k := range 2 {
			r := 2*s + k
			var e Example
			if i >= 0 {
				e = b.ex[i].Chosen
				if k == 1 {
					e = b.ex[i].Rejected
				}
			}
			fillRow(e, x[r*T:(r+1)*T], y[r*T:(r+1)*T], b.pad)
			if i >= 0 && b.ref != nil {
				b.slots.ref[r] = b.ref[i][k]
			}
		}
	}
	return nil
}

// fillRow writes one example (none: padding) into a row of inputs and targets.
func fillRow(e Example, x, y []int32, pad int32) {
	p := 0
	for j := 0; j+1 < len(e.Tokens); j++ {
		x[p], y[p] = e.Tokens[j], -1
		if e.Train[j+1] {
			y[p] = e.Tokens[j+1]
		}
		p++
	}
	for ; p < len(x); p++ {
		x[p], y[p] = pad, -1
	}
}

// State is the position: the epoch and the next pair.
func (b *PrefBatches) State() (LoaderState, error) {
	return LoaderState{Epoch: b.epoch, Pos: b.pos}, nil
}

// Restore moves to a saved position (the same pairs and settings).
func (b *PrefBatches) Restore(s LoaderState) error {
	if s.Epoch < 0 || (!b.shuffle && s.Epoch != 0) {
		return fmt.Errorf("train: preference batches: epoch %d in the checkpoint", s.Epoch)
	}
	b.layout(s.Epoch)
	if s.Pos < 0 || s.Pos > len(b.order) {
		return fmt.Errorf("train: preference batches: pair %d in the checkpoint, the epoch has %d (were the data or --seq changed?)", s.Pos, len(b.order))
	}
	b.pos = s.Pos
	return nil
}
