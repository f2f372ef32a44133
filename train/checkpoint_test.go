// Reference: llm.c's resume test idea (train, save, load, continue == train straight through).

package train

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// steps trains m on the fixed batch from step from to step to with opt.
func steps(t *testing.T, m *tinyLlama, opt *AdamW, pool *tensor.Pool, from, to int) {
	t.Helper()
	sched := Schedule{MaxLR: 1e-2, MinLR: 1e-3, Warmup: 2, Decay: 10}
	tokens, targets, T := batch()
	tp := autograd.NewTape(pool)
	for it := from; it < to; it++ {
		tp.Reset()
		if err := tp.Backward(m.forward(tp, tokens, targets, T), 1); err != nil {
			t.Fatal(err)
		}
		opt.Step(sched.LR(it))
		opt.ZeroGrad()
	}
}

// TestCheckpointResumesExactly: 3 steps, save, load into a model with other
// weights, 3 more steps == 6 steps straight through, bit for bit.
func TestCheckpointResumesExactly(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt.bin")

	straight := newTinyLlama(t, 4, 0.1)
	so, _ := NewAdamW(straight.params(), DefaultAdamW, pool)
	steps(t, straight, so, pool, 0, 6)

	a := newTinyLlama(t, 4, 0.1)
	ao, _ := NewAdamW(a.params(), DefaultAdamW, pool)
	steps(t, a, ao, pool, 0, 3)
	a.blocks[0].up.NoDecay = true // a flag the checkpoint must carry
	want := Checkpoint{Loader: LoaderState{Shard: 1, Pos: 96, Epoch: 2, RNG: []byte{1, 2, 3}}, RNG: []byte("rng"), Meta: map[string]string{"arch": "llama"}}
	if err := SaveCheckpoint(path, ao, want); err != nil {
		t.Fatal(err)
	}
	a.blocks[0].up.NoDecay = false
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("directory holds %d entries after saving, want the checkpoint alone", len(ents))
	}

	b := newTinyLlama(t, 99, 0.1) // other weights, overwritten by the load
	bo, _ := NewAdamW(b.params(), AdamWConfig{Beta1: 0.5, Beta2: 0.5, Eps: 1, WeightDecay: 0}, pool)
	got, err := LoadCheckpoint(path, bo)
	if err != nil {
		t.Fatal(err)
	}
	if got.Step != 3 || bo.Steps != 3 || bo.Config != DefaultAdamW || got.Loader.Pos != 96 || got.Loader.Epoch != 2 ||
		string(got.Loader.RNG) != "\x01\x02\x03" || string(got.RNG) != "rng" || got.Meta["arch"] != "llama" || !b.blocks[0].up.NoDecay {
		t.Fatalf("loaded state %+v (steps %d, config %+v)", got, bo.Steps, bo.Config)
	}
	b.blocks[0].up.NoDecay = false
	steps(t, b, bo, pool, 3, 6)
	for i, p := range b.params() {
		q := straight.params()[i]
		for j := range p.Data {
			if math.Float32bits(p.Data[j]) != math.Float32bits(q.Data[j]) {
				t.Fatalf("%s[%d] = %v after resuming, %v straight through", p.Name, j, p.Data[j], q.Data[j])
			}
		}
	}
}

func TestCheckpointErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt.bin")
	m := newTinyLlama(t, 1, 0.1)
	opt, _ := NewAdamW(m.params(), DefaultAdamW, nil)
	if err := SaveCheckpoint(path, opt, Checkpoint{}); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	before := append([]float32(nil), m.blocks[0].wq.Data...)

	expect := func(name string, b []byte, o *AdamW, want string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadCheckpoint(p, o)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v, want one naming the file and saying %q", name, err, want)
		}
	}
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 0x10
	expect("flipped", flipped, opt, "checksum")
	expect("truncated", good[:len(good)-100], opt, "checksum")
	expect("magic", append([]byte("GGUF"), good[4:]...), opt, "not a gptgo checkpoint")
	expect("empty", nil, opt, "not a gptgo checkpoint")

	// A model of another shape: every mismatching parameter is named.
	other := newTinyLlama(t, 1, 0.1)
	other.blocks[0].wq.Shape = []int{other.blocks[0].wq.Rows() / 2, 2 * other.C}
	oo, _ := NewAdamW(other.params(), DefaultAdamW, nil)
	expect("mismatch", good, oo, `"blk.0.attn_q.weight" [16 16] in the file`)
	fewer, _ := NewAdamW(other.params()[:3], DefaultAdamW, nil)
	expect("fewer", good, fewer, "11 parameters in the file, 3 in the model")

	for i, v := range m.blocks[0].wq.Data {
		if v != before[i] {
			t.Fatal("a failed load changed the model")
		}
	}
	if _, err := LoadCheckpoint(filepath.Join(dir, "absent"), opt); err == nil {
		t.Error("missing file accepted")
	}
}
