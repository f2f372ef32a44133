// Reference: vLLM tests/v1/core/test_scheduler.py (plans checked with no model: admission, chunked
// prefill, preemption) — our own cases.

package server

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

func seqs(s ...planSeq) []*planSeq {
	out := make([]*planSeq, len(s))
	for i := range s {
		out[i] = &s[i]
	}
	return out
}

func TestPlanAdmission(t *testing.T) {
	p := planner{budget: 16, maxRunning: 8, blockTokens: 4}
	waiting := seqs(planSeq{id: 1, tokens: 10}, planSeq{id: 2, tokens: 5}, planSeq{id: 3, tokens: 7})
	got := p.Schedule(nil, waiting, 100)
	// 10 + 5 leave 1 token: the third prompt cannot take a chunk of one, so it waits.
	want := StepPlan{Run: []PlanChunk{{1, 10, 3}, {2, 5, 2}}, Admit: 2, Tokens: 15, Blocks: 5}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	// Not enough blocks for the second: admission stops there (no overtaking by the third).
	got = p.Schedule(nil, waiting, 4)
	if got.Admit != 1 || len(got.Run) != 1 {
		t.Errorf("4 free blocks: %+v", got)
	}
	// The sequence limit counts the running ones.
	p.maxRunning = 2
	running := seqs(planSeq{id: 9, tokens: 5, computed: 4, blocks: 1})
	got = p.Schedule(running, waiting, 100)
	if got.Admit != 1 || len(got.Run) != 2 || got.Run[0].Seq != 9 {
		t.Errorf("maxRunning 2 with one running: %+v", got)
	}
}

func TestPlanChunkedPrefill(t *testing.T) {
	p := planner{budget: 16, maxRunning: 8, blockTokens: 4}
	running := seqs(
		planSeq{id: 1, tokens: 30, computed: 29, blocks: 8}, // decoding: one token
		planSeq{id: 2, tokens: 100, computed: 0},            // a long prompt: 15 this step
		planSeq{id: 3, tokens: 8, computed: 7, blocks: 2},   // no budget left: waits a step
	)
	got := p.Schedule(running, nil, 100)
	want := StepPlan{Run: []PlanChunk{{1, 1, 0}, {2, 15, 4}}, Tokens: 16, Blocks: 4}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	// Never a lone last prompt token: 17 left with a budget of 16 gives 15, then 2.
	s := &planSeq{id: 1, tokens: 17}
	if n := p.chunk(s, 16); n != 15 {
		t.Errorf("17 pending, budget 16: chunk %d, want 15", n)
	}
	if n := p.chunk(&planSeq{tokens: 3}, 2); n != 0 {
		t.Errorf("3 pending, budget 2: chunk %d, want 0 (2 would leave one)", n)
	}
}

func TestPlanPreemption(t *testing.T) {
	p := planner{budget: 16, maxRunning: 8, blockTokens: 4}
	// Both decode into a new block; one free block: the newest is preempted
	// (its 3 blocks freed), the oldest runs, nobody is admitted this step.
	running := seqs(
		planSeq{id: 1, tokens: 13, computed: 12, blocks: 3},
		planSeq{id: 2, tokens: 9, computed: 8, blocks: 2},
		planSeq{id: 3, tokens: 13, computed: 12, blocks: 3},
	)
	got := p.Schedule(running, seqs(planSeq{id: 4, tokens: 2}), 0)
	want := StepPlan{Preempt: []int64{3}, Run: []PlanChunk{{1, 1, 1}, {2, 1, 1}}, Tokens: 2, Blocks: 2}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	// Alone and out of blocks: the sequence itself waits.
	got = p.Schedule(seqs(planSeq{id: 1, tokens: 13, computed: 12, blocks: 3}), nil, 0)
	if !reflect.DeepEqual(got.Preempt, []int64{1}) || len(got.Run) != 0 {
		t.Errorf("alone: %+v", got)
	}
}

// TestPlanSimulation applies thousands of plans the way the loop does, with
// random arrivals, prompt and output lengths, over a pool that holds only
// a few sequences: budgets always hold, the pool never goes negative, and
// every sequence finishes (no deadlock, no starvation).
func TestPlanSimulation(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const P, pool, ctx = 4, 40, 64 // a sequence needs at most 16 blocks: the pool holds 2½
	p := planner{budget: 24, maxRunning: 6, blockTokens: P}
	type sim struct {
		planSeq
		gen, want int
	}
	var running, waiting []*sim
	free, id, finished, preempts := pool, int64(0), 0, 0
	const total = 300
	byID := map[int64]*sim{}
	for step := 0; finished < total; step++ {
		if step > 100000 {
			t.Fatalf("no progress: %d of %d finished, %d running, %d waiting", finished, total, len(running), len(waiting))
		}
		for range r.IntN(3) {
			if id < total {
				id++
				s := &sim{planSeq: planSeq{id: id, tokens: 2 + r.IntN(40)}, want: 1 + r.IntN(20)}
				s.want = min(s.want, ctx-s.tokens)
				waiting, byID[id] = append(waiting, s), s
			}
		}
		view := func(q []*sim) []*planSeq {
			out := make([]*planSeq, len(q))
			for i, s := range q {
				out[i] = &s.planSeq
			}
			return out
		}
		plan := p.Schedule(view(running), view(waiting), free)
		if plan.Tokens > p.budget {
			t.Fatalf("step %d: %d tokens", step, plan.Tokens)
		}
		for _, v := range plan.Preempt {
			s := byID[v]
			free += s.blocks
			s.blocks, s.computed = 0, 0
			preempts++
			for i := range running {
				if running[i] == s {
					running = append(running[:i], running[i+1:]...)
					break
				}
			}
			waiting = append(waiting, s)
		}
		// keep arrival order in the queue, as the loop does
		for i := 1; i < len(waiting); i++ {
			for j := i; j > 0 && waiting[j].id < waiting[j-1].id; j-- {
				waiting[j], waiting[j-1] = waiting[j-1], waiting[j]
			}
		}
		running = append(running, waiting[:plan.Admit]...)
		waiting = waiting[plan.Admit:]
		if len(running) > p.maxRunning {
			t.Fatalf("step %d: %d running", step, len(running))
		}
		for _, c := range plan.Run {
			s := byID[c.Seq]
			free -= c.New
			s.blocks += c.New
			s.computed += c.N
			if s.computed > s.tokens || s.blocks*P < s.computed {
				t.Fatalf("step %d: sequence %+v after a chunk of %d", step, s.planSeq, c.N)
			}
			if s.computed == s.tokens { // sampled a token
				s.gen++
				s.tokens++
			}
		}
		if free < 0 {
			t.Fatalf("step %d: %d free blocks", step, free)
		}
		for i := 0; i < len(running); i++ {
			if s := running[i]; s.gen >= s.want {
				free += s.blocks
				finished++
				running = append(running[:i], running[i+1:]...)
				i--
			}
		}
	}
	if free != pool {
		t.Errorf("%d of %d blocks free at the end", free, pool)
	}
	if preempts == 0 {
		t.Error("no preemption happened: the pool is too large for the test to mean anything")
	}
	t.Logf("%d sequences, %d preemptions", total, preempts)
}
