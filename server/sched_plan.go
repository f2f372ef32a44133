// Reference: vLLM vllm/v1/core/sched/scheduler.py and sched/output.py (no prefill or decode phase: each
// running request's num_computed_tokens catches up with its num_tokens under a per-step token budget;
// when allocate_slots finds no block, the newest running request is preempted and recomputed later) and
// Orca (OSDI 2022) §4.2 (iteration-level scheduling).

package server

import "fmt"

// planSeq is what the planner knows of a sequence: numbers only, so that
// plans can be tested with no model.
type planSeq struct {
	id       int64
	tokens   int // tokens known: the prompt, then every sampled token (vLLM's num_tokens)
	computed int // of those, in the KV cache (num_computed_tokens); tokens-computed go in next
	blocks   int // KV blocks the sequence holds
}

// PlanChunk is one sequence's share of a step: its next N tokens, from
// position computed on.
type PlanChunk struct {
	Seq int64
	N   int
	New int // blocks the chunk takes from the pool
}

// StepPlan is one step's decisions, in the order the loop applies them:
// drop the preempted sequences' blocks (they go back to the waiting queue,
// to be recomputed), then run every chunk in one forward pass. Admitted
// sequences are the chunks of sequences that were waiting.
type StepPlan struct {
	Preempt []int64     // running sequences whose blocks are freed, newest first
	Run     []PlanChunk // running sequences first (oldest first), then admitted ones in arrival order
	Admit   int         // the last Admit chunks of Run are sequences that were waiting
	Tokens  int         // Σ N: at most the budget
	Blocks  int         // Σ New: at most the free blocks (after the preemptions)
}

// planner makes StepPlans. Its limits are the BatchRunner's and the
// PagedCache's.
type planner struct {
	budget      int // tokens per step (chunked prefill: a long prompt takes at most this per step); ≥ 3
	maxRunning  int // sequences in one step
	blockTokens int // P
}

// chunk is how many of s's pending tokens go in a step with budget tokens
// left: all of them, or as many as fit, but never leaving a lone last
// prompt token, nor a chunk of one token out of several. A single token
// is summed in the single-token order, which the State's one-pass prefill
// does not use; keeping chunks ≥ 2 keeps a batched prompt's numbers those
// of a prompt run alone. With a budget of at least 3 the first sequence
// of a step always gets a chunk, so the oldest sequence always progresses.
func (p *planner) chunk(s *planSeq, budget int) int {
	rest := s.tokens - s.computed
	n := min(rest, budget)
	if n < rest {
		if rest-n == 1 {
			n--
		}
		if n < 2 {
			return 0
		}
	}
	return max(n, 0)
}

// need is the blocks s must add to hold n more tokens.
func (p *planner) need(s *planSeq, n int) int {
	return max(0, (s.computed+n+p.blockTokens-1)/p.blockTokens-s.blocks)
}

// Schedule plans one step over the running sequences (oldest first) and the
// waiting ones (arrival order) with free blocks in the pool. Running
// sequences go first, each with its pending tokens (one when decoding, a
// chunk of its prompt when prefilling); when the pool cannot give one its
// blocks, the newest running sequence is preempted (its blocks counted free)
// until it can — the oldest sequence always keeps running, so nothing
// deadlocks. Then waiting sequences are admitted in arrival order while the
// budget, the sequence limit and the blocks allow; the first that does not
// fit stops admission (no overtaking, so no starvation).
func (p *planner) Schedule(running, waiting []*planSeq, free int) StepPlan {
	var plan StepPlan
	budget := p.budget
	run := running
	for i := 0; i < len(run); i++ {
		s := run[i]
		n := p.chunk(s, budget)
		if n == 0 {
			continue
		}
		nb := p.need(s, n)
		for nb > free && len(run)-1 > i { // preempt the newest
			v := run[len(run)-1]
			run = run[:len(run)-1]
			plan.Preempt = append(plan.Preempt, v.id)
			free += v.blocks
		}
		if nb > free { // nobody newer left: s itself waits for blocks
			run = run[:i]
			plan.Preempt = append(plan.Preempt, s.id)
			free += s.blocks
			break
		}
		plan.Run = append(plan.Run, PlanChunk{Seq: s.id, N: n, New: nb})
		budget -= n
		free -= nb
		plan.Tokens += n
		plan.Blocks += nb
	}
	if len(plan.Preempt) == 0 {
		for _, s := range waiting {
			if len(run)+plan.Admit >= p.maxRunning || budget == 0 {
				break
			}
			n := p.chunk(s, budget)
			nb := p.need(s, n)
			if n == 0 || nb > free {
				break
			}
			plan.Run = append(plan.Run, PlanChunk{Seq: s.id, N: n, New: nb})
			plan.Admit++
			budget -= n
			free -= nb
			plan.Tokens += n
			plan.Blocks += nb
		}
	}
	plan.check(p)
	return plan
}

// check asserts the plan's budgets: a broken plan is a bug in Schedule,
// and running it would corrupt the cache.
func (plan *StepPlan) check(p *planner) {
	if plan.Tokens > p.budget {
		panic(fmt.Sprintf("server: step plan of %d tokens over the budget of %d", plan.Tokens, p.budget))
	}
	seen := map[int64]bool{}
	for _, c := range plan.Run {
		if c.N < 1 || seen[c.Seq] {
			panic(fmt.Sprintf("server: step plan: sequence %d with %d tokens (or twice)", c.Seq, c.N))
		}
		seen[c.Seq] = true
	}
	for _, id := range plan.Preempt {
		if seen[id] {
			panic(fmt.Sprintf("server: step plan: sequence %d both preempted and run", id))
		}
	}
}
