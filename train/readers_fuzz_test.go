// Reference: Go fuzzing (go.dev/doc/security/fuzz); the GPTGOCKP layout of
// checkpoint.go, the GPTGOTOK shards loader.go reads, the run configs of
// config.go/sftconfig.go/dpoconfig.go and the SFT and preference formats of
// sftdata.go and pref.go (LLaMA-Factory data/README.md).

package train

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gptgo/gptgo/data"
	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// sharedHead returns the first n bytes of a file under ../shared/data cut
// back to its last newline, or nil when it is absent.
func sharedHead(n int, elem ...string) []byte {
	b, err := os.ReadFile(filepath.Join(append([]string{testkit.ModuleRoot(), "..", "shared", "data"}, elem...)...))
	if err != nil {
		return nil
	}
	if len(b) > n {
		b = b[:n]
		if i := bytes.LastIndexByte(b, '\n'); i > 0 {
			b = b[:i+1]
		}
	}
	return b
}

// writeTemp writes b to a fresh file named name and returns its path.
func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// fuzzOpt is a two-parameter AdamW, the model the fuzzed checkpoints load into.
func fuzzOpt(t testing.TB, pool *tensor.Pool) *AdamW {
	w, err := autograd.NewParam("w", []float32{1, 2, 3, 4, 5, 6}, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, err := autograd.NewParam("b", []float32{7, 8, 9}, 3)
	if err != nil {
		t.Fatal(err)
	}
	o, err := NewAdamW([]*autograd.Var{w, b}, DefaultAdamW, pool)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// optState copies every value LoadCheckpoint may write.
func optState(o *AdamW) (vals [][]float32, steps int, cfg AdamWConfig) {
	for i, p := range o.Params {
		vals = append(vals, slices.Clone(p.Data), slices.Clone(o.M[i]), slices.Clone(o.V[i]))
	}
	return vals, o.Steps, o.Config
}

// FuzzCheckpoint loads arbitrary bytes as a checkpoint. With fixCRC the
// input is taken as everything before the checksum and the right CRC-32C
// is appended, so mutations reach the header and tensors instead of dying
// at the checksum. A refused file leaves the model untouched (the
// documented promise); an accepted one saves and loads back to the same
// values and state.
func FuzzCheckpoint(f *testing.F) {
	pool := tensor.NewPool(1)
	defer pool.Close()
	dir := f.TempDir()
	o := fuzzOpt(f, pool)
	o.Steps = 3
	p := filepath.Join(dir, "seed.ckpt")
	if err := SaveCheckpoint(p, o, Checkpoint{Loader: LoaderState{Shard: 0, Pos: 8, RNG: []byte{1}}, RNG: []byte("r"), Meta: map[string]string{"arch": "llama"}}); err != nil {
		f.Fatal(err)
	}
	seed, err := os.ReadFile(p)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed, false)
	f.Add(seed[:len(seed)-4], true)
	f.Add([]byte(CheckpointMagic), true)
	f.Fuzz(func(t *testing.T, in []byte, fixCRC bool) {
		if fixCRC {
			in = binary.LittleEndian.AppendUint32(slices.Clone(in), crc32.Checksum(in, castagnoli))
		}
		path := writeTemp(t, "in.ckpt", in)
		opt := fuzzOpt(t, pool)
		before, steps, cfg := optState(opt)
		c, err := LoadCheckpoint(path, opt)
		if err != nil {
			after, s2, c2 := optState(opt)
			if !slices.EqualFunc(before, after, slices.Equal) || s2 != steps || c2 != cfg {
				t.Fatalf("refused checkpoint (%v) changed the model", err)
			}
			return
		}
		vals, steps, _ := optState(opt)
		out := filepath.Join(t.TempDir(), "again.ckpt")
		if err := SaveCheckpoint(out, opt, c); err != nil {
			// A header value JSON cannot write back (a NaN constant) may be refused, not lost silently.
			return
		}
		opt2 := fuzzOpt(t, pool)
		c2, err := LoadCheckpoint(out, opt2)
		if err != nil {
			t.Fatalf("saved checkpoint does not load: %v", err)
		}
		vals2, steps2, _ := optState(opt2)
		eq := func(a, b []float32) bool { // bit for bit: NaN payloads included
			return slices.EqualFunc(a, b, func(x, y float32) bool { return x == y || x != x && y != y })
		}
		if !slices.EqualFunc(vals, vals2, eq) || steps != steps2 || c.Step != c2.Step || c.Loader.Pos != c2.Loader.Pos || len(c.Meta) != len(c2.Meta) {
			t.Fatal("checkpoint differs after save and load")
		}
	})
}

// FuzzLoader reads an arbitrary shard through the training loader and
// restores it to an arbitrary position (both come from files: shards and
// checkpoints). Every batch it hands out holds ids inside the vocabulary.
func FuzzLoader(f *testing.F) {
	dir := f.TempDir()
	p := filepath.Join(dir, "seed.bin")
	w, err := data.CreateShard(p, 50, 0)
	if err != nil {
		f.Fatal(err)
	}
	w.WriteDoc([]int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	seed, _ := os.ReadFile(p)
	f.Add(seed, false, 0, 3, []byte(nil))
	f.Add(seed, true, 0, 0, []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, shard []byte, random bool, pos, batches int, rng []byte) {
		l, err := NewLoader([]string{writeTemp(t, "s.bin", shard)}, 2, 2, random, 1)
		if err != nil {
			return
		}
		if l.Restore(LoaderState{Pos: pos, Batches: batches, RNG: rng}) != nil {
			return
		}
		x, y := make([]int32, 4), make([]int32, 4)
		for range 5 {
			if err := l.Next(x, y); err != nil {
				return
			}
			for _, id := range append(x, y...) {
				if id < 0 || int(id) >= l.Vocab() {
					t.Fatalf("batch id %d outside vocabulary of %d", id, l.Vocab())
				}
			}
		}
	})
}

// FuzzRunConfigs parses the JSON run configs of pretrain, sft, dpo and rm
// (kind picks one). A config that loads and validates prints (JSON, as
// --print-config and the run's saved copy do) to a config that loads back
// to the same JSON.
func FuzzRunConfigs(f *testing.F) {
	f.Add(byte(0), DefaultConfig().JSON())
	f.Add(byte(1), DefaultSFTConfig().JSON())
	f.Add(byte(2), DefaultDPOConfig().JSON())
	f.Add(byte(3), DefaultRMConfig().JSON())
	f.Add(byte(0), []byte(`{"model":{"n_layer":1},"optim":{"lr":1e400}}`))
	for _, name := range []string{"default.json", "default-bytes.json"} {
		if b, err := os.ReadFile(filepath.Join(testkit.ModuleRoot(), "recipes", name)); err == nil {
			f.Add(byte(0), b)
		}
	}
	type cfg interface {
		JSON() []byte
		Validate() error
	}
	load := func(kind byte, path string) (cfg, error) {
		switch kind % 4 {
		case 0:
			return LoadConfig(path)
		case 1:
			return LoadSFTConfig(path)
		case 2:
			return LoadDPOConfig(path)
		}
		return LoadRMConfig(path)
	}
	f.Fuzz(func(t *testing.T, kind byte, in []byte) {
		c, err := load(kind, writeTemp(t, "c.json", in))
		if err != nil || c.Validate() != nil {
			return
		}
		js := c.JSON()
		c2, err := load(kind, writeTemp(t, "again.json", js))
		if err != nil {
			t.Fatalf("printed config does not load: %v\n%s", err, js)
		}
		if !bytes.Equal(c2.JSON(), js) {
			t.Fatalf("config changes on a round trip:\n%s\n%s", js, c2.JSON())
		}
	})
}

// FuzzConversations reads SFT data (JSON array or JSONL). Every
// conversation read names its record and holds at least one message.
func FuzzConversations(f *testing.F) {
	f.Add([]byte(`[{"instruction":"hi","input":"","output":"yo","history":[["a","b"]]}]`))
	f.Add([]byte(`{"conversations":[{"from":"human","value":"q"},{"from":"gpt","value":"a"}],"system":"s","tools":"[]"}` + "\n"))
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"type":"text","text":"q"}]},{"role":"assistant","content":null,"tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]}`))
	for _, s := range [][]string{{"3-sft", "identity.json"}, {"3-sft", "alpaca_seed_tasks.jsonl"}, {"8-function-calling", "glaive_toolcall_en_demo.json"}} {
		if b := sharedHead(4096, s...); b != nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		convs, err := ReadConversations(writeTemp(t, "sft.jsonl", in))
		if err != nil {
			return
		}
		for i, c := range convs {
			if c.Where == "" {
				t.Fatalf("conversation %d does not say where it is from", i)
			}
		}
	})
}

