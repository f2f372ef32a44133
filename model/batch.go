// Reference: Yu et al., "Orca: A Distributed Serving System for Transformer-Based Generative Models" (OSDI 2022)
// §4.2 (iteration-level scheduling, selective batching: the matmuls over every sequence's rows at once,
// attention per sequence) and Kwon et al., PagedAttention (SOSP 2023) §4.

package model

import "fmt"

// BatchRunner runs one forward pass over the next tokens of several
// sequences of a PagedCache, each at its own position: a decode step of
// many clients, chunks of new prompts, or both. Their activations are the
// rows of every weight matmul, so the weights are read once per step
// whatever the number of sequences (decoding on a CPU is bound by that
// read); attention runs per sequence over its own blocks.
//
// Every row's arithmetic is what it would be alone: the matmuls over
// quantized weights give each row the single row's bits, and attention
// picks its summation order from the sequence's own row count. So at
// temperature 0 a sequence decodes the same tokens batched or alone, and
// the same as a State (F16 cache). Over F16, BF16 and F32 weights the
// batched matmul sums in another order than the single-token one (as
// llama.cpp's does): the results differ by float32 rounding there.
//
// A BatchRunner is not safe for concurrent use; one scheduler loop owns it.
type BatchRunner struct {
	s   *State
	run pagedRun
}

// NewBatchRunner allocates the activations of a step of up to o.Batch
// tokens, over sequences of up to o.Ctx positions (the attention scratch);
// o.KVF32 is ignored (the PagedCache decides). No KV cache is allocated:
// keys and values live in the PagedCache of the sequences.
func (m *Model) NewBatchRunner(o Options) (*BatchRunner, error) {
	o.paged = true
	s, err := m.NewState(o)
	if err != nil {
		return nil, err
	}
	if s.vh == nil {
		s.vh = make([]byte, 2*m.KVDim())
	}
	return &BatchRunner{s: s}, nil
}

// Close stops the runner's own worker pool, if it made one.
func (r *BatchRunner) Close() { r.s.Close() }

// Batch is the most tokens one step takes (the per-step token budget).
func (r *BatchRunner) Batch() int { return r.s.batch }

// Ctx is the most positions a sequence may reach.
func (r *BatchRunner) Ctx() int { return r.s.ctx }

// BufferBytes is the size of the activation buffers.
func (r *BatchRunner) BufferBytes() int64 { return r.s.BufferBytes() }

// Forward appends tokens[i] to seqs[i] for every i in one pass through the
// layers and calls fn with each sequence's index and the logits [V] of its
// last token (valid during the call). The sequences must be distinct, of
// r's model, and each get at least one token; the tokens of all of them
// together may not exceed Batch. Blocks are reserved first: if the pool
// runs out, the error wraps ErrCacheFull and no sequence advances (blocks
// reserved for the earlier ones stay theirs, to use in a later step or
// return with Free).
func (r *BatchRunner) Forward(seqs []*PagedSeq, tokens [][]int32, fn func(i int, logits []float32) error) error {
	s, m := r.s, r.s.m
	if len(seqs) != len(tokens) {
		return fmt.Errorf("model: forward batch: %d sequences but %d token lists", len(seqs), len(tokens))
	}
	if len(seqs) == 0 {
		return fmt.Errorf("model: forward batch: no sequences")
	}
	total := 0
	for i, q := range seqs {
		if q == nil || q.c.m != m {
			return fmt.Errorf("model: forward batch: sequence %d is not of this model's paged cache", i)
		}
		for j := range i {
			if seqs[j] == q {
				return fmt.Errorf("model: forward batch: sequence %d appears twice (also at %d)", i, j)
			}
		}
		n := len(tokens[i])
		if n == 0 {
			return fmt.Errorf("model: forward batch: sequence %d has no tokens", i)
		}
		if q.pos+n > s.ctx {
			return fmt.Errorf("model: forward batch: sequence %d: %d tokens after %d cached exceed the context of %d", i, n, q.pos, s.ctx)
		}
		for k, t := range tokens[i] {
			if int(t) < -m.VirtualTokens() || int(t) >= m.Vocab { // -P … -1: a prompt- or prefix-tuning adapter's virtual tokens (prompt_infer.go), as State.Forward takes them
				return fmt.Errorf("model: forward batch: sequence %d: token %d at index %d is outside the vocabulary of %d%s", i, t, k, m.Vocab, m.virtualNote())
			}
		}
		total += n
	}
	if total > s.batch {
		return fmt.Errorf("model: forward batch: %d tokens exceed the step's budget of %d", total, s.batch)
	}
	for i, q := range seqs {
		if err := q.Reserve(len(tokens[i])); err != nil {
			return fmt.Errorf("model: forward batch: sequence %d: %w", i, err)
		}
	}

	// The rows: every sequence's tokens in turn, each at its position.
	run := &r.run
	run.seqs = seqs
	run.rowSeq, run.rowPos, run.seqN = run.rowSeq[:0], run.rowPos[:0], run.seqN[:0]
	flat := make([]int32, 0, total)
	for i, q := range seqs {
		for k, t := range tokens[i] {
			run.rowSeq = append(run.rowSeq, int32(i))
			run.rowPos = append(run.rowPos, int32(q.pos+k))
			flat = append(flat, t)
		}
		run.seqN = append(run.seqN, int32(len(tokens[i])))
	}
	s.paged, s.ubatch, s.pos = run, total, 0
	defer func() { s.paged, run.seqs = nil, nil }()
	if err := s.layers(flat); err != nil {
		return err
	}
	for i, q := range seqs {
		q.advance(tokens[i])
	}

	// The output head over each sequence's last row, gathered into x (free
	// now) so that they are consecutive rows of one matmul.
	C, V := m.Embd, m.Vocab
	last := 0
	for i := range seqs {
		last += len(tokens[i])
		copy(s.x[i*C:(i+1)*C], s.xb[(last-1)*C:last*C])
	}
	for r0 := 0; r0 < len(seqs); r0 += logitRows {
		n := min(logitRows, len(seqs)-r0)
		if err := s.matmul(m.Output, s.x[r0*C:(r0+n)*C], n, s.logits[:n*V]); err != nil {
			return err
		}
		for j := range n {
			if err := fn(r0+j, s.logits[j*V:(j+1)*V]); err != nil {
				return err
			}
		}
	}
	return nil
}
