// Reference: llm.c llmc/dataloader.h (sequential B·T+1 windows over shards, position saved for resume);
// nanoGPT train.py get_batch (random windows); shard format in data/shard.go.

package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/gptgo/gptgo/data"
)

// Loader cuts training batches out of token shards (data's GPTGOTOK
// files): B windows of T+1 consecutive tokens, the first T the inputs and
// the last T the targets. It holds one shard in memory at a time.
//
// Sequential (llm.c): windows follow each other through a shard, B·T
// tokens per batch; a shard whose remainder is shorter than B·T+1 is left
// for the next, and after the last comes the first again (a new epoch).
// Random (nanoGPT): each window starts at a uniformly random offset of the
// current shard; after as many batches as the shard holds sequentially,
// the loader moves to the next shard.
//
// Windows cross document boundaries (EOS tokens included), as in both.
// State/Restore capture the position exactly, for checkpoints.
type Loader struct {
	paths  []string
	B, T   int
	random bool
	vocab  int

	state LoaderState
	rng   *rand.PCG
	toks  []uint32 // the current shard
}

// LoaderState is a loader's position: enough to resume on the same batch.
type LoaderState struct {
	Shard   int    // index in the shard list
	Pos     int    // sequential: offset of the next window in the shard
	Batches int    // random: batches drawn from the current shard
	Epoch   int    // completed passes over all shards
	RNG     []byte // random: the PCG state (MarshalBinary)
}

// NewLoader opens the first shard of paths. All shards must share one
// vocabulary and hold at least B·T+1 tokens. seed drives random windows.
func NewLoader(paths []string, B, T int, random bool, seed uint64) (*Loader, error) {
	if len(paths) == 0 || B <= 0 || T <= 0 {
		return nil, fmt.Errorf("train: loader needs shards and B, T > 0 (got %d shards, B=%d, T=%d)", len(paths), B, T)
	}
	l := &Loader{paths: paths, B: B, T: T, random: random, rng: rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)}
	if err := l.open(0); err != nil {
		return nil, err
	}
	return l, nil
}

// Vocab is the shards' vocabulary size.
func (l *Loader) Vocab() int { return l.vocab }

func (l *Loader) open(i int) error {
	h, toks, err := data.ReadShard(l.paths[i])
	if err != nil {
		return fmt.Errorf("train: loader: %w", err)
	}
	if l.vocab != 0 && int(h.VocabSize) != l.vocab {
		return fmt.Errorf("train: loader: shard %s has vocabulary %d, earlier shards %d", l.paths[i], h.VocabSize, l.vocab)
	}
	if len(toks) < l.B*l.T+1 {
		return fmt.Errorf("train: loader: shard %s holds %d tokens, fewer than one batch of %d×%d+1", l.paths[i], len(toks), l.B, l.T)
	}
	l.vocab = int(h.VocabSize)
	l.toks = toks
	l.state.Shard = i
	return nil
}

// advance moves to the next shard (the first after the last).
func (l *Loader) advance() error {
	next := l.state.Shard + 1
	if next == len(l.paths) {
		next = 0
		l.state.Epoch++
	}
	l.state.Pos, l.state.Batches = 0, 0
	if len(l.paths) == 1 {
		return nil
	}
	return l.open(next)
}

// Next fills x and y (each B·T) with the next batch's inputs and targets.
func (l *Loader) Next(x, y []int32) error {
	BT := l.B * l.T
	if len(x) < BT || len(y) < BT {
		return fmt.Errorf("train: loader: batch buffers of %d and %d, need %d", len(x), len(y), BT)
	}
	if l.random {
		if l.state.Batches >= len(l.toks)/BT {
			if err := l.advance(); err != nil {
				return err
			}
		}
		r := rand.New(l.rng)
		for b := range l.B {
			off := r.IntN(len(l.toks) - l.T) // window [off, off+T] lies inside
			l.window(x[b*l.T:(b+1)*l.T], y[b*l.T:(b+1)*l.T], off)
		}
		l.state.Batches++
		return nil
	}
	if l.state.Pos+BT+1 > len(l.toks) {
		if err := l.advance(); err != nil {
			return err
		}
	}
	for b := range l.B {
		l.window(x[b*l.T:(b+1)*l.T], y[b*l.T:(b+1)*l.T], l.state.Pos+b*l.T)
	}
	l.state.Pos += BT
	return nil
}

func (l *Loader) window(x, y []int32, off int) {
	for t := range l.T {
		x[t] = int32(l.toks[off+t])
		y[t] = int32(l.toks[off+t+1])
	}
}

// State returns the loader's position.
func (l *Loader) State() (LoaderState, error) {
	s := l.state
	rng, err := l.rng.MarshalBinary()
	if err != nil {
		return s, fmt.Errorf("train: loader state: %w", err)
	}
	s.RNG = rng
	return s, nil
}

// Restore moves the loader to a position State returned (with the same
// shard list, B and T).
func (l *Loader) Restore(s LoaderState) error {
	if s.Shard < 0 || s.Shard >= len(l.paths) || s.Pos < 0 || s.Batches < 0 {
		return fmt.Errorf("train: loader: restore to shard %d position %d of %d shards", s.Shard, s.Pos, len(l.paths))
	}
	if s.RNG != nil {
		if err := l.rng.UnmarshalBinary(s.RNG); err != nil {
			return fmt.Errorf("train: loader: restore random state: %w", err)
		}
	}
	if s.Shard != l.state.Shard {
		if err := l.open(s.Shard); err != nil {
			return err
		}
	}
	if s.Pos > len(l.toks) {
		return fmt.Errorf("train: loader: position %d beyond shard %s of %d tokens", s.Pos, l.paths[s.Shard], len(l.toks))
	}
	s.RNG = nil
	l.state = s
	return nil
}