// FuzzPreferences reads preference data, plain or gzip-compressed (the
// name says which). Every pair names its record.
func FuzzPreferences(f *testing.F) {
	f.Add([]byte(`{"chosen":"\n\nHuman: hi\n\nAssistant: yo","rejected":"\n\nHuman: hi\n\nAssistant: no"}`), false)
	f.Add([]byte(`[{"instruction":"q","output":["best","mid","worst"]}]`), true)
	f.Add([]byte(`[{"conversations":[{"from":"human","value":"q"}],"chosen":{"from":"gpt","value":"a"},"rejected":{"from":"gpt","value":"b"}}]`), false)
	for _, s := range [][]string{{"4-preference", "dpo_en_demo.json"}, {"4-preference", "oaast_rm_zh.json"}, {"4-preference", "kto_en_demo.json"}} {
		if b := sharedHead(4096, s...); b != nil {
			f.Add(b, false)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte, gz bool) {
		name := "pref.jsonl"
		if gz {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(in)
			zw.Close()
			in, name = buf.Bytes(), "pref.jsonl.gz"
		}
		prefs, err := ReadPreferences(writeTemp(t, name, in))
		// A ranking of K answers gives K(K-1)/2 pairs, each holding its
		// prompt's messages: quadratic in the record by design, so the
		// bound is on pairs, not bytes.
		if err == nil && len(prefs) > 1+len(in)*len(in) {
			t.Fatalf("%d pairs from %d bytes", len(prefs), len(in))
		}
		for i, p := range prefs {
			if p.Prompt.Where == "" {
				t.Fatalf("pair %d does not say where it is from", i)
			}
		}
	})
}
